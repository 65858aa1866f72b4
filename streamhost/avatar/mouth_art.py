"""A drawn mouth interior (cavity, teeth, tongue) for a photo whose lips are pulled apart.

Inner-lip outline in; the interior is painted into an RGB patch through a soft-edged mask.
A photo has no pixels for the inside of an opened mouth, so they are drawn: a dark cavity
(so an open mouth reads as open, also to the pixel lip-sync check), upper teeth hanging from
the upper lip and a tongue resting on the lower lip.
"""

from __future__ import annotations

import numpy as np

CAVITY_TOP = np.array([70, 22, 28], np.float32)
CAVITY_DEEP = np.array([28, 6, 10], np.float32)
TEETH = (222, 214, 200)
TONGUE = (150, 62, 68)
SUB = 4  # fixed-point bits for cv2's sub-pixel polygons (16ths of a pixel)


def _poly(pts: np.ndarray) -> np.ndarray:
    return np.round(pts * (1 << SUB)).astype(np.int32)[None]


def paint_interior(
    patch: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    amount: float,
    lip_bite: float = 0.0,
) -> None:
    """Paint the interior into ``patch`` (h, w, 3) uint8 RGB, in place.

    ``upper``/``lower``: (n, 2) inner-lip points, left corner to right corner, in patch pixels
    (the same corners first and last). ``amount`` 0..1 fades the drawing in as the lips part,
    so a closed mouth keeps the photo's own pixels."""
    import cv2

    if amount <= 0.01:
        return
    h, w = patch.shape[:2]
    outline = np.concatenate([upper, lower[::-1]])
    x0, y0 = np.floor(outline.min(0)).astype(int) - 3
    x1, y1 = np.ceil(outline.max(0)).astype(int) + 4
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 3 or y1 - y0 < 2:
        return
    off = np.array([x0, y0], np.float64)
    up, lo, out = upper - off, lower - off, outline - off
    ph, pw = y1 - y0, x1 - x0
    mouth_w = float(np.linalg.norm(upper[-1] - upper[0]))
    gap = float(np.max(lo[:, 1] - up[:, 1], initial=0.0))

    art = np.empty((ph, pw, 3), np.float32)
    # Darker towards the throat: deep at the lower lip's level, lighter under the upper lip.
    t = np.clip((np.arange(ph, dtype=np.float32) - up[:, 1].min()) / max(gap, 1.0), 0, 1)
    art[:] = (CAVITY_TOP + (CAVITY_DEEP - CAVITY_TOP) * t[:, None])[:, None, :]
    n = len(up)
    inner = slice(n // 6, n - n // 6)  # teeth stop short of the corners
    th = 0.085 * mouth_w
    teeth_up = np.concatenate([up[inner], (up[inner] + [0, th])[::-1]])
    cv2.fillPoly(art, _poly(teeth_up), TEETH, cv2.LINE_AA, SUB)
    # The tongue sits on the floor of the mouth, behind the lower teeth.
    mid_lo = lo[n // 2]
    axes = (max(1, int(mouth_w * 0.3)), max(1, int(0.45 * gap)))
    cv2.ellipse(art, (int(mid_lo[0]), int(mid_lo[1])), axes, 0, 180, 360, TONGUE, -1,
                cv2.LINE_AA)  # fmt: skip
    if lip_bite > 0.05:  # f/v: the upper teeth rest on the lower lip, lower teeth hidden
        tl = 0.06 * mouth_w * lip_bite
        teeth_lo = np.concatenate([lo[inner], (lo[inner] - [0, tl])[::-1]])
        cv2.fillPoly(art, _poly(teeth_lo), TEETH, cv2.LINE_AA, SUB)

    mask = np.zeros((ph, pw), np.float32)
    cv2.fillPoly(mask, _poly(out), 1.0, cv2.LINE_AA, SUB)
    mask = cv2.GaussianBlur(mask, (5, 5), 0) * float(min(1.0, amount))
    region = patch[y0:y1, x0:x1].astype(np.float32)
    region += (art - region) * mask[:, :, None]
    patch[y0:y1, x0:x1] = region.astype(np.uint8)
