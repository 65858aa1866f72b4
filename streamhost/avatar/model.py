"""The default host: a parametric 2-D cartoon presenter drawn with signed-distance fields.

Build-time only (torch). ``build.py`` exports it to ONNX; the engine runs the ONNX file and never
imports torch.

Coordinates: x runs -1..1 across the tile width, y has the same scale and points down, (0, 0) is
the tile centre. Shapes are signed distances d (negative inside) turned into coverage with a
one-pixel linear ramp, which antialiases edges at the cost of three ops. Everything is elementwise
on a fixed pixel grid (no grid_sample), and the face details are computed only on a fixed crop
that the face cannot leave (the model clips head motion), which keeps the op cost per frame small.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from streamhost.avatar.params import N_PARAMS, P, ranges_array

RENDER_W = 320
RENDER_H = 320

# Head pose: the head rotates about the neck base; these are tile coordinates.
_PIVOT_Y = 0.50
_HEAD_CY = -0.15
_HEAD_SCALE = 1.15  # head-local units are drawn this much larger in the tile
_HEAD_SHIFT_X = 0.06  # tile units per unit of HEAD_X
_HEAD_SHIFT_Y = 0.035
_TILT_RAD = 0.10
_YAW_PARALLAX = 0.035  # features move this much more than the head outline: reads as a turn

# Face-detail crop (tile coordinates); must contain eyes..mouth under any clipped pose.
_CROP_X = (-0.56, 0.56)
_CROP_Y = (-0.50, 0.40)


def _rgb(r: int, g: int, b: int) -> tuple[float, float, float, float]:
    return (r / 255.0, g / 255.0, b / 255.0, 1.0)


PALETTE: dict[str, tuple[float, float, float, float]] = {
    "skin": _rgb(250, 212, 184),
    "skin_shade": _rgb(232, 180, 152),
    "nose": _rgb(236, 178, 150),
    "hair": _rgb(86, 52, 40),
    "hair_front": _rgb(98, 60, 46),
    "blazer": _rgb(46, 74, 128),
    "shirt": _rgb(246, 246, 250),
    "eye_white": _rgb(255, 255, 255),
    "iris": _rgb(96, 64, 40),
    "pupil": _rgb(28, 18, 16),
    "lash": _rgb(48, 30, 26),
    "brow": _rgb(78, 48, 36),
    "blush": _rgb(255, 140, 140),
    "lips": _rgb(214, 112, 118),
    "mouth": _rgb(110, 30, 40),
    "teeth": _rgb(255, 255, 250),
    "tongue": _rgb(230, 116, 124),
}


# Paint order, bottom to top. Full-size layers cover the tile, face layers only the crop.
_FULL_LAYERS = ("shirt", "skin_shade", "blazer", "hair", "skin", "hair_front")
_FACE_LAYERS = (
    "eye_white",
    "iris",
    "pupil",
    "eye_white",  # highlight
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


def _mix(names: tuple[str, ...]) -> Tensor:
    cols = torch.tensor([PALETTE[n] for n in names], dtype=torch.float32)  # (K, 4)
    return cols.t().contiguous()  # (4, K)


def _mix_layers(weights: list[Tensor], mix: Tensor) -> Tensor:
    """(B,1,h,w) weights -> (B,4,h,w) premultiplied RGBA as one small GEMM.

    A 1x1 Conv would do the same, but ONNX Runtime's CPU Conv reorders to a blocked layout and
    back, which costs more than the arithmetic here.
    """
    w = torch.cat(weights, dim=1)
    b, k, h, wd = w.shape
    return torch.matmul(mix, w.reshape(b, k, h * wd)).reshape(b, 4, h, wd)


def _sq(x: Tensor) -> Tensor:
    # x * x rather than x ** 2: exported Pow is several times slower than Mul in ONNX Runtime.
    return x * x


def _weights(alphas: list[Tensor], transmit: Tensor | None) -> tuple[list[Tensor], Tensor]:
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


class PuppetModel(nn.Module):
    """Face parameters in, a head-and-shoulders RGBA tile out.

    Input ``params``: (B, N_PARAMS) float32 laid out as ``streamhost.avatar.params.P`` (values are
    clipped to ``PARAM_RANGES``). Output ``rgba``: (B, 4, H, W) float32 in [0, 1], colour
    PREMULTIPLIED by alpha (rgb <= a), then coverage alpha; the background is transparent.
    """

    def __init__(self, width: int = RENDER_W, height: int = RENDER_H, crop: bool = True) -> None:
        super().__init__()
        if width % 16 or height % 16:
            raise ValueError(f"render size must be a multiple of 16, got {width}x{height}")
        self.width = width
        self.height = height
        px = 2.0 / width
        self.inv_px = 1.0 / px
        self.inv_px_h = _HEAD_SCALE / px  # head-local distances are smaller by the head scale
        ys = (torch.arange(height, dtype=torch.float32) + 0.5 - height / 2) * px
        xs = (torch.arange(width, dtype=torch.float32) + 0.5 - width / 2) * px
        # Separable grid: row and column vectors, so pose terms broadcast instead of costing a
        # full-size op each.
        self.register_buffer("gx", xs.view(1, 1, 1, width))
        self.register_buffer("gy", ys.view(1, 1, height, 1))
        self.cx0 = int(math.floor((_CROP_X[0] + 1.0) / px)) // 2 * 2
        self.cx1 = int(math.ceil((_CROP_X[1] + 1.0) / px)) // 2 * 2
        half_h = height * px / 2
        self.cy0 = int(math.floor((_CROP_Y[0] + half_h) / px)) // 2 * 2
        self.cy1 = int(math.ceil((_CROP_Y[1] + half_h) / px)) // 2 * 2
        if not crop:  # reference mode for tests: face details over the whole tile
            self.cx0, self.cx1, self.cy0, self.cy1 = 0, width, 0, height
        self.register_buffer("cgx", xs[self.cx0 : self.cx1].view(1, 1, 1, -1))
        self.register_buffer("cgy", ys[self.cy0 : self.cy1].view(1, 1, -1, 1))
        lo, hi = ranges_array()
        self.register_buffer("lo", torch.from_numpy(lo).view(1, N_PARAMS))
        self.register_buffer("hi", torch.from_numpy(hi).view(1, N_PARAMS))
        # Layer colours as 1x1-conv weights: out = sum_i colour_i * weight_i, alpha row = 1.
        self.register_buffer("mix_full", _mix(_FULL_LAYERS))
        self.register_buffer("mix_face", _mix(_FACE_LAYERS))

    # -- helpers ---------------------------------------------------------------------------
    def _fill(self, d: Tensor) -> Tensor:
        """Coverage of a signed distance in tile units (negative inside), antialiased over 1 px."""
        return torch.clamp(0.5 - d * self.inv_px, 0.0, 1.0)

    def _fill_h(self, d: Tensor) -> Tensor:
        """Coverage of a signed distance in head-local units."""
        return torch.clamp(0.5 - d * self.inv_px_h, 0.0, 1.0)

    @staticmethod
    def _ell(x: Tensor, y: Tensor, a: float | Tensor, b: float | Tensor) -> Tensor:
        """Approximate signed distance to an axis-aligned ellipse with half-axes a, b."""
        k = _sq(x * (1.0 / a)) + _sq(y * (1.0 / b))
        return (torch.sqrt(k) - 1.0) * torch.minimum(torch.as_tensor(a), torch.as_tensor(b))

    # -- forward -----------------------------------------------------------------------------
    def forward(self, params: Tensor) -> Tensor:
        p = torch.maximum(torch.minimum(params, self.hi), self.lo)
        p4 = p[:, :, None, None]

        def f(i: P) -> Tensor:
            return p4[:, int(i) : int(i) + 1]

        o, wide, rnd, bite = f(P.MOUTH_OPEN), f(P.MOUTH_WIDE), f(P.MOUTH_ROUND), f(P.LIP_BITE)
        blink, hx, hy, tilt = f(P.BLINK), f(P.HEAD_X), f(P.HEAD_Y), f(P.HEAD_TILT)
        smile, brow_up, breathe = f(P.SMILE), f(P.BROW_RAISE), f(P.BREATHE)
        gaze_x, gaze_y = f(P.GAZE_X), f(P.GAZE_Y)

        tx = hx * _HEAD_SHIFT_X
        ty = hy * _HEAD_SHIFT_Y - breathe * 0.006
        ang = tilt * _TILT_RAD
        cs = torch.cos(ang) * (1.0 / _HEAD_SCALE)
        sn = torch.sin(ang) * (1.0 / _HEAD_SCALE)
        head_off = (_PIVOT_Y - _HEAD_CY) / _HEAD_SCALE

        # ---- face details on the crop (top layers first: they decide what shows below) -----
        cxr = self.cgx - tx
        cyr = self.cgy - (_PIVOT_Y + ty)
        xf = cs * cxr + (sn * cyr - hx * _YAW_PARALLAX)
        yf = (cs * cyr + head_off) - sn * cxr
        axf = xf.abs()
        side = torch.sign(xf)

        # Eyes (mirrored through |x|; `side` restores left/right where it matters).
        u = axf - 0.155
        v = yf - 0.02
        q = _sq(u * (1.0 / 0.072))
        a_eye = self._fill_h((torch.sqrt(q + _sq(v * (1.0 / 0.08))) - 1.0) * 0.072)
        lid = -0.095 + 0.20 * blink + 0.035 * q  # upper lid edge; at blink=1 it covers the eye
        a_open = a_eye * self._fill_h(lid - v)
        iu = u - side * (gaze_x * 0.024)
        iv = v - (0.012 + gaze_y * 0.02)
        r_iris = torch.sqrt(iu * iu + iv * iv)
        a_iris = a_open * self._fill_h(r_iris - 0.054)
        a_pupil = a_open * self._fill_h(r_iris - 0.027)
        hu = iu + side * 0.018
        hv = iv + 0.020
        a_hl = a_open * self._fill_h(torch.sqrt(hu * hu + hv * hv) - 0.013)
        # Lash line: follows the upper lid while open; a relaxed downward arc once closed.
        lash = torch.minimum(lid, 0.035 - 0.03 * q)
        a_lash = self._fill_h(torch.maximum((v - lash).abs() - 0.011, u.abs() - 0.082))

        # Brows: arched, raised by surprise; sadness lifts the inner ends.
        slope = 0.5 * torch.relu(-smile) - 0.12 * torch.relu(smile)
        bv = yf - (-0.125 - 0.055 * brow_up)
        brow_c = slope * u + (3.0 + 2.0 * brow_up) * u * u
        a_brow = self._fill_h(torch.maximum((bv - brow_c).abs() - 0.0135, u.abs() - 0.078))

        # Nose hint and cheeks (soft edge: blush has no outline).
        a_nose = self._fill_h(self._ell(xf, yf - 0.155, 0.028, 0.017))
        d_blush = self._ell(axf - 0.235, yf - 0.175, 0.07, 0.045)
        a_blush = torch.clamp(0.5 - d_blush * 25.0, 0.0, 1.0) * (0.22 + 0.25 * torch.relu(smile))

        # Mouth: an opening ellipse around a centre line that smiles/frowns, lips around it.
        mw = 0.09 * (1.0 + 0.45 * wide - 0.42 * rnd + 0.12 * torch.relu(smile))
        mh = 0.0055 + 0.095 * o * (1.0 - 0.3 * wide) + 0.032 * rnd
        mq = _sq(xf * (1.0 / mw))
        mv = yf - 0.285 + (smile * 0.032) * mq
        a_int = self._fill_h((torch.sqrt(mq + _sq(mv * (1.0 / mh))) - 1.0) * torch.minimum(mw, mh))
        lip_w, lip_h = mw + 0.014, mh + 0.020
        lk = _sq(xf * (1.0 / lip_w)) + _sq((mv - 0.002) * (1.0 / lip_h))
        a_lip = self._fill_h((torch.sqrt(lk) - 1.0) * torch.minimum(lip_w, lip_h))
        tongue = self._ell(xf, mv - mh * 0.8, mw * 0.62, mh * 0.55 + 1e-3)
        a_tongue = a_int * self._fill_h(tongue)
        teeth_h = torch.clamp((mh - 0.012) * 0.45, 0.0, 0.024)
        a_teeth = a_int * self._fill_h(mv + mh - teeth_h)
        # f/v: upper teeth resting on the lower lip.
        d_bite = torch.maximum(xf.abs() - mw * 0.55, (mv - 0.009).abs() - 0.009)
        a_bite = self._fill_h(d_bite) * bite

        face_w, t_face = _weights(
            [a_open, a_iris, a_pupil, a_hl, a_lash, a_brow, a_nose, a_blush]
            + [a_lip, a_int, a_tongue, a_teeth, a_bite],
            None,
        )
        face_rgba = _mix_layers(face_w, self.mix_face)

        # ---- full-size layers ------------------------------------------------------------
        xr = self.gx - tx  # (B,1,1,W): pose terms stay row/column vectors until combined
        yr = self.gy - (_PIVOT_Y + ty)  # (B,1,H,1)
        xh = cs * xr + sn * yr  # head-local x
        yh = (cs * yr + head_off) - sn * xr  # head-local y, head centre at 0
        axh = xh.abs()

        bx = self.gx - tx * 0.3
        by = self.gy + breathe * 0.010
        bax = bx.abs()

        # Shoulders: a superellipse (x^4) gives squarer blazer shoulders than an ellipse.
        sx2 = _sq(bx * (1.0 / 0.98))
        body_k = sx2 * sx2 + _sq((by - 1.30) * (1.0 / 0.74))
        a_body = self._fill((torch.sqrt(body_k) - 1.0) * 0.6)
        # Open collar: the blazer's V shows the shirt, whose smaller V shows skin.
        a_vout = self._fill(bax - (0.23 - 0.55 * (by - 0.52)))
        d_vin = bax - (0.125 - 0.42 * (by - 0.52))
        a_shirt = a_body * a_vout
        a_blazer = a_body - a_shirt

        # Neck (in head coordinates, so it follows the turn) plus the skin of the neckline.
        d_neck = torch.maximum(axh - 0.11, 0.30 - yh) * _HEAD_SCALE
        a_neck = self._fill(torch.minimum(d_neck, torch.maximum(d_vin, 0.52 - by)))

        # Back hair: a bob that ends just above the shoulders.
        a_back = self._fill_h(torch.maximum(self._ell(xh, yh + 0.03, 0.50, 0.56), yh - 0.36))

        # Head: an egg (wider at the cranium, narrower at the chin) plus ears.
        yh2 = _sq(yh * (1.0 / 0.48))
        head_w = 0.385 - (0.385 * 0.15 / 0.48) * yh
        d_head = (torch.sqrt(_sq(xh / head_w) + yh2) - 1.0) * 0.385
        d_ear = self._ell(axh - 0.375, yh - 0.03, 0.065, 0.095)
        a_head = self._fill_h(torch.minimum(d_head, d_ear))

        # Front hair: a cap over the skull with a wavy side-swept fringe and locks framing the
        # face. The wave uses the unrotated column so the cosine stays a (B,1,1,W) vector.
        d_cap = self._ell(xh, yh + 0.05, 0.425, 0.50)
        wave = 0.025 * torch.cos(xr * (24.0 / _HEAD_SCALE))
        d_fringe = yh - (-0.15 - 0.16 * xh + 0.30 * xh * xh) + wave
        d_side = torch.maximum(0.315 - axh, yh - 0.26)
        a_front = self._fill_h(torch.maximum(d_cap, torch.minimum(d_fringe, d_side)))

        # What the face layers leave visible, as a full-size transmittance (1 outside the crop).
        pad = (self.cx0, self.width - self.cx1, self.cy0, self.height - self.cy1)
        t_full = nn.functional.pad(t_face, pad, value=1.0)
        full_w, _ = _weights([a_shirt, a_neck, a_blazer, a_back, a_head, a_front], t_full)
        rgba = _mix_layers(full_w, self.mix_full)
        return rgba + nn.functional.pad(face_rgba, pad)
