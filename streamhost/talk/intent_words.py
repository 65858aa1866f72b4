"""The language files' intent word lists as patterns: what kind of question a text asks.

In: the validated language data (``streamhost.langdata``). Out: ``intent_patterns()`` (per
``[intent]`` key, a whole-word pattern over the languages written with spaces and a substring
pattern over the others), ``has_any`` and ``question_vocab`` (a language's frame tokens).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ..langdata import INTENT_KEYS, load_languages
from ..language import fold
from .matching import latin_words
from .tokens import tokenize

# Intent word lists that say what kind of question it is (each a pattern in intent_patterns).
ASKING_KEYS = (
    "price_strong", "price_weak", "stock", "cheapest", "priciest", "feature", "greeting", "have",
    "together", "filler",
)  # fmt: skip


def question_vocab(lang: str) -> set[str]:
    """The search tokens of a language's question and asking words ("how", "much", 多少)."""
    d = load_languages().get(lang)
    if d is None:
        return set()
    words: list[str] = []
    for key in ("question_words", *ASKING_KEYS):
        words += d.intent[key]
    out = {t for w in words for t in tokenize(w, lang)}
    # A deal is asked in one word ("on sale": sale) or through a price ("original price", "how
    # much do I save"), whose other words are things asked about too ("is it *original*?")
    return out | {t for w in d.intent["deal"] if len(toks := tokenize(w, lang)) == 1 for t in toks}


Patterns = tuple[re.Pattern[str] | None, re.Pattern[str] | None]


@functools.cache
def intent_patterns() -> dict[str, Patterns]:
    """Per intent word list: one pattern over the folded words of all languages written with
    spaces (whole words only) and one over the words of languages with their own script
    (anywhere: they are written without spaces)."""
    data = load_languages()
    out: dict[str, Patterns] = {}
    for key in INTENT_KEYS:
        # words asking about a catalog spec ("litres", 容量) ask about a feature too
        def of(d: Any, key: str = key) -> tuple[str, ...]:
            extra = [w for ws in d.specs.values() for w in ws] if key == "feature_attr" else []
            return (*d.intent[key], *extra)

        latin = sorted(
            {fold(w) for d in data.values() if d.script is None for w in of(d)},
            key=len,
            reverse=True,
        )
        cjk = [w for d in data.values() if d.script is not None for w in of(d)]
        lat = (
            re.compile(r"(?<![^\W_])(?:" + "|".join(map(latin_words, latin)) + r")(?![^\W_])")
            if latin
            else None
        )
        out[key] = (lat, re.compile("|".join(map(_cjk_pattern, cjk))) if cjk else None)
    return out


def _cjk_pattern(word: str) -> str:
    """A word of a language written without spaces as a pattern; "…" stands for what the
    viewer names in between (有…吗: 有扫地机器人吗, "do you have a robot vacuum?"), never a
    thing described by 的 (有白色的吗, "is there a white one?", asks about the product on
    screen)."""
    return r"[^，。？?！!]{1,12}?(?<!的)".join(re.escape(part) for part in word.split("…"))


def has_any(folded: str, pats: Patterns) -> bool:
    """Whether a folded text says any word of one intent list."""
    lat, zh = pats
    return bool((lat is not None and lat.search(folded)) or (zh is not None and zh.search(folded)))


@functools.cache
def intent_tokens(lang: str, keys: tuple[str, ...]) -> frozenset[str]:
    """The search tokens of the language's words for those intents ("sale", "end", 什么时候)."""
    d = load_languages().get(lang)
    words = [w for k in keys for w in d.intent[k]] if d is not None else []
    return frozenset(t for w in words for t in tokenize(w, lang))
