"""Common-character certificate fonts (``lms.certificates.fonts``): everyday text comes from
the small faces, rare characters from the full Noto CJK font, and PDFs are a third the size."""

from __future__ import annotations

from typing import Any

from lms.certificates import fonts, rendering
from lms.certificates.default_template import DEFAULT_CSS, DEFAULT_HTML
from tests.certificates.test_rendering import fonts_of, make_certificate, text_of

DEFAULT = rendering.ResolvedTemplate(None, DEFAULT_HTML, DEFAULT_CSS)
# The same design naming only the full Noto fonts, as a template written before the common
# faces existed does.
FULL_FONTS_ONLY = rendering.ResolvedTemplate(
    None,
    DEFAULT_HTML,
    DEFAULT_CSS.replace(f'"{fonts.SANS}", ', "").replace(f'"{fonts.SERIF}", ', ""),
)


def test_the_common_set_is_everyday_chinese_latin_and_punctuation() -> None:
    common = fonts.common_characters()
    assert 6763 < len(common) < 9000
    everyday = ("张晓明南京师范大学婴幼儿照护", "Zhāng Xiǎomíng", "，。「」（）", "ＡＢ１２", "℃№●")
    for text in everyday:
        assert {ord(c) for c in text} <= common, text
    for rare in "堃龑䶮𠀾":
        assert ord(rare) not in common


def test_every_noto_face_installed_here_is_offered() -> None:
    css = fonts.font_faces_css()
    for face in fonts.FACES:
        assert fonts.system_font(face.source_family, face.bold) is not None, face
        weight = "bold" if face.bold else "normal"
        assert f'font-family: "{face.family}"; font-weight: {weight}' in css
    assert fonts.system_font("No Such Family 42", bold=False) is None


def test_an_everyday_name_is_set_in_the_common_faces_in_a_third_of_the_size(
    learning_world: Any,
) -> None:
    certificate = make_certificate(learning_world, "张晓明")
    pdf = rendering.render_pdfs([certificate], DEFAULT)[0]
    full = rendering.render_pdfs([certificate], FULL_FONTS_ONLY)[0]

    assert "张晓明" in text_of(pdf) and "张晓明" in text_of(full)
    names = [name for name, embedded in fonts_of(pdf) if embedded]
    assert len(names) == len(fonts_of(pdf)) == 2
    assert all("Common" in name for name in names), names
    assert not any("Common" in name for name, _ in fonts_of(full))
    assert len(pdf) * 2.5 < len(full), (len(pdf), len(full))


def test_a_rare_character_comes_from_the_full_font(learning_world: Any) -> None:
    pdf = rendering.render_pdfs([make_certificate(learning_world, "王堃")], DEFAULT)[0]

    assert "王堃" in text_of(pdf)
    names = [name for name, embedded in fonts_of(pdf) if embedded]
    assert len(names) == len(fonts_of(pdf))
    assert any("Common" in name for name in names), names
    assert any("Common" not in name and "Noto" in name for name in names), names
