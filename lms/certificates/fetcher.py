"""The URL fetcher WeasyPrint uses for certificates: ``data:`` URLs and the app's own static
files, nothing else.

Templates are written by administrators, and certificates carry the holders' data: a
stylesheet or image must not read files from the server (``file://``) nor reach the network
(an ``http(s)`` request to an internal address, or to anywhere, leaking who gets a
certificate). Static files are read from the app's static folder, never fetched over HTTP.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse


class RefusedURL(ValueError):
    """A template asked for a resource the certificate renderer does not fetch."""


class AssetFetcher(URLFetcher):
    """Serves ``data:`` URLs and ``<base_url><static_url_path>/...`` from ``static_folder``.

    ``base_url`` is the address documents are rendered at (the app's links base), so a
    template can write ``/static/img/seal.png`` or ``{{ static_url('img/seal.png') }}``.
    Anything else raises :class:`RefusedURL` (WeasyPrint then leaves the resource out).
    """

    def __init__(self, base_url: str, static_folder: str | Path, static_url_path: str) -> None:
        super().__init__(allowed_protocols={"data"}, allow_redirects=False)
        base = urlsplit(base_url)
        self._origin = (base.scheme.lower(), base.netloc.lower())
        self._prefix = static_url_path.rstrip("/") + "/"
        self._folder = Path(static_folder).resolve()

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url[:5].lower() == "data:":
            return super().fetch(url, headers)
        path = self.static_file(url)
        if path is None:
            raise RefusedURL(f"Refused to fetch {url!r}: only data: URLs and static files")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    def static_file(self, url: str) -> Path | None:
        """The file in the static folder that ``url`` names, or None when it names none."""
        parts = urlsplit(url)
        if (parts.scheme.lower(), parts.netloc.lower()) != self._origin:
            return None
        if not parts.path.startswith(self._prefix):
            return None
        relative = unquote(parts.path[len(self._prefix) :])
        if not relative or "\\" in relative or "\0" in relative:
            return None
        path = (self._folder / relative).resolve()
        if not path.is_relative_to(self._folder) or not path.is_file():
            return None
        return path
