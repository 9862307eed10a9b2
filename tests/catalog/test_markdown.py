"""Lesson Markdown: the features authors use, and hostile input coming out inert.

The invariants are checked on the markup (tags and attributes, as a browser would parse
them) as well as on the raw string: a lesson may well *talk about* ``onerror=`` or
``javascript:`` in its text, which is harmless once escaped; what must never appear is a
script, a frame, an event handler, a style attribute or a URL with a dangerous scheme.
"""

from __future__ import annotations

import random
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser

import markdown
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms.catalog.services import asset_url, resolve_asset_path
from lms.markdown import ALLOWED_TAGS, Rendered, render, sanitise

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "background"}
SAFE_SCHEMES = {"http", "https", "mailto", "tel"}
KNOWN_ASSETS = {"01-milestones/images/chart.svg", "01-milestones/images/photo.png"}
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")


def course_resolver(reference: str) -> str | None:
    """What ``render_lesson`` does for a lesson of module ``01-milestones``."""
    if reference.startswith("/static/"):
        return reference
    path = resolve_asset_path("01-milestones", reference)
    return asset_url("TEST-1", path) if path in KNOWN_ASSETS else None


class _Markup(HTMLParser):
    """Collects every start tag and its attributes, as a browser would read them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    handle_startendtag = handle_starttag


def browser_url(value: str) -> str:
    """A URL as the WHATWG URL parser reads it: trimmed of C0 controls and spaces at both
    ends, and without any tab or newline inside."""
    return _TAB_OR_NEWLINE.sub("", value.strip("".join(map(chr, range(0x21)))))


def url_scheme(value: str) -> str | None:
    """The scheme a browser would see in ``value``, or None for a relative URL."""
    match = re.match(r"([a-zA-Z][a-zA-Z0-9+.\-]*):", browser_url(value))
    return match.group(1).lower() if match else None


def markup_problems(html: str) -> list[str]:
    """Anything in ``html`` that could run, load from elsewhere or restyle the page."""
    problems = []
    parser = _Markup()
    parser.feed(html)
    parser.close()
    for tag, attrs in parser.tags:
        if tag not in ALLOWED_TAGS:
            problems.append(f"tag <{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                problems.append(f"event handler {name} on <{tag}>")
            if name in ("style", "srcset", "formaction", "action"):
                problems.append(f"attribute {name} on <{tag}>")
            if name in URL_ATTRIBUTES:
                scheme = url_scheme(value)
                if scheme is not None and scheme not in SAFE_SCHEMES:
                    problems.append(f"{scheme}: URL in {name} of <{tag}>")
                if (
                    tag == "img"
                    and name == "src"
                    and not value.startswith(("/courses/", "/static/"))
                ):
                    problems.append(f"foreign image {value!r}")
    # The string checks again, on the markup rebuilt from what was parsed (tag and attribute
    # names): text, alt texts, titles and relative URLs may quote these words harmlessly.
    markup = " ".join(
        f"<{tag} " + " ".join(f"{name}=" for name, _ in attrs) + ">" for tag, attrs in parser.tags
    ).lower()
    for needle in ("<script", "<iframe", "<object", "<embed", "<svg", "<form", "<style"):
        if needle in markup:
            problems.append(f"{needle} tag")
    if re.search(r"\son\w+=", markup):
        problems.append("on...= in markup")
    return problems


# Python-Markdown before 3.10.1 loops for ever, eating memory, on some unclosed or bogus
# HTML comments (Python-Markdown issues #1578 and #1586): one typo in a lesson would hang the
# import or the preview. Renders here are given a few seconds and fail instead of hanging.
RENDER_SECONDS = 5


class RenderTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise RenderTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def render_in_time(source: str) -> Rendered:
    try:
        with time_limit(RENDER_SECONDS):
            return render(source, course_resolver)
    except RenderTimeout:
        pytest.fail(
            f"rendering {source!r} did not finish in {RENDER_SECONDS} s "
            f"(Python-Markdown {markdown.__version__}; 3.10.1 fixed such loops)"
        )


def assert_inert(html: str) -> None:
    assert markup_problems(html) == [], html


# Features -------------------------------------------------------------------------------------


def test_tables_render() -> None:
    html = render("| 月龄 | 大运动 |\n|---|---|\n| 3个月 | 俯卧抬头 |\n").html
    assert "<table>" in html
    assert "<th>月龄</th>" in html
    assert "<td>俯卧抬头</td>" in html


def test_fenced_code_keeps_its_language_and_escapes_its_content() -> None:
    html = render('```html\n<script>alert("x")</script>\n```\n').html
    assert '<pre><code class="language-html">' in html
    assert "&lt;script&gt;" in html
    assert_inert(html)


def test_footnotes_link_both_ways() -> None:
    html = render("正文[^1]。\n\n[^1]: 脚注内容。\n").html
    assert 'class="footnote-ref"' in html
    assert 'href="#fn:1"' in html
    assert 'id="fn:1"' in html
    assert 'href="#fnref:1"' in html
    assert "脚注内容" in html


def test_admonitions() -> None:
    html = render('!!! warning "注意"\n    不要让婴儿独处。\n').html
    assert 'class="admonition warning"' in html
    assert '<p class="admonition-title">注意</p>' in html
    assert "不要让婴儿独处" in html


def test_table_of_contents_with_chinese_anchors() -> None:
    rendered = render("## 发展的五个领域\n\n正文\n\n### 大运动\n\n正文\n\n## 发展的五个领域\n")
    assert '<h2 id="发展的五个领域">' in rendered.html
    assert '<h3 id="大运动">' in rendered.html
    assert 'href="#发展的五个领域"' in rendered.toc_html
    assert 'href="#大运动"' in rendered.toc_html
    # A repeated heading gets its own anchor.
    ids = re.findall(r'<h2 id="([^"]+)"', rendered.html)
    assert len(ids) == 2 and len(set(ids)) == 2


def test_no_headings_no_table_of_contents() -> None:
    assert render("只有一段正文。").toc_html == ""


def test_attribute_lists_keep_ids_and_classes_only() -> None:
    source = (
        '## 小结 {: #summary .key-points onclick="alert(1)" style="color:red" }\n\n'
        "一段重点。\n{: .highlight }\n\n"
        '[链接](https://example.org){: onmouseover="alert(1)" .external }\n'
    )
    html = render(source).html
    assert '<h2 class="key-points" id="summary">小结</h2>' in html
    assert '<p class="highlight">一段重点。</p>' in html
    assert 'class="external"' in html
    assert "onclick" not in html and "onmouseover" not in html and "style=" not in html
    assert_inert(html)


def test_images_resolve_to_course_files_and_others_are_dropped() -> None:
    source = (
        "![图表](images/chart.svg)\n\n"
        "![外站](https://evil.example/x.png)\n\n"
        "![协议相对](//evil.example/x.png)\n\n"
        "![不存在](images/missing.png)\n\n"
        "![越界](../../other/x.png)\n\n"
        "![静态](/static/img/logo.png)\n"
    )
    rendered = render(source, course_resolver)
    html = rendered.html
    assert 'src="/courses/TEST-1/files/01-milestones/images/chart.svg"' in html
    assert 'src="/static/img/logo.png"' in html
    assert "evil.example" not in html
    assert "missing.png" not in html and "other/x.png" not in html
    assert html.count("<img") == 6  # the alt text of dropped images stays readable
    assert rendered.images[0] == "images/chart.svg"
    assert_inert(html)


def test_links_to_other_sites_stay_and_cannot_reach_the_opener() -> None:
    html = render("[卫健委](https://www.nhc.gov.cn/)").html
    assert 'href="https://www.nhc.gov.cn/"' in html
    assert "noopener" in html


def test_plain_text_for_search() -> None:
    rendered = render("## 标题\n\n婴幼儿的**发育**包括五个领域。\n")
    assert "婴幼儿的发育包括五个领域" in rendered.text
    assert "<" not in rendered.text


# Hostile input ---------------------------------------------------------------------------------

HOSTILE = {
    "script": "<script>alert(1)</script>",
    "script in text": "正文<script src=https://evil.example/x.js></script>正文",
    "img onerror": "<img src=x onerror=alert(1)>",
    "javascript link": "[x](javascript:alert(1))",
    "mixed-case javascript": "[x](JaVaScRiPt:alert(1))",
    "entity javascript": '<a href="&#106;avascript:alert(1)">x</a>',
    "tab javascript": '<a href="java\tscript:alert(1)">x</a>',
    "reference javascript": "[x][evil]\n\n[evil]: javascript:alert(1)",
    "autolink javascript": "<javascript:alert(1)>",
    "iframe": '<iframe src="https://evil.example/"></iframe>',
    "object": '<object data="https://evil.example/x.swf"></object>',
    "embed": '<embed src="https://evil.example/x.swf">',
    "svg onload": "<svg onload=alert(1)><circle r=1 /></svg>",
    "attr_list onclick": '## 标题 {: onclick="alert(1)" }',
    "attr_list on paragraph": '段落\n{: onclick="alert(1)" onmouseover="alert(2)" }',
    "data URL": '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "data image": "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "style attribute": '<p style="position:fixed;top:0">覆盖</p>',
    "style element": "<style>body{display:none}</style>",
    "form": '<form action="https://evil.example/"><input name=p><button>登录</button></form>',
    "foreign image": "![x](https://evil.example/track.png)",
    "foreign raw image": '<img src="https://evil.example/track.png">',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "base": '<base href="https://evil.example/">',
    "math": '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "vbscript": '<a href="vbscript:msgbox(1)">x</a>',
    "html comment": "<!-- <script>alert(1)</script> -->",
    "nested markdown html": '<div markdown="1">[x](javascript:alert(1))</div>',
    "admonition with script": '!!! note "<script>x</script>"\n    <img src=x onerror=alert(1)>',
    "footnote with script": "x[^1]\n\n[^1]: <script>alert(1)</script>",
    "heading with handler": "## <span onclick=alert(1)>标题</span>",
    "script in alt text": "![<script>alert(1)</script>](images/chart.svg)",
    "handler in title": '[x](https://example.org "x\\" onmouseover=\\"alert(1)")',
    "table with handler": "| a |\n|---|\n| <b onmouseover=alert(1)>x</b> |",
}


# Cases whose *text* still mentions a dangerous word (escaped, or as an alt text): the raw
# string checks below do not apply to them; the markup checks do.
QUOTED_IN_TEXT = {"nested markdown html", "script in alt text", "handler in title"}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_markdown_comes_out_inert(name: str) -> None:
    rendered = render_in_time(HOSTILE[name])
    for html in (rendered.html, rendered.toc_html):
        assert_inert(html)
        if name in QUOTED_IN_TEXT:
            continue
        lowered = html.lower()
        assert "<script" not in lowered
        assert "<iframe" not in lowered
        assert re.search(r"\son\w+=", html) is None, html
        assert "javascript:" not in lowered


@pytest.mark.parametrize(
    "source",
    ["a<!-->b", "<!-- <!--", "`</` and `</`", "正文<!--><!--\n注释>", "x<!-->{: #y }"],
)
def test_bad_html_comments_do_not_hang(source: str) -> None:
    """A typo around an HTML comment renders (as text or nothing), in a moment."""
    assert_inert(render_in_time(source).html)


def test_sanitise_alone_handles_html_that_did_not_come_from_markdown() -> None:
    html = sanitise('<p onclick="x">a</p><script>b</script><a href="javascript:c">d</a>')
    assert_inert(html)
    assert "<p>a</p>" in html


FRAGMENTS = [
    "<script>", "</script>", "<script", "onerror=", "onload=", "onclick=\"alert(1)\"",
    "javascript:", "JaVaScRiPt:", "java\tscript:", "&#106;avascript:", "&#x6A;", "vbscript:",
    "data:text/html,", "<img", "<img src=x ", "<svg", "<iframe", "<object", "<form", "<a href=",
    "<math", "<style>", "style=", "<details>", "<div markdown=1>", "<!--", "-->", "<![CDATA[",
    "](", "[", "]", "(", ")", "![", "{", "}", "{:", "{: #", " .cls", "!!!", "!!! note ", "\"",
    "'", "=", "<", ">", "/", "//evil.example/x.png", "https://", "/courses/", "/static/",
    "images/chart.svg", "../", "[^1]", "[^1]: ", "## ", "### ", "#", "`", "```", "|", "|---|",
    "---", "*", "_", "~", "\\", " ", "    ", "\t", "\n", "\n\n", "alert(1)", "x", "发育",
    "婴幼儿", "发展的五个领域", "回应性照护", "：", "（", "）",
]  # fmt: skip


def test_random_input_comes_out_inert() -> None:
    """2000 strings stitched from dangerous fragments, with a fixed seed (reproducible)."""
    rng = random.Random(20240603)
    for _ in range(2000):
        source = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 40)))
        rendered = render_in_time(source)
        for html in (rendered.html, rendered.toc_html):
            problems = markup_problems(html)
            assert problems == [], f"{source!r} -> {html!r}: {problems}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), min_size=1, max_size=40
    ).map("".join)
)
def test_hypothesis_input_comes_out_inert(source: str) -> None:
    """Hypothesis mixes the dangerous fragments with arbitrary text (control characters too)."""
    rendered = render_in_time(source)
    for html in (rendered.html, rendered.toc_html):
        problems = markup_problems(html)
        assert problems == [], f"{source!r} -> {html!r}: {problems}"
