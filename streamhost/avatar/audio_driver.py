"""Raw audio -> mouth targets, live: the avatar's second driver (the first is TTS visemes).

For a voice with no phoneme timings (an operator's microphone, an external TTS), the audio is
delayed by a look-ahead (at most 200 ms) and analysed before it is heard, so the mouth can
shape a sound slightly before it plays, as the viseme driver does with its lead.

Mapping, per 10 ms hop of the undelayed input (``hop_features``):

- loudness: RMS in dBFS. Below the noise gate (default -45 dBFS) the mouth rests; from the gate
  to 30 dB above it, ``open`` rises 0..1 (square-root curve: quiet speech still moves the jaw).
  The envelope attacks at once and releases with a ~50 ms time constant, so the mouth closes
  within a few frames of silence but does not flutter between syllables.
- spectral shape, over a 1024-point Hann window: band energies low (100-900 Hz, where vowels'
  first formant sits), mid (900-1800 Hz, a back vowel's second formant), front (1800-3000 Hz,
  a front vowel's second formant) and high (3000-8000 Hz, frication). ``lip_bite`` (f, v, s)
  grows with the high band's share of all; ``wide`` (e, i: high F2) with front's share of the
  voiced bands; ``round`` (o, u: both formants low) with the low band's share, less what is
  wide or fricative. A fricative or a rounded vowel opens the jaw less.

The targets feed ``FaceDriver.set_mouth_source``; its springs, blinks, breathing, head motion and
emotion stay as they are, so switching between drivers does not make the face jump.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from typing import Any

import numpy as np

MAX_LOOKAHEAD_S = 0.2
DEFAULT_LOOKAHEAD_S = 0.08
HOP_S = 0.01
_WIN = 1024
_GATE_DB = -45.0
_RANGE_DB = 30.0
_RELEASE_TAU = 0.05  # s
_HISTORY_S = 2.0  # targets kept for lookup; the picture never asks further back than a frame
REST = np.zeros(4)


def hop_features(
    x: np.ndarray, sample_rate: int, gate_db: float = _GATE_DB
) -> tuple[float, float, float, float]:
    """One analysis window (float samples in -1..1) -> (loudness 0..1, wide, round, lip_bite).

    Loudness is before smoothing; the shape values are 0 below the gate. Never NaN."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=1.0, neginf=-1.0)
    x = np.clip(x, -1.0, 1.0)
    if x.size == 0:
        return 0.0, 0.0, 0.0, 0.0
    rms = math.sqrt(float(np.mean(x * x)))
    db = 20.0 * math.log10(max(rms, 1e-9))
    loud = math.sqrt(min(1.0, max(0.0, (db - gate_db) / _RANGE_DB)))
    if loud <= 0.0:
        return 0.0, 0.0, 0.0, 0.0
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / sample_rate)
    low = float(spec[(freqs >= 100) & (freqs < 900)].sum())
    mid = float(spec[(freqs >= 900) & (freqs < 1800)].sum())
    front = float(spec[(freqs >= 1800) & (freqs < 3000)].sum())
    high = float(spec[(freqs >= 3000) & (freqs < 8000)].sum())
    voiced = low + mid + front
    total = voiced + high
    if not total > 1e-12:
        return loud, 0.0, 0.0, 0.0
    bite = _ramp(high / total, 0.45, 0.8)
    wide = _ramp(front / max(voiced, 1e-12), 0.05, 0.3) * (1.0 - bite)
    rnd = _ramp(low / total, 0.8, 0.97) * (1.0 - wide) * (1.0 - bite)
    return loud, wide, rnd, bite


def _ramp(v: float, lo: float, hi: float) -> float:
    if not math.isfinite(v):
        return 0.0
    return min(1.0, max(0.0, (v - lo) / (hi - lo)))


class AudioMouth:
    """Live int16 mono PCM in (``process``, one block per video frame), the same PCM delayed by
    the look-ahead out, and mouth targets (open, wide, round, lip_bite) for any media time out
    (``target_at``).

    ``process(pcm, t)``: ``pcm`` is the undelayed input whose delayed output plays from media
    time ``t``; the returned block has the same length. A target at media time τ describes the
    audio heard at τ + look-ahead (what is about to sound), which the driver's spring turns into
    a mouth that leads the voice slightly.
    """

    def __init__(self, sample_rate: int, lookahead_s: float = DEFAULT_LOOKAHEAD_S) -> None:
        if not 0.0 <= lookahead_s <= MAX_LOOKAHEAD_S:
            raise ValueError(
                f"look-ahead {lookahead_s!r} s is out of range; allowed 0..{MAX_LOOKAHEAD_S} s"
            )
        if sample_rate < 16000:
            raise ValueError(f"sample rate {sample_rate} Hz is too low; need >= 16000 Hz")
        self.sample_rate = sample_rate
        self.lookahead_s = lookahead_s
        self.delay = int(round(lookahead_s * sample_rate))
        self.hop = int(round(HOP_S * sample_rate))
        self._delay_line = np.zeros(self.delay, dtype=np.int16)
        self._window = np.zeros(_WIN, dtype=np.float64)  # the last _WIN input samples
        self._pending = np.zeros(0, dtype=np.float64)  # input not yet a whole hop
        self._env = 0.0
        self._times: deque[float] = deque()
        self._targets: deque[np.ndarray] = deque()
        self._in_t: float | None = None  # media time at which the next input sample is heard

    def reset(self) -> None:
        """Forget the voice (a new takeover): silence in the delay line, mouth at rest."""
        self._delay_line[:] = 0
        self._window[:] = 0.0
        self._pending = np.zeros(0, dtype=np.float64)
        self._env = 0.0
        self._times.clear()
        self._targets.clear()
        self._in_t = None

    def process(self, pcm: np.ndarray, t: float) -> np.ndarray:
        """One block of live input; returns the block to play now (delayed by the look-ahead)."""
        pcm = np.asarray(pcm, dtype=np.int16).reshape(-1)
        n = pcm.size
        # The newest input sample plays look-ahead after the block's start.
        in_t = t + self.delay / self.sample_rate
        if self._in_t is None or abs(self._in_t - in_t) > 0.5:
            self._pending = np.zeros(0, dtype=np.float64)
        self._in_t = in_t + n / self.sample_rate
        self._analyse(pcm.astype(np.float64) / 32768.0, in_t)
        if self.delay == 0:
            return pcm.copy()
        joined = np.concatenate([self._delay_line, pcm])
        out = joined[:n].copy()
        self._delay_line = joined[n:].copy()
        return out

    def _analyse(self, x: np.ndarray, in_t: float) -> None:
        start_t = in_t - self._pending.size / self.sample_rate
        buf = np.concatenate([self._pending, x])
        k = 0
        release = math.exp(-HOP_S / _RELEASE_TAU)
        while k + self.hop <= buf.size:
            hop = buf[k : k + self.hop]
            self._window = np.concatenate([self._window[self.hop :], hop])[-_WIN:]
            loud, wide, rnd, bite = hop_features(self._window, self.sample_rate)
            # Attack at once, release smoothly: syllable onsets are sharp, pauses are soft.
            self._env = loud if loud >= self._env else loud + (self._env - loud) * release
            e = self._env
            target = np.array(
                [e * (1.0 - 0.55 * rnd) * (1.0 - 0.85 * bite), e * wide, e * rnd, e * bite]
            )
            # The hop's centre, as heard.
            self._push(start_t + (k + self.hop / 2) / self.sample_rate, target)
            k += self.hop
        self._pending = buf[k:].copy()

    def _push(self, t: float, target: np.ndarray) -> None:
        if self._times and t <= self._times[-1]:
            # Time went back (a restart): the old timeline no longer applies.
            self._times.clear()
            self._targets.clear()
        self._times.append(t)
        self._targets.append(np.clip(np.nan_to_num(target), 0.0, 1.0))
        while self._times and self._times[-1] - self._times[0] > _HISTORY_S:
            self._times.popleft()
            self._targets.popleft()

    def target_at(self, t: float) -> np.ndarray:
        """Mouth target (open, wide, round, lip_bite) for media time t: the analysis of the audio
        heard at t + look-ahead, or the newest analysed if that is not in yet; rest if none."""
        if not self._times:
            return REST
        q = t + self.lookahead_s
        i = bisect.bisect_right(self._times, q) - 1
        if i < 0:
            return REST
        return self._targets[i]


class SpeechMouth:
    """The audio driver for queued speech whose timings are unknown (a pack with
    ``driver = "audio"``: an external TTS, or a voice clip): each frame, before the player pulls
    it, the audio that will be heard one look-ahead later is read from the player's queue
    without consuming it (``player.peek``) and analysed, so the mouth anticipates it exactly
    as the viseme driver does with its lead. ``target_at`` feeds ``FaceDriver.set_mouth_source``.
    """

    def __init__(self, player: Any, sample_rate: int, lookahead_s: float) -> None:
        self.player = player
        self.mouth = AudioMouth(sample_rate, lookahead_s)
        self.target_at = self.mouth.target_at

    def before_pull(self, t: float) -> None:
        """Call on the loop thread just before ``player.pull(t)``."""
        n, lead = self.player.spf, self.mouth.delay
        ahead = self.player.peek(lead + n)[lead:]
        self.mouth.process(ahead, t)
