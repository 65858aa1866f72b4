"""How far the jaw drops: the viseme's class sets the shape, the voice's loudness the size.

The driver's visemes say *which* mouth shape a phoneme has and *when* (with its lead and
springs), but every "a" gets the same opening, every "e" the same, whether it is a stressed,
loud syllable or a mumbled one. Real speakers open the jaw with vocal effort: a loud, stressed
vowel drops it, an unstressed one barely moves it (the JALI model, Edwards et al. 2016, drives
its jaw parameter from the audio's intensity in the same way). Faces built from a real person
(the photo and clip families) read as talking, not as a puppet's constant flap, when their jaw
follows that loudness; the drawn host keeps the driver's plain visemes.

``JawFromSpeech`` reads, on the AV loop's thread before each frame's audio is pulled, the
speech that will be heard one driver lead later (``player.peek``, nothing consumed), keeps its
level per 10 ms (dB above a noise gate, 0..1) in a ring, and on the render thread turns it
into a jaw gain through the same critically damped spring as the driver's mouth: at the
same media time the spring reaches the viseme's target and the loudness of the sound it shapes.

``jaw_open(params)`` maps the driver's mouth (open, wide, round, lip_bite) to one jaw opening
with the real-face amplitudes per class in ``JAW_PER_CLASS`` (linear, so it follows the
springs' blend from one viseme to the next).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .audio_driver import _GATE_DB, _RANGE_DB
from .driver import _LEAD, _MOUTH_TARGETS, _OMEGA

HOP_S = 0.01
_RING = 1024  # hops kept (10 s): the render thread never lags the loop by that much
FLOOR = 0.2  # gain of a barely audible sound: the viseme still shows, small
_WIN_S = 0.02  # RMS window per hop (centred on it)

# Jaw opening per viseme class for a real face (REST, CLOSED, OPEN, ROUND, WIDE, TEETH, NARROW):
# every vowel drops the jaw (an "e" or a schwa about two thirds as far as an "a"); tongue and
# teeth consonants close it to a slit; m b p and f v close it.
JAW_PER_CLASS = np.array([0.0, 0.0, 0.85, 0.6, 0.6, 0.08, 0.15])


def _jaw_basis() -> np.ndarray:
    """Coefficients c (4,) with c @ target ≈ JAW_PER_CLASS for every class's mouth target
    (least squares over the driver's table)."""
    c, *_ = np.linalg.lstsq(_MOUTH_TARGETS, JAW_PER_CLASS, rcond=None)
    return c


JAW_BASIS = _jaw_basis()


def jaw_open(mouth: np.ndarray) -> float:
    """The driver's (open, wide, round, lip_bite) -> jaw opening 0..1 for a real face."""
    return float(np.clip(JAW_BASIS @ np.asarray(mouth, dtype=np.float64)[:4], 0.0, 1.0))


class JawFromSpeech:
    """Loudness of the queued speech -> jaw gain (``FLOOR``..1) at media time t.

    ``before_frame(t)``: loop thread, just before ``player.pull(t)``. ``gain_at(t)``: render
    thread, non-decreasing t (a jump back resets the spring). During a live takeover the player
    holds no speech ahead (the driver follows the live audio itself): the gain is 1."""

    def __init__(self, player: Any, sample_rate: int, lead_s: float = _LEAD) -> None:
        self.player = player
        self.sample_rate = sample_rate
        self.lead = int(round(lead_s * sample_rate))
        self.hop = int(round(HOP_S * sample_rate))
        self.win = int(round(_WIN_S * sample_rate))
        self._level = np.zeros(_RING, np.float32)
        self._stamp = np.full(_RING, -1, np.int64)  # which hop each slot holds
        self._live = False
        self._t = -math.inf
        self._x = 1.0
        self._v = 0.0

    def before_frame(self, t: float) -> None:
        p = self.player
        self._live = bool(getattr(p, "live", False))
        if self._live:
            return
        n = p.spf
        ahead = np.asarray(p.peek(self.lead + n), dtype=np.float32) / 32768.0  # heard from t
        h0 = int(math.floor((t + self.lead / self.sample_rate) / HOP_S))
        h1 = int(math.ceil((t + (self.lead + n) / self.sample_rate) / HOP_S))
        for h in range(h0, h1 + 1):
            c = int(round((h + 0.5) * HOP_S * self.sample_rate - t * self.sample_rate))
            a, b = max(0, c - self.win // 2), min(ahead.size, c + self.win // 2)
            if b - a < self.win // 4:
                continue
            x = ahead[a:b]
            db = 10.0 * math.log10(max(float(np.dot(x, x)) / x.size, 1e-18))
            slot = h % _RING
            self._level[slot] = min(1.0, max(0.0, (db - _GATE_DB) / _RANGE_DB))
            self._stamp[slot] = h

    def level(self, t: float) -> float:
        """Loudness 0..1 heard at media time t (0 where nothing was read)."""
        h = int(math.floor(t / HOP_S))
        slot = h % _RING
        return float(self._level[slot]) if self._stamp[slot] == h else 0.0

    def gain_at(self, t: float) -> float:
        if self._live:
            self._t, self._x, self._v = t, 1.0, 0.0
            return 1.0
        if t < self._t - 1e-9 or t - self._t > 5.0:
            self._t, self._x, self._v = t, self._target(t), 0.0
            return self._x
        steps = max(1, math.ceil((t - self._t) / HOP_S - 1e-9)) if t > self._t else 0
        if steps:
            h = (t - self._t) / steps
            e = math.exp(-_OMEGA * h)
            x, v = self._x, self._v
            for k in range(steps):
                g = self._target(self._t + (k + 0.5) * h)
                c1 = x - g
                c2 = v + _OMEGA * c1
                x = g + (c1 + c2 * h) * e
                v = (c2 - _OMEGA * (c1 + c2 * h)) * e
            self._t, self._x, self._v = t, x, v
        return min(1.0, max(FLOOR, self._x))

    def _target(self, t: float) -> float:
        return FLOOR + (1.0 - FLOOR) * self.level(t + self.lead / self.sample_rate)
