"""Face parameters per video frame: visemes -> mouth, plus emotion, blinks, breathing, head motion.

Pure numpy and a handful of scalar ops per frame, so it is cheap at 25 fps per stream.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from streamhost.avatar.gestures import GestureTrack
from streamhost.avatar.params import LOOK_SLICE, P, neutral

# Viseme classes (same values as streamhost.voice.visemes.Viseme; plain ints on purpose).
REST, CLOSED, OPEN, ROUND, WIDE, TEETH, NARROW = range(7)

# Mouth targets per viseme: (open, wide, round, lip_bite).
_MOUTH_TARGETS = np.array(
    [
        [0.0, 0.0, 0.0, 0.0],  # REST
        [0.0, 0.0, 0.0, 0.0],  # CLOSED (m b p): lips together
        [0.85, 0.15, 0.0, 0.0],  # OPEN (a)
        [0.30, 0.0, 0.90, 0.0],  # ROUND (o u w)
        [0.35, 0.85, 0.0, 0.0],  # WIDE (e i)
        [0.08, 0.25, 0.0, 1.0],  # TEETH (f v)
        [0.12, 0.45, 0.0, 0.0],  # NARROW (t d n l s k ...): jaw nearly closed
    ],
    dtype=np.float64,
)

# (smile, brow_raise, extra mouth_round) per emotion.
_EMOTIONS: dict[str, tuple[float, float, float]] = {
    "neutral": (0.25, 0.0, 0.0),  # a presenter at rest still looks friendly
    "happy": (0.85, 0.15, 0.0),
    "sad": (-0.75, 0.0, 0.0),
    "surprised": (0.15, 1.0, 0.15),
}

_OMEGA = 38.0  # mouth spring (rad/s): critically damped, ~80 % of a step in 80 ms
_OMEGA_STOP = 60.0  # after an interrupt: closes within ~2 frames
_LEAD = 0.08  # s: the mouth shapes a viseme before it sounds (co-articulation; spring lag)
_SUBSTEP = 0.01  # s: sample viseme targets this often so short visemes are not skipped
_EMO_TAU = 0.15  # s: emotion transitions settle in ~0.5 s
_BLINK_LEN = 0.15  # s
_BREATH_PERIOD = 4.2  # s


class FaceDriver:
    """Timed visemes and an emotion in, one float32 parameter vector per frame out.

    Call ``params_at(t)`` with non-decreasing media time t (seconds); a backwards jump resets the
    smoothing state. ``start_speech(t0, visemes)`` takes (start_s, end_s, viseme_class) relative
    to t0; ``stop_speech(t)`` drops what has not been said and relaxes the mouth within ~2 frames.
    Blinks and idle motion are deterministic for a given seed.
    """

    def __init__(self, fps: int = 25, seed: int = 0) -> None:
        self.fps = fps
        self.seed = seed
        rng = np.random.default_rng(seed)
        # Idle head motion: sums of slow sines with seed-chosen frequencies and phases.
        self._freqs = rng.uniform(0.05, 0.35, size=(3, 3))
        self._phases = rng.uniform(0.0, 2 * math.pi, size=(3, 3))
        self._amps = np.array([[0.35, 0.2, 0.1], [0.25, 0.15, 0.08], [0.3, 0.15, 0.1]])
        self._speech: np.ndarray = np.zeros((0, 3))  # rows: abs start, abs end, class
        self._speech_end = -math.inf
        self._cursor = 0
        self._emotion = "neutral"
        self._base = neutral()  # the look's colour slots ride along unchanged (set_look)
        self._gestures = GestureTrack(seed)
        self._next_sentence: Any = None
        # Live audio driver (see avatar/audio_driver.py): media time -> (open, wide, round,
        # lip_bite); while set it replaces the viseme track, through the same springs.
        self._mouth_source: Callable[[float], np.ndarray] | None = None
        self._reset(0.0)

    # -- control ------------------------------------------------------------------------------
    def start_speech(
        self, t0: float, visemes: list[tuple[float, float, int]], sentence: Any = None
    ) -> None:
        """Queue a sentence's visemes; times are seconds relative to t0 (its first audio).
        ``sentence`` (frames.Sentence: source, product_id, text; else the one given to
        ``cue_sentence``) picks the arms' gesture."""
        if sentence is None:
            sentence, self._next_sentence = self._next_sentence, None
        rows = np.array([(t0 + s, t0 + e, int(c)) for s, e, c in visemes], dtype=np.float64)
        end = t0 + (float(rows[:, 1].max()) - t0 if rows.size else 0.0)
        self._gestures.cue(t0, sentence, end)
        if rows.size == 0:
            return
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        bad = (rows[:, 2] < 0) | (rows[:, 2] >= len(_MOUTH_TARGETS))
        rows[bad, 2] = REST
        # Keep what is still to be said from earlier sentences (queued back to back).
        keep = self._speech[self._speech[:, 1] > t0 - 1.0] if len(self._speech) else self._speech
        self._speech = np.concatenate([keep[keep[:, 0] < rows[0, 0]], rows])
        self._cursor = 0
        self._speech_end = float(self._speech[:, 1].max())
        self._stopped = False

    def cue_sentence(self, sentence: Any) -> None:
        """The sentence whose speech the next ``start_speech`` starts (the player calls this)."""
        self._next_sentence = sentence

    def stop_speech(self, t: float) -> None:
        """Interrupt: nothing after t is said; the mouth closes fast."""
        if len(self._speech):
            self._speech = self._speech[self._speech[:, 0] < t]
            if len(self._speech):
                self._speech[:, 1] = np.minimum(self._speech[:, 1], t)
        self._speech_end = min(self._speech_end, t)
        self._cursor = 0
        self._stopped = True

    def set_emotion(self, name: str) -> None:
        """ "neutral" | "happy" | "sad" | "surprised"; the face eases over ~0.5 s."""
        key = str(name).lower()
        if key not in _EMOTIONS:
            raise ValueError(f"unknown emotion {name!r}; expected one of {sorted(_EMOTIONS)}")
        self._emotion = key

    def set_look(self, values: np.ndarray) -> None:
        """The look's slots (``params.LOOK_SLICE``: colours and style) sent with every frame."""
        self._base[LOOK_SLICE] = values

    def set_mouth_source(self, source: Callable[[float], np.ndarray] | None) -> None:
        """Mouth targets from live audio (``AudioMouth.target_at``) instead of visemes; None
        goes back to visemes. The spring state is kept, so neither switch jumps."""
        self._mouth_source = source
        self._stopped = False

    @property
    def speaking(self) -> bool:
        return self._last_t < self._speech_end

    # -- per frame ------------------------------------------------------------------------------
    def params_at(self, t: float) -> np.ndarray:
        """Face parameters at media time t, shape (N_PARAMS,) float32."""
        if t < self._last_t - 1e-9 or t - self._last_t > 5.0:
            self._reset(t)
        dt = t - self._last_t
        self._step_mouth(self._last_t, t)
        self._last_t = t

        k = 1.0 - math.exp(-dt / _EMO_TAU) if dt > 0 else 0.0
        self._emo += (np.asarray(_EMOTIONS[self._emotion]) - self._emo) * k
        talking = 1.0 if t < self._speech_end else 0.0
        if self._mouth_source is not None:
            talking = 1.0 if self._pos[0] > 0.05 else 0.0  # live voice: talking while voiced
        self._talk += (talking - self._talk) * (1.0 - math.exp(-dt / 0.4) if dt > 0 else 0.0)

        out = self._base.copy()
        m = self._pos
        out[P.MOUTH_OPEN] = m[0]
        out[P.MOUTH_WIDE] = m[1]
        out[P.MOUTH_ROUND] = m[2] + self._emo[2] * (1.0 - self._talk)
        out[P.LIP_BITE] = m[3]
        out[P.BLINK] = self._blink_at(t)
        out[P.SMILE] = self._emo[0]
        out[P.BROW_RAISE] = self._emo[1] + 0.15 * self._talk * m[0]  # brows lift on stresses
        out[P.BREATHE] = math.sin(2 * math.pi * t / _BREATH_PERIOD)

        # Head: slow sines, livelier while talking, plus a small nod with jaw opening.
        motion = np.sin(self._freqs * (2 * math.pi * t) + self._phases)
        hx, hy, tilt = (self._amps * motion).sum(axis=1) * (1.0 + 0.9 * self._talk)
        out[P.HEAD_X] = hx
        out[P.HEAD_Y] = hy + 0.25 * m[0] * self._talk
        out[P.HEAD_TILT] = tilt
        out[P.GAZE_X] = 0.25 * motion[0, 1] - 0.3 * hx
        out[P.GAZE_Y] = 0.15 * motion[1, 2]
        out[P.ARM_L_UP : P.HAND_R_POINT + 1] = self._gestures.pose_at(t, self._talk)
        return out

    # -- internals --------------------------------------------------------------------------------
    def _reset(self, t: float) -> None:
        self._last_t = t
        self._pos = np.zeros(4)
        self._vel = np.zeros(4)
        self._emo = np.asarray(_EMOTIONS[self._emotion], dtype=np.float64).copy()
        self._talk = 0.0
        self._stopped = False
        self._cursor = 0
        self._blink_rng = np.random.default_rng([self.seed, 1])
        self._blink_t = self._blink_rng.uniform(1.0, 4.0)  # first blink soon after start
        self._blink_prev = -math.inf
        while self._blink_t + _BLINK_LEN < t:
            self._advance_blink()

    def _target(self, t: float) -> np.ndarray:
        s = self._speech
        n = len(s)
        # Visemes are sorted and time only moves forward: a cursor makes this O(1) per call.
        i = self._cursor
        while i < n and s[i, 1] <= t:
            i += 1
        self._cursor = i
        if i < n and s[i, 0] <= t:
            return _MOUTH_TARGETS[int(s[i, 2])]
        return _MOUTH_TARGETS[REST]

    def _step_mouth(self, t_from: float, t_to: float) -> None:
        dt_total = t_to - t_from
        if dt_total <= 0:
            return
        steps = max(1, math.ceil(dt_total / _SUBSTEP - 1e-9))
        h = dt_total / steps
        live = self._mouth_source
        w = _OMEGA_STOP if self._stopped and live is None else _OMEGA
        e = math.exp(-w * h)
        x, v = self._pos, self._vel
        for k in range(steps):
            # Exact critically damped step toward a target held constant over the substep.
            if live is not None:  # the audio driver's look-ahead is its lead
                target = _live_target(live, t_from + (k + 0.5) * h)
            else:
                target = self._target(t_from + (k + 0.5) * h + _LEAD)
            c1 = x - target
            c2 = v + w * c1
            x = target + (c1 + c2 * h) * e
            v = (c2 - w * (c1 + c2 * h)) * e
        self._pos = np.clip(x, 0.0, 1.0)
        self._vel = v

    def _advance_blink(self) -> None:
        self._blink_prev = self._blink_t
        self._blink_t += self._blink_rng.uniform(2.0, 6.0)

    def _blink_at(self, t: float) -> float:
        while t > self._blink_t + _BLINK_LEN:
            self._advance_blink()
        for start in (self._blink_prev, self._blink_t):
            x = (t - start) / _BLINK_LEN
            if 0.0 <= x <= 1.0:
                # Fast close (40 %), brief hold, slower open.
                if x < 0.4:
                    return x / 0.4
                if x < 0.55:
                    return 1.0
                return max(0.0, 1.0 - (x - 0.55) / 0.45)
        return 0.0


def _live_target(source: Callable[[float], np.ndarray], t: float) -> np.ndarray:
    """A live mouth target, made safe: 4 finite values in 0..1 (rest if the source fails)."""
    try:
        v = np.asarray(source(t), dtype=np.float64).reshape(-1)[:4]
    except Exception:  # noqa: BLE001 - a broken audio driver must not freeze the face
        return _MOUTH_TARGETS[REST]
    if v.size < 4:
        v = np.concatenate([v, np.zeros(4 - v.size)])
    return np.clip(np.nan_to_num(v, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
