"""Arm and hand gestures of the default host, chosen from what is being said.

A sentence starting to play (``FaceDriver.start_speech``) cues a gesture from its ``source``,
``product_id`` and text: open hands on a greeting or thanks, pointing toward the product panel
when a product is named, a "hold up" pose through a product pitch; otherwise the hands rest with
a small idle motion. Springs blend every change, so poses never jump.

Output: the eight arm slots of the parameter vector (``params.P.ARM_L_UP`` .. ``HAND_R_POINT``).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

# Poses per arm: (upper arm, forearm, open, point); angles as fractions of 180 degrees outward
# from hanging down (avatar/figure.py). The screen-right arm does the pointing.
REST = (0.044, -0.417, 0.0, 0.0)  # hands together in front of the waist
OPEN = (0.083, 0.917, 1.0, 0.0)  # forearms up, palms open toward the viewer
POINT = (0.067, 0.167, 0.0, 1.0)  # down and out toward the panel, index finger out
HOLD = (0.028, -0.722, 0.0, 0.0)  # hands raised in front of the chest, as if holding it up

GESTURES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "rest": (REST, REST),  # (screen-left arm, screen-right arm)
    "open": (OPEN, OPEN),
    "point": (REST, POINT),
    "hold": (HOLD, HOLD),
}

_GREETING = re.compile(
    r"^\W*(hello|hi|hey|welcome|thanks|thank you|good (morning|evening|afternoon)|hallo|"
    r"willkommen|danke|ciao|benvenut|grazie|你好|欢迎|谢谢)",
    re.IGNORECASE,
)
_PITCH_SOURCES = ("script", "template", "llm", "show")
_POINT_S = 1.6  # how long the host points after a product is named
_OPEN_S = 1.8
_OMEGA = 7.0  # rad/s, critically damped: most of a change within ~0.4 s
_VMAX = 1.8  # slots/s (angles: 324 degrees/s): a long swing eases instead of whipping


def gesture_for(sentence: Any) -> list[tuple[float, str]]:
    """(seconds after the sentence starts, gesture) steps for one sentence (None: rest)."""
    if sentence is None:
        return [(0.0, "rest")]
    source = str(getattr(sentence, "source", ""))
    text = str(getattr(sentence, "text", ""))
    if source == "thanks" or _GREETING.match(text):
        return [(0.0, "open"), (_OPEN_S, "rest")]
    if getattr(sentence, "product_id", None):
        after = "hold" if source in _PITCH_SOURCES else "rest"
        return [(0.0, "point"), (_POINT_S, after)]
    return [(0.0, "rest")]


class GestureTrack:
    """Sentence cues in, eight smoothed arm values per frame out (``pose_at``)."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng([seed, 7])
        self._freq = rng.uniform(0.15, 0.4, size=8)
        self._phase = rng.uniform(0, 2 * math.pi, size=8)
        self._steps: list[tuple[float, str]] = [(0.0, "rest")]
        self._end = -math.inf
        self._t = 0.0
        self._pos = self._target(0.0)
        self._vel = np.zeros(8)

    def cue(self, t0: float, sentence: Any, end: float) -> None:
        """A sentence starts at media time t0 and its speech ends at ``end``."""
        self._steps = [(t0 + dt, name) for dt, name in gesture_for(sentence)]
        self._end = end

    def reset(self, t: float) -> None:
        self._t = t
        self._steps = [(t, "rest")]
        self._pos = self._target(t)
        self._vel[:] = 0.0

    def _target(self, t: float) -> np.ndarray:
        name = "rest"
        for start, g in self._steps:
            if t >= start:
                name = g
        if t >= self._end + 0.3 and name == "hold":
            name = "rest"  # the pitch is over: hands down again
        left, right = GESTURES[name]
        return np.array([*left, *right], dtype=np.float64)

    def pose_at(self, t: float, talking: float) -> np.ndarray:
        """The eight arm slots at media time t (non-decreasing; a jump back resets)."""
        if t < self._t - 1e-9 or t - self._t > 5.0:
            self.reset(t)
        dt = t - self._t
        steps = max(1, math.ceil(dt / 0.02))
        h = dt / steps
        e = math.exp(-_OMEGA * h)
        x, v = self._pos, self._vel
        for k in range(steps):
            target = self._target(self._t + (k + 1) * h)
            c1 = x - target
            c2 = v + _OMEGA * c1
            x = target + (c1 + c2 * h) * e
            v = np.clip((c2 - _OMEGA * (c1 + c2 * h)) * e, -_VMAX, _VMAX)
        self._pos, self._vel, self._t = x, v, t
        # Idle sway on the angles only, a little livelier while talking.
        sway = np.sin(self._freq * (2 * math.pi * t) + self._phase) * (0.008 + 0.012 * talking)
        sway[[2, 3, 6, 7]] = 0.0
        return (x + sway).astype(np.float32)
