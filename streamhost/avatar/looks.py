"""Built-in looks of the default host: skin, hair, lips, eyes, outfit and hair style.

``[avatar] look`` names one; ``skin``, ``hair`` and ``outfit`` ("#rrggbb") override its colours.
The head's colours travel to the ONNX model as parameters (``params.LOOK_SLICE``); the body and
arms (avatar/figure.py) read the same look, so every part of the host agrees.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Look:
    """One host look: colours as 0..255 RGB, ``style`` 0 (long bob) .. 1 (short hair)."""

    name: str
    skin: RGB
    hair: RGB
    lips: RGB
    iris: RGB
    outfit: RGB  # blazer and sleeves
    shirt: RGB
    tie: RGB | None = None  # drawn over the shirt when set
    style: float = 0.0
    # Whose voice fits the look: espeak-ng's variant follows it (config.py), and a neural voice
    # of the other sex is named by `streamhost check` (cli.host_voice_warnings).
    voice: str = "female"

    def params(self) -> np.ndarray:
        """The values of ``params.LOOK_SLICE``: skin, hair, lips, iris (RGB 0..1) and style."""
        cols = [c / 255.0 for rgb in (self.skin, self.hair, self.lips, self.iris) for c in rgb]
        return np.array([*cols, self.style], dtype=np.float32)


# Lips clearly darker than the skin (luma 55-100 levels below it): a closed mouth is one of the
# few edges a stock detector (OpenCV Haar, dlib HOG) reads in a face. Lighter lips (zuri's were 8
# levels below her skin, kai's 47) left zuri found by dlib's HOG in 75 % and kai by the default
# Haar cascade in 90 % of a 10 s take (benchmarks/face_detect.py); at 40 levels below, zuri's
# idle stretches (head raised, mouth closed) still lost dlib in 5.5 % of three takes, at 57 in
# 3.6 % (a lighter hair found her more often still, and lost the Haar cascade 20 %).
LOOKS: dict[str, Look] = {
    "ava": Look("ava", (250, 212, 184), (86, 52, 40), (214, 112, 118), (96, 64, 40),
                (46, 74, 128), (246, 246, 250)),
    "kai": Look("kai", (226, 184, 150), (34, 28, 26), (176, 100, 96), (70, 50, 36),
                (58, 62, 70), (236, 240, 248), tie=(170, 40, 56), style=1.0,
                voice="male"),
    "mei": Look("mei", (246, 218, 196), (28, 24, 30), (206, 84, 104), (60, 42, 34),
                (178, 44, 66), (250, 244, 236)),
    "zuri": Look("zuri", (142, 96, 70), (30, 22, 20), (80, 36, 44), (54, 36, 26),
                 (226, 162, 52), (250, 248, 240)),
}  # fmt: skip

DEFAULT_LOOK = "ava"


def parse_colour(value: str) -> RGB:
    """ "#rrggbb" -> (r, g, b); raises ValueError saying what is allowed."""
    s = value.strip()
    if len(s) != 7 or s[0] != "#":
        raise ValueError(f"colour {value!r}: expected #rrggbb")
    try:
        return (int(s[1:3], 16), int(s[3:5], 16), int(s[5:7], 16))
    except ValueError:
        raise ValueError(f"colour {value!r}: expected #rrggbb (hex digits)") from None


def is_colour(value: object) -> bool:
    """Config validator: empty (keep the look's colour) or "#rrggbb"."""
    if not isinstance(value, str):
        return False
    if not value:
        return True
    try:
        parse_colour(value)
    except ValueError:
        return False
    return True


def resolve_look(
    name: str = DEFAULT_LOOK, skin: str = "", hair: str = "", outfit: str = ""
) -> Look:
    """The named look with any configured colours ("#rrggbb"; empty keeps the look's own)."""
    if name not in LOOKS:
        raise ValueError(f"unknown look {name!r}; built-in looks: {', '.join(LOOKS)}")
    look = LOOKS[name]
    over = {
        k: parse_colour(v) for k, v in (("skin", skin), ("hair", hair), ("outfit", outfit)) if v
    }
    return replace(look, **over) if over else look
