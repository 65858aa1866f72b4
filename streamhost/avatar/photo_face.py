"""The photo face family: one portrait, animated by a mesh warp on CPU.

Driver params at t (mouth open/wide/round, lip bite, blink, head motion, breathing) ->
a dense warp of the face region, blended from per-parameter displacement fields that
thin-plate splines spread from the 468 landmarks -> a drawn mouth interior where the lips
part -> I420 canvas with the studio overlays. Built by ``avatar/photo_build.py``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..frames import StreamFormat
from . import landmarks as L
from .audio_driver import SpeechMouth
from .base import DrivenFace, FaceContext
from .compositor import Compositor
from .jaw import JawFromSpeech, jaw_open
from .mouth_art import paint_interior
from .pack import Pack, PackError, _consent, _file, _int
from .params import P
from .wav2lip_face import fast_i420

log = logging.getLogger("streamhost.avatar")

GRID = 4  # the displacement fields are smooth: computed on a 1/4-resolution grid
# Per-frame weights: (driver param, field name). Head motion in pixels per unit is in _fields.
WEIGHTS = (
    (P.MOUTH_OPEN, "open"), (P.MOUTH_WIDE, "wide"), (P.MOUTH_ROUND, "round"),
    (P.LIP_BITE, "bite"), (P.BLINK, "blink"), (P.HEAD_X, "head_x"), (P.HEAD_Y, "head_y"),
    (P.HEAD_TILT, "tilt"), (P.BREATHE, "breathe"),
)  # fmt: skip


def load_photo_manifest(
    root: Path, manifest: Path, data: dict, problems: list[str], driver: str, check_model: bool
) -> Pack:
    """The photo family's keys: ``base`` (the framed portrait), ``mesh`` (its 468 landmarks,
    canvas pixels, .npy), ``[canvas]`` size and a ``[consent]`` table (required)."""
    base = _file(root, data, "base", problems)
    mesh = _file(root, data, "mesh", problems)
    cw = _int(data, "canvas", "width", manifest, problems, 16)
    ch = _int(data, "canvas", "height", manifest, problems, 16)
    consent = _consent(data, problems, required=True)
    if not problems and mesh is not None:
        try:
            m = np.load(mesh, allow_pickle=False)
            if m.shape != (468, 2) or not np.isfinite(m).all():
                problems.append(f"mesh = {mesh.name!r}: must hold (468, 2) finite points")
        except (OSError, ValueError) as e:
            problems.append(f"mesh = {mesh.name!r}: cannot read ({e})")
    if problems:
        raise PackError(f"{manifest}: " + "; ".join(problems))
    assert base is not None and mesh is not None
    return Pack(
        root, "photo", mesh, driver, cw, ch, 0, 0, False, base=base, canvas_width=cw,
        canvas_height=ch, n_frames=1, consent=consent, whole_canvas=True,
        summary=f"photo {cw}x{ch}, mesh warp",
    )  # fmt: skip


def face_region(mesh: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 around the face with room for hair, jaw drop and neck; even x/y, height
    a multiple of 4 and width even (I420), inside the canvas."""
    lo, hi = mesh.min(0), mesh.max(0)
    fw, fh = hi - lo
    x0, x1 = lo[0] - 0.45 * fw, hi[0] + 0.45 * fw
    y0, y1 = lo[1] - 0.45 * fh, hi[1] + 0.45 * fh
    x0, y0 = max(0, int(x0)) & ~1, max(0, int(y0)) & ~3
    x1 = min(width, x0 + ((int(x1) - x0 + 1) & ~1))
    y1 = min(height - height % 4, y0 + ((int(y1) - y0 + 3) & ~3))
    return x0, y0, x1, y1


def _fields(
    mesh: np.ndarray, shape: tuple[int, int]
) -> tuple[dict[str, np.ndarray], dict[str, dict[int, np.ndarray]]]:
    """Forward displacement of chosen landmarks per parameter (pixels at weight 1) spread
    over the region by thin-plate splines; landmarks that must not move and the region's
    border are pinned. Returns name -> (h/GRID, w/GRID, 2) float32, and the landmarks' own
    moves per name (the lips' outline follows them exactly)."""
    from scipy.interpolate import RBFInterpolator

    h, w = shape
    mw = float(np.linalg.norm(mesh[L.MOUTH_R] - mesh[L.MOUTH_L]))
    eye = float(np.linalg.norm(mesh[263] - mesh[33]))
    mouth_y = float(mesh[[L.LIP_UP, L.LIP_LO]].mean(0)[1])
    chin_y = float(mesh[L.CHIN, 1])
    cx = float(mesh[[L.MOUTH_L, L.MOUTH_R]].mean(0)[0])
    border = np.concatenate([
        np.stack([np.linspace(0, w - 1, 12), np.zeros(12)], 1),
        np.stack([np.linspace(0, w - 1, 12), np.full(12, h - 1)], 1),
        np.stack([np.zeros(10), np.linspace(0, h - 1, 10)], 1),
        np.stack([np.full(10, w - 1), np.linspace(0, h - 1, 10)], 1),
    ])  # fmt: skip
    eyes = L.R_EYE_UPPER + L.R_EYE_LOWER + L.L_EYE_UPPER + L.L_EYE_LOWER
    lips = sorted(set(L.LIPS_OUTER + L.LIPS_INNER))
    upper = sorted(set(L.UPPER_INNER + L.UPPER_OUTER) - {L.MOUTH_L, L.MOUTH_R, 78, 308})
    lower = sorted(set(L.LOWER_INNER + L.LOWER_OUTER) - {L.MOUTH_L, L.MOUTH_R, 78, 308})
    jaw = sorted(set(L.JAW) | {175, 199, 200, 18, 83, 313, 201, 421})
    moves: dict[str, dict[int, np.ndarray]] = {k: {} for k in ("open", "wide", "round", "bite")}
    for i in lower:  # jaw drop: the lower lip rides on the jaw
        moves["open"][i] = np.array([0.0, 0.3 * mw])
    for i in upper:
        moves["open"][i] = np.array([0.0, -0.03 * mw])
    for i in jaw:
        k = np.clip((mesh[i, 1] - mouth_y) / max(chin_y - mouth_y, 1.0), 0, 1)
        side = np.clip(1.0 - abs(mesh[i, 0] - cx) / (0.9 * mw), 0.2, 1.0)
        moves["open"][i] = np.array([0.0, 0.27 * mw * k * side])
    for i, s in ((L.MOUTH_L, -1.0), (L.MOUTH_R, 1.0), (78, -1.0), (308, 1.0)):
        moves["open"][i] = np.array([-0.05 * mw * s, 0.1 * mw])
        moves["wide"][i] = np.array([0.13 * mw * s, -0.02 * mw])
        moves["round"][i] = np.array([-0.17 * mw * s, 0.0])
    for i in lips:  # rounding pushes the lips out: in 2-D, away from the mouth's centre line
        if i not in moves["round"]:
            d = mesh[i] - mesh[[L.LIP_UP, L.LIP_LO]].mean(0)
            moves["round"][i] = np.array([-0.3 * d[0], 0.25 * d[1]])
            moves["wide"][i] = np.array([0.12 * d[0], -0.15 * d[1]])
    for i in lower:
        moves["bite"][i] = np.array([0.0, -0.1 * mw])
    blink: dict[int, np.ndarray] = {}
    for up_ids, lo_ids in ((L.R_EYE_UPPER, L.R_EYE_LOWER), (L.L_EYE_UPPER, L.L_EYE_LOWER)):
        for a, b in zip(up_ids, lo_ids, strict=True):
            blink[a] = (mesh[b] - mesh[a]) * 0.9
    moves["blink"] = blink

    pinned = np.concatenate([mesh[L.RIGID], border])
    eyes_fixed = mesh[eyes]
    grid = np.mgrid[0:h:GRID, 0:w:GRID].transpose(1, 2, 0)[:, :, ::-1].astype(np.float64)
    flat = grid.reshape(-1, 2)
    out: dict[str, np.ndarray] = {}
    for name, mv in moves.items():
        pts = mesh[list(mv)]
        disp = np.stack(list(mv.values()))
        others = eyes_fixed if name != "blink" else mesh[[i for i in lips]]
        if name == "blink":
            others = np.concatenate([others, mesh[[L.NOSE_TIP, 168, 6]]])
        src = np.concatenate([pts, others, pinned])
        val = np.concatenate([disp, np.zeros((len(others) + len(pinned), 2))])
        f = RBFInterpolator(src, val, kernel="thin_plate_spline", smoothing=1e-3)(flat)
        out[name] = f.reshape(*grid.shape[:2], 2).astype(np.float32)
    # Head motion: the face moves as a whole, fading out towards the region's border (the
    # shoulders and the backdrop stay). Units: HEAD_X/Y in -1..1 -> a few pixels.
    ctr = mesh.mean(0)
    r = np.hypot((flat[:, 0] - ctr[0]) / (0.5 * w), (flat[:, 1] - ctr[1]) / (0.5 * h))
    fall = (np.clip(1.3 - r, 0, 1) ** 2).reshape(grid.shape[:2])[:, :, None]
    amp = 0.06 * eye
    out["head_x"] = (fall * np.array([amp, 0.0])).astype(np.float32)
    out["head_y"] = (fall * np.array([0.0, amp])).astype(np.float32)
    rel = grid - ctr
    out["tilt"] = (fall * np.stack([-rel[..., 1], rel[..., 0]], -1) * 0.03).astype(np.float32)
    out["breathe"] = (fall * np.array([0.0, -0.02 * eye])).astype(np.float32)
    return out, moves


class PhotoFace(DrivenFace):
    """Media time t in, I420 canvas out: the portrait warped by the driver's params at t.

    Runs on the render thread; everything outside the face region is the prebuilt base
    (with the studio overlays, refreshed when the product panel changes)."""

    needs_lookahead = False

    def __init__(
        self, pack: Pack, driver: Any, compositor: Compositor, mouth: SpeechMouth | None = None,
        jaw: JawFromSpeech | None = None,
    ) -> None:  # fmt: skip
        import cv2

        if pack.base is None:
            raise PackError(f"{pack.root}: not a photo pack")
        W, H = compositor.width, compositor.height
        pack.tile_xy(W, H)
        bgr = cv2.imread(str(pack.base), cv2.IMREAD_COLOR)
        if bgr is None or bgr.shape[:2] != (H, W):
            raise PackError(f"{pack.base}: not a {W}x{H} image")
        self.rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        self.mesh = np.load(pack.model, allow_pickle=False).astype(np.float64)
        self.driver, self.compositor, self.speech_mouth = driver, compositor, mouth
        self.jaw = jaw if mouth is None else None  # the audio driver reads loudness itself
        self.needs_lookahead = mouth is not None
        if mouth is not None:
            driver.set_mouth_source(mouth.target_at)
        self.region = x0, y0, x1, y1 = face_region(self.mesh, W, H)
        self.patch = self.rgb[y0:y1, x0:x1].copy()
        local = self.mesh - [x0, y0]
        fields, lip_moves = _fields(local, (y1 - y0, x1 - x0))
        self._names = [n for _, n in WEIGHTS]
        self._stack = np.stack([fields[n] for n in self._names]).reshape(len(self._names), -1)
        self._small = fields["open"].shape[:2]
        self._grid = np.mgrid[0 : y1 - y0, 0 : x1 - x0].astype(np.float32)
        sg = np.mgrid[0 : self._small[0], 0 : self._small[1]].astype(np.float32)
        self._small_grid = (sg[1], sg[0])
        self._upper0 = local[L.UPPER_INNER]
        self._lower0 = local[L.LOWER_INNER]
        # How the inner lips move per parameter (the interior is drawn between them).
        self._lip_up = np.zeros((len(self._names), len(L.UPPER_INNER), 2))
        self._lip_lo = np.zeros_like(self._lip_up)
        for k, n in enumerate(self._names):
            mv = lip_moves.get(n, {})
            for j, i in enumerate(L.UPPER_INNER):
                self._lip_up[k, j] = mv.get(i, 0.0)
            for j, i in enumerate(L.LOWER_INNER):
                self._lip_lo[k, j] = mv.get(i, 0.0)
        self._params_idx = [int(p) for p, _ in WEIGHTS]
        self._mouth_idx = [int(P.MOUTH_OPEN), int(P.MOUTH_WIDE), int(P.MOUTH_ROUND),
                           int(P.LIP_BITE)]  # fmt: skip
        self._bg_key: object = None
        self._base_i420 = np.empty(0)
        self._ov_tile: list[np.ndarray] = []
        self._ov_any = False

    def _base(self) -> np.ndarray:
        key = self.compositor.background_rgb  # a new array each time the product changes
        if key is not self._bg_key:
            self._base_i420 = self.compositor.overlay(fast_i420(self.rgb))
            self._bg_key = key
            # Where the overlays cover the face region (the title, the label): two overlays of
            # different pictures agree exactly there, so those pixels are re-drawn per frame.
            x0, y0, x1, y1 = self.region
            a = self.compositor.overlay(np.zeros_like(self._base_i420))
            b = self.compositor.overlay(np.full_like(self._base_i420, 255))
            self._ov_tile = [m.copy() for m in region_planes(a == b, *self.region)]
            self._ov_any = any(bool(m.any()) for m in self._ov_tile)
        return self._base_i420

    def render_patch(self, params: np.ndarray) -> np.ndarray:
        """The face region (h, w, 3) RGB for one parameter vector (the driver's layout)."""
        import cv2

        w = params[self._params_idx].astype(np.float32)
        w[0] = max(0.0, w[0])
        sh, sw = self._small
        fwd = (w @ self._stack).reshape(sh, sw, 2)
        # The fields move source points forward; remap needs, per output pixel p, the source q
        # with q + d(q) = p. Fixed-point steps q <- p - d(q) on the coarse grid converge fast
        # for these smooth, contracting fields (a jaw drop of ~40 px is not "small").
        inv = -fwd
        gx, gy = self._small_grid
        for _ in range(3):
            inv = -cv2.remap(fwd, gx + inv[:, :, 0] / GRID, gy + inv[:, :, 1] / GRID,
                             cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        h, wd = self.patch.shape[:2]
        full = cv2.resize(inv, (wd, h), interpolation=cv2.INTER_LINEAR)
        mx = self._grid[1] + full[:, :, 0]
        my = self._grid[0] + full[:, :, 1]
        out = cv2.remap(self.patch, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        wk = w.astype(np.float64)[:, None, None]
        up = self._upper0 + (wk * self._lip_up).sum(0)
        lo = self._lower0 + (wk * self._lip_lo).sum(0)
        paint_interior(out, up, lo, 20.0 * float(w[0]), float(w[3]))
        return out

    def picture(self, t: float) -> np.ndarray:
        params = self.driver.params_at(t)
        if self.jaw is not None:
            # The jaw: how far this viseme drops it on a real face, times how loud the sound
            # it shapes is (avatar/jaw.py). Shown at t itself: measured with hibari, the pixels'
            # best match with the audio envelope is offset 0 (r 0.79; 0.72 one frame later).
            params = params.copy()
            params[P.MOUTH_OPEN] = jaw_open(params[self._mouth_idx]) * self.jaw.gain_at(t)
        patch = self.render_patch(params)
        base = self._base()
        out = base.copy()
        x0, y0, x1, y1 = self.region
        paste_i420(out, fast_i420(patch), x0, y0, x1, y1)
        if self._ov_any:
            for o, b, m in zip(region_planes(out, *self.region), region_planes(base, *self.region),
                               self._ov_tile, strict=True):  # fmt: skip
                np.copyto(o, b, where=m)
        return out


def region_planes(i420: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> list[np.ndarray]:
    """Views of a region's Y, U and V in an I420 canvas (even, 4-row-aligned region)."""
    H, W = i420.shape[0] * 2 // 3, i420.shape[1]
    u = i420[H : H + H // 4].reshape(H // 2, W // 2)
    v = i420[H + H // 4 :].reshape(H // 2, W // 2)
    c = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
    return [i420[y0:y1, x0:x1], u[c], v[c]]


def paste_i420(canvas: np.ndarray, tile: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
    """Write an I420 tile (from ``fast_i420``) into an I420 canvas at an even, 4-row-aligned
    region, in place."""
    h, w = y1 - y0, x1 - x0
    y, u, v = region_planes(canvas, x0, y0, x1, y1)
    y[:] = tile[:h]
    u[:] = tile[h : h + h // 4].reshape(h // 2, w // 2)
    v[:] = tile[h + h // 4 :].reshape(h // 2, w // 2)


def build_photo(pack: Pack, ctx: FaceContext) -> PhotoFace:
    """The photo family's builder (avatar/registry.py)."""
    mouth = (
        SpeechMouth(ctx.player, ctx.fmt.sample_rate, ctx.mouth_lookahead_s)
        if pack.driver == "audio"
        else None
    )
    jaw = JawFromSpeech(ctx.player, ctx.fmt.sample_rate) if ctx.player is not None else None
    return PhotoFace(pack, ctx.driver, ctx.compositor, mouth, jaw)


def check_photo(pack: Pack) -> None:
    """``streamhost check``: the portrait opens at the canvas size and the warp builds."""
    PhotoFace(pack, _NullDriver(), Compositor(StreamFormat(pack.canvas_width, pack.canvas_height)))


class _NullDriver:
    def set_mouth_source(self, source: object) -> None:
        return None
