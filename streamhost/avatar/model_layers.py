"""The default host's paint layers: their colours (a fixed linear function of the look's skin,
hair, lips and iris) and which layers each region of the tile draws, bottom to top.

Build-time only (torch), used by ``model.py``; names in, (gains, constants) tensors out.
"""

from __future__ import annotations

import torch
from torch import Tensor

# Colours are inputs (the look's skin, hair, lips and iris, params.SKIN_R..IRIS_B); each layer's
# colour is a fixed linear function of them: (skin, hair, lips, iris) gains plus a constant RGB.
# Derived shades (shadow, sheen, brows) thus follow any configured colour.
_COLOURS: dict[str, tuple[float, float, float, float, tuple[float, float, float]]] = {
    "neck": (0.84, 0, 0, 0, (0.0, 0.0, 0.0)),
    "chin_shadow": (0.66, 0, 0, 0, (0.0, 0.0, 0.0)),
    "hair": (0, 1.0, 0, 0, (0.0, 0.0, 0.0)),
    "skin": (1.0, 0, 0, 0, (0.0, 0.0, 0.0)),
    "face_shadow": (0.78, 0, 0, 0, (0.02, 0.0, 0.01)),
    "face_light": (0.85, 0, 0, 0, (0.3, 0.27, 0.24)),
    "hair_front": (0, 1.1, 0, 0, (0.015, 0.01, 0.01)),
    "hair_sheen": (0, 0.7, 0, 0, (0.3, 0.27, 0.25)),
    "socket": (0.42, 0.1, 0, 0, (0.0, 0.0, 0.02)),
    "eye_white": (0, 0, 0, 0, (0.93, 0.92, 0.92)),
    "iris": (0, 0, 0, 1.0, (0.0, 0.0, 0.0)),
    "pupil": (0, 0, 0, 0, (0.11, 0.07, 0.06)),
    "highlight": (0, 0, 0, 0, (1.0, 1.0, 1.0)),
    "lash": (0, 0.35, 0, 0, (0.05, 0.03, 0.03)),
    "brow": (0, 0.8, 0, 0, (0.0, 0.0, 0.0)),
    "nose": (0.84, 0, 0, 0, (0.0, 0.0, 0.0)),
    "blush": (0, 0, 0, 0, (1.0, 0.55, 0.55)),
    "lips": (0, 0, 1.0, 0, (0.0, 0.0, 0.0)),
    "mouth": (0, 0, 0, 0, (0.43, 0.12, 0.16)),
    "tongue": (0, 0, 0, 0, (0.9, 0.45, 0.49)),
    "teeth": (0, 0, 0, 0, (1.0, 1.0, 0.98)),
}


# Paint order, bottom to top. Full-size layers cover the tile, face layers only the crop. The
# body, collar and arms are not here: avatar/figure.py draws them around this tile.
_FULL_LAYERS = (
    "neck", "chin_shadow", "hair", "skin", "face_shadow", "face_light", "hair_front", "hair_sheen",
)  # fmt: skip
# The large layers each region can show (the clipped pose keeps the others out; a test checks it).
_TOP_LAYERS = ("hair", "skin", "face_shadow", "hair_front", "hair_sheen")  # above the crop
_CAP_LAYERS = ("hair", "hair_front")  # the top band's rows above _CAP_Y
_SIDE_LAYERS = ("hair", "skin", "face_shadow", "hair_front")  # beside the crop
# Under the face details, per row band of the crop (eyes, eyes and mouth, lower face): the neck
# and its shadow start below the mouth band, the hair's sheen ends above it; the head, hair and
# their shading end above the bottom band (their lowest row is 349 at the clipped extremes).
_CROP_LAYERS = {
    "eyes": ("hair", "skin", "face_shadow", "face_light", "hair_front", "hair_sheen"),
    "all": ("hair", "skin", "face_shadow", "face_light", "hair_front"),
    "lower": ("neck", "chin_shadow", "hair", "skin", "face_shadow", "face_light", "hair_front"),
}
_BOTTOM_LAYERS = ("neck", "chin_shadow")
_FACE_LAYERS = (
    "socket",
    "eye_white",
    "iris",
    "pupil",
    "highlight",
    "lash",
    "brow",
    "nose",
    "blush",
    "lips",
    "mouth",
    "tongue",
    "teeth",
    "teeth",  # f/v bite
)


def _mix(names: tuple[str, ...]) -> tuple[Tensor, Tensor]:
    """(K, 4) gains on (skin, hair, lips, iris) and (K, 3) constants for the named layers."""
    gains = torch.tensor([_COLOURS[n][:4] for n in names], dtype=torch.float32)
    const = torch.tensor([_COLOURS[n][4] for n in names], dtype=torch.float32)
    return gains, const
