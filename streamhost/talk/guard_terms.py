"""Phrase matching and the language check of the catalog guard (``guard.py``).

``Terms``: phrases in (forbidden words, claims, product names), whole-word matches in a
sentence's tokens out. ``LanguageCheck``: the stream language in, for a sentence the language it
looks like instead ('' when it fits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .amounts import fold
from .tokens import STOPWORDS

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RE = re.compile(f"[{CJK}]")
TOKEN_RE = re.compile(r"\d+|[^\W\d_]+|[%'’-]")


class Terms:
    """A set of phrases matched as whole words.

    Latin phrases become token tuples ("100% safe" -> ("100", "%", "safe")) looked up as
    n-grams of the sentence's tokens: a handful of dict lookups instead of a regex alternation
    tried at every position (10x faster). CJK phrases are plain substrings (no word breaks).
    Each phrase maps to a value (the phrase itself, or a product id).
    """

    def __init__(self, terms: Iterable[tuple[str, str]] = ()) -> None:
        self.latin: dict[tuple[str, ...], str] = {}
        self.cjk: dict[str, str] = {}
        for term, value in terms:
            t = fold(term)
            if not t:
                continue
            if CJK_RE.search(t):
                self.cjk[t] = value
            else:
                toks = tuple(TOKEN_RE.findall(t))
                if toks:
                    self.latin.setdefault(toks, value)
        # First token -> phrase lengths starting with it, longest first: most sentence tokens
        # start no phrase and cost one dict lookup.
        starts: dict[str, set[int]] = {}
        for k in self.latin:
            starts.setdefault(k[0], set()).add(len(k))
        self.starts = {t: sorted(ns, reverse=True) for t, ns in starts.items()}

    def __bool__(self) -> bool:
        return bool(self.latin or self.cjk)

    def matches(self, tokens: list[str], text: str, skip: set[int] | None = None):
        """(value, matched text, token indexes) for every match, in sentence order."""
        starts = self.starts
        for i, tok in enumerate(tokens):
            ns = starts.get(tok)
            if ns is None:
                continue
            for n in ns:
                v = self.latin.get(tuple(tokens[i : i + n]))
                if v is not None:
                    idx = range(i, i + n)
                    if skip and all(j in skip for j in idx):
                        continue
                    yield v, " ".join(tokens[i : i + n]), idx
        for t, v in self.cjk.items():
            if t in text:
                yield v, t, range(0)

    def first(self, tokens: list[str], text: str, skip: set[int] | None = None) -> str | None:
        for _v, found, _idx in self.matches(tokens, text, skip):
            return found
        return None


_LATIN = ("en", "de", "it")
_WORD_RE = re.compile(r"[^\W\d_]+")
_DE_CHARS = re.compile(r"[äöüß]")
_IT_CHARS = re.compile(r"[àèìòù]")
# Frequent function words the retrieval stopword lists leave out (they list question words).
_EXTRA_STOP: dict[str, set[str]] = {
    "en": set("very really just only also more than then from into your yours our all its".split()),
    "de": set("ihr euch euer nur sehr auch mehr als dann vom zum zur beim ganz jetzt".split()),
    "it": set(
        "vi voi nostro vostro solo molto anche più poi dal della dello degli nella ogni".split()
    ),
}


class LanguageCheck:
    """The stream language in; ``mismatch(text)`` -> '' when the (name-masked, folded) text fits
    it, else the language it looks like: CJK script for zh, and for en/de/it a clearly stronger
    score of words that belong to one language only."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        sets = {lg: set(STOPWORDS.get(lg, ())) | _EXTRA_STOP.get(lg, set()) for lg in _LATIN}
        self._stop = {
            lg: frozenset(w for w in s if all(w not in sets[o] for o in _LATIN if o != lg))
            for lg, s in sets.items()
        }

    def mismatch(self, masked: str) -> str:
        """'' if the text fits the stream language, else the language it looks like."""
        n_cjk = len(CJK_RE.findall(masked))
        if self.lang == "zh":
            if n_cjk == 0:
                return self._latin_best(masked) or "latin"
            letters = sum(1 for c in masked if c.isalpha())
            # Product names and terms like "LED", "USB", "Qi" are Latin in Chinese text too.
            return "" if n_cjk >= 0.3 * letters else self._latin_best(masked) or "latin"
        if n_cjk:
            return "zh"
        scores = dict.fromkeys(_LATIN, 0.0)
        for w in _WORD_RE.findall(masked):
            for lg in _LATIN:
                if w in self._stop[lg]:
                    scores[lg] += 1.0
        if _DE_CHARS.search(masked):
            scores["de"] += 2.0
        if _IT_CHARS.search(masked):
            scores["it"] += 1.5
        best = max(scores, key=scores.__getitem__)
        # A clear margin only: short sentences ("Plus, USB.") carry little evidence.
        if best != self.lang and scores[best] >= 2 and scores[best] >= scores[self.lang] + 2:
            return best
        return ""

    def _latin_best(self, masked: str) -> str:
        scores = {
            lg: sum(1 for w in _WORD_RE.findall(masked) if w in self._stop[lg]) for lg in _LATIN
        }
        best = max(scores, key=scores.__getitem__)
        return best if scores[best] else ""
