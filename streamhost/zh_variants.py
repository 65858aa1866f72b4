"""Traditional Chinese characters folded to simplified ones.

A viewer in Taiwan or Hong Kong writes 這個耳機多少錢？ where the language file, the catalog and
the blocklist say 这个耳机多少钱？: without this, the question meets no product, no intent and no
synonym and is dropped as chatter, and 腦殘 passes a blocklist that holds 脑残.

In: nothing (the table is read once, on first use). Out: a ``str.translate`` table, one
traditional character -> its simplified form. The characters are OpenCC's dictionaries shipped in
the `opencc-python-reimplemented` wheel (a registry package; its files are read, nothing is
downloaded): the Taiwan and Hong Kong variant forms first (為 -> 爲), then traditional ->
simplified (爲 -> 为). Character by character, not phrase by phrase: chat is matched on
characters and bigrams, and a character whose simplified form is itself among its readings
(乾, 於) keeps its first reading on both sides, chat and catalog alike.

The other way, for what viewers read: ``written_traditional`` tells a message written in
traditional characters, and ``to_traditional`` converts the host's (simplified) answer to it
for the captions, with OpenCC's own phrase-level converter (Taiwan standard, ``s2tw``: 头发 ->
頭髮, not 頭發), as the wheel ships it.
"""

from __future__ import annotations

import functools
from importlib import resources

__all__ = ["to_traditional", "traditional_to_simplified", "written_traditional"]

_PACKAGE = "opencc"
_VARIANTS = ("TWVariantsRev.txt", "HKVariantsRev.txt")
_TO_SIMPLIFIED = "TSCharacters.txt"
_FROM_SIMPLIFIED = "STCharacters.txt"


def _rows(name: str) -> list[tuple[str, list[str]]]:
    """One OpenCC dictionary: a character, a tab, its readings (the first is the usual one)."""
    text = (resources.files(_PACKAGE) / "dictionary" / name).read_text(encoding="utf-8")
    return [(k, v.split(" ")) for k, _, v in (line.partition("\t") for line in text.splitlines())]


def _pairs(name: str) -> dict[str, str]:
    # Single characters only: the table is for str.translate, one code point each side.
    return {k: vs[0] for k, vs in _rows(name) if len(k) == 1 and len(vs[0]) == 1 and k != vs[0]}


@functools.cache
def traditional_to_simplified() -> dict[int, str]:
    """{ord(traditional): simplified} for ``str.translate``."""
    variants: dict[str, str] = {}
    for name in _VARIANTS:
        variants.update(_pairs(name))
    simple = _pairs(_TO_SIMPLIFIED)
    # Characters simplified Chinese writes itself stay as they are: the Taiwan variant table
    # turns 么 into 幺, which would make every 什么 a 什幺.
    to_trad = _rows(_FROM_SIMPLIFIED)
    keep = {k for k, _ in to_trad}
    # A traditional form OpenCC only writes, never reads back (揹 of 背, as in 揹包).
    for k, vs in to_trad:
        for v in vs:
            if len(k) == 1 and len(v) == 1 and v not in keep:
                simple.setdefault(v, k)
    table: dict[int, str] = {}
    for ch in {*variants, *simple} - keep:
        std = variants.get(ch, ch)
        out = simple.get(std, std)
        if out != ch:
            table[ord(ch)] = out
    return table


def written_traditional(text: str) -> bool:
    """Whether the text uses a character that only traditional Chinese writes (這, 錢)."""
    table = traditional_to_simplified()
    return any(ord(c) in table for c in text if c >= "\u3400")


@functools.cache
def _converter():  # noqa: ANN202 (opencc has no type information)
    from opencc import OpenCC

    return OpenCC("s2tw")


def to_traditional(text: str) -> str:
    """Simplified Chinese text in traditional characters (Taiwan standard)."""
    return _converter().convert(text)
