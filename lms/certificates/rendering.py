"""Certificate PDFs: templates resolved from the database, rendered by WeasyPrint.

Most of the time of a lone WeasyPrint render goes into set-up: loading fonts, parsing the
stylesheet, building the cascade. So this module keeps one ``FontConfiguration`` and the
parsed ``CSS`` of each template per process, and :func:`render_pdfs` lays out many
certificates as one document (one page each) before writing every page out as its own PDF.

Templates are written by administrators: their HTML is rendered by a sandboxed, autoescaping
Jinja environment, and WeasyPrint fetches nothing but ``data:`` URLs and the app's own
static files (:mod:`lms.certificates.fetcher`).
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jinja2
import segno
import sqlalchemy as sa
from babel.dates import format_date
from flask import current_app, has_request_context, request
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from lms.certificates.default_template import DEFAULT_CSS, DEFAULT_HTML
from lms.certificates.models import Certificate, CertificateTemplate
from lms.extensions import db

# WeasyPrint takes about a third of a second to import: it is loaded by the first render, not
# by every process that creates the app.
if TYPE_CHECKING:
    from weasyprint import CSS
    from weasyprint.document import Document
    from weasyprint.pdf.metadata import DocumentMetadata
    from weasyprint.text.fonts import FontConfiguration

    from lms.certificates.fetcher import AssetFetcher

log = logging.getLogger(__name__)

PAGE_CLASS = "lms-certificate-page"
ANCHOR_PREFIX = "lms-certificate-"
# One certificate per page; every certificate starts on a new page.
BATCH_CSS = (
    f".{PAGE_CLASS} {{ page-break-after: always; }} "
    f".{PAGE_CLASS}:last-child {{ page-break-after: auto; }}"
)
STYLESHEET_CACHE_SIZE = 16


class RenderError(Exception):
    """A template that cannot be rendered: a Jinja error (with its line) or a WeasyPrint one."""


@dataclass(frozen=True)
class ResolvedTemplate:
    """The template to render with; ``id`` None for the design shipped in the code."""

    id: int | None
    html: str
    css: str


def current_template(type_id: int | None) -> ResolvedTemplate:
    """The latest version of the type's template, else of the default template, else the
    design shipped in the code. One query."""
    stmt = sa.select(CertificateTemplate)
    if type_id is None:
        stmt = stmt.where(CertificateTemplate.type_id.is_(None))
    else:
        stmt = stmt.where(
            sa.or_(CertificateTemplate.type_id == type_id, CertificateTemplate.type_id.is_(None))
        )
    row = db.session.scalars(
        stmt.order_by(
            sa.case((CertificateTemplate.type_id.is_(None), 1), else_=0),
            CertificateTemplate.version.desc(),
            CertificateTemplate.id.desc(),
        ).limit(1)
    ).first()
    if row is None:
        return ResolvedTemplate(None, DEFAULT_HTML, DEFAULT_CSS)
    return ResolvedTemplate(row.id, row.html, row.css)


# --- Links -------------------------------------------------------------------------------


def links_base() -> str:
    """The absolute address of the app for links printed on documents (no trailing slash):
    ``SERVER_NAME_FOR_LINKS``, else the address of the current request, else ``SERVER_NAME``."""
    configured = current_app.config.get("SERVER_NAME_FOR_LINKS")
    if configured:
        return str(configured).rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    scheme = current_app.config.get("PREFERRED_URL_SCHEME") or "http"
    server = current_app.config.get("SERVER_NAME") or "localhost"
    return f"{scheme}://{server}"


def verify_url(code: str) -> str:
    """The absolute address of the public verification page of a certificate."""
    return f"{links_base()}/verify/{code}"


def qr_code(url: str) -> segno.QRCode:
    """The QR code for ``url`` (made once per certificate: it is most of the cost of either
    picture of it)."""
    return segno.make(url, error="m", micro=False)


def qr_svg(qr: segno.QRCode) -> Markup:
    """An inline SVG of ``qr``, sized by the stylesheet (it has a viewBox only)."""
    svg = qr.svg_inline(border=2, omitsize=True, light="#ffffff", dark="#000000")
    return Markup(svg)  # noqa: S704  (segno's SVG: path data only, no text)


def qr_image(qr: segno.QRCode) -> Markup:
    """``qr`` as an ``<img>`` of a PNG with one pixel per module, sized by the stylesheet
    with ``image-rendering: pixelated`` (sharp squares at any size).

    WeasyPrint draws it as one image; the same code as an SVG path (``qr_svg``) costs about
    15 ms of drawing in every certificate.
    """
    png = qr.png_data_uri(scale=1, border=2)
    return Markup('<img class="qr-code" src="{}" alt="QR">').format(png)


# --- Template context ----------------------------------------------------------------------


def date_zh(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def date_en(day: date | None) -> str:
    return format_date(day, "d MMMM y", locale="en") if day else ""


def certificate_context(certificate: Certificate) -> dict[str, Any]:
    """What a template sees: the snapshot taken at issue (``details``), the holder's name,
    serial and code, the dates formatted in Chinese and English, the verification link and
    its QR code. Reads only the certificate's own columns (no query)."""
    details = certificate.details or {}

    def text(key: str) -> str:
        return str(details.get(key) or "")

    completed = details.get("completed_on")
    completed_on = date.fromisoformat(completed) if completed else None
    url = verify_url(certificate.code)
    qr = qr_code(url)
    return {
        "holder_name": certificate.holder_name,
        "serial": certificate.serial,
        "code": certificate.code,
        "verify_url": url,
        "qr_svg": qr_svg(qr),
        "qr_image": qr_image(qr),
        "programme_code": text("programme_code"),
        "programme_title": text("programme_title"),
        "programme_title_en": text("programme_title_en"),
        "certificate_title": text("certificate_title") or text("programme_title"),
        "certificate_title_en": text("certificate_title_en") or text("programme_title_en"),
        "tier": text("tier"),
        "partner_name": text("partner_name"),
        "partner_name_en": text("partner_name_en"),
        "issuer_name": text("issuer_name"),
        "issuer_name_en": text("issuer_name_en"),
        "signatory_name": text("signatory_name"),
        "signatory_title": text("signatory_title"),
        "cycle": certificate.cycle,
        "issued_on": certificate.valid_from,
        "issued_on_zh": date_zh(certificate.valid_from),
        "issued_on_en": date_en(certificate.valid_from),
        "expires_on": certificate.expires_on,
        "expires_on_zh": date_zh(certificate.expires_on),
        "expires_on_en": date_en(certificate.expires_on),
        "completed_on": completed_on,
        "completed_on_zh": date_zh(completed_on),
        "completed_on_en": date_en(completed_on),
    }


def sample_certificate() -> Certificate:
    """An unsaved certificate with typical data, for previews and template checks."""
    return Certificate(
        code="K7QW3MZP8RXT2VYH5NCD4JGB6SFL9AEU",
        serial=f"{current_app.config['CERTIFICATE_SERIAL_PREFIX']}-TP-2026-000123",
        holder_name="张晓明",
        cycle=0,
        valid_from=date(2026, 11, 29),
        expires_on=date(2029, 11, 28),
        details={
            "programme_code": "TP-CARE",
            "programme_title": "婴幼儿照护专业人才培训",
            "programme_title_en": "Infant and Toddler Care Professional Training",
            "certificate_title": "婴幼儿照护专业人才培训合格证书",
            "certificate_title_en": "Certificate of Infant and Toddler Care Professional Training",
            "tier": "talent_pool",
            "partner_name": "南京师范大学",
            "partner_name_en": "Nanjing Normal University",
            "issuer_name": "南京市卫生健康委员会",
            "issuer_name_en": "Nanjing Municipal Health Commission",
            "signatory_name": "李文华",
            "signatory_title": "主任 Director",
            "completed_on": "2026-11-20",
        },
    )


# --- Jinja ---------------------------------------------------------------------------------


_jinja = SandboxedEnvironment(autoescape=True, undefined=jinja2.StrictUndefined)


@lru_cache(maxsize=32)
def _compiled(html: str) -> jinja2.Template:
    return _jinja.from_string(html)


def _static_url(filename: str) -> str:
    return f"{links_base()}{current_app.static_url_path}/{filename}"


def render_html(template: ResolvedTemplate, context: dict[str, Any]) -> Markup:
    """The HTML of one certificate; raises :class:`RenderError` with the Jinja message."""
    try:
        html = _compiled(template.html).render(static_url=_static_url, **context)
        return Markup(html)  # noqa: S704  (rendered with autoescape: values are escaped)
    except jinja2.TemplateSyntaxError as error:
        raise RenderError(f"line {error.lineno}: {error.message}") from error
    except jinja2.TemplateError as error:  # undefined names, sandbox refusals
        raise RenderError(str(error)) from error


# --- WeasyPrint ----------------------------------------------------------------------------

_lock = threading.Lock()
_font_config: FontConfiguration | None = None
_stylesheets: OrderedDict[tuple[str, ...], CSS] = OrderedDict()
_fetchers: dict[tuple[str, ...], AssetFetcher] = {}


def font_config() -> FontConfiguration:
    """The process's one font configuration, shared by every document and stylesheet."""
    global _font_config
    with _lock:
        if _font_config is None:
            from weasyprint.text.fonts import FontConfiguration

            _font_config = FontConfiguration()
        return _font_config


def asset_fetcher() -> AssetFetcher:
    """The URL fetcher for the app's links base and static folder."""
    app = current_app
    key = (links_base(), str(app.static_folder), str(app.static_url_path))
    with _lock:
        fetcher = _fetchers.get(key)
        if fetcher is None:
            if len(_fetchers) >= STYLESHEET_CACHE_SIZE:  # hosts come from requests: bounded
                _fetchers.clear()
            from lms.certificates.fetcher import AssetFetcher

            fetcher = _fetchers[key] = AssetFetcher(*key)
        return fetcher


def stylesheet(css: str) -> CSS:
    """The parsed stylesheet for ``css`` (cached by its hash, base URL and static folder)."""
    fetcher = asset_fetcher()
    key = (hashlib.sha256(css.encode()).hexdigest(), links_base(), str(current_app.static_folder))
    with _lock:
        parsed = _stylesheets.get(key)
        if parsed is not None:
            _stylesheets.move_to_end(key)
            return parsed
    from weasyprint import CSS

    parsed = CSS(
        string=css,
        base_url=links_base() + "/",
        url_fetcher=fetcher,
        font_config=font_config(),
    )
    with _lock:
        _stylesheets[key] = parsed
        while len(_stylesheets) > STYLESHEET_CACHE_SIZE:
            _stylesheets.popitem(last=False)
    return parsed


_font_faces: CSS | None = None


def font_faces() -> CSS:
    """The process's stylesheet of common-character faces (:mod:`lms.certificates.fonts`),
    parsed once: its fonts are registered in the shared font configuration."""
    global _font_faces
    fetcher, config = asset_fetcher(), font_config()
    with _lock:
        if _font_faces is None:
            from weasyprint import CSS

            from lms.certificates.fonts import font_faces_css

            _font_faces = CSS(string=font_faces_css(), url_fetcher=fetcher, font_config=config)
        return _font_faces


@atexit.register
def _release_fonts() -> None:
    """Let the font configuration delete its folder of @font-face files while the
    interpreter can still run its cleanup (at shutdown it cannot)."""
    global _font_config, _font_faces
    with _lock:
        _font_faces = None
        _font_config = None
        _stylesheets.clear()


def _document(template: ResolvedTemplate, contexts: Sequence[dict[str, Any]]) -> Document:
    """All certificates laid out as one document, each starting on a new page."""
    sections = [
        Markup('<section class="{}" id="{}{}">{}</section>').format(
            PAGE_CLASS, ANCHOR_PREFIX, index, render_html(template, context)
        )
        for index, context in enumerate(contexts)
    ]
    html = Markup(
        '<!DOCTYPE html><html lang="zh-Hans"><head><meta charset="utf-8"><title>{}</title>'
        "</head><body>{}</body></html>"
    ).format(contexts[0]["certificate_title"], Markup("").join(sections))
    try:
        from weasyprint import HTML

        return HTML(
            string=str(html), base_url=links_base() + "/", url_fetcher=asset_fetcher()
        ).render(
            font_config=font_config(),
            stylesheets=[font_faces(), stylesheet(template.css), stylesheet(BATCH_CSS)],
        )
    except Exception as error:  # WeasyPrint raises many kinds; the admin needs the message
        raise RenderError(f"{type(error).__name__}: {error}") from error


def _pages_per_certificate(document: Document, count: int) -> list[list[Any]]:
    """The pages of each certificate, found by the anchor that starts it."""
    groups: list[list[Any]] = []
    seen: set[str] = set()
    for page in document.pages:
        # A certificate's section keeps its id on every page it spans: only a new one starts.
        starts = {name for name in page.anchors if name.startswith(ANCHOR_PREFIX)} - seen
        if starts or not groups:
            groups.append([])
        seen |= starts
        groups[-1].append(page)
    if len(groups) != count:
        raise RenderError(f"{count} certificates were laid out on {len(groups)} page groups")
    return groups


def _metadata(context: dict[str, Any]) -> DocumentMetadata:
    """PDF title, author (the issuer), subject (the programme) and creation date."""
    issued: date = context["issued_on"]
    from weasyprint.pdf.metadata import DocumentMetadata

    return DocumentMetadata(
        title=f"{context['certificate_title']} · {context['holder_name']}",
        authors=[context["issuer_name"]] if context["issuer_name"] else [],
        description=context["programme_title"],
        keywords=[context["serial"]],
        generator="lms",
        created=issued.isoformat() if issued else None,
        lang="zh-Hans",
    )


_RENDER_LOCK = threading.RLock()


def render_pdfs(certificates: Sequence[Certificate], template: ResolvedTemplate) -> list[bytes]:
    """One PDF per certificate (in order), laid out together as one WeasyPrint document."""
    if not certificates:
        return []
    contexts = [certificate_context(certificate) for certificate in certificates]
    # The shared FontConfiguration is not safe across threads (a threaded server rendered
    # missing-glyph boxes): one render at a time per process; processes render in parallel.
    with _RENDER_LOCK:
        document = _document(template, contexts)
        pdfs = []
        for context, pages in zip(
            contexts, _pages_per_certificate(document, len(contexts)), strict=True
        ):
            part = document.copy(pages)
            part.metadata = _metadata(context)
            pdfs.append(part.write_pdf())
    return pdfs


def warm_up() -> None:
    """Load WeasyPrint, the fonts and the shipped design in this process by rendering the
    sample certificate once.

    ``lms worker`` calls it before it starts: RQ forks a work horse from the worker for each
    job, and a fork that starts cold imports WeasyPrint, makes the common-character fonts
    and parses the stylesheets again, about a second for every job. Nothing here touches the
    database, whose connections a fork must not share. A failure is logged, not raised:
    the worker runs other jobs, and certificate jobs report the error themselves.
    """
    try:
        render_pdfs([sample_certificate()], ResolvedTemplate(None, DEFAULT_HTML, DEFAULT_CSS))
    except Exception:  # a missing system library or font: WeasyPrint raises many kinds
        log.exception("certificates could not be prepared; their jobs will report why")


def page_count(template: ResolvedTemplate) -> int:
    """How many pages the sample certificate takes with ``template`` (raises RenderError)."""
    return len(_document(template, [certificate_context(sample_certificate())]).pages)


def render_preview(template: ResolvedTemplate) -> bytes:
    """The PDF of the sample certificate with ``template``."""
    return render_pdfs([sample_certificate()], template)[0]
