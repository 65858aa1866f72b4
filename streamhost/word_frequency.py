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
def _lists(langs: tuple[str, ...]) -> tuple[tuple[str, dict[str, float]], ...]:
    """(language, word -> log10 frequency) for each of `langs` that wordfreq has a list for."""
    import wordfreq

    have = wordfreq.available_languages(wordlist="small")
    return tuple(
        (lg, {w: math.log10(f) for w, f in wordfreq.get_frequency_dict(lg, "small").items() if f})
        for lg in langs
        if lg in have
    )


def lone_consonant(word: str) -> bool:
    """A one-letter word that is no vowel ("USB-*C*", "usb *c*?", "*x* 2"): a spelling or a
    part number, never a word of any language here ("c'è" is one word with its apostrophe)."""
    return len(word) == 1 and unicodedata.normalize("NFD", word)[0] not in "aeiou"


def log_frequencies(text: str, langs: tuple[str, ...]) -> dict[str, float]:
    """Per language of `langs` with a word list, the summed log10 frequency of the text's
    words; {} when fewer than two languages have a list or the text has no word."""
    lists = _lists(langs)
    # casefold as wordfreq keys its lists ("Größe" -> "grösse"); accents stay (città, für)
    words = _WORD_RE.findall(unicodedata.normalize("NFKC", text).replace("’", "'").casefold())
    # a lone consonant is a part number or a spelling ("USB-*C*", "*x* 2"), no word: Italian
    # lists "c" (of "c'è") high enough to make "usb c?" Italian; a lone vowel is a word
    # ("a", "e", "è", "i", "o", "u")
    words = [w for w in words if not lone_consonant(w)]
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
