"""Search tokens for catalog retrieval: per-language short forms and synonyms, stopwords and
light stemming (en, de, it), German compound parts, CJK character bigrams, and BM25 over small
token lists.

In: text and a language (the language data files give stopwords, stop characters, stemmer
and compounds); out: token lists and scores. No downloaded models.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ..langdata import load_languages
from ..language import fold

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# CJK runs, then other word characters; a Latin run stops at a CJK character ("BPA吗").
_RUN_RE = re.compile(f"([{_CJK}]+)|((?:(?![{_CJK}])[^\\W_])+)")

# Latin-script words inside the text of a language written in its own script (zh) are
# tokenized as this language's words: product names and ids are English in any stream.
_LATIN_FALLBACK = "en"


@dataclass(frozen=True, slots=True)
class _Words:
    """Per-language tokenizer settings, from the language data files."""

    stop: frozenset[str]
    stem: Callable[[str], str]
    compounds: bool


@functools.cache
def _words() -> dict[str, _Words]:
    data = load_languages()
    return {
        lg: _Words(
            frozenset(fold(s) for s in d.stopwords),  # "può" meets the folded "puo"
            _STEM[d.stemmer],
            d.compounds,
        )
        for lg, d in data.items()
        if d.script is None
    }


# A unit written onto its number ("2200w", "1.7l", "35h", "16inch"): set apart, so the
# language's short forms ("w" = "watts") and its spec words meet it.
_GLUED_UNIT = re.compile(
    r"(?<=\d)(?=(?:w|kw|l|ml|h|hr|hrs|min|mins|yr|yrs|kg|g|lm|in|inch|cm|mm)\b)"
)


def with_synonyms(folded: str, lang: str) -> str:
    """A folded text with the language's short forms and synonyms applied (see `_synonyms`):
    what `tokenize` reads, before a caller blanks product names in it ("regolare la luce" is
    the dimmer before "luce", a name of the lamp, goes)."""
    sub = _synonyms(lang)
    if any(c.isdigit() for c in folded):
        folded = _GLUED_UNIT.sub(" ", folded)
    return folded if sub is None else sub(folded)


@functools.cache
def _synonyms(lang: str, phrases: bool = True) -> Callable[[str], str] | None:
    """The language's short forms and synonyms as one substitution over folded text ("bt" ->
    "bluetooth", "send it back" -> "return", 到货 -> 发货), longest phrase first; words match
    whole, CJK phrases anywhere (set apart by spaces, so no bigram straddles them). A synonym
    with a gap ("when will … arrive") keeps the viewer's words in it and is tried before the
    others ("when will the kettle arrive?" is no "when will i get"). Applied to the catalog's
    text and chat's alike, so a shop that writes "refund" meets "refund". `phrases` False:
    one-word synonyms only ("delivery" -> "shipping", not "when will i get" -> "how long does
    shipping take for")."""
    d = load_languages().get(lang)
    if d is None:
        return None
    raw = {**d.short_forms, **d.synonyms}
    if not phrases:
        raw = {k: v for k, v in raw.items() if " " not in k.strip() and "…" not in k}
    if not raw:
        return None
    # split at the gap before folding, which spells "…" as "..."
    gaps = [(_gap_pattern(k), [fold(x) for x in v.split("…")]) for k, v in raw.items() if "…" in k]
    table = {fold(k): fold(v) for k, v in raw.items() if "…" not in k}
    keys = sorted(table, key=len, reverse=True)
    cjk = re.compile(f"[{_CJK}]")
    words = "|".join(re.escape(k) for k in keys if not cjk.search(k))
    # One pattern, one pass: a gap's words are its alternative's only group (m.lastindex).
    alts = [re.escape(k) for k in keys if cjk.search(k)]
    latin = "|".join([p for p, _ in gaps] + ([words] if words else []))
    if latin:  # one word-start test for all of them, not one per key
        # word edges of the Latin script: "15寸的macbook" says "macbook" though 的 is a word
        # character too
        alts.insert(0, rf"(?<![^\W_{_CJK}])(?:{latin})(?![^\W_{_CJK}])")
    pattern = re.compile("|".join(alts))

    def sub(m: re.Match[str]) -> str:
        if m.lastindex is not None:
            before, after = gaps[m.lastindex - 1][1]
            return before + m.group(m.lastindex) + after
        v = table[m.group(0)]
        return f" {v} " if cjk.search(v) else v

    return lambda text: pattern.sub(sub, text)


def _gap_pattern(phrase: str) -> str:
    """A synonym with a gap ("wann kommt … an") as a pattern (whole words where it is used),
    with one to four words in the gap as its one group."""
    before, after = (re.escape(fold(x).strip()) for x in phrase.split("…"))
    gap = r"([^\W_]+(?:[ '-][^\W_]+){0,3}?)"
    return r"\s+".join(x for x in (before, gap, after) if x)


@functools.cache
def _stop_union(lang: str, other: str) -> frozenset[str]:
    """Both languages' stopwords (a name looked up in `lang`, the text written in `other`)."""
    words = _words()
    return words[lang].stop | words[other].stop


@functools.cache
def stop_chars() -> frozenset[str]:
    """CJK characters that carry no content in a bigram (zh: 的, 了, 吗 ...), all languages."""
    return frozenset().union(*(d.stop_chars for d in load_languages().values()))


def __getattr__(name: str) -> object:
    # STOPWORDS stays importable (the guard reads it) but comes from the data files, on first use.
    if name == "STOPWORDS":
        return {lg: w.stop for lg, w in _words().items() if w.stop}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _stem_en(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("ches", "shes", "sses", "xes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]  # "settings" goes on to "sett", as "setting" does
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
    # a final e goes so that "charge" meets "charging" and "cable" "cabling" (a doubled
    # consonant stays: "ship" and "shipping" ask different things of a shop; but British
    # doubles a final l: "travelling" meets "travel", "cancelling" "cancel")
    if len(w) > 4 and w.endswith("ll"):
        return w[:-1]
    return w[:-1] if len(w) > 4 and w.endswith("e") else w


def _stem_de(w: str) -> str:
    for suf in ("ern", "en", "er", "es", "em", "et", "e", "n", "s"):
        if len(w) - len(suf) >= 4 and w.endswith(suf):
            w = w[: -len(suf)]
            break
    # An adjective's base can end in -er or -en itself: "auslaufsicherer" and "auslaufsicher",
    # "offenen" and "offen" lose both layers to meet on one stem; "öffnet" meets "öffnen".
    for suf in ("er", "en", "et"):
        if len(w) - len(suf) >= 4 and w.endswith(suf):
            return w[: -len(suf)]
    return w


# The infinitive (with a clitic pronoun) and the participle meet the present: "si può piegare" /
# "si piega", "collegare" / "collegati", "ricaricarlo" / "ricarica"; -ari, the plural of -are
# adjectives, keeps them on one stem.
_IT_ARE = re.compile(r"(?<=\w{4})a(?:r(?:e|i|[lmst]i|l[aeo]|ne)|t[aeio])$")


def _stem_it(w: str) -> str:
    w = _IT_ARE.sub("a", w)
    if len(w) > 4 and w[-1] in "aeio":
        w = w[:-1]
        if len(w) > 4 and w[-1] == "i" and w[-2] in "cg":
            w = w[:-1]  # -cia/-gia lose the i in the plural: borraccia, borracce; valigia, valige
    return w


_STEM: dict[str, Callable[[str], str]] = {
    "none": lambda w: w,
    "en": _stem_en,
    "de": _stem_de,
    "it": _stem_it,
}


def tokenize(
    text: str,
    lang: str,
    *,
    compounds: bool = False,
    written_in: str | None = None,
    phrases: bool = True,
) -> list[str]:
    """Search tokens of `text`: stopwords dropped, words stemmed per `lang`, CJK as bigrams.

    `compounds` (index side, de only) also emits the compound's tails and heads of >= 4
    letters, so a query for a part ("kocher", "akku") meets the compound. `written_in`: the
    language the text is in, when it is tokenized as another's; its stopwords go too (English
    "there" stemmed as German is "ther", the stem of "Thermosflasche"). `phrases` False: the
    language's ``[words] synonyms`` of one word apply, its phrases do not.
    """
    return list(_tokens(text, lang, compounds, written_in, phrases))


# One question is tokenized the same way a dozen times (product lookup in every language, FAQ,
# shop FAQ, unknown details): a pure function of its arguments, so a bounded LRU.
@functools.lru_cache(maxsize=4096)
def _tokens(
    text: str, lang: str, compounds: bool, written_in: str | None, phrases: bool
) -> tuple[str, ...]:
    folded = fold(text)
    if written_in is not None and written_in != lang and (own := _synonyms(written_in, phrases)):
        # the viewer's own phrases first: "is there *wireless charging*?" is the lamp's Qi
        # pad (en), not "wireless" of the headphones' Italian name read as a German word
        folded = own(folded)
    synonyms = _synonyms(lang, phrases)
    if synonyms is not None:
        folded = synonyms(folded)
    out: list[str] = []
    words = _words()
    w = words.get(lang) or words[_LATIN_FALLBACK]
    stop, stem, split_compounds = w.stop, w.stem, compounds and w.compounds
    if written_in in words and written_in != lang:
        stop = _stop_union(lang if lang in words else _LATIN_FALLBACK, written_in)
    zh_stop = stop_chars()
    for cjk, word in _RUN_RE.findall(folded.replace("'", " ")):
        if cjk:
            if len(cjk) == 1:
                if cjk not in zh_stop:
                    out.append(cjk)
                continue
            for i in range(len(cjk) - 1):
                bg = cjk[i : i + 2]
                if not (bg[0] in zh_stop and bg[1] in zh_stop):
                    out.append(bg)
            continue
        if word in stop or (len(word) == 1 and not word.isdigit()):
            continue
        s = stem(word)
        out.append(s)
        if split_compounds:
            out.extend(compound_parts(s))
    return tuple(out)


def splits_compounds(lang: str) -> bool:
    """Whether the language writes compounds closed and the tokenizer splits them (de)."""
    w = _words().get(lang)
    return bool(w and w.compounds)


def compound_parts(s: str) -> list[str]:
    """A German compound's heads ("kocher" in "wasserkocher") and modifiers ("akku" in
    "akkulaufzeit") of >= 4 letters; none for a word under 8 letters."""
    if len(s) < 8:
        return []
    return [s[i:] for i in range(3, len(s) - 3)] + [s[:i] for i in range(4, len(s) - 3)]


class BM25:
    """Okapi BM25 over a fixed list of token lists (idf kept positive for tiny collections)."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tfs = [Counter(d) for d in docs]
        self.lens = [len(d) for d in docs]
        self.avg = (sum(self.lens) / len(docs)) if docs and sum(self.lens) else 1.0
        df: Counter[str] = Counter()
        for tf in self.tfs:
            df.update(tf.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}

    def scores(self, query: list[str]) -> list[float]:
        out = []
        q = [t for t in dict.fromkeys(query) if t in self.idf]
        for tf, dl in zip(self.tfs, self.lens, strict=True):
            s = 0.0
            norm = self.k1 * (1 - self.b + self.b * dl / self.avg)
            for t in q:
                f = tf.get(t)
                if f:
                    s += self.idf[t] * f * (self.k1 + 1) / (f + norm)
            out.append(s)
        return out
