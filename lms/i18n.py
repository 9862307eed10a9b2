"""Language selection: Simplified Chinese first, English too."""

from __future__ import annotations

from typing import NamedTuple

from babel import Locale
from babel.support import NullTranslations
from flask import Flask, current_app, g, has_request_context, session
from flask_babel import get_locale, get_translations
from flask_login import current_user


class _PageLanguage(NamedTuple):
    locale: Locale | None
    text: str
    translations: NullTranslations


def _page_language() -> _PageLanguage:
    """The locale, its text and its catalogue, looked up once per locale in a request.

    Flask-Babel's template callables look the catalogue up again for every string (several
    context lookups and a locale-to-text conversion each) and a page has dozens of strings.
    The cache is keyed by the locale object, so ``force_locale`` (jobs, e-mails) is obeyed.
    """
    locale = get_locale()
    cached: _PageLanguage | None = g.get("_lms_language")
    if cached is None or cached.locale is not locale:
        text = str(locale or current_app.config["BABEL_DEFAULT_LOCALE"])
        cached = _PageLanguage(locale, text, get_translations())
        g._lms_language = cached
    return cached


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
    return _page_language().text.replace("_", "-")


def locale_code() -> str:
    """The page's locale as text (``zh_Hans_CN`` or ``en``), for ``display_title(...)``."""
    return _page_language().text


def init_app(app: Flask) -> None:
    """Template helpers, and template translation through :func:`_page_language` (replacing
    the callables Flask-Babel installed)."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _page_language().translations.ugettext(s),
        ngettext=lambda s, p, n: _page_language().translations.ungettext(s, p, n),
        pgettext=lambda c, s: _page_language().translations.upgettext(c, s),
        npgettext=lambda c, s, p, n: _page_language().translations.unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.globals.update(
        html_lang=html_lang, get_locale=get_locale, locale_code=locale_code
    )
