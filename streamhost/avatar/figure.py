"""The host's body around the head tile: torso (baked into the studio background), the collar
drawn over the neck, and two arms with hands posed per frame from the arm parameters.

Only the arms change per frame, and they are cheap: each segment is a small sprite drawn once per
look (numpy signed distances, shaded) and placed with one affine warp. The collar covers where the
model's neck ends, so the head can turn and tilt with no gap between head and body.

Canvas coordinates: pixels of the stream canvas; ``framing`` "full" is the close live-shopping
shot (head about a third of the canvas width), "compact" a smaller figure anchored at the desk.
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .looks import Look, resolve_look
from .params import P
from .sprite import to_sprite

FRAMINGS = ("full", "compact")
LIMB_CACHE_BYTES = 128 * 1024 * 1024  # posed limb sprites kept per figure (LRU)
_SCALES = {"full": 1.0, "compact": 0.7}
TILE_W, TILE_H = 368, 400  # the puppet model's tile (model.RENDER_W/H)
# The figure is laid out on a 720-wide canvas and anchored at the desk (panel top, y = 980).
_DESK_Y = 980.0
_TILE_TOP = 140.0  # tile top at framing "full" (pack.toml tile_y)
_COLLAR_Y = 510.0
_SHOULDER = (205.0, 612.0)  # shoulder joints: +-x from the centre, y
_UPPER, _FORE = 168.0, 140.0  # segment lengths: shoulder-elbow, elbow-wrist
_R_UP, _R_FORE = 40.0, 33.0  # sleeve radii


def _cov(d: np.ndarray, soft: float = 1.0) -> np.ndarray:
    """Coverage of a signed distance (px, negative inside), antialiased over ``soft`` px."""
    return np.clip(0.5 - d / soft, 0.0, 1.0)


def _capsule(x: np.ndarray, y: np.ndarray, a: tuple, b: tuple, r: float) -> np.ndarray:
    """Signed distance to the segment a-b thickened by r."""
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy + 1e-9), 0.0, 1.0)
    return np.hypot(x - ax - t * dx, y - ay - t * dy) - r


def _ellipse(x: np.ndarray, y: np.ndarray, cx: float, cy: float, a: float, b: float) -> np.ndarray:
    return (np.hypot((x - cx) / a, (y - cy) / b) - 1.0) * min(a, b)


def _over(layers: list[tuple[np.ndarray, tuple]], shade: np.ndarray) -> np.ndarray:
    """Paint (coverage, rgb 0..255) layers bottom to top -> (h, w, 4) premultiplied float 0..1."""
    h, w = shade.shape
    out = np.zeros((h, w, 4), np.float32)
    for a, rgb in layers:
        col = np.asarray(rgb, np.float32)[None, None, :] / 255.0 * shade[..., None]
        a = a[..., None].astype(np.float32)
        out[..., :3] = col * a + out[..., :3] * (1 - a)
        out[..., 3:] = a + out[..., 3:] * (1 - a)
    return out


def _darker(rgb: tuple, k: float) -> tuple:
    return tuple(c * k for c in rgb)


@dataclass(frozen=True, slots=True)
class Placed:
    """A premultiplied RGBA patch (4, h, w) float32 to blend at canvas (x, y), both even;
    ``sprite``, when set, is the same patch already in I420 form (``compositor.Sprite``), which
    the compositor blends instead of converting ``rgba`` again every frame."""

    x: int
    y: int
    rgba: np.ndarray | None  # None for a cached limb pose (its sprite is what is blended)
    sprite: Any = None


def _sprite(rgba: np.ndarray) -> Any:

    return to_sprite(rgba)


class Figure:
    """Look and framing in; the body layer, the collar patch and per-frame arm patches out.

    ``body`` (H, W, 4) premultiplied float is baked into the background by the compositor;
    ``collar`` goes over the head tile; ``arms(params)`` returns the two arms as ``Placed``
    patches for this frame's parameter vector (``params.P.ARM_*``, ``HAND_*``, ``BREATHE``).
    """

    def __init__(self, look: Look, framing: str = "full", width: int = 720, height: int = 1280):
        if framing not in FRAMINGS:
            raise ValueError(f"framing {framing!r}: must be one of {', '.join(FRAMINGS)}")
        self.look, self.framing = look, framing
        self.width, self.height = width, height
        self.s = _SCALES[framing]
        self.cx = width / 2.0
        tw, th = _even(TILE_W * self.s), _even(TILE_H * self.s)
        self.tile_size = (tw, th)
        self.tile_xy = (_even(self.cx - tw / 2), _even(self._y(_TILE_TOP)))
        self.body = self._draw_body()
        y0, y1 = _even(self._y(_COLLAR_Y - 16)), _even(self.tile_xy[1] + th + 4)
        x0, x1 = _even(self.cx - 100 * self.s), _even(self.cx + 100 * self.s)
        collar = np.ascontiguousarray(self.body[y0:y1, x0:x1].transpose(2, 0, 1))
        self.collar = Placed(x0, y0, collar, _sprite(collar))
        self._upper = self._draw_upper()
        self._hands = [self._draw_fore(kind) for kind in ("relaxed", "open", "point")]
        self._cache: OrderedDict[tuple, tuple[np.ndarray | None, Any, int, int]] = OrderedDict()
        self._cache_bytes = 0
        self.keep_rgba = False  # keep each pose's float patch too (tests); frames need only I420

    @property
    def cache_bytes(self) -> int:
        """Bytes of posed limb sprites held (at most LIMB_CACHE_BYTES)."""
        return self._cache_bytes

    # -- layout --------------------------------------------------------------------------------
    def _y(self, y: float) -> float:
        """A y of the full framing mapped to this framing (scaled about the desk)."""
        return _DESK_Y - (_DESK_Y - y) * self.s

    def _x(self, dx: float) -> float:
        return self.cx + dx * self.s

    # -- drawing (once per look and framing) ---------------------------------------------------
    def _draw_body(self) -> np.ndarray:
        s, lk = self.s, self.look
        ys, xs = np.mgrid[0 : self.height, 0 : self.width].astype(np.float32)
        x = (xs - self.cx) / s  # full-framing units from here on
        y = _DESK_Y - (_DESK_Y - ys) / s
        px = 1.0 / s
        torso = np.minimum(
            _ellipse(x, y, 0, 650, 238, 108),
            np.maximum(np.abs(x) - (238 - 0.07 * np.maximum(y - 650, 0)), 650 - y),
        )
        a_torso = _cov(torso, px)
        v = np.abs(x) - (60 - 0.24 * (y - 520))  # the open V of the jacket
        a_v = _cov(np.maximum(v, np.maximum(500 - y, y - 800)), px) * a_torso
        # A band round the neck's base, deep enough to hide the neck's end under any pose.
        collar = np.minimum(
            np.maximum(_ellipse(x, y, 0, 524, 62, 26), 508 - y),
            np.maximum(np.abs(x) - 56, np.abs(y - 534) - 22),
        )
        wing = _capsule(np.abs(x), y, (34, 530), (56, 572), 11)  # collar points
        a_collar = _cov(np.minimum(collar, wing), px)
        lapel = np.abs(v) - 5  # a darker edge along the jacket's V
        a_lapel = _cov(np.maximum(lapel, np.maximum(520 - y, y - 800)), px) * a_torso
        layers = [(a_torso, lk.outfit), (a_lapel, _darker(lk.outfit, 0.72)), (a_v, lk.shirt)]
        if lk.tie is not None:
            tie = _capsule(x, y, (0, 540), (0, 760), 13 + 0.04 * np.clip(y - 540, 0, 220))
            layers.append((_cov(tie, px) * a_v, lk.tie))
        else:  # a pendant on the blouse
            layers.append((_cov(_ellipse(x, y, 0, 620, 9, 11), px), (236, 200, 110)))
        collar_rgb = lk.shirt
        layers.append((a_collar, collar_rgb))
        # Light from the upper left: the torso darkens to the right and downwards.
        shade = (
            1.0 - 0.20 * np.clip((x + 120) / 360, 0, 1) ** 2 - 0.12 * np.clip((y - 560) / 420, 0, 1)
        )
        return _over(layers, shade.astype(np.float32))

    def _grid(self, w: float, h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sprite pixel grid in full-framing units, pivot at column w/2, row ``pad``."""
        s = self.s
        ww, hh = int(math.ceil(w * s)), int(math.ceil(h * s))
        ys, xs = np.mgrid[0:hh, 0:ww].astype(np.float32)
        return (xs + 0.5) / s - w / 2, (ys + 0.5) / s - 46, np.float32(1.0 / s)

    def _cyl(self, x: np.ndarray, r: float) -> np.ndarray:
        """Cylinder shading across a limb of radius r, lit from the left."""
        return (1.02 - 0.28 * np.clip((x + r * 0.3) / r, -1, 1) ** 2).astype(np.float32)

    def _draw_upper(self) -> np.ndarray:
        x, y, px = self._grid(2 * (_R_UP + 6), _UPPER + 92)
        d = _capsule(x, y, (0, 0), (0, _UPPER), _R_UP)
        return _over([(_cov(d, px), self.look.outfit)], self._cyl(x, _R_UP))

    def _draw_fore(self, kind: str) -> np.ndarray:
        """Forearm (sleeve, cuff) and hand; the hand is relaxed, an open palm or pointing."""
        lk = self.look
        x, y, px = self._grid(2 * (_R_FORE + 40), _FORE + 200)
        sleeve = _capsule(x, y, (0, 0), (0, _FORE - 6), _R_FORE)
        cuff = np.maximum(_capsule(x, y, (0, _FORE - 14), (0, _FORE + 2), _R_FORE - 5), -y)
        hy = _FORE + 34  # palm centre
        hand = _ellipse(x, y, 0, hy, 25, 31)
        if kind == "open":
            for ang, ln in ((-28, 50), (-9, 58), (9, 56), (27, 46)):
                t = math.radians(ang)
                b = (math.sin(t) * ln, hy + 14 + math.cos(t) * ln)
                hand = np.minimum(hand, _capsule(x, y, (math.sin(t) * 14, hy + 14), b, 7.5))
            hand = np.minimum(hand, _capsule(x, y, (-18, hy - 6), (-44, hy + 16), 8.5))
        elif kind == "point":
            hand = np.minimum(hand, _capsule(x, y, (6, hy + 12), (8, hy + 84), 7.5))
            hand = np.minimum(hand, _ellipse(x, y, -6, hy + 24, 20, 17))  # curled fingers
            hand = np.minimum(hand, _capsule(x, y, (-18, hy - 4), (-14, hy + 20), 8))
        else:
            hand = np.minimum(hand, _ellipse(x, y, 2, hy + 30, 21, 26))  # fingers together
            hand = np.minimum(hand, _capsule(x, y, (-20, hy - 6), (-24, hy + 18), 8.5))
        layers = [(_cov(hand, px), lk.skin), (_cov(sleeve, px), lk.outfit),
                  (_cov(cuff, px), lk.shirt)]  # fmt: skip
        return _over(layers, self._cyl(x, _R_FORE))

    # -- per frame ----------------------------------------------------------------------------
    def arms(self, params: np.ndarray) -> list[Placed]:
        """Both arms for one frame's parameters, clipped above the desk."""
        out = []
        for side, up, fore, op, pt in (
            (-1, P.ARM_L_UP, P.ARM_L_FORE, P.HAND_L_OPEN, P.HAND_L_POINT),
            (1, P.ARM_R_UP, P.ARM_R_FORE, P.HAND_R_OPEN, P.HAND_R_POINT),
        ):
            out += self._arm(side, params[up], params[fore], params[op], params[pt],
                             params[P.BREATHE])  # fmt: skip
        return out

    def _arm(self, side: int, up: float, fore: float, w_open: float, w_point: float,
             breathe: float) -> list[Placed]:  # fmt: skip
        s = self.s
        sx = self._x(side * _SHOULDER[0])
        sy = self._y(_SHOULDER[1]) - 2.0 * breathe * s
        t1, t2 = float(np.clip(up, -1, 1)) * math.pi, float(np.clip(fore, -1, 1)) * math.pi
        ex, ey = sx + side * math.sin(t1) * _UPPER * s, sy + math.cos(t1) * _UPPER * s
        w_open, w_point = float(np.clip(w_open, 0, 1)), float(np.clip(w_point, 0, 1))
        desk = _even(self._y(_DESK_Y))
        out = []
        for key, jx, jy, phi in ((None, sx, sy, side * t1), ((w_open, w_point), ex, ey, side * t2)):
            rgba, sprite, dx, dy = self._segment(key, phi, side < 0)
            x, y = _even(jx + dx - 1), _even(jy + dy - 1)
            # Crop to the canvas, and to the desk, which hides what is below its edge.
            c0, r0 = max(0, -x), max(0, -y)
            c1 = min(sprite.y.shape[1], self.width - x)
            r1 = min(sprite.y.shape[0], desk - y)
            if r1 - r0 >= 2 and c1 - c0 >= 2:
                r1, c1 = r1 - (r1 - r0) % 2, c1 - (c1 - c0) % 2
                patch = rgba[:, r0:r1, c0:c1] if rgba is not None else None
                out.append(Placed(x + c0, y + r0, patch, sprite.crop(r0, r1, c0, c1)))
        return out

    def _segment(
        self, hand: tuple | None, phi: float, mirror: bool
    ) -> tuple[np.ndarray | None, Any, int, int]:
        """A limb sprite rotated by phi: ((4, h, w) premultiplied, tight, even-sized; the same
        in I420 form (``compositor.Sprite``); its top-left relative to the joint). Angles are
        kept to 0.5 degree and hand blends to 0.1, so a resting or repeated pose costs a lookup,
        not a warp and not a colour conversion."""
        q = round(phi * 360 / math.pi)
        hq = None if hand is None else (round(hand[0] * 10), round(hand[1] * 10))
        key = (hq, q, mirror)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        if hq is None:
            img = self._upper
        else:
            wo, wp = hq[0] / 10, hq[1] / 10
            img = self._hands[0] * max(0.0, 1 - wo - wp) + self._hands[1] * wo + self._hands[2] * wp
        phi = q * math.pi / 360
        h, w = img.shape[:2]
        c, sn = math.cos(phi), math.sin(phi)
        rot = np.array([[c, sn], [-sn, c]], np.float64)
        if mirror:  # the screen-left arm is the mirror image
            rot = rot @ np.diag([-1.0, 1.0])
        t = -(rot @ np.array([w / 2.0, 46.0 * self.s]))  # the joint lands on (0, 0)
        box = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64) @ rot.T + t
        x0, y0 = math.floor(box[:, 0].min()) - 1, math.floor(box[:, 1].min()) - 1
        size = (math.ceil(box[:, 0].max()) + 2 - x0, math.ceil(box[:, 1].max()) + 2 - y0)
        m = np.hstack([rot, (t - np.array([x0, y0]))[:, None]])
        warped = cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
        ys, xs = np.nonzero(warped[..., 3] > 1e-3)
        r0, c0 = int(ys.min()), int(xs.min())
        r1, c1 = r0 + _even(ys.max() - r0 + 2), c0 + _even(xs.max() - c0 + 2)
        tight = np.zeros((r1 - r0, c1 - c0, 4), np.float32)
        src = warped[r0:r1, c0:c1]
        tight[: src.shape[0], : src.shape[1]] = src
        chw = np.ascontiguousarray(tight.transpose(2, 0, 1))
        # Frames blend the I420 sprite only: the float patch (three times the sprite's bytes)
        # is kept only when asked for (tests compare the two blends), so the byte budget
        # holds ~4x the poses and a gesturing host warps far less often.
        hit = (chw if self.keep_rgba else None, _sprite(chw), x0 + c0, y0 + r0)
        # Least recently used out past a byte budget (~190 poses; a hit costs ~0.3 ms, a miss a
        # warp, ~1.4 ms per frame once full): a limb sprite is ~0.7 MB (float + I420)
        # and a talking, gesturing host makes ~500 new poses in two minutes, so a count bound
        # of 2048 let one stream hold ~1.5 GB before it cleared.
        self._cache[key] = hit
        self._cache_bytes += _nbytes(hit)
        while self._cache_bytes > LIMB_CACHE_BYTES and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cache_bytes -= _nbytes(old)
        return hit


def studio_figure(pack: Any, avatar: Any, fmt: Any) -> Figure | None:
    """The default host's figure for ``[avatar]`` (look, colours, framing), or None for packs
    that draw their own picture (every family but the puppet)."""
    if pack.family != "puppet" or pack.whole_canvas:
        return None
    look = resolve_look(avatar.look, avatar.skin, avatar.hair, avatar.outfit)
    return _figure(look, avatar.framing, fmt.width, fmt.height)


@functools.lru_cache(maxsize=8)
def _figure(look: Look, framing: str, width: int, height: int) -> Figure:
    # Drawing the body costs ~0.7 s of full-canvas float work; `check`, the engine, --copies and a
    # restarted fleet actor all ask for the same figure, and a Figure is read-only once built
    # (its arm cache only memoizes), so one per look and framing serves the whole process.
    return Figure(look, framing, width, height)


def _nbytes(hit: tuple[np.ndarray | None, Any, int, int]) -> int:
    sp = hit[1]
    own = hit[0].nbytes if hit[0] is not None else 0
    return own + sum(getattr(sp, k).nbytes for k in ("y", "ya", "uv", "uva"))


def _even(v: float) -> int:
    return int(round(v / 2.0)) * 2
