"""Language selection: Simplified Chinese first, English too."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, session
from flask_babel import get_locale
from flask_login import current_user


def select_locale() -> str:
    """The person's saved choice, else this browser session's choice, else Chinese."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # jobs and commands speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def html_lang() -> str:
    """The BCP 47 tag for ``<html lang>``: ``zh-Hans-CN`` or ``en``."""
    return str(get_locale()).replace("_", "-")


def locale_code() -> str:
    """The page's locale as text (``zh_Hans_CN`` or ``en``), for ``display_title(...)``."""
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        html_lang=html_lang, get_locale=get_locale, locale_code=locale_code
    )
