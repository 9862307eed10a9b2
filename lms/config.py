"""Configuration: defaults, then ``instance/config.py``, then ``LMS_*`` environment variables.

Every setting can be given as an environment variable by prefixing its name with ``LMS_``
(``LMS_SECRET_KEY``, ``LMS_DATABASE_URL``...). Values are parsed as JSON when they look like
JSON (numbers, booleans), otherwise used as strings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

from flask import Flask

# Settings whose environment name differs from the Flask name.
ENV_ALIASES = {
    "LMS_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "LMS_REDIS_URL": "REDIS_URL",
    "LMS_FILES_DIR": "FILES_DIR",
}


class Defaults:
    """Safe defaults for the embedded mode (a laptop, a demo, the tests)."""

    SECRET_KEY: str | None = None  # generated into instance/secret_key when not configured
    SQLALCHEMY_DATABASE_URI: str | None = None  # sqlite:///<instance>/lms.sqlite3
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"pool_pre_ping": True}
    REDIS_URL: str | None = None  # no Redis: jobs run in-process, synchronously
    FILES_DIR: str | None = None  # <instance>/files
    JOB_QUEUES = ("default", "bulk")

    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_Hans_CN", "en")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # set True (LMS_SESSION_COOKIE_SECURE=true) behind TLS
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    HSTS_MAX_AGE = 365 * 24 * 3600  # Strict-Transport-Security, sent on HTTPS requests only

    LOGIN_MAX_FAILURES = 5  # consecutive failures before the account is locked
    LOGIN_RATE_LIMIT = "10 per minute"  # failed sign-ins per address, whatever the accounts
    LOGIN_LOCK_MINUTES = 15
    PASSWORD_MIN_LENGTH = 10

    PAGE_SIZE = 25

    PROXY_HOPS = 0  # proxies in front of the app (e.g. 1 behind a load balancer): client addresses

    # Certificates
    SERVER_NAME_FOR_LINKS: str | None = None  # e.g. https://lms.example.org: QR codes and badges
    CERTIFICATE_SERIAL_PREFIX = "NJ"  # serials read NJ-LT-2026-000123
    CERTIFICATE_BATCH_SIZE = 50  # certificates rendered per WeasyPrint document in bulk jobs
    BADGE_SIGNING_KEY: str | None = None  # PEM; else generated into instance/badge_signing_key.pem
    VERIFY_RATE_LIMIT = "30 per minute"  # per address, for /verify and the certificate API
    MAIL_SERVER: str | None = None  # SMTP host for reminders; without it the outbox is listed
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_FROM = "lms@localhost"


def _parse(value: str) -> Any:
    """Read an environment value: JSON scalars and lists as such, anything else as text."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs, the only PostgreSQL driver installed."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill ``app.config`` in order: defaults, instance file, environment, ``test_config``."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for name, value in os.environ.items():
        if not name.startswith("LMS_"):
            continue
        key = ENV_ALIASES.get(name, name.removeprefix("LMS_"))
        app.config[key] = _parse(value) if key not in ENV_ALIASES.values() else value
    if test_config:
        app.config.update(test_config)

    instance = Path(app.instance_path)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'lms.sqlite3'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # SQLite: one file shared by the web process and in-process jobs; wait on locks.
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.setdefault("connect_args", {"timeout": 30})
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if not app.config["FILES_DIR"]:
        app.config["FILES_DIR"] = str(instance / "files")
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(instance)


def _instance_secret(instance: Path) -> str:
    """A random key kept in ``instance/secret_key`` so sessions survive restarts.

    Production sets ``LMS_SECRET_KEY`` (the same on every web machine) instead.
    """
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    import secrets

    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
