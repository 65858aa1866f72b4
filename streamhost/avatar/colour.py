"""Colour matching of pasted patches: mean and spread per Lab channel, computed once per sample.

A patch taken from another moment of a video carries that moment's light (a cloud, the
camera's exposure drifting). Moving its Lab mean and standard deviation onto the target's
(Reinhard et al. 2001) under the paste mask removes most of it; ``cv2.seamlessClone`` would
do better but costs ~22 ms per 720p frame, so the builder precomputes this per sample.
"""

from __future__ import annotations

import numpy as np

MAX_GAIN = 1.5  # a spread ratio beyond this is a different scene, not a light change


def lab_stats(rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of each Lab channel over the pixels where ``mask`` > 0.5; float32 (3,)."""
    import cv2

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    sel = lab[mask > 0.5]
    if sel.size == 0:
        return np.zeros(3, np.float32), np.ones(3, np.float32)
    return sel.mean(0), np.maximum(sel.std(0), 1e-3)


def match_colour(
    rgb: np.ndarray, src: tuple[np.ndarray, np.ndarray], dst: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """``rgb`` (h, w, 3) uint8 with its Lab statistics moved from ``src`` to ``dst``."""
    import cv2

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    gain = np.clip(dst[1] / src[1], 1 / MAX_GAIN, MAX_GAIN)
    lab = (lab - src[0]) * gain + dst[0]
    return cv2.cvtColor(np.clip(lab + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
