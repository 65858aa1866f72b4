"""Phoneme symbols -> mouth shapes (visemes) for the avatar driver, one mapping per alphabet.

Two alphabets are known: espeak's ASCII mnemonics (the espeak-ng voice) and IPA (Piper voices,
which espeak-ng phonemizes to IPA, and Kokoro-family voices such as hibari, whose tokens are IPA
plus a few capital letters for diphthongs). A voice names its mapping; ``track`` turns a
Speech's phoneme timings into (start, end, viseme) rows with either.

espeak mnemonics:
espeak writes phonemes as ASCII mnemonics (Kirshenbaum-like, per language): "m", "'a", "aI",
"tS", "_:" (pause), "ts." (Mandarin retroflex), "(en)" (language switch) ... A leading ' or ,
marks stress and : length; neither changes the mouth shape. For diphthongs the first vowel
decides, because that is the shape the mouth moves from at the phoneme's start time.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

from ..frames import Speech


class Viseme(IntEnum):
    """Mouth shape classes."""

    REST = 0  # silence / pause: mouth closed and relaxed
    CLOSED = 1  # lips pressed: m b p
    OPEN = 2  # jaw open: a-like vowels
    ROUND = 3  # lips rounded: o u w, front rounded y/ø
    WIDE = 4  # small opening, spread lips: e i, schwa
    TEETH = 5  # lower lip on upper teeth: f v
    NARROW = 6  # jaw nearly closed, lips apart: tongue/teeth consonants (t d n l s k ...)


# Marks that can precede the phoneme proper: primary/secondary/unstressed stress, syllabic.
_PREFIX_MARKS = "',%=!"

_BY_FIRST_CHAR: dict[str, Viseme] = {}
for _chars, _vis in (
    ("mbp", Viseme.CLOSED),  # also pF (German pf) and ph (Mandarin aspirated p)
    ("fv", Viseme.TEETH),
    ("aA&V6", Viseme.OPEN),  # a, father A, trap &, strut V, German vocalised r 6
    ("oOuUyY029Ww", Viseme.ROUND),  # 0 = English "lot", 2/9/W = German ö, y/Y = ü
    ("eEiI@3jM", Viseme.WIDE),  # 3 = English "nurse" vowel, M = unrounded u
    # Consonants made behind closed-ish teeth: alveolar, post-alveolar, velar, glottal. Their
    # own class (not WIDE) so the jaw closes a little between vowels, as real speech does:
    # merged into WIDE, "stainless steel" was one frozen mouth for a second.
    ("tdnlszkgNhrRxXCSZTDLJqGc*?", Viseme.NARROW),
):
    for _c in _chars:
        _BY_FIRST_CHAR[_c] = _vis

# Anything unrecognised gets a small opening rather than REST, so the mouth still moves.
DEFAULT_VISEME = Viseme.WIDE


def viseme_for(phoneme: str) -> Viseme:
    """The viseme of one espeak phoneme mnemonic (stress and length marks are ignored)."""
    base = phoneme.strip().lstrip(_PREFIX_MARKS)
    if not base or base[0] in "_|(" or base.startswith(":"):
        # "_", "_:", "_!", "_|" pauses; "||" boundaries; "(en)" language-switch markers.
        return Viseme.REST
    return _BY_FIRST_CHAR.get(base[0], DEFAULT_VISEME)


VisemeTrack = list[tuple[float, float, Viseme]]

# IPA: marks that never change the mouth shape (stress, length, tone, aspiration, nasal tilde).
_IPA_MARKS = "ˈˌːˑ\u0303ʰʲʷ˞ˤ˥˦˧˨˩↓↑↗↘→\u0329\u032f-"
_IPA_FIRST: dict[str, Viseme] = {}
for _chars, _vis in (
    ("mbpɓʙ", Viseme.CLOSED),
    ("fvɱʋ", Viseme.TEETH),
    # Kokoro-family capitals: I = aɪ, W = aʊ (open start); O = oʊ, Y = ɔɪ (round start);
    # A = eɪ (spread start).
    ("aɑæʌɐɒäIW", Viseme.OPEN),
    ("oɔuʊwyøœɵʉʏɥɞOY", Viseme.ROUND),
    ("eɛiɪəɜɚɝjɨᵊɘɤɯA", Viseme.WIDE),
    ("tdnlszkgɡŋhrɹɾxʃʒθðɲʎçʁʀʔʤʧʂʐɕʑɫʈɖɭɣχɦɻɳqcɟʝβ", Viseme.NARROW),
):
    for _c in _chars:
        _IPA_FIRST[_c] = _vis


def ipa_viseme(symbol: str) -> Viseme:
    """The viseme of one IPA phoneme token (stress, length and tone marks are ignored);
    spaces and punctuation are pauses."""
    base = symbol.strip().lstrip(_IPA_MARKS)
    if not base:
        return Viseme.REST
    c = base[0]
    if not c.isalpha():
        return Viseme.REST  # , . ! ? … — " and other punctuation tokens: a pause
    if c == "T":
        return Viseme.NARROW  # Kokoro-family (misaki) flap, the "tt" of "better"
    return _IPA_FIRST.get(c, DEFAULT_VISEME)


# A pause shorter than this between two sounds is the space between words, not a rest: the
# lips barely part from the last shape, so the mouth holds it instead of slamming shut and
# reopening within a frame or two (at 25 fps a 40 ms gap is one frame of closed mouth).
MIN_REST_S = 0.060


def track(
    speech: Speech, viseme_of: Callable[[str], Viseme], min_rest_s: float = MIN_REST_S
) -> VisemeTrack:
    """(start, end, viseme) in seconds for a Speech's phonemes, merging equal neighbours; a
    REST shorter than ``min_rest_s`` between two other shapes joins the shape before it."""
    rows: VisemeTrack = []
    for ph in speech.phonemes:
        vis = viseme_of(ph.symbol)
        if rows and rows[-1][2] == vis:
            rows[-1] = (rows[-1][0], max(rows[-1][1], ph.end), vis)
        else:
            rows.append((ph.start, ph.end, vis))
    out: VisemeTrack = []
    for i, (a, b, vis) in enumerate(rows):
        inner = 0 < i < len(rows) - 1
        if vis == Viseme.REST and inner and b - a < min_rest_s and out:
            out[-1] = (out[-1][0], b, out[-1][2])
            continue
        if out and out[-1][2] == vis:
            out[-1] = (out[-1][0], b, vis)
        else:
            out.append((a, b, vis))
    return out


def viseme_track(speech: Speech) -> VisemeTrack:
    """``track`` with espeak mnemonics (the espeak-ng voice's alphabet)."""
    return track(speech, viseme_for)
