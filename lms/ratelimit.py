"""Rate limiting (Flask-Limiter): slows down guessing of certificate codes.

One :data:`limiter` for the application, keyed by the client's address. Counters live in
Redis when ``REDIS_URL`` is set, so every web process and machine shares them, and in the
process's memory in the embedded mode. Behind a proxy, the app must see the client's address
(Werkzeug's ``ProxyFix``), or every visitor shares the proxy's counter.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)


def verify_rate_limit() -> str:
    """The configured limit for certificate look-ups, e.g. ``"30 per minute"``."""
    return str(current_app.config["VERIFY_RATE_LIMIT"])


#: Decorator for every view that looks up a certificate by its code: the verify page and the
#: JSON API share one budget per address, and found and unknown codes count alike.
certificate_lookup_limit = limiter.shared_limit(verify_rate_limit, scope="certificate-lookup")


def init_limiter(app: Flask) -> None:
    """Attach the limiter to ``app``: storage from ``REDIS_URL`` (else memory), headers on.

    An unreachable Redis degrades to per-process counters rather than failing look-ups.
    """
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "lms")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
