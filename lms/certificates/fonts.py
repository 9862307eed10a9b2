"""Certificate fonts: the common characters of the system's Noto CJK fonts, as smaller fonts.

Why: WeasyPrint subsets every font a PDF uses but keeps each glyph's number, so a PDF that
uses a few characters of Noto Sans CJK (65,535 glyphs) still carries an entry for every glyph
number up to the highest one used. That cost about 34 ms per font per certificate and 150 KB
per font in every PDF. Subsetting Noto once per process to the ~8,000 glyphs of everyday
Chinese text (GB 2312's 6,763 characters, Latin with pinyin tones, punctuation, full-width
forms) keeps glyph numbers small, so each certificate's own subset is quick and small.

The subsets are offered to templates as their own families (``COMMON_FAMILIES``), listed
before the full font: a character outside the common set (a rare character in a name) comes
from the full Noto font, through the font-family list. Each PDF still embeds only the glyphs
it uses. Made with HarfBuzz (uharfbuzz) in a fraction of a second; nothing is downloaded and
nothing is written to disk.
"""

from __future__ import annotations

import base64
import functools
import logging
import shutil
import subprocess
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommonFace:
    """One common-character face: its family for templates, and the system font it is
    made from (a fontconfig family and style)."""

    family: str
    source_family: str
    bold: bool


SANS = "Noto Sans CJK SC Common"
SERIF = "Noto Serif CJK SC Common"
COMMON_FAMILIES = (SANS, SERIF)
FACES = tuple(
    CommonFace(family, source, bold)
    for family, source in ((SANS, "Noto Sans CJK SC"), (SERIF, "Noto Serif CJK SC"))
    for bold in (False, True)
)

# Besides GB 2312: Latin (pinyin tones included), general punctuation, letter-like symbols
# (℃, №), circled numbers, shapes (●, ■), CJK punctuation and full-width forms.
_RANGES = (
    (0x20, 0x7E),
    (0xA0, 0x24F),
    (0x2000, 0x206F),
    (0x2100, 0x214F),
    (0x2460, 0x24FF),
    (0x25A0, 0x25FF),
    (0x3000, 0x303F),
    (0xFF00, 0xFFEF),
)


@functools.cache
def common_characters() -> frozenset[int]:
    """The code points the common faces cover."""
    found = {code for start, end in _RANGES for code in range(start, end + 1)}
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                found.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:  # an unassigned cell of the GB 2312 table
                continue
    return frozenset(found)


def system_font(family: str, bold: bool) -> tuple[str, int] | None:
    """The file and face index fontconfig uses for ``family`` (None when it is not installed:
    fontconfig would answer with another family)."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    style = "Bold" if bold else "Regular"
    done = subprocess.run(  # noqa: S603 (a fixed program and pattern)
        [fc_match, "--format", "%{family}\t%{style}\t%{file}\t%{index}", f"{family}:style={style}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    parts = done.stdout.split("\t")
    if done.returncode or len(parts) != 4:
        return None
    families, styles, path, index = parts
    if family not in families.split(",") or style not in styles.split(","):
        return None
    return path, int(index)


def subset_font(path: str, index: int, characters: frozenset[int]) -> bytes:
    """The face ``index`` of the font file ``path`` reduced to ``characters`` (glyphs
    renumbered, outlines without subroutines or hints: what a PDF embeds anyway)."""
    import uharfbuzz as hb

    face = hb.Face(hb.Blob.from_file_path(path), index)
    wanted = hb.SubsetInput()
    for code in sorted(characters):
        wanted.unicode_set.add(code)
    wanted.flags = (
        hb.SubsetFlags.DESUBROUTINIZE
        | hb.SubsetFlags.NO_HINTING
        | hb.SubsetFlags.NO_LAYOUT_CLOSURE  # other locales' forms: not Simplified Chinese
    )
    return bytes(hb.subset(face, wanted).blob.data)


def font_faces_css() -> str:
    """``@font-face`` rules for the common faces found on this system, with the fonts
    inline (``data:`` URLs, which the certificate fetcher allows); empty when Noto CJK is
    not installed, and templates then use the next family of their lists.

    Several megabytes: made once per process for the parsed stylesheet
    (:func:`lms.certificates.rendering.font_faces`), and not kept.
    """
    rules = []
    for face in FACES:
        source = system_font(face.source_family, face.bold)
        if source is None:
            logger.warning(
                "%s%s is not installed: certificates use slower, larger fonts",
                face.source_family,
                " Bold" if face.bold else "",
            )
            continue
        data = base64.b64encode(subset_font(*source, common_characters())).decode()
        rules.append(
            f'@font-face {{ font-family: "{face.family}"; '
            f"font-weight: {'bold' if face.bold else 'normal'}; "
            f"src: url(data:font/otf;base64,{data}); }}"
        )
    return "\n".join(rules)
