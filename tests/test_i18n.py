"""Both catalogues translate every string the code and templates show."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("lms/**.py", "python"), ("lms/**/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def source_messages() -> set[str]:
    found: set[str] = set()
    for _, _, message, _, _ in extract_from_dir(ROOT, METHODS, keywords=KEYWORDS):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "en"])
def test_catalogue_is_complete(locale):
    path = ROOT / "lms" / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalogue = read_po(handle)
    missing = []
    for msgid in sorted(source_messages()):
        message = catalogue.get(msgid)
        if (
            message is None
            or message.fuzzy
            or not (all(message.string) if isinstance(message.string, tuple) else message.string)
        ):
            missing.append(msgid)
    assert missing == [], f"untranslated in {locale}: {missing[:20]}"


def test_chinese_catalogue_is_chinese():
    path = ROOT / "lms" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalogue = read_po(handle)
    translated = [m for m in catalogue if m.id and isinstance(m.string, str) and m.string]
    with_chinese = [m for m in translated if any("\u4e00" <= ch <= "\u9fff" for ch in m.string)]
    assert len(with_chinese) >= 0.9 * len(translated)


def test_templates_follow_a_language_forced_inside_a_request(app):
    """Templates look their catalogue up once per request (``lms.i18n``); a job or e-mail
    that forces another language mid-request still gets that language, and the page's own
    language afterwards."""
    from flask import render_template_string
    from flask_babel import force_locale

    template = '{{ _("Sign out") }} {{ ngettext("%(num)d lesson", "%(num)d lessons", 2) }}'
    with app.test_request_context("/"):
        assert render_template_string(template) == "退出登录 2 个课时"
        with force_locale("en"):
            assert render_template_string(template) == "Sign out 2 lessons"
        assert render_template_string(template) == "退出登录 2 个课时"
