"""RGB -> I420 conversion constants and sprites: premultiplied RGBA patches converted to I420
once, so the compositor and the figure blend them straight into frames without RGBA work."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Sprite", "_UV4", "_YUV", "to_sprite"]

_YUV = np.array(
    [
        [65.481, 128.553, 24.966, 16.0],
        [-37.797, -74.203, 112.0, 128.0],
        [112.0, -93.786, -18.214, 128.0],
    ],
    dtype=np.float32,
)

_UV4 = _YUV[1:] * 0.25  # chroma rows applied to a 2x2 *sum*


@dataclass(frozen=True, slots=True)
class Sprite:
    """A premultiplied RGBA patch converted to I420 once, for blending straight into frames.

    Fixed point (x256), uint16, per plane: ``out = (bg * inv + k) >> 8`` with ``k`` the plane's
    value of the premultiplied colour (+128 rounding) and ``inv`` = 1 - alpha; chroma from the
    2x2 mean, as ``_blend`` computes it per frame. ``k`` is clipped so the sum never overflows.
    """

    y: np.ndarray  # (h, w) uint16
    ya: np.ndarray  # (h, w) uint16, 256 * (1 - alpha)
    uv: np.ndarray  # (2, h/2, w/2) uint16
    uva: np.ndarray  # (h/2, w/2) uint16, 256 * (1 - mean alpha of the 2x2 block)

    def crop(self, r0: int, r1: int, c0: int, c1: int) -> Sprite:
        """Rows r0:r1, columns c0:c1 (all even) as views."""
        h0, h1, w0, w1 = r0 // 2, r1 // 2, c0 // 2, c1 // 2
        return Sprite(self.y[r0:r1, c0:c1], self.ya[r0:r1, c0:c1],
                      self.uv[:, h0:h1, w0:w1], self.uva[h0:h1, w0:w1])  # fmt: skip


def to_sprite(rgba: np.ndarray) -> Sprite:
    """(4, h, w) premultiplied float32 RGBA in 0..1 (h, w even) -> ``Sprite``."""
    _, h, w = rgba.shape
    rgba = np.asarray(rgba, np.float32)
    inv = np.rint(256.0 * (1.0 - rgba[3])).clip(0, 256)
    ky = (_YUV[0] @ rgba.reshape(4, -1)).reshape(h, w) * 256.0 + 128.0
    ky = np.clip(ky, 0, 65535 - 255 * inv)
    t2 = rgba[:, 0::2, 0::2] + rgba[:, 1::2, 0::2] + rgba[:, 0::2, 1::2] + rgba[:, 1::2, 1::2]
    inv2 = np.rint(256.0 * (1.0 - 0.25 * t2[3])).clip(0, 256)
    kuv = (_UV4 @ t2.reshape(4, -1)).reshape(2, h // 2, w // 2) * 256.0 + 128.0
    kuv = np.clip(kuv, 0, 65535 - 255 * inv2[None])
    u16 = np.uint16
    return Sprite(ky.astype(u16), inv.astype(u16), kuv.astype(u16), inv2.astype(u16))
