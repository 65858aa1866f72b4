"""Layout of the puppet's face-parameter vector (float32, one named slot per field).

The driver writes these, the ONNX model reads them. Ranges are what the model expects; the model
clips every input to its range, so out-of-range values are safe (they just saturate).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class P(IntEnum):
    """Index of each field in the parameter vector."""

    MOUTH_OPEN = 0  # 0 closed .. 1 wide open (jaw drop)
    MOUTH_WIDE = 1  # 0 .. 1 lips stretched sideways (e, i)
    MOUTH_ROUND = 2  # 0 .. 1 lips rounded and pushed forward (o, u, w)
    LIP_BITE = 3  # 0 .. 1 upper teeth resting on the lower lip (f, v)
    BLINK = 4  # 0 open .. 1 closed
    HEAD_X = 5  # -1 .. 1 sideways turn/shift (features move a bit more than the outline: fake yaw)
    HEAD_Y = 6  # -1 .. 1 up/down (nod); +1 is down
    HEAD_TILT = 7  # -1 .. 1 roll; +1 tilts the head clockwise
    SMILE = 8  # -1 sad .. +1 happy
    BROW_RAISE = 9  # 0 .. 1 (surprise)
    BREATHE = 10  # -1 .. 1 (exhaled .. inhaled)
    GAZE_X = 11  # -1 .. 1 irises look left .. right
    GAZE_Y = 12  # -1 .. 1 irises look up .. down
    # Arms (drawn by the figure, avatar/figure.py, not the ONNX model): angles from hanging
    # straight down, +1 = 180 degrees outward; L/R are the screen's left and right arm.
    ARM_L_UP = 13
    ARM_L_FORE = 14
    HAND_L_OPEN = 15  # 0 .. 1 relaxed -> open palm
    HAND_L_POINT = 16  # 0 .. 1 relaxed -> index finger out
    ARM_R_UP = 17
    ARM_R_FORE = 18
    HAND_R_OPEN = 19
    HAND_R_POINT = 20
    # The look (avatar/looks.py): base colours as RGB 0..1 and the hair style; constant per stream.
    SKIN_R = 21
    SKIN_G = 22
    SKIN_B = 23
    HAIR_R = 24
    HAIR_G = 25
    HAIR_B = 26
    LIPS_R = 27
    LIPS_G = 28
    LIPS_B = 29
    IRIS_R = 30
    IRIS_G = 31
    IRIS_B = 32
    STYLE = 33  # 0 long bob, lashes, blush .. 1 short hair, heavier brows


N_PARAMS: int = len(P)

PARAM_NAMES: tuple[str, ...] = tuple(p.name.lower() for p in P)

# (low, high) per field, in index order; the model clips to these.
PARAM_RANGES: tuple[tuple[float, float], ...] = (
    (0.0, 1.0),
    (0.0, 1.0),
    (0.0, 1.0),
    (0.0, 1.0),
    (0.0, 1.0),
    (-1.0, 1.0),
    (-1.0, 1.0),
    (-1.0, 1.0),
    (-1.0, 1.0),
    (0.0, 1.0),
    (-1.0, 1.0),
    (-1.0, 1.0),
    (-1.0, 1.0),
    *((-1.0, 1.0), (-1.0, 1.0), (0.0, 1.0), (0.0, 1.0)) * 2,
    *((0.0, 1.0),) * 13,
)
LOOK_SLICE = slice(int(P.SKIN_R), int(P.STYLE) + 1)
# The default look's values (avatar/looks.py keeps them in step): what neutral() starts from, so
# a vector built by hand still renders a coloured face.
DEFAULT_LOOK = (0.98, 0.83, 0.72, 0.34, 0.2, 0.16, 0.84, 0.44, 0.46, 0.38, 0.25, 0.16, 0.0)


def neutral() -> np.ndarray:
    """A resting face in the default look: motion fields zero, shape (N_PARAMS,) float32."""
    v = np.zeros(N_PARAMS, dtype=np.float32)
    v[LOOK_SLICE] = DEFAULT_LOOK
    return v


def make(**fields: float) -> np.ndarray:
    """Build a parameter vector from keyword fields, e.g. ``make(mouth_open=0.8, smile=0.5)``.

    Unknown names raise ValueError listing the valid ones.
    """
    v = neutral()
    for name, value in fields.items():
        try:
            v[P[name.upper()]] = value
        except KeyError:
            raise ValueError(
                f"unknown avatar parameter {name!r}; valid: {', '.join(PARAM_NAMES)}"
            ) from None
    return v


def ranges_array() -> tuple[np.ndarray, np.ndarray]:
    """(low, high) arrays of shape (N_PARAMS,) float32."""
    lo = np.array([r[0] for r in PARAM_RANGES], dtype=np.float32)
    hi = np.array([r[1] for r in PARAM_RANGES], dtype=np.float32)
    return lo, hi
