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
)


def neutral() -> np.ndarray:
    """A resting face: all fields zero, shape (N_PARAMS,) float32."""
    return np.zeros(N_PARAMS, dtype=np.float32)


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
