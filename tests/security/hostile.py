"""Hypothesis strategies for hostile text, shared by the bad-input tests of this folder.

Hostile means what real files and forms bring: Chinese, emoji, control characters (NUL
included), bidi overrides, lone surrogates (only where a ``str`` is passed directly: HTTP and
files carry bytes), very long values, formula-like cells and markup.
"""

from __future__ import annotations

from hypothesis import strategies as st

#: Fixed nasty values, tried first by ``st.sampled_from`` and mixed with random text.
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\t\r\n",
    "\x1b[31m红\x1b[0m",
    "\u202eevil\u202c",
    "\ufeff张三",
    "张晓燕",
    "😀👩‍👧",
    '=HYPERLINK("http://x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}",
    "%(n)s %s %d",
    "' OR 1=1 --",
    "../../etc/passwd",
    "ｆｕｌｌ　ｗｉｄｔｈ",
    "e\u0301",
    "\u200b",
    "𠀋𡈽𡌛",
    "x" * 5000,
    "长" * 3000,
]

#: Every character category, control characters included; no surrogates (not encodable).
ANY_CHAR = st.characters(codec="utf-8")
#: Every code point, lone surrogates included: only for functions that take ``str``.
ANY_CODE_POINT = st.characters()

hostile_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(ANY_CHAR, max_size=60),
    st.text(st.sampled_from("张晓燕😀\x00\x01\x7f\u202e\r\n\t ,;\"'=<>&{}~#"), max_size=30),
)

#: Like ``hostile_text`` but possibly with lone surrogates.
hostile_str = st.one_of(hostile_text, st.text(ANY_CODE_POINT, max_size=40))


def squash(text: str) -> str:
    """``text`` with white space collapsed: what most services keep of a one-line value."""
    return " ".join(text.split())
