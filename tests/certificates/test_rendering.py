"""Certificate PDFs: text, fonts, QR code, metadata, batches and the URL fetcher."""

from __future__ import annotations

import base64
import io
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2
import pytest
import zxingcpp
from flask import Flask

from lms.certificates import rendering, system
from lms.certificates.default_template import DEFAULT_CSS, DEFAULT_HTML
from lms.certificates.fetcher import RefusedURL
from lms.certificates.models import Certificate

DEFAULT = rendering.ResolvedTemplate(None, DEFAULT_HTML, DEFAULT_CSS)
CODE = "ABCDEFGHJKMNPQRSTVWXYZ2345678923"


def make_certificate(world: Any, name: str, n: int = 1, code: str = CODE) -> Certificate:
    """An unsaved certificate of the world's type with the snapshot issuing takes."""
    ctype, programme = world.certificate_type, world.programme
    return Certificate(
        code=code,
        serial=f"NJ-WQ-2026-{n:06d}",
        holder_name=name,
        cycle=0,
        valid_from=date(2026, 11, 29),
        expires_on=date(2029, 11, 28),
        details={
            "programme_code": programme.code,
            "programme_title": programme.title,
            "programme_title_en": programme.title_en,
            "certificate_title": ctype.title,
            "certificate_title_en": ctype.title_en,
            "tier": ctype.tier,
            "partner_name": world.partner.name,
            "partner_name_en": world.partner.name_en,
            "issuer_name": ctype.issuer_name,
            "issuer_name_en": ctype.issuer_name_en,
            "signatory_name": ctype.signatory_name,
            "signatory_title": ctype.signatory_title,
            "completed_on": "2026-11-20",
        },
    )


def text_of(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def qr_codes(pdf: bytes) -> list[str]:
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=3).to_pil()
    return [result.text for result in zxingcpp.read_barcodes(image)]


def fonts_of(pdf: bytes) -> list[tuple[str, bool]]:
    """(BaseFont, embedded) of every font on the first page."""
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    found = []
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        descendant = (
            font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        )
        descriptor = descendant["/FontDescriptor"].get_object()
        embedded = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
        found.append((str(font["/BaseFont"]), embedded))
    return found


@pytest.mark.parametrize("name", ["张晓明", "王堃", "刘龑", "李䶮", "陈𠀾"])
def test_pdf_holds_the_name_serial_and_programme_in_an_embedded_cjk_subset(
    learning_world: Any, name: str
) -> None:
    pdf = rendering.render_pdfs([make_certificate(learning_world, name)], DEFAULT)[0]

    text = text_of(pdf)
    assert name in text
    assert "NJ-WQ-2026-000001" in text
    assert learning_world.programme.title in text
    assert "世界测试大学" in text and "World Test University" in text
    assert "2026年11月29日" in text and "29 November 2026" in text
    assert "2029年11月28日" in text
    assert "周建国" in text
    fonts = fonts_of(pdf)
    assert fonts, "no font on the page"
    for base_font, embedded in fonts:
        # A subset ("ABCDEF+Name"), of Noto CJK, embedded: no fallback face, no empty boxes.
        assert embedded, base_font
        assert base_font[7] == "+" and "Noto" in base_font and "CJK" in base_font, base_font


def test_qr_code_opens_the_verification_page(app: Flask, learning_world: Any) -> None:
    pdf = rendering.render_pdfs([make_certificate(learning_world, "张晓明")], DEFAULT)[0]

    assert qr_codes(pdf) == [f"http://localhost/verify/{CODE}"]
    assert CODE in text_of(pdf).replace("\n", "")


def test_verify_url_uses_the_configured_address(app: Flask) -> None:
    app.config["SERVER_NAME_FOR_LINKS"] = "https://lms.example.org/"
    try:
        assert rendering.verify_url(CODE) == f"https://lms.example.org/verify/{CODE}"
    finally:
        app.config["SERVER_NAME_FOR_LINKS"] = None
    assert rendering.verify_url(CODE) == f"http://localhost/verify/{CODE}"


def test_pdf_metadata(learning_world: Any) -> None:
    pdf = rendering.render_pdfs([make_certificate(learning_world, "张晓明")], DEFAULT)[0]

    info = pypdf.PdfReader(io.BytesIO(pdf)).metadata
    assert info.title == f"{learning_world.certificate_type.title} · 张晓明"
    assert info.author == "南京市卫生健康委员会"
    assert info.subject == learning_world.programme.title


def test_a_batch_gives_one_single_page_pdf_per_certificate(learning_world: Any) -> None:
    surnames = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许"
    names = [f"{surname}堃{i}" for i, surname in enumerate(surnames)]
    certificates = [
        make_certificate(learning_world, name, n, code=f"{CODE[:-2]}{n:02d}")
        for n, name in enumerate(names, start=1)
    ]

    pdfs = rendering.render_pdfs(certificates, DEFAULT)

    assert len(pdfs) == 20
    for n, (name, pdf) in enumerate(zip(names, pdfs, strict=True), start=1):
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) == 1
        text = text_of(pdf)
        assert name in text and f"NJ-WQ-2026-{n:06d}" in text
        assert [other for other in names if other != name and other in text] == []
        assert reader.metadata.title.endswith(name)
    assert qr_codes(pdfs[6]) == [f"http://localhost/verify/{CODE[:-2]}07"]
    assert rendering.render_pdfs([], DEFAULT) == []


def to_unicode_maps(pdf: bytes) -> str:
    """Every ToUnicode CMap of the PDF's fonts: which characters its font subsets can draw."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    maps = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if "/ToUnicode" in font:
                maps.append(font["/ToUnicode"].get_object().get_data().decode("latin-1"))
    return "\n".join(maps).upper()


def test_a_certificate_embeds_no_glyph_of_another_holders_name(learning_world: Any) -> None:
    """Certificates of one batch are laid out together but each PDF subsets its own fonts:
    a shared subset would list the characters of every other name of the batch."""
    names = ["鑫淼", "燚垚", "犇骉"]
    certificates = [
        make_certificate(learning_world, name, n, code=f"{CODE[:-2]}{n:02d}")
        for n, name in enumerate(names, start=1)
    ]

    first, *_ = rendering.render_pdfs(certificates, DEFAULT)

    maps = to_unicode_maps(first)
    assert "946B" in maps  # 鑫, on this certificate
    for other in "燚垚犇骉":
        assert f"{ord(other):04X}" not in maps, other


def test_missing_harfbuzz_subsetting_is_logged_when_the_app_starts(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from lms import create_app

    monkeypatch.setattr(system, "find_library", lambda name: None)
    create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    assert "HarfBuzz subsetting" in caplog.text


def test_a_long_template_still_gives_each_certificate_its_own_pages(learning_world: Any) -> None:
    two_pages = rendering.ResolvedTemplate(
        None, '<p>{{ holder_name }}</p><p style="break-before: page">2</p>', ""
    )
    pdfs = rendering.render_pdfs(
        [make_certificate(learning_world, "甲"), make_certificate(learning_world, "乙")], two_pages
    )
    assert [len(pypdf.PdfReader(io.BytesIO(pdf)).pages) for pdf in pdfs] == [2, 2]
    assert "甲" in text_of(pdfs[0]) and "乙" in text_of(pdfs[1])


def test_templates_are_sandboxed_and_escaped(learning_world: Any) -> None:
    certificate = make_certificate(learning_world, "<b>张</b>")
    escaped = rendering.render_html(
        rendering.ResolvedTemplate(None, "{{ holder_name }}", ""),
        rendering.certificate_context(certificate),
    )
    assert "&lt;b&gt;" in escaped
    unsafe = rendering.ResolvedTemplate(None, "{{ holder_name.__class__.__mro__ }}", "")
    with pytest.raises(rendering.RenderError):
        rendering.render_html(unsafe, rendering.certificate_context(certificate))
    with pytest.raises(rendering.RenderError, match="line 2"):
        rendering.render_preview(rendering.ResolvedTemplate(None, "ok\n{% if %}", ""))
    with pytest.raises(rendering.RenderError, match="holdr_name"):
        rendering.render_preview(rendering.ResolvedTemplate(None, "{{ holdr_name }}", ""))


def test_current_template_falls_back_from_type_to_default_to_code(
    learning_world: Any, make_user: Any
) -> None:
    from lms.certificates.models import CertificateTemplate
    from lms.extensions import db

    type_id = learning_world.certificate_type.id
    assert rendering.current_template(type_id) == DEFAULT
    default = CertificateTemplate(type_id=None, version=1, html="<p>默认</p>", css="")
    db.session.add(default)
    db.session.flush()
    assert rendering.current_template(type_id).id == default.id
    own = [
        CertificateTemplate(type_id=type_id, version=v, html=f"<p>{v}</p>", css="") for v in (1, 2)
    ]
    db.session.add_all(own)
    db.session.flush()
    assert rendering.current_template(type_id) == rendering.ResolvedTemplate(
        own[1].id, "<p>2</p>", ""
    )
    assert rendering.current_template(None).id == default.id


def test_parsed_stylesheets_and_fonts_are_reused(app: Flask) -> None:
    assert rendering.stylesheet(DEFAULT_CSS) is rendering.stylesheet(DEFAULT_CSS)
    assert rendering.stylesheet(DEFAULT_CSS + " ") is not rendering.stylesheet(DEFAULT_CSS)
    assert rendering.font_config() is rendering.font_config()


def test_harfbuzz_subsetting_is_checked(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    # Installed here and in CI: no warning.
    assert system.check_harfbuzz_subsetting(app) is True
    assert "HarfBuzz" not in caplog.text


def test_missing_harfbuzz_subsetting_is_logged(
    app: Flask, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(system, "find_library", lambda name: None)
    assert system.check_harfbuzz_subsetting(app) is False
    assert "HarfBuzz subsetting" in caplog.text and "fontTools" in caplog.text


# --- The URL fetcher -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/hostname",
        "http://127.0.0.1:6379/",
        "https://example.org/seal.png",
        "ftp://example.org/seal.png",
        "http://evil.example/static/css/app.css",
        "https://localhost/static/css/app.css",
        "http://localhost/healthz",
        "http://localhost/static/../config.py",
        "http://localhost/static/%2e%2e/config.py",
        "http://localhost/static/",
        "http://localhost/static/css/missing.css",
        "http://localhost/static/css%5c..%5c..%5cconfig.py",
    ],
)
def test_fetcher_refuses_anything_but_data_and_static_files(app: Flask, url: str) -> None:
    with pytest.raises(RefusedURL):
        rendering.asset_fetcher().fetch(url)


def test_fetcher_serves_data_urls_and_static_files(app: Flask) -> None:
    fetcher = rendering.asset_fetcher()
    data = fetcher.fetch("data:text/plain;base64," + base64.b64encode(b"hello").decode())
    assert data.read() == b"hello"
    static = fetcher.fetch("http://localhost/static/css/app.css")
    assert static.read() == (Path(app.static_folder or "") / "css" / "app.css").read_bytes()
    assert static.content_type == "text/css"


def svg_with(text: str) -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40">'
        f'<text x="0" y="30" font-size="20">{text}</text></svg>'
    ).encode()


def test_rendering_fetches_nothing_from_files_or_the_network(
    learning_world: Any, tmp_path: Path
) -> None:
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/svg+xml")
            self.end_headers()
            self.wfile.write(svg_with("LEAKEDHTTP"))

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    secret = tmp_path / "secret.svg"
    secret.write_bytes(svg_with("LEAKEDFILE"))
    address = f"http://127.0.0.1:{server.server_port}"
    inline = base64.b64encode(svg_with("DATAOK")).decode()
    template = rendering.ResolvedTemplate(
        None,
        f'<p>{{{{ holder_name }}}}</p><img src="{secret.as_uri()}"><img src="{address}/a.svg">'
        f'<img src="data:image/svg+xml;base64,{inline}">'
        f'<link rel="stylesheet" href="{address}/b.css">',
        f'@import url("{address}/c.css"); body {{ background: url("{address}/d.svg"); }}',
    )
    try:
        pdf = rendering.render_pdfs([make_certificate(learning_world, "张晓明")], template)[0]
    finally:
        server.shutdown()
        server.server_close()

    text = text_of(pdf)
    assert "张晓明" in text and "DATAOK" in text
    assert "LEAKEDFILE" not in text and "LEAKEDHTTP" not in text
    assert requests == []


def test_warming_up_a_worker_renders_once_and_never_stops_it(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``lms worker`` warms up before it forks work horses; a machine that cannot render
    (no Pango, no font) still runs its other jobs, with the reason in the log."""
    rendering.warm_up()  # the shipped design renders here
    assert rendering._font_faces is not None

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(rendering, "_document", broken)
    rendering.warm_up()
    assert "certificates could not be prepared" in caplog.text
    assert "libpango" in caplog.text
