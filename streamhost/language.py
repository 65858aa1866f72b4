"""What language a chat message is in, and what it asks for: shared by chat and talk.

In: a viewer's text. Out: a language code (one of the language data files,
`streamhost.langdata.available_languages`), a folded form of the text for keyword matching, and
the `Intent` vocabulary. Chat triage and the talk generator both classify messages; this module
is theirs in common so neither package imports the other for it.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from .langdata import LangData, load_languages
from .word_frequency import log_frequencies, lone_consonant, unknown_share
from .zh_variants import traditional_to_simplified

__all__ = ["Intent", "detect_language", "fold", "other_language"]

# On a tie between languages that are not the stream's, this one wins (it is the language most
# viewers fall back to in any stream).
TIE_LANGUAGE = "en"

_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
# Below this many letters a message ("lol", "mega", a name) says too little about its language
# for character statistics: it stays the stream's.
MIN_NGRAM_LETTERS = 6
# How much more likely (summed log10 word frequency, word_frequency.py) one language must make
# a text than every other to decide it outright: "made in China?" is English by 2.2 even on an
# Italian stream, "wireless charging?" by 2.7, "Edelstahl?" German by 1.5. On
# tests/data/language_questions.json (180 short questions, each on an en, de and it stream)
# with this stage first: 356 of the 360 foreign cases found and 2 of the 180 stream-language
# ones switched (316 and 6 without it); the same at 0.3, 355 at 1.0, 351 at 1.5.
WORD_FREQ_MARGIN = 0.5
# Languages the host does not speak whose word lists ship in the wordfreq wheel, and how much
# more likely one must make a question than every language the host speaks for the host to
# say which languages it answers in ("¿cuánto cuesta la lámpara?": Spanish by 7.5, "combien
# coûte la bouilloire?" French by 5.5). On the 2,600 probe messages of sessions 33-38 in en,
# de and it, none was taken for another language at 2.0; the closest at 0.5 were "klarna?"
# (Swedish by 1.5) and "la borraccia tiene caldo?" (Spanish by 0.7). Only a question most of
# whose words no list of the host's languages has is scored on theirs (the simulator's never is).
OTHER_LANGS = ("es", "fr", "pt", "nl", "pl", "tr", "sv", "ro", "cs", "id", "da", "nb")
OTHER_LANG_MARGIN = 3.0
# Their commonest words only: a question is told by its common words ("cuánto", "combien",
# "custa"); the whole lists would cost ~80 MB a process, 6,000 words of each 12 MB (measured).
OTHER_LANG_WORDS = 6000
# How much better per gram (log probability) another language must fit than the stream's,
# where the words did not decide (compounds no list has: "Ladezeit?", "Spülmaschinenfest?").
# A text in the stream's own language wrongly switched costs more than a foreign one missed.
NGRAM_MARGIN = 0.15
_NGRAM_SIZES = (1, 2, 3, 4)
_FIRST_HAN = "\u3400"  # below it no character has a traditional form


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
    """Lowercase, NFKC, strip accents/umlauts (ä -> a, ß -> ss) so spellings without them
    match; traditional Chinese characters become simplified (這個 -> 这个)."""
    if text.isascii():
        # NFKC/NFD leave ASCII alone and it has no combining marks, "ß" or "’": same result.
        return text.lower()
    return _fold_wide(text)


# Chat's colloquial question words, folded to the ones the language files write: 台灯咋卖 is
# 怎么卖 ("how much?"), 耳机啥价 什么价; else every list of question words would need both.
_ZH_COLLOQUIAL = str.maketrans({"咋": "怎么", "啥": "什么"})


@functools.cache
def filler_start(folded: bool = False) -> str:
    """A regex of chat's fillers before a question, any number of them, in the languages
    written with spaces (``[intent] filler``: "wait", "ngl", "sag mal", "allora"), each
    followed by a non-word: put after a start anchor, "wait is the kettle cordless?" still
    opens with "is". `folded`: for folded text ("übrigens" as "ubrigens")."""
    words = sorted({fold(w) if folded else w for d in load_languages().values()
                    if d.script is None for w in d.intent["filler"]}, key=len)[::-1]  # fmt: skip
    alts = "|".join(map(re.escape, words))
    return rf"(?:(?:{alts})(?![^\W_])\W+)*" if words else ""


# One chat message is folded a score of times on its way through triage and the generator
# (each intent list, each tokenization): the per-character pass once, then a bounded LRU.
@functools.lru_cache(maxsize=4096)
def _fold_wide(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("ß", "ss")
    if max(text) >= _FIRST_HAN:
        text = text.translate(traditional_to_simplified()).translate(_ZH_COLLOQUIAL)
    text = text.replace("’", "'")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class _Scoring:
    scripts: tuple[tuple[str, re.Pattern[str]], ...]  # a match decides the language outright
    # word languages: (lang, stopwords | hints counted per occurrence, marks, mark weight)
    words: tuple[tuple[str, frozenset[str], frozenset[str], re.Pattern[str] | None, float], ...]
    word_langs: tuple[str, ...]  # their codes, for the word-frequency stage


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
        word_langs=tuple(lg for lg, d in data.items() if d.script is None),
    )


def _grams(words: list[str]) -> list[str]:
    """Character 1- to 4-grams of each word, padded with a space at both ends."""
    out: list[str] = []
    for w in words:
        w = f" {w} "
        for k in _NGRAM_SIZES:
            out += [w[i : i + k] for i in range(len(w) - k + 1)]
    return out


def _training_text(d: LangData) -> str:
    """A language file's own words and sentences, slots and choice marks removed."""
    parts = [t for ts in d.templates.values() for t in ts]
    parts += [w for ws in d.intent.values() for w in ws]
    parts += [w for ws in (*d.specs.values(), *d.spec_answers.values()) for w in ws]
    parts += [*d.stopwords, *d.hints, d.disclosure, d.on_break]
    return re.sub(r"\{[^}]*\}|[\[\]|]", " ", " ".join(parts))


@functools.cache
def _ngram_model() -> tuple[tuple[str, dict[str, float], float], ...]:
    """Per language written with spaces: log P(gram) from its own language file (add-half
    smoothing over all languages' grams), and the log P of a gram it never uses."""
    counts = {
        lg: Counter(_grams(_LETTERS_RE.findall(fold(_training_text(d)))))
        for lg, d in load_languages().items()
        if d.script is None
    }
    vocab = len(set().union(*counts.values())) if counts else 0
    model = []
    for lg, c in counts.items():
        denom = math.log(sum(c.values()) + 0.5 * vocab)
        model.append((lg, {g: math.log(n + 0.5) - denom for g, n in c.items()},
                      math.log(0.5) - denom))  # fmt: skip
    return tuple(model)


def _by_characters(folded: str, default: str) -> str | None:
    """The language whose language file's character statistics fit the text clearly better
    than `default`'s: how a message with no stopword ("Vendete ombrelli?", "Wasserdicht?") or
    with words of several languages ("Spedite in Svizzera?") is told apart. None for short
    texts and near ties. `folded`: the text as ``fold`` gives it."""
    words = _LETTERS_RE.findall(folded)
    if sum(map(len, words)) < MIN_NGRAM_LETTERS:
        return None
    grams = _grams(words)
    scores = {lg: sum(lp.get(g, unseen) for g in grams) for lg, lp, unseen in _ngram_model()}
    if not scores:
        return None
    ranked = sorted(scores.values(), reverse=True)
    rival = scores.get(default, ranked[1] if len(ranked) > 1 else -math.inf)
    best = max(scores, key=scores.__getitem__)
    if best == default or ranked[0] - rival < NGRAM_MARGIN * len(grams):
        return None
    return best


def detect_language(text: str, default: str = "en") -> str:
    """A language written in its own script if any of its characters occur (zh: any CJK);
    else the language whose common words the text uses clearly more than any other's
    (``WORD_FREQ_MARGIN``, texts of 6 letters or more); else the best stopword/hint/mark
    score; where nothing scores or languages tie, the language whose file's character
    statistics fit best (texts of 6 letters or more); else `default` (on a tie that leaves it
    out, `TIE_LANGUAGE` among the tied)."""
    sc = _scoring()
    for lang, script in sc.scripts:
        if script.search(text):
            return lang
    raw = text.lower()
    folded = fold(text)
    # Short chatter ("lol", "first!") stays the stream's, whatever list has the word.
    if sum(map(len, _LETTERS_RE.findall(folded))) >= MIN_NGRAM_LETTERS:
        ranked = sorted(log_frequencies(text, sc.word_langs).items(), key=lambda kv: -kv[1])
        if ranked and ranked[0][1] - ranked[1][1] > WORD_FREQ_MARGIN:
            return ranked[0][0]
    # a lone consonant is a spelling ("usb *c*?"), not Italian "c" unless it elides ("c'è")
    words = [w for w in _WORD_RE.findall(folded) if not lone_consonant(w)]
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
    top = [k for k, v in scores.items() if v == top_score]
    if top_score > 0 and len(top) == 1:
        return top[0]
    by_chars = _by_characters(folded, default)
    if by_chars is not None:
        return by_chars
    if top_score <= 0 or default in top:
        return default
    return TIE_LANGUAGE if TIE_LANGUAGE in top else top[0]


@functools.lru_cache(maxsize=4096)  # triage and the generator both ask of one message
def other_language(text: str) -> str | None:
    """The language, none the host speaks, that a question is clearly written in (see
    ``OTHER_LANGS``): a question mark and ``MIN_NGRAM_LETTERS`` letters or more; else None."""
    if "?" not in text and "？" not in text and "¿" not in text:
        return None
    if sum(map(len, _LETTERS_RE.findall(fold(text)))) < MIN_NGRAM_LETTERS:
        return None
    ours = _scoring().word_langs
    if unknown_share(text, ours) < 0.5:
        return None  # most of its words are the host's languages': the others stay unread
    freq = log_frequencies(text, ours, OTHER_LANGS, OTHER_LANG_WORDS)
    if not freq:
        return None
    best = max(freq, key=lambda lg: freq[lg])
    if best in ours or freq[best] - max(freq.get(lg, -1e9) for lg in ours) <= OTHER_LANG_MARGIN:
        return None
    return best
