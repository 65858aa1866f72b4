"""Graph-building pieces of the default host's model (avatar/model.py): affine forms on a pixel
grid, quadratic shapes in three full-size ops, per-layer visible weights and the colour mix as
one GEMM. Build-time only (torch); each helper is chosen for the ONNX graph it exports, which
ONNX Runtime runs per frame.
"""

from __future__ import annotations

import torch
from torch import Tensor

PIVOT_Y = 1.0  # tile y of the neck's pivot: head motion turns about it


def mix_layers(weights: list[Tensor], gains: Tensor, const: Tensor, base: Tensor) -> Tensor:
    """(B,1,h,w) weights -> (B,4,h,w) premultiplied RGBA as one small batched GEMM.

    ``base`` (B, 4, 3) holds the look's colours; the layer colours are ``gains @ base + const``.
    A 1x1 Conv would do the same, but ONNX Runtime's CPU Conv reorders to a blocked layout and
    back, which costs more than the arithmetic here.
    """
    w = torch.cat(weights, dim=1)
    k, h, wd = (int(n) for n in w.shape[1:])  # constants in the export: the tile is fixed
    rgb = torch.clamp(torch.matmul(gains, base) + const, 0.0, 1.0).transpose(1, 2)  # (B,3,K)
    mix = torch.cat([rgb, rgb[:, :1] * 0.0 + 1.0], dim=1)
    # -1 for the batch: the exporter then writes constant shapes, not a Shape/Gather chain.
    return torch.matmul(mix, w.reshape(-1, k, h * wd)).reshape(-1, 4, h, wd)


def weights(alphas: list[Tensor], transmit: Tensor | None) -> tuple[list[Tensor], Tensor]:
    """Per-layer visible weights for coverages given bottom to top, plus what shows through.

    Walking top-down, weight_i = a_i * T and T -= weight_i, where T is what the layers above
    leave visible. Doing "over" on single-channel weights and mixing colours once at the end is
    far cheaper than blending 4-channel images per layer.
    """
    out: list[Tensor] = []
    t = transmit
    for a in reversed(alphas):
        w = a if t is None else a * t
        t = 1.0 - a if t is None else t - w
        out.append(w)
    out.reverse()
    assert t is not None
    return out, t


class Form:
    """An affine form cu*u + cw*w + c0 in the region's column (u) and row (w) coordinates."""

    __slots__ = ("cu", "cw", "c0")

    def __init__(self, cu, cw, c0) -> None:  # noqa: ANN001 - tensors or floats
        self.cu, self.cw, self.c0 = cu, cw, c0

    def __add__(self, k: float) -> Form:
        return Form(self.cu, self.cw, self.c0 + k)

    def __mul__(self, k):  # noqa: ANN001, ANN204
        return Form(self.cu * k, self.cw * k, self.c0 * k)


class Region:
    """Pixel grid of one part of the tile: column coordinates gx (1,1,1,w), rows gy (1,1,h,1).

    Pose terms stay row/column vectors; a shape costs a full-size op only where it combines them.
    """

    def __init__(self, gx: Tensor, gy: Tensor, tx: Tensor, ty: Tensor) -> None:
        self.u = gx - tx  # (B,1,1,w)
        self.w = gy - (PIVOT_Y + ty)  # (B,1,h,1)
        self.gx, self.gy = gx, gy
        self._uw: Tensor | None = None

    @property
    def uw(self) -> Tensor:
        if self._uw is None:
            self._uw = self.u * self.w
        return self._uw

    def lin(self, f: Form) -> Tensor:
        """The affine form on the grid: one full-size op."""
        return self.u * f.cu + (self.w * f.cw + f.c0)

    def quad(
        self,
        fx: Form,
        fy: Form,
        a: Tensor | float,
        b: Tensor | float,
        extra: Form | None = None,
        extra_col: Tensor | None = None,
    ) -> Tensor:
        """a - b * (X^2 + Y^2) (+ extra form + extra column vector) for affine X, Y.

        Expanded into column terms + row terms + one u*w product, so it costs three full-size
        ops whatever the rotation, instead of two squares of rotated coordinates.
        """
        u2 = fx.cu * fx.cu + fy.cu * fy.cu
        u1 = 2.0 * (fx.cu * fx.c0 + fy.cu * fy.c0)
        w2 = fx.cw * fx.cw + fy.cw * fy.cw
        w1 = 2.0 * (fx.cw * fx.c0 + fy.cw * fy.c0)
        c = fx.c0 * fx.c0 + fy.c0 * fy.c0
        k = 2.0 * (fx.cu * fx.cw + fy.cu * fy.cw)
        u, w = self.u, self.w
        col = u * (u * (-b * u2) - b * u1) + a
        row = w * (w * (-b * w2) - b * w1) - b * c
        if extra is not None:
            col = col + u * extra.cu
            row = row + (w * extra.cw + extra.c0)
        if extra_col is not None:
            col = col + extra_col
        return (col + row) + self.uw * (-b * k)


def clip01(x: Tensor) -> Tensor:
    return torch.clamp(x, 0.0, 1.0)
