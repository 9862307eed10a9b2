"""Course images: what type a file really is, whether an SVG is harmless, and the file store.

The type comes from the file's first bytes, never from its name. SVG is XML that browsers
can run scripts from, so an SVG is accepted only when it parses, has an ``<svg>`` root,
declares no entities and holds no script, no event handler attributes and no reference to
anything outside itself.

The bytes are stored once per content at ``FILES_DIR/assets/<sha[:2]>/<sha>``; writing the
same content again does nothing, so a file written by an import that was then rolled back is
harmless (it is simply unused).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from xml.parsers import expat

from flask import current_app
from flask_babel import gettext as _

MAX_IMAGE_BYTES = 2 * 1024 * 1024
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})
SVG_TYPE = "image/svg+xml"


def sniff(data: bytes) -> str | None:
    """The content type of a raster image from its magic bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _local(name: str) -> str:
    """``namespace tag`` (expat's namespaced names) -> ``tag``; ``xlink:href`` -> ``href``."""
    return name.rsplit(" ", 1)[-1].rsplit(":", 1)[-1]


def _loads_from_elsewhere(value: str) -> bool:
    """A ``url(...)`` in a style or attribute that is not a reference inside the file."""
    compact = "".join(value.split()).lower()
    return "url(" in compact and any(
        not ref.lstrip("'\"").startswith("#") for ref in compact.split("url(")[1:]
    )


def svg_problems(data: bytes) -> list[tuple[int, str]]:
    """What makes an SVG unsafe or unusable, as (line, message); empty when it is fine."""
    problems: list[tuple[int, str]] = []
    parser = expat.ParserCreate(namespace_separator=" ")
    root: list[str] = []
    in_style = [False]

    def where() -> int:
        return parser.CurrentLineNumber

    def refuse_declarations(*args: object) -> None:
        raise _Refused(where(), _("SVG images must not declare a DOCTYPE or entities"))

    def start(name: str, attributes: dict[str, str]) -> None:
        tag = _local(name)
        if not root:
            root.append(tag)
            if tag != "svg":
                raise _Refused(
                    where(), _("not an SVG image: the root element is <%(tag)s>", tag=tag)
                )
        if tag in ("script", "foreignObject"):
            problems.append((where(), _("SVG images must not contain <%(tag)s>", tag=tag)))
        in_style[0] = tag == "style"
        for attribute, value in attributes.items():
            attr = _local(attribute).lower()
            if attr.startswith("on"):
                problems.append(
                    (where(), _("SVG images must not have event handlers (%(name)s)", name=attr))
                )
            elif attr == "href" and not value.strip().startswith("#"):
                problems.append(
                    (
                        where(),
                        _(
                            "SVG images must not link to other files or sites (%(href)s)",
                            href=value[:80],
                        ),
                    )
                )
            elif _loads_from_elsewhere(value):
                problems.append(
                    (
                        where(),
                        _("SVG images must not load anything from elsewhere (%(name)s)", name=attr),
                    )
                )

    def text(data: str) -> None:
        if in_style[0] and (_loads_from_elsewhere(data) or "@import" in data.lower()):
            problems.append(
                (
                    where(),
                    _("SVG images must not load anything from elsewhere (%(name)s)", name="style"),
                )
            )

    def end(name: str) -> None:
        in_style[0] = False

    parser.StartDoctypeDeclHandler = refuse_declarations
    parser.EntityDeclHandler = refuse_declarations
    parser.ExternalEntityRefHandler = refuse_declarations  # type: ignore[assignment]
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except _Refused as refused:
        return [(refused.line, refused.message)]
    except expat.ExpatError as error:
        message = expat.errors.messages.get(error.code, str(error)) if error.code else str(error)
        return [(error.lineno or 1, _("not a valid SVG image: %(error)s", error=message))]
    if not root:
        return [(1, _("not a valid SVG image: it is empty"))]
    return problems


class _Refused(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def image_problems(data: bytes, suffix: str) -> tuple[str | None, list[tuple[int, str]]]:
    """(content type, problems as (line, message)) for an image file's bytes."""
    if len(data) > MAX_IMAGE_BYTES:
        return None, [(1, _("the image is larger than 2 MB (%(size)d bytes)", size=len(data)))]
    content_type = sniff(data)
    if content_type is not None:
        return content_type, []
    if suffix.lower() == ".svg":
        problems = svg_problems(data)
        return (None if problems else SVG_TYPE), problems
    return None, [(1, _("not an image: only PNG, JPEG, GIF, WebP and SVG files can be used"))]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_path(digest: str) -> Path:
    """Where the bytes with this SHA-256 are kept in the file store."""
    return Path(current_app.config["FILES_DIR"]) / "assets" / digest[:2] / digest


def store(data: bytes, digest: str | None = None) -> str:
    """Keep ``data`` in the file store (once per content); returns its SHA-256."""
    digest = digest or sha256(data)
    path = stored_path(digest)
    if path.exists() and path.stat().st_size == len(data):
        return digest
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest


def load(digest: str) -> bytes:
    """The stored bytes with this SHA-256 (FileNotFoundError when missing)."""
    return stored_path(digest).read_bytes()
