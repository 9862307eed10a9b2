"""Markdown to safe HTML, in one place.

Lessons are rendered here once, when a version is saved or imported, and the HTML is stored;
pages never render Markdown. Python-Markdown makes the HTML (tables, fenced code, footnotes,
admonitions, table of contents, attribute lists) and nh3 then removes everything that could
run or load from elsewhere: scripts, frames, event handlers, ``javascript:`` URLs, and images
that are not the course's own files or the app's.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

import markdown
import nh3
from markdown.extensions import Extension
from markdown.extensions.toc import slugify_unicode
from markdown.treeprocessors import Treeprocessor

EXTENSIONS = ["tables", "fenced_code", "footnotes", "admonition", "toc", "attr_list", "sane_lists"]

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div",
    "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "s", "small", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "loading"},
    "ol": {"start"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
# Where images may come from: the course's files and the app's own static files.
IMAGE_PREFIXES = ("/courses/", "/static/")

ImageResolver = Callable[[str], str | None]


@dataclass
class Rendered:
    """A lesson body as stored: HTML, its table of contents and plain text for search."""

    html: str
    toc_html: str
    text: str
    images: list[str] = field(default_factory=list)  # image references as written


class _ImageRewriter(Treeprocessor):
    """Replace relative image references by their served URLs; drop the unknown ones."""

    def __init__(self, md: markdown.Markdown, resolve: ImageResolver, found: list[str]) -> None:
        super().__init__(md)
        self.resolve = resolve
        self.found = found

    def run(self, root: Element) -> None:
        for img in root.iter("img"):
            src = img.get("src", "")
            self.found.append(src)
            url = self.resolve(src)
            if url is None:
                img.attrib.pop("src", None)
            else:
                img.set("src", url)
            img.set("loading", "lazy")


class _Images(Extension):
    def __init__(self, resolve: ImageResolver, found: list[str]) -> None:
        super().__init__()
        self.resolve = resolve
        self.found = found

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_ImageRewriter(md, self.resolve, self.found), "lms_images", 0)


def _no_images(src: str) -> str | None:
    return src if src.startswith("/static/") else None


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not value.startswith(IMAGE_PREFIXES):
        return None
    return value


def sanitise(unsafe_html: str) -> str:
    """Keep only harmless markup (also for HTML that did not come from Markdown)."""
    return nh3.clean(
        unsafe_html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_attribute_filter,
        strip_comments=True,
    )


def to_text(safe_html: str) -> str:
    """The words of an HTML fragment, for search."""
    return " ".join(html.unescape(nh3.clean(safe_html, tags=set())).split())


def render(source: str, resolve_image: ImageResolver | None = None) -> Rendered:
    """Render lesson Markdown to sanitised HTML with a table of contents.

    ``resolve_image`` maps an image reference as written (``images/chart.svg``) to the URL
    it is served from, or None to drop it; without it only ``/static/`` images are kept.
    """
    found: list[str] = []
    md = markdown.Markdown(
        extensions=[*EXTENSIONS, _Images(resolve_image or _no_images, found)],
        extension_configs={
            "toc": {"slugify": slugify_unicode, "toc_depth": "2-3", "permalink": False},
            "footnotes": {"BACKLINK_TEXT": "↩", "BACKLINK_TITLE": "%d"},
        },
        output_format="html",
    )
    body = sanitise(md.convert(source))
    toc = sanitise(getattr(md, "toc", ""))
    if "<li" not in toc:
        toc = ""
    return Rendered(html=body, toc_html=toc, text=to_text(body), images=found)
