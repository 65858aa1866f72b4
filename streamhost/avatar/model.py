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

from streamhost.avatar.model_layers import (
    _BOTTOM_LAYERS,
    _CAP_LAYERS,
    _CROP_LAYERS,
    _FACE_LAYERS,
    _FULL_LAYERS,
    _SIDE_LAYERS,
    _TOP_LAYERS,
    _mix,
)
from streamhost.avatar.params import N_PARAMS, P, ranges_array
from streamhost.avatar.sdf_ops import PIVOT_Y, Form, Region, clip01, mix_layers, weights

RENDER_W = 368
RENDER_H = 400

# Head pose: the head rotates about the neck base; these are tile coordinates. The head is drawn
# large (face about 236 px wide at 1:1) because the studio frames the host as a close shot.
_HEAD_CY = -0.027
_HEAD_SCALE = 1.665  # head-local units are drawn this much larger in the tile
_HEAD_SHIFT_X = 0.045  # tile units per unit of HEAD_X
_HEAD_SHIFT_Y = 0.03
_TILT_RAD = 0.08  # small: the tile's sides must hold the hair at any tilt
# Key light lift per unit of skin luma (Rec. 601, 0..1) below _DARK_LUMA: zuri (0.42) gets 1.5x.
_DARK_LUMA = 0.7
_DARK_LIFT = 1.8
_DARK_MAX = 0.35  # no more lift below luma 0.35: the light stays a light (alpha <= 0.82)
_YAW_PARALLAX = 0.035  # features move this much more than the head outline: reads as a turn

# Face-detail crop (tile coordinates); must contain eyes..mouth under any clipped pose.
_CROP_X = (-0.75, 0.75)
_CROP_Y = (-0.48, 0.82)
_TOP_Y = -1.09  # nothing is drawn above this (tile coordinates) under any clipped pose
_CAP_Y = -0.88  # only hair above this: the skin starts at -0.86 (row 41) at the clipped extreme
# Head-local rows where the face details can reach under any clipped pose: the lower face (nose,
# cheeks, a wide-open mouth) starts below _LOWER_TOP, the eyes and brows end above _EYES_BOTTOM.
# Measured at the clipped extremes: the cheeks start at row 216, the eye sockets end at row 243;
# these leave 4 rows (a test checks the bands against the uncropped drawing).
_LOWER_TOP = 0.059
_EYES_BOTTOM = 0.17

_BASE = slice(int(P.SKIN_R), int(P.IRIS_B) + 1)


class PuppetModel(nn.Module):
    """Face parameters in, a head-and-neck RGBA tile out (the figure draws body and arms).

    Input ``params``: (B, N_PARAMS) float32 laid out as ``streamhost.avatar.params.P`` (values are
    clipped to ``PARAM_RANGES``). Output ``rgba``: (B, 4, H, W) float32 in [0, 1], colour
    PREMULTIPLIED by alpha (rgb <= a), then coverage alpha; the background is transparent.

    The tile is drawn in regions that each evaluate only the layers the clipped pose lets reach
    them (top band: hair, and the head below _CAP_Y; face crop in three row bands: the head, the
    neck in the lowest, plus the face details; the side strips beside it: hair and head; bottom
    band: neck and its shadow), then concatenated. Squares are x * x, never Pow (several times
    slower in ONNX Runtime). ``crop=False`` draws every layer over the whole tile (reference).
    """

    def __init__(self, width: int = RENDER_W, height: int = RENDER_H, crop: bool = True) -> None:
        super().__init__()
        if width % 16 or height % 16:
            raise ValueError(f"render size must be a multiple of 16, got {width}x{height}")
        self.width = width
        self.height = height
        self.crop = crop
        px = 2.0 / width
        self.inv_px_h = _HEAD_SCALE / px  # head-local distances are smaller by the head scale
        ys = (torch.arange(height, dtype=torch.float32) + 0.5 - height / 2) * px
        xs = (torch.arange(width, dtype=torch.float32) + 0.5 - width / 2) * px
        half_h = height * px / 2
        self.cx0 = int(math.floor((_CROP_X[0] + 1.0) / px)) // 2 * 2
        self.cx1 = int(math.ceil((_CROP_X[1] + 1.0) / px)) // 2 * 2
        self.cy0 = int(math.floor((_CROP_Y[0] + half_h) / px)) // 2 * 2
        self.cy1 = int(math.ceil((_CROP_Y[1] + half_h) / px)) // 2 * 2
        self.top0 = max(0, int(math.floor((_TOP_Y + half_h) / px)) // 2 * 2)  # rows above: empty
        cols = torch.arange(width)
        side = (cols < self.cx0) | (cols >= self.cx1)
        self.register_buffer("gx", xs.view(1, 1, 1, -1))
        self.register_buffer("gy", ys.view(1, 1, -1, 1))
        self.register_buffer("cgx", xs[self.cx0 : self.cx1].view(1, 1, 1, -1))
        self.register_buffer("cgy", ys[self.cy0 : self.cy1].view(1, 1, -1, 1))
        self.register_buffer("sgx", xs[side].view(1, 1, 1, -1))
        cap = max(self.top0, int(math.floor((_CAP_Y + half_h) / px)) // 2 * 2)
        self.register_buffer("tgy_c", ys[self.top0 : cap].view(1, 1, -1, 1))
        self.register_buffer("tgy", ys[cap : self.cy0].view(1, 1, -1, 1))
        self.register_buffer("bgy", ys[self.cy1 :].view(1, 1, -1, 1))
        lo, hi = ranges_array()
        self.register_buffer("lo", torch.from_numpy(lo).view(1, N_PARAMS))
        self.register_buffer("hi", torch.from_numpy(hi).view(1, N_PARAMS))
        self.register_buffer("luma_w", torch.tensor([[0.299], [0.587], [0.114]]))
        # Layer colours, one (4, K) matrix per region: out = sum_i colour_i * weight_i.
        # Rows of the crop's bands (see forward): eye details end above r2, the lower face's
        # begin below r1 (head-local limits plus the clipped pose's reach).
        hc_row = (_HEAD_CY + half_h) / px
        r1 = self.cy0 + max(0, int((hc_row + _LOWER_TOP * _HEAD_SCALE / px - self.cy0) // 2 * 2))
        r2 = min(self.cy1, int(math.ceil((hc_row + _EYES_BOTTOM * _HEAD_SCALE / px) / 2) * 2))
        self.register_buffer("cgy_e", ys[self.cy0 : r1].view(1, 1, -1, 1))
        self.register_buffer("cgy_a", ys[r1:r2].view(1, 1, -1, 1))
        self.register_buffer("cgy_l", ys[r2 : self.cy1].view(1, 1, -1, 1))
        n_eyes = 7
        self.mixes = {
            "all": _FULL_LAYERS + _FACE_LAYERS,
            "crop_all": _CROP_LAYERS["all"] + _FACE_LAYERS,
            "crop_eyes": _CROP_LAYERS["eyes"] + _FACE_LAYERS[:n_eyes],
            "crop_lower": _CROP_LAYERS["lower"] + _FACE_LAYERS[n_eyes:],
            "top": _TOP_LAYERS,
            "cap": _CAP_LAYERS,
            "side": _SIDE_LAYERS,
            "bot": _BOTTOM_LAYERS,
        }
        for key, names in self.mixes.items():
            gains, const = _mix(names)
            self.register_buffer(f"gain_{key}", gains)
            self.register_buffer(f"const_{key}", const)

    # -- helpers ---------------------------------------------------------------------------
    def _fill_h(self, d: Tensor) -> Tensor:
        """Coverage of a signed distance in head-local units (negative inside), 1-px ramp."""
        return torch.clamp(0.5 - d * self.inv_px_h, 0.0, 1.0)

    def _fill_s(self, r: Tensor, m: float | Tensor, c: float | Tensor) -> Tensor:
        """``_fill_h(m * r - c)`` with the constants folded: two full-size ops and the clamp."""
        S = self.inv_px_h
        return torch.clamp((0.5 + S * c) - r * (S * m), 0.0, 1.0)

    def _ell(self, x2: Tensor, y: Tensor, a: float | Tensor, b: float | Tensor) -> Tensor:
        """Coverage of an axis-aligned ellipse (half-axes a, b) given x squared and y, with
        (sqrt(x^2/a^2 + y^2/b^2) - 1) * min(a, b) as its approximate distance."""
        m = min(a, b) if isinstance(a, float) and isinstance(b, float) else torch.minimum(a, b)
        return self._fill_s(torch.sqrt(x2 + (y * y) * ((a * a) / (b * b))), m / a, m)

    def _ell_q(self, g: Region, fx: Form, fy: Form, a: float, b: float) -> Tensor:
        """Unclipped coverage of a head-local ellipse, (k - 1) / 2 * min(a, b) as its distance.

        Same 1-px edge as (sqrt(k) - 1) * min(a, b) (they agree to second order at k = 1), with
        no square root and the fill folded into the quadratic's coefficients.
        """
        s = self.inv_px_h * min(a, b) * 0.5
        return g.quad(fx * (1.0 / a), fy * (1.0 / b), 0.5 + s, s)

    # -- the large layers ------------------------------------------------------------------------
    def _soft(self, g: Region, fx: Form, fy: Form, a: float, b: float, k: float) -> Tensor:
        """k * (1 - X^2/a^2 - Y^2/b^2) on the grid, unclipped: a soft-edged ellipse (shading)."""
        return g.quad(fx * (1.0 / a), fy * (1.0 / b), k, k)

    def _large(self, g: Region, pose: dict[str, Tensor], names: tuple[str, ...]) -> list[Tensor]:
        """Coverages of the named large layers on region ``g``, in the order of ``names``."""
        cs, sn, style = pose["cs"], pose["sn"], pose["style"]
        S = self.inv_px_h
        h0 = (PIVOT_Y - _HEAD_CY) / _HEAD_SCALE
        xh_f = Form(cs, sn, 0.0)  # head-local x
        yh_f = Form(-sn, cs, h0)  # head-local y, head centre at 0
        axh = g.lin(xh_f * S).abs()  # in pixels: the fills below need no further scaling
        out: dict[str, Tensor] = {}
        need = set(names)
        if "chin_shadow" in need:
            need.add("neck")
        if "face_shadow" in need:
            need.add("skin")
        if "hair_sheen" in need:
            need.add("hair_front")

        # Neck (head coordinates, follows the turn and tilt) down to the tile's lower edge; the
        # collar drawn over the tile hides where it ends, so a tilt never opens a gap.
        if "neck" in need:
            a_neck = clip01(
                torch.minimum((0.5 + S * 0.13) - axh, g.lin(yh_f * S + (0.5 - 0.30 * S)))
            )
            out["neck"] = a_neck
        if "chin_shadow" in names:
            # The jaw's shadow on the neck: a soft ellipse below the chin, light from above.
            sh = self._soft(g, xh_f, yh_f + (-0.45), 0.34, 0.20, 1.0)
            out["chin_shadow"] = torch.clamp(sh, 0.0, 0.55) * a_neck

        if "hair" in need:
            # Back hair: a bob that ends above the shoulders; the short style ends above the ears.
            # The short style hugs the skull: a smaller ellipse (half-axes are pose-like tensors).
            ha, hb = 0.50 - 0.07 * style, 0.56 - 0.04 * style
            k = self.inv_px_h * 0.5 * ha
            f_ell = g.quad(xh_f * (1.0 / ha), (yh_f + 0.03) * (1.0 / hb), 0.5 + k, k)
            f_cut = g.lin(yh_f * (-S) + ((0.5 + 0.36 * S) - style * (0.40 * S)))
            out["hair"] = clip01(torch.minimum(f_ell, f_cut))

        if "skin" in need:
            # Head: an egg (wider at the cranium, narrower at the chin) plus ears.
            se = math.sqrt(self.inv_px_h * 0.385 * 0.5)
            head_w = g.lin(yh_f * (-(0.385 * 0.15 / 0.48) / se) + 0.385 / se)
            qx = g.lin(xh_f) / head_w
            qy = g.lin(yh_f * (se / 0.48))
            f_egg = (0.5 + se * se) - (qx * qx + qy * qy)
            sr = math.sqrt(self.inv_px_h * 0.065 * 0.5)
            ex = axh * (sr / 0.065 / S) - 0.375 * sr / 0.065
            ey = g.lin((yh_f + (-0.03)) * (sr / 0.095))
            f_ear = (0.5 + sr * sr) - (ex * ex + ey * ey)
            a_skin = clip01(torch.maximum(f_egg, f_ear))
            out["skin"] = a_skin
            # Light from the upper left: the face outside a lit ellipse turns to shadow, softly.
            lit = self._soft(g, xh_f + 0.10, yh_f + 0.07, 0.36, 0.52, -2.2)
            out["face_shadow"] = torch.clamp(lit, 0.0, 0.6) * a_skin
            if "face_light" in names:
                # A key light on the middle of the face (nose bridge, cheeks, upper lip), brows
                # to mouth: the planes of the face read (to people and to face detectors) on any
                # skin tone. The narrower light it replaced left the darkest look (zuri) found
                # by OpenCV's Haar cascade in 9 % of frames (benchmarks/face_detect.py).
                glow = self._soft(g, xh_f, yh_f + (-0.05), 0.36, 0.30, 0.9)
                out["face_light"] = torch.clamp(glow, 0.0, 0.5) * a_skin * pose["lift"]

        if "hair_front" in need:
            # Front hair: a cap over the skull with a wavy side-swept fringe and locks framing
            # the face. The wave uses the unrotated column so the cosine stays a vector.
            f_cap = self._ell_q(g, xh_f, yh_f + 0.05, 0.425, 0.50)
            wave = (-S * 0.025) * torch.cos(g.u * (24.0 / _HEAD_SCALE))
            # d = yh + 0.15 + 0.16 xh - 0.30 xh^2 + wave; F = 0.5 - S d (the short style: higher)
            f_fringe = g.quad(
                xh_f,
                Form(0.0, 0.0, 0.0),
                0.5 - 0.15 * S,
                -0.30 * S,
                extra=Form(
                    -S * (-sn + 0.16 * cs), -S * (cs + 0.16 * sn), -S * h0 - style * (0.08 * S)
                ),
                extra_col=wave,
            )
            f_side = torch.minimum(
                axh + (0.5 - 0.315 * S),
                g.lin(yh_f * (-S) + ((0.5 + 0.26 * S) - style * (0.3 * S))),
            )
            a_front = clip01(torch.minimum(f_cap, torch.maximum(f_fringe, f_side)))
            out["hair_front"] = a_front
            if "hair_sheen" in names:
                sheen = self._soft(g, xh_f + 0.17, yh_f + 0.33, 0.17, 0.075, 1.4)
                out["hair_sheen"] = torch.clamp(sheen, 0.0, 0.45) * a_front
        return [out[n] for n in names]

    # -- the face details ----------------------------------------------------------------------
    def _face(self, g: Region, pose: dict[str, Tensor], f, part: str) -> list[Tensor]:  # noqa: ANN001
        """Coverages of the face layers (``_FACE_LAYERS`` order) on region ``g``: ``part``
        "eyes" (socket .. brow), "lower" (nose .. bite) or "all"."""
        cs, sn, style = pose["cs"], pose["sn"], pose["style"]
        h0 = (PIVOT_Y - _HEAD_CY) / _HEAD_SCALE
        xf = g.lin(Form(cs, sn, -f(P.HEAD_X) * _YAW_PARALLAX))
        yf = g.lin(Form(-sn, cs, h0))
        axf = xf.abs()
        out: list[Tensor] = []
        if part != "lower":
            out += self._eyes(xf, yf, axf, f, style)
        if part != "eyes":
            out += self._lower(xf, yf, axf, f, style)
        return out

    # The details below fold every constant into as few full-size ops as they allow (squares
    # shared, fills as one multiply-subtract): each op here runs over most of the face crop.
    def _eyes(self, xf: Tensor, yf: Tensor, axf: Tensor, f, style: Tensor) -> list[Tensor]:  # noqa: ANN001
        blink, smile, brow_up = f(P.BLINK), f(P.SMILE), f(P.BROW_RAISE)
        gaze_x, gaze_y = f(P.GAZE_X), f(P.GAZE_Y)
        # sign(xf) without Sign (ten times slower than a Mul in ONNX Runtime); they differ only
        # within 1e-6 of the centre line, far from any eye.
        side = torch.clamp(xf * 1e6, -1.0, 1.0)

        # Eyes (mirrored through |x|; `side` restores left/right where it matters).
        u = axf - 0.155
        v = yf - 0.02
        u2, v2 = u * u, v * v
        au = u.abs()
        q = u2 * (1.0 / 0.068**2)
        # Soft shade around the eyes: gives the eye band its depth (and face detectors a cue).
        a_socket = torch.clamp(1.6 - (u2 * (1.6 / 0.115**2) + v2 * (1.6 / 0.10**2)), 0, 0.6)
        a_eye = self._fill_s(torch.sqrt(q + v2 * (1.0 / 0.066**2)), 0.066, 0.066)
        lid = q * 0.03 + (-0.075 + 0.18 * blink)  # upper lid edge; at blink=1 it covers the eye
        a_open = a_eye * self._fill_h(lid - v)
        gx = side * (gaze_x * 0.024)
        iu = u - gx
        iv = v - (0.012 + gaze_y * 0.02)
        r_iris = torch.sqrt(iu * iu + iv * iv)
        a_iris = a_open * self._fill_s(r_iris, 1.0, 0.054)
        a_pupil = a_open * self._fill_s(r_iris, 1.0, 0.027)
        hu = iu + side * 0.018
        hv = iv + 0.020
        a_hl = a_open * self._fill_s(torch.sqrt(hu * hu + hv * hv), 1.0, 0.013)
        # Lash line: follows the upper lid while open; a relaxed downward arc once closed.
        # max(A - w, B - c) = max(A, B + w - c) - w keeps the scalar offsets off the full grid.
        lash = torch.minimum(lid, q * -0.03 + 0.035)
        lash_w = 0.014 - 0.005 * style
        d = torch.maximum((v - lash).abs(), au + (lash_w - 0.082))
        a_lash = self._fill_s(d, 1.0, lash_w)

        # Brows: arched, raised by surprise; sadness lifts the inner ends.
        slope = 0.5 * torch.relu(-smile) - 0.12 * torch.relu(smile)
        brow_c = slope * u + (3.0 + 2.0 * brow_up) * u2 + (-0.125 - 0.055 * brow_up)
        brow_w = 0.017 + 0.006 * style
        d = torch.maximum((yf - brow_c).abs(), au + (brow_w - 0.078))
        a_brow = self._fill_s(d, 1.0, brow_w)
        return [a_socket, a_open, a_iris, a_pupil, a_hl, a_lash, a_brow]

    def _lower(self, xf: Tensor, yf: Tensor, axf: Tensor, f, style: Tensor) -> list[Tensor]:  # noqa: ANN001
        o, wide, rnd, bite = f(P.MOUTH_OPEN), f(P.MOUTH_WIDE), f(P.MOUTH_ROUND), f(P.LIP_BITE)
        smile = f(P.SMILE)
        x2 = xf * xf
        # Nose hint and cheeks (soft edge: blush has no outline).
        a_nose = self._ell(x2, yf - 0.155, 0.028, 0.017)
        bx = axf - 0.235
        by = yf - 0.175
        k_blush = torch.sqrt(bx * bx + (by * by) * (0.07**2 / 0.045**2))
        blush = (0.22 + 0.25 * torch.relu(smile)) * (1.0 - 0.8 * style)
        # clamp(0.5 - 25 d) with d = (sqrt(k) - 1) * 0.045, sqrt(k) = k_blush / 0.07
        a_blush = torch.clamp((0.5 + 25.0 * 0.045) - k_blush * (25.0 * 0.045 / 0.07), 0, 1) * blush

        # Mouth: an opening ellipse around a centre line that smiles/frowns, lips around it.
        mw = 0.09 * (1.0 + 0.45 * wide - 0.42 * rnd + 0.12 * torch.relu(smile))
        mh = 0.0055 + 0.095 * o * (1.0 - 0.3 * wide) + 0.032 * rnd
        mq = x2 * (1.0 / (mw * mw))
        mv = yf - 0.285 + x2 * ((smile * 0.032) / (mw * mw))
        m_int = torch.minimum(mw, mh)
        a_int = self._fill_s(torch.sqrt(mq + (mv * mv) * (1.0 / (mh * mh))), m_int, m_int)
        lip_w, lip_h = mw + 0.014, mh + 0.020
        lv = mv - 0.002
        lk = x2 * (1.0 / (lip_w * lip_w)) + (lv * lv) * (1.0 / (lip_h * lip_h))
        m_lip = torch.minimum(lip_w, lip_h)
        a_lip = self._fill_s(torch.sqrt(lk), m_lip, m_lip)
        a_tongue = a_int * self._ell(x2, mv - mh * 0.8, mw * 0.62, mh * 0.55 + 1e-3)
        teeth_h = torch.clamp((mh - 0.012) * 0.45, 0.0, 0.024)
        a_teeth = a_int * self._fill_s(mv, 1.0, teeth_h - mh)
        # f/v: upper teeth resting on the lower lip.
        d_bite = torch.maximum(axf + (0.009 - mw * 0.55), (mv - 0.009).abs())
        a_bite = self._fill_s(d_bite, 1.0, 0.009) * bite

        return [a_nose, a_blush, a_lip, a_int, a_tongue, a_teeth, a_bite]

    # -- forward -----------------------------------------------------------------------------
    def forward(self, params: Tensor) -> Tensor:
        p = torch.maximum(torch.minimum(params, self.hi), self.lo)
        p4 = p[:, :, None, None]

        def f(i: P) -> Tensor:
            return p4[:, int(i) : int(i) + 1]

        hx, hy, tilt, breathe = f(P.HEAD_X), f(P.HEAD_Y), f(P.HEAD_TILT), f(P.BREATHE)
        tx = hx * _HEAD_SHIFT_X
        ty = hy * _HEAD_SHIFT_Y - breathe * 0.006
        ang = tilt * _TILT_RAD
        pose = {
            "tx": tx,
            "ty": ty,
            "style": f(P.STYLE),
            "cs": torch.cos(ang) * (1.0 / _HEAD_SCALE),
            "sn": torch.sin(ang) * (1.0 / _HEAD_SCALE),
        }
        base = p[:, _BASE].reshape(-1, 4, 3)  # rows: skin, hair, lips, iris
        # Skin darker than _DARK_LUMA gets a stronger key light, as a studio lights dark skin
        # more: the same light left zuri found by dlib's HOG in 83 % of frames (ava, kai and mei
        # are lighter than the threshold and unchanged; a configured dark `skin` is lit too).
        luma = torch.matmul(p[:, int(P.SKIN_R) : int(P.SKIN_B) + 1], self.luma_w)  # (B, 1)
        dark = torch.clamp(_DARK_LUMA - luma, 0.0, _DARK_MAX)
        pose["lift"] = (1.0 + _DARK_LIFT * dark)[:, :, None, None]

        def draw(g: Region, names: tuple[str, ...], key: str, face: str = "") -> Tensor:
            alphas = self._large(g, pose, names)
            if face:
                alphas = alphas + self._face(g, pose, f, face)
            w, _ = weights(alphas, None)
            gains, const = getattr(self, f"gain_{key}"), getattr(self, f"const_{key}")
            return mix_layers(w, gains, const, base)

        if not self.crop:  # reference: every layer over the whole tile
            return draw(Region(self.gx, self.gy, tx, ty), _FULL_LAYERS, "all", "all")

        # The crop in three row bands: eyes only, eyes and mouth (where either may reach), and
        # nose/cheeks/mouth only; each band pays only for the details that can show in it.
        bands = [
            draw(Region(self.cgx, gy, tx, ty), _CROP_LAYERS[part], f"crop_{part}", part)
            for gy, part in ((self.cgy_e, "eyes"), (self.cgy_a, "all"), (self.cgy_l, "lower"))
        ]
        crop = torch.cat(bands, dim=2)
        sides = draw(Region(self.sgx, self.cgy, tx, ty), _SIDE_LAYERS, "side")
        left, right = torch.split(sides, [self.cx0, self.width - self.cx1], dim=3)
        mid = torch.cat([left, crop, right], dim=3)
        cap = draw(Region(self.gx, self.tgy_c, tx, ty), _CAP_LAYERS, "cap")
        if self.top0:  # a zero pad is still a copy of the band in ONNX Runtime
            cap = nn.functional.pad(cap, (0, 0, self.top0, 0))
        top = draw(Region(self.gx, self.tgy, tx, ty), _TOP_LAYERS, "top")
        bottom = draw(Region(self.gx, self.bgy, tx, ty), _BOTTOM_LAYERS, "bot")
        return torch.cat([cap, top, mid, bottom], dim=2)
