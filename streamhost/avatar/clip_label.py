"""Viseme labels for the frames of a presenter video: from the lips' and jaw's geometry, checked
against a speech alignment.

Per-frame 468-point meshes (and the video's audio) in; one viseme class per frame out, plus
whether the alignment agrees. Geometry decides the shape (it is what the pixels show);
pocketsphinx (en-us, offline) says which sound was made then: forced alignment against the
user's script (``--script``), else its phone-loop decoder. Only the alignment can tell f/v
(the upper teeth on the lower lip look like a nearly closed mouth to the landmarks).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..voice.visemes import Viseme as V
from . import landmarks as L

log = logging.getLogger("streamhost.avatar")

CLOSED_BELOW = 0.12  # normalized lip gap under which the lips count as together
OPEN_ABOVE = 0.55
ROUND_BELOW = -0.06  # mouth width change against the relaxed mouth (share of its width)
WIDE_ABOVE = 0.04

# ARPAbet (pocketsphinx en-us) -> viseme, the same classes the voices' phonemes map to.
_ARPA: dict[str, V] = {}
for _names, _v in (
    ("M B P", V.CLOSED), ("F V", V.TEETH), ("AA AE AH AY AW", V.OPEN),
    ("AO OW UW UH W OY", V.ROUND), ("EH IH IY EY Y ER", V.WIDE),
):  # fmt: skip
    for _n in _names.split():
        _ARPA[_n] = _v
# Shapes that the same sound can take once neighbours pull on it (coarticulation): a frame
# whose geometry is in the set counts as agreeing with the alignment.
AGREES: dict[V, set[V]] = {
    V.REST: {V.REST, V.CLOSED},
    V.CLOSED: {V.CLOSED, V.REST},
    V.OPEN: {V.OPEN, V.WIDE},
    V.ROUND: {V.ROUND, V.NARROW},
    V.WIDE: {V.WIDE, V.NARROW, V.OPEN},
    V.TEETH: {V.TEETH, V.NARROW, V.CLOSED},
    V.NARROW: {V.NARROW, V.WIDE, V.CLOSED, V.ROUND},
}


def arpa_viseme(phone: str) -> V:
    """Viseme of one pocketsphinx phone (stress digits ignored); SIL and noises are REST."""
    p = re.sub(r"\d", "", phone.upper())
    if not p.isalpha() or p == "SIL":
        return V.REST
    return _ARPA.get(p, V.NARROW)


@dataclass
class Geometry:
    """Per-frame mouth measures in eye distances: ``gap`` (inner lips), ``width`` (corners),
    ``jaw`` (nose tip to chin); ``open`` is the gap scaled to the presenter's own range (0 at
    their closed mouth, 1 at their usual wide opening); ``wide`` the width change against
    their relaxed mouth."""

    gap: np.ndarray
    width: np.ndarray
    jaw: np.ndarray
    open: np.ndarray
    wide: np.ndarray

    @classmethod
    def of(cls, meshes: np.ndarray, valid: np.ndarray) -> Geometry:
        g = np.stack([L.mouth_geometry(m) for m in meshes]) if len(meshes) else np.zeros((0, 3))
        gap, width, jaw = g[:, 0], g[:, 1], g[:, 2]
        v = gap[valid] if valid.any() else gap
        lo, hi = np.percentile(v, 5), np.percentile(v, 95)
        open_ = np.clip((gap - lo) / max(hi - lo, 1e-6), 0.0, 1.5)
        closed = valid & (open_ < CLOSED_BELOW)
        rest_w = float(np.median(width[closed])) if closed.any() else float(np.median(width))
        return cls(gap, width, jaw, open_, width / max(rest_w, 1e-6) - 1.0)

    def gap_range(self, valid: np.ndarray) -> float:
        """How far the lips part between the presenter's 5th and 95th percentile frame."""
        v = self.gap[valid]
        return float(np.percentile(v, 95) - np.percentile(v, 5)) if v.size else 0.0


def geometry_labels(geo: Geometry, speaking: np.ndarray) -> np.ndarray:
    """(N,) viseme per frame from the shape alone; a closed mouth is CLOSED while the voice is
    heard and REST in silence."""
    out = np.full(len(geo.open), int(V.NARROW), np.int64)
    out[geo.wide > WIDE_ABOVE] = int(V.WIDE)
    out[geo.wide < ROUND_BELOW] = int(V.ROUND)
    out[geo.open > OPEN_ABOVE] = int(V.OPEN)
    closed = geo.open < CLOSED_BELOW
    out[closed & speaking] = int(V.CLOSED)
    out[closed & ~speaking] = int(V.REST)
    return out


def speaking_frames(pcm: np.ndarray, sr: int, n: int, fps: float) -> np.ndarray:
    """(n,) bool: frames whose audio is louder than a tenth of the loud frames' level."""
    spf = sr / fps
    rms = np.zeros(n)
    for i in range(n):
        seg = pcm[int(i * spf) : int((i + 1) * spf)].astype(np.float64)
        rms[i] = np.sqrt((seg**2).mean()) if seg.size else 0.0
    loud = np.percentile(rms, 90) if n else 0.0
    return rms > max(0.1 * loud, 30.0)


def _decoder(**kw: object):  # noqa: ANN202 - pocketsphinx's type
    from pocketsphinx import Decoder

    return Decoder(samprate=16000, loglevel="FATAL", **kw)


def align(pcm16k: np.ndarray, script: str | None) -> tuple[list[tuple[float, float, V]], str]:
    """(start_s, end_s, viseme) rows for the audio (16 kHz mono int16) and how they were made.

    With a script: forced alignment of its words (those in the dictionary, numbers spelled out)
    to the audio. Without one, or when the script does not fit the sound: pocketsphinx's
    phone-loop decoding (no words; noisier, still good for m/b/p and f/v), and ``how`` says why."""
    from pocketsphinx import get_model_path

    raw = np.ascontiguousarray(pcm16k, np.int16).tobytes()
    rows: list[tuple[float, float, V]] = []
    if script:
        d = _decoder(bestpath=False)
        said = re.findall(r"[a-z']+", spell_numbers(script).lower())
        words = [w for w in said if d.lookup_word(w)]
        if not words:
            raise ValueError("no word of the script is in the en-us dictionary")
        d.set_align_text(" ".join(words))
        try:
            for second in (False, True):
                if second:
                    d.set_alignment()
                d.start_utt()
                d.process_raw(raw, full_utt=True)
                d.end_utt()
            for word in d.get_alignment():
                for ph in word:
                    rows.append((ph.start / 100, (ph.start + ph.duration) / 100,
                                 arpa_viseme(ph.name)))  # fmt: skip
            return rows, f"forced alignment of the script ({len(words)} words)"
        except RuntimeError as e:
            # The words do not fit the sound (a script that is not what was said, or said in
            # part): the phone decoder still labels the sounds, which beats geometry alone.
            log.warning("clip: the script did not align (%s); decoding phones instead", e)
            unknown = sorted(set(said) - set(words))
            why = (f"the script did not align: {e}; {len(unknown)} of its words are not in "
                   f"the en-us dictionary{': ' + ', '.join(unknown[:5]) if unknown else ''}")  # fmt: skip
            rows = []
    else:
        why = "no --script"
    d = _decoder(allphone=str(Path(get_model_path()) / "en-us/en-us-phone.lm.bin"),
                 lw=2.0, pip=0.3, beam=1e-20, pbeam=1e-20)  # fmt: skip
    d.start_utt()
    d.process_raw(raw, full_utt=True)
    d.end_utt()
    for seg in d.seg():
        rows.append((seg.start_frame / 100, (seg.end_frame + 1) / 100, arpa_viseme(seg.word)))
    return rows, f"pocketsphinx phone decoding ({why})"


_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "- - twenty thirty forty fifty sixty seventy eighty ninety".split()


def _number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for size, name in (
        (10**9, "billion"),
        (10**6, "million"),
        (1000, "thousand"),
        (100, "hundred"),
    ):
        if n >= size:
            rest = n % size
            return f"{_number_words(n // size)} {name}" + (
                f" {_number_words(rest)}" if rest else ""
            )
    raise AssertionError(n)


def spell_numbers(text: str) -> str:
    """English words for the numbers in a script ("1.7 litres" -> "one point seven litres",
    "1,299" -> "one thousand two hundred ninety nine"): the voice says them, and a script
    whose numbers are left out cannot be aligned to the sound."""
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)

    def words(m: re.Match[str]) -> str:
        whole, _, frac = m.group(0).replace(",", ".").partition(".")
        out = (
            _number_words(int(whole))
            if len(whole) <= 12
            else " ".join(_ONES[int(c)] for c in whole)
        )
        return out + (" point " + " ".join(_ONES[int(c)] for c in frac) if frac else "")

    return re.sub(r"\d+(?:[.,]\d+)?", lambda m: f" {words(m)} ", text)


def frame_visemes(rows: list[tuple[float, float, V]], n: int, fps: float) -> np.ndarray:
    """(n,) viseme per frame (-1 where nothing was aligned) from alignment rows."""
    out = np.full(n, -1, np.int64)
    for a, b, v in rows:
        i0, i1 = int(round(a * fps)), max(int(round(b * fps)), int(round(a * fps)) + 1)
        out[max(0, i0) : min(n, i1)] = int(v)
    return out


def combine(
    geo_lab: np.ndarray, ali: np.ndarray | None, geo: Geometry
) -> tuple[np.ndarray, np.ndarray]:
    """Final labels and (N,) bool 'the alignment agrees'. The geometry's class stands; the
    alignment adds f/v where the lips are nearly together and confirms or doubts the rest."""
    lab = geo_lab.copy()
    if ali is None:
        return lab, np.zeros(len(lab), bool)
    teeth = (ali == int(V.TEETH)) & (geo.open < 0.35) & (geo_lab != int(V.REST))
    lab[teeth] = int(V.TEETH)
    ok = np.array(
        [a >= 0 and V(int(g)) in AGREES[V(int(a))] for g, a in zip(lab, ali, strict=True)]
    )
    return lab, ok


def coverage_table(
    labels: np.ndarray,
    agree: np.ndarray,
    picked: dict[int, int],
    fallback: dict[int, int],
    aligned: bool,
) -> list[dict[str, object]]:
    """Per viseme class: frames, share the alignment agreed with, samples kept, and the class
    shown instead when none could be kept."""
    rows = []
    for v in V:
        m = labels == int(v)
        row: dict[str, object] = {"viseme": v.name, "frames": int(m.sum()),
                                  "samples": int(picked.get(int(v), 0))}  # fmt: skip
        if aligned:
            row["aligned_agree"] = round(float(agree[m].mean()), 2) if m.any() else None
        if int(v) in fallback:
            row["shown_as"] = V(fallback[int(v)]).name
        rows.append(row)
    return rows
