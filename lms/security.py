"""Security headers on every response.

Pages get a Content-Security-Policy that allows scripts only from our own files (no inline
script, no ``eval``: htmx is configured with ``allowEval: false`` in ``base.html``), forbids
plugins, foreign forms and framing by other sites, and keeps ``<base>`` on this site. A view
that sets its own, stricter policy (course files served with a sandbox) keeps it.

PDFs shown in the browser are the one exception to "no framing, no plugins": Chrome shows a
PDF through an ``<embed>`` in a generated page with inline styles, which ``object-src 'none'``
would block (crbug.com/271452), and the certificate template editor shows its preview PDF in
an ``<iframe>`` of the same site. They get :data:`PDF_CSP` and ``SAMEORIGIN`` instead.

Strict-Transport-Security is sent only on requests that came over HTTPS. Behind a proxy that
ends TLS, ``PROXY_HOPS`` makes Werkzeug's ``ProxyFix`` trust ``X-Forwarded-Proto`` from that
many proxies (see :func:`lms.create_app`); without it the header is ignored, so a plain-HTTP
client cannot turn HSTS on by sending it.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # 'unsafe-inline' for styles only: the report charts are pygal SVGs inlined in the
        # page, each carrying its own <style> element. Scripts stay 'self' only.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PDF_CSP = "default-src 'none'; object-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
# Powerful browser features the app never uses, switched off for every page.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)


def set_security_headers(response: Response) -> Response:
    """``after_request`` hook: add the headers a view has not set itself."""
    headers = response.headers
    if response.mimetype == "application/pdf":
        headers.setdefault("Content-Security-Policy", PDF_CSP)
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    else:
        headers.setdefault("Content-Security-Policy", PAGE_CSP)
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault(
            "Strict-Transport-Security", f"max-age={int(current_app.config['HSTS_MAX_AGE'])}"
        )
    return response


def init_security(app: Flask) -> None:
    """Register the response headers on ``app``."""
    app.after_request(set_security_headers)
