"""How common each word of a chat message is in each language written with spaces.

In: a viewer's text and the candidate languages. Out: per language, the sum of the log10
frequencies of the text's words in that language (the `small` word lists that ship inside the
`wordfreq` wheel: about 30 000 words each, nothing downloaded), a word a list lacks counting
as ``FLOOR``. ``language.detect_language`` takes a clear winner before any other cue: a short
question with no stopword ("made in China?", "Edelstahl?", "Impermeabile?") is told by its
words, which character statistics of the language files alone got wrong in one case of nine.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata

# Below every listed word (the small lists stop near 1e-6): an unknown word says little.
FLOOR = 1e-7
_LOG_FLOOR = math.log10(FLOOR)
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


@functools.cache
def _list(lang: str, top: int | None) -> dict[str, float] | None:
    """One language's word -> log10 frequency, its `top` most common words only where given
    (read from the wheel's file here: wordfreq's own reader keeps every list it reads whole,
    ~5 MB each); None where wordfreq has no list for it."""
    import wordfreq

    if lang not in wordfreq.available_languages(wordlist="small"):
        return None
    if not top:
        return {
            w: math.log10(f) for w, f in wordfreq.get_frequency_dict(lang, "small").items() if f
        }
    # the file's buckets run from the commonest words down, one centibel (-0.01 log10) apart
    buckets = wordfreq.read_cBpack(str(wordfreq.DATA_PATH / f"small_{lang}.msgpack.gz"))
    out: dict[str, float] = {}
    for i, bucket in enumerate(buckets):
        for w in bucket:
            out.setdefault(w, -i / 100)
        if len(out) >= top:
            break
    return out


def _lists(
    langs: tuple[str, ...], top: int | None = None
) -> tuple[tuple[str, dict[str, float]], ...]:
    """(language, word -> log10 frequency) for each of `langs` that wordfreq has a list for."""
    return tuple((lg, d) for lg in langs if (d := _list(lg, top)) is not None)


def lone_consonant(word: str) -> bool:
    """A one-letter word that is no vowel ("USB-*C*", "usb *c*?", "*x* 2"): a spelling or a
    part number, never a word of any language here ("c'è" is one word with its apostrophe)."""
    return len(word) == 1 and unicodedata.normalize("NFD", word)[0] not in "aeiou"


def log_frequencies(
    text: str, langs: tuple[str, ...], others: tuple[str, ...] = (), top: int = 0
) -> dict[str, float]:
    """Per language of `langs` with a word list, the summed log10 frequency of the text's
    words; {} when fewer than two languages have a list or the text has no word. `others`:
    more languages, scored on their `top` most common words only."""
    lists = _lists(langs) + (_lists(others, top) if others else ())
    words = _words(text)
    if len(lists) < 2 or not words:
        return {}
    out = {}
    for lg, logf in lists:
        s = 0.0
        for w in words:
            f = logf.get(w)
            if f is None and "'" in w:
                # "l'offerta" is listed as "l" and "offerta", "what's" whole
                s += sum(logf.get(p, _LOG_FLOOR) for p in w.split("'") if p)
            else:
                s += _LOG_FLOOR if f is None else f
        out[lg] = s
    return out


def _words(text: str) -> list[str]:
    # casefold as wordfreq keys its lists ("Größe" -> "grösse"); accents stay (città, für)
    words = _WORD_RE.findall(unicodedata.normalize("NFKC", text).replace("’", "'").casefold())
    # a lone consonant is a part number or a spelling ("USB-*C*", "*x* 2"), no word: Italian
    # lists "c" (of "c'è") high enough to make "usb c?" Italian; a lone vowel is a word
    # ("a", "e", "è", "i", "o", "u")
    return [w for w in words if not lone_consonant(w)]


def unknown_share(text: str, langs: tuple[str, ...]) -> float:
    """The share of the text's words that no list of `langs` has (0 for a text with none)."""
    words = _words(text)
    lists = [d for _, d in _lists(langs)]
    if not words or not lists:
        return 0.0
    return sum(all(w not in d for d in lists) for w in words) / len(words)
