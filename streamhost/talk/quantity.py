"""How many of a product a price question asks for: "how much for two bottles?", "Was kosten
3 Flaschen?", "quanto costano due borracce?", 两个水杯多少钱？ -> 2 (two to ten; one is the price
itself, more is a wholesale question for the team).

In: a question and its language; out: the count or None. The language file's ``[intent]
counts`` are its words for two to ten, in order (and what the host says back);
``count_units`` are the words after a number that make it a measure, not a count ("2 litres",
"2 Jahre", 2公斤). A number with a currency is a budget ("under 30 euros"), never a count.
"""

from __future__ import annotations

import functools
import re

from ..langdata import load_languages
from ..language import fold
from .tokens import with_synonyms

FEWEST, MOST = 2, 10

# A number, a word, or a currency or percent sign, as the viewer typed them ("2x" is 2).
_TOKEN = re.compile(r"(\d+(?:[.,]\d+)?)(?:x\b)?|x(\d+)\b|([^\W\d_]+)|([€$£%])")
# Written without spaces: a count before its measure word ("两个", "3件"); 一 is the price.
_CJK_COUNT = re.compile(
    r"(10|[2-9]|两|二|三|四|五|六|七|八|九|十)\s*(个|件|只|台|把|瓶|款|套|副|盏|支|条)"
)
_CJK_DIGITS = {c: i for i, c in enumerate("二三四五六七八九十", start=2)} | {"两": 2}
# Units that follow a number in every language: a measure, a price or a time, not a count.
_UNIVERSAL_UNITS = frozenset(
    "eur euro euros € $ £ % usd chf l ml cl cm mm m kg g w h min in x".split()
)


@functools.cache
def _words(lang: str) -> tuple[dict[str, int], frozenset[str]]:
    d = load_languages().get(lang)
    if d is None:
        return {}, _UNIVERSAL_UNITS
    counts = {fold(w): i for i, w in enumerate(d.intent["counts"], start=FEWEST)}
    units = frozenset(fold(w) for w in d.intent["count_units"]) | _UNIVERSAL_UNITS
    return counts, units


@functools.cache
def quantity_words(lang: str) -> frozenset[str]:
    """The language's words for two to ten, folded."""
    return frozenset(_words(lang)[0])


def _spaced(counts: dict[str, int]) -> bool:
    """Whether the language writes its count words apart (not 两个, 3件)."""
    return not _CJK_COUNT.search("".join(counts) + "个")


def quantity_asked(text: str, lang: str) -> int | None:
    """The count of the product the text asks a price for (see the module), or None."""
    folded = with_synonyms(fold(text), lang)  # "how much 4 3 lamps": "4" is "for"
    m = _CJK_COUNT.search(folded)
    if m is not None:
        n = _CJK_DIGITS.get(m.group(1)) or int(m.group(1))
        return n if FEWEST <= n <= MOST else None
    counts, units = _words(lang)
    tokens = [(m.group(1) or m.group(2), m.group(3) or m.group(4)) for m in _TOKEN.finditer(folded)]
    for i, (num, word) in enumerate(tokens):
        after = tokens[i + 1][1] if i + 1 < len(tokens) else None
        if after in units:
            continue  # "2 litres", "under 30 euros"
        if num is not None and num.isdigit() and FEWEST <= int(num) <= MOST:
            return int(num)
        if word is not None and word in counts:
            return counts[word]
    return None


@functools.cache
def _amount_pattern(lang: str) -> tuple[re.Pattern[str] | None, bool]:
    d = load_languages().get(lang)
    if d is None:
        return None, True
    counts, units = _words(lang)
    ones = {fold(w) for w in d.intent["amount_ones"]}
    nums = "|".join(re.escape(w) for w in sorted({*counts, *ones}, key=len, reverse=True))
    unit = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
    spaced = _spaced(counts)
    num = rf"(?:\d+(?:[.,]\d+)?|{nums})"
    if not spaced:
        return re.compile(rf"{num}\s*(?:{unit})"), False
    return re.compile(rf"(?<![^\W_]){num}\s*(?:{unit})(?![^\W_])"), True


def without_amounts(text: str, lang: str) -> str:
    """The folded text less the amounts it states ("*1 litre*", "*einen Liter*", "*un
    litro*", 烧*一升*水): where a question asks how long something takes, an amount is its
    condition, not the spec it asks for ("how long does it take to boil 1 litre?" asks the
    boiling time, not the capacity)."""
    pat, spaced = _amount_pattern(lang)
    folded = fold(text)
    return folded if pat is None else pat.sub(" " if spaced else "", folded)


def count_word(n: int, lang: str) -> str:
    """What the host says for `n` in `lang` ("two", "zwei", "due", 两), digits where the
    language file has no word for it."""
    d = load_languages().get(lang)
    words = d.intent["counts"] if d is not None else ()
    return words[n - FEWEST] if 0 <= n - FEWEST < len(words) else str(n)


@functools.cache
def _counts_pattern(lang: str) -> tuple[re.Pattern[str] | None, dict[str, int]]:
    counts, _ = _words(lang)
    if not counts:
        return None, counts
    alts = "|".join(re.escape(w) for w in sorted(counts, key=len, reverse=True))
    spaced = _spaced(counts)
    return re.compile(rf"(?<![^\W_])(?:{alts})(?![^\W_])" if spaced else alts), counts


def counts_said(folded: str, lang: str) -> set[int]:
    """The counts a folded sentence of `lang` says in words ("for *two*, you pay ..."): the
    guard lets a price times one of them stand as a total."""
    pat, counts = _counts_pattern(lang)
    return {counts[m.group(0)] for m in pat.finditer(folded)} if pat is not None else set()
