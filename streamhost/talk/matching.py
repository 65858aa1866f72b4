"""How the words of a viewer's question meet the catalog's: closed-compound parts, CJK
bigrams, whole-word phrases, and the numbers a spec and a feature share.

In: folded or tokenized text, words; out: booleans and feature indexes. Used by
``retrieval.Retriever`` (FAQ and spec matching) and the template generator.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .products import FaqEntry

CJK_PAIR = re.compile(r"[\u3400-\u9fff]{2}")


@dataclass(frozen=True, slots=True)
class FaqMatch:
    """An FAQ entry a question asks: the entry, its index in its list, its BM25 score."""

    entry: FaqEntry
    index: int
    score: float


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def spec_features(features: list[str], values: list[str]) -> list[int]:
    """Indexes of the features that state a number of one of the spec values ("1.7 l" in
    "a 1.7 litre body", "1,7 Litern", "1.7升"), in feature order; [] when none does."""
    wanted = {n.replace(",", ".") for v in values for n in _NUMBER.findall(v)}
    if not wanted:
        return []
    return [
        i
        for i, f in enumerate(features)
        if wanted & {n.replace(",", ".") for n in _NUMBER.findall(f)}
    ]


def says(folded: str, word: str, cjk: bool) -> bool:
    """Does the folded text contain ``word``: anywhere in a language written without spaces,
    as whole words otherwise; a folded gap ("how much does ... hold") stands for one to four
    words (a product's name: "how much does the bottle hold")."""
    if cjk:
        return word in folded
    return _word_pattern(word).search(folded) is not None


@functools.cache
def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<![^\W_])" + latin_words(word) + r"(?![^\W_])")


def latin_words(word: str) -> str:
    """A folded word or phrase of a language written with spaces as a pattern body, its gap
    ("...") one to four words; a leading "^": only as the message's first or second word
    (Italian "*è* impermeabile?", "ma *è* ...?" point at the product on screen, "il tappo *è*
    ...?" has its own subject)."""
    # (the first word ends at a space: "c'*è* ...?" is "is there", not "*è*")
    start = r"^\W*(?:[^\W_]+\W*\s\W*)?" if word.startswith("^") else ""
    parts = [re.escape(w.strip()) for w in word.lstrip("^").split("...")]
    return start + r"\s+[^\W_]+(?:[ '-][^\W_]+){0,3}?\s+".join(parts)


def within(word: str, words: Iterable[str]) -> bool:
    """Is ``word`` (4 letters or more) part of one of ``words``, or one of them part of it,
    with 4 or more letters left over ("wash" and "dishwasher", "water" and "waterproof"):
    closed compounds, any language."""
    return any(
        # the rest a word of its own (4+ letters): "free" is not part of "freezer"
        min(len(w), len(word)) >= 4 and abs(len(w) - len(word)) >= 4 and (w in word or word in w)
        for w in words
    )


def spelled(word: str, words: Iterable[str]) -> bool:
    """Is ``word`` a closed compound the text writes apart, both parts of 4+ letters among
    ``words`` ("waterproof" in "is it water proof?"); one part alone is not enough: "phone"
    is no "microphone" nor "headphone"."""
    ws = {w for w in words if len(w) >= 4}
    return any(word.startswith(w) and word[len(w) :].lstrip("-") in ws for w in ws)


def related(word: str, words: list[str]) -> bool:
    """``within``, or for a CJK bigram a character shared with one of ``words``."""
    if CJK_PAIR.fullmatch(word):
        return any(c in w for w in words for c in word)
    return within(word, words)
