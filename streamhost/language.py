"""What language a chat message is in, and what it asks for: shared by chat and talk.

In: a viewer's text. Out: a language code (one of the language data files,
`streamhost.langdata.available_languages`), a folded form of the text for keyword matching, and
the `Intent` vocabulary. Chat triage and the talk generator both classify messages; this module
is theirs in common so neither package imports the other for it.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from .langdata import LangData, load_languages

__all__ = ["Intent", "detect_language", "fold"]

# On a tie between languages that are not the stream's, this one wins (it is the language most
# viewers fall back to in any stream).
TIE_LANGUAGE = "en"

_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


class Intent(StrEnum):
    """What a viewer's message asks for."""

    PRICE = "price"
    FEATURE = "feature"
    FAQ = "faq"
    GREETING = "greeting"
    HAVE = "have"  # "do you have an air fryer?": a product, maybe one the shop does not sell
    STOCK = "stock"  # "is it in stock?", 还有货吗: answered from the catalog's stock
    OTHER = "other"


def fold(text: str) -> str:
    """Lowercase, NFKC, strip accents/umlauts (ä -> a, ß -> ss) so spellings without them match."""
    if text.isascii():
        # NFKC/NFD leave ASCII alone and it has no combining marks, "ß" or "’": same result.
        return text.lower()
    text = unicodedata.normalize("NFKC", text).lower().replace("ß", "ss")
    text = text.replace("’", "'")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class _Scoring:
    scripts: tuple[tuple[str, re.Pattern[str]], ...]  # a match decides the language outright
    # word languages: (lang, stopwords | hints counted per occurrence, marks, mark weight)
    words: tuple[tuple[str, frozenset[str], frozenset[str], re.Pattern[str] | None, float], ...]


@functools.cache
def _scoring() -> _Scoring:
    data: dict[str, LangData] = load_languages()
    return _Scoring(
        scripts=tuple((lg, d.script) for lg, d in data.items() if d.script is not None),
        words=tuple(
            (lg, d.stopwords, d.hints, d.marks, d.mark_weight)
            for lg, d in data.items()
            if d.script is None
        ),
    )


def detect_language(text: str, default: str = "en") -> str:
    """A language written in its own script if any of its characters occur (zh: any CJK);
    else the best stopword/hint/mark score; `default` when nothing scores or it ties."""
    sc = _scoring()
    for lang, script in sc.scripts:
        if script.search(text):
            return lang
    raw = text.lower()
    words = _WORD_RE.findall(fold(text))
    scores: dict[str, float] = {}
    for lang, stop, hints, marks, weight in sc.words:
        s = 0.0
        for w in words:
            # A word that is both a stopword and a hint counts twice, as it always has.
            s += (w in stop) + (w in hints)
        if marks is not None and marks.search(raw):
            s += weight
        scores[lang] = s
    if not scores:
        return default
    top_score = max(scores.values())
    if top_score <= 0:
        return default
    top = [k for k, v in scores.items() if v == top_score]
    if default in top:
        return default
    return TIE_LANGUAGE if TIE_LANGUAGE in top else top[0]
