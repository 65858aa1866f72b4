"""Full video frames: a cached studio background with the rendered head tile blended in, as I420.

The background (gradient, product panel, "AI-generated" label) is drawn with Pillow and converted
to I420 once per product change. Per frame only the tile is converted and alpha-blended, straight
in YUV, so the cost does not depend on the canvas size beyond one copy. The default host's
collar and arm sprites are converted to I420 (``Sprite``) once when a pose is cached and
blended per frame with one uint16 multiply-add-shift per plane.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..frames import StreamFormat
from .figure import Figure, Placed
from .sprite import _YUV, Sprite
from .studio import PanelInfo, countdown_patch, draw_panel
from .studio_fonts import _font

# BT.601 limited range (what libx264 / yuv420p and swscale assume with no colour tags):
# rows Y, U, V; columns R, G, B (in 0..1) and the offset that multiplies alpha.
DEFAULT_TILE_XY = (176, 140)


LABEL_CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
# The studio: a deep teal wall, lighter at the top, and the show title in near-white on it
# (dark on a pale wall a shop chose).
_WALL_TOP = (40, 96, 110)
_WALL_BOTTOM = (20, 66, 66)
_TITLE_LIGHT, _TITLE_DARK = (236, 242, 246), (60, 40, 70)


def wall_colours(wall: tuple[int, int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    """(top, bottom) RGB of the studio wall's gradient: the default teal, or from ``wall``
    (``[avatar] wall``): that colour at the bottom, a little lighter at the top."""
    if wall is None:
        return np.array(_WALL_TOP, np.float32), np.array(_WALL_BOTTOM, np.float32)
    c = np.array(wall, np.float32)
    return c + (255.0 - c) * 0.15, c


@dataclass(frozen=True, slots=True)
class _Background:
    i420: np.ndarray  # (H*3//2, W) uint8
    rgb: np.ndarray  # (H, W, 3) uint8, kept for previews and tests


def _fit(d: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont, width: int) -> str:
    """Shorten ``text`` with an ellipsis so it fits ``width`` pixels (catalog text is unbounded)."""
    if d.textlength(text, font=font) <= width:
        return text
    while text and d.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def rgb_to_i420(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H*3//2, W) uint8 I420 in PyAV's yuv420p ndarray layout."""
    h, w, _ = rgb.shape
    if h % 4 or w % 2:
        raise ValueError(f"I420 needs height % 4 == 0 and even width, got {w}x{h}")
    f = rgb.astype(np.float32) * (1.0 / 255.0)
    out = np.empty((h * 3 // 2, w), dtype=np.uint8)
    y = f @ _YUV[0, :3] + 16.0
    out[:h] = np.rint(y).clip(0, 255).astype(np.uint8)
    # Chroma from the 2x2 mean of RGB (linear, so the same as averaging per-pixel U/V).
    f2 = f.reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    for i, row in ((1, h), (2, h + h // 4)):
        c = f2 @ _YUV[i, :3] + 128.0
        out[row : row + h // 4] = np.rint(c).clip(0, 255).astype(np.uint8).reshape(h // 4, w)
    return out


def _u_plane(i420: np.ndarray, h: int, w: int) -> np.ndarray:
    return i420[h : h + h // 4].reshape(h // 2, w // 2)


def _v_plane(i420: np.ndarray, h: int, w: int) -> np.ndarray:
    return i420[h + h // 4 : h + h // 2].reshape(h // 2, w // 2)


class Compositor:
    """Head tile (premultiplied RGBA float) in, full I420 frame out.

    ``compose(rgba)`` takes (4, h, w) float32 in [0, 1] with colour premultiplied by alpha (the
    puppet model's output; pass ``premultiplied=False`` for straight alpha) and returns a new
    (height*3//2, width) uint8 I420 array laid out like PyAV's
    ``VideoFrame.from_ndarray(arr, format="yuv420p")``. ``set_product`` may be called from another
    thread; a frame uses either the old or the new background, never a mix.
    """

    def __init__(
        self,
        fmt: StreamFormat | None = None,
        tile_xy: tuple[int, int] = DEFAULT_TILE_XY,
        title: str = "LIVE SHOP",
        label: str = "AI-generated",
        label_corner: str = "top-right",
        figure: Figure | None = None,
        wall: tuple[int, int, int] | None = None,
    ) -> None:
        fmt = fmt or StreamFormat()
        width, height = fmt.width, fmt.height
        if width % 2 or height % 4:
            raise ValueError(
                f"canvas must have even width and height % 4 == 0, got {width}x{height}"
            )
        if tile_xy[0] % 2 or tile_xy[1] % 2:
            raise ValueError(f"tile_xy must be even (chroma is 2x2 subsampled), got {tile_xy}")
        self.width = width
        self.height = height
        # With a figure (the default host), the framing decides where the head tile goes and
        # how big it is drawn; the body is part of the background, collar and arms per frame.
        self.figure = figure
        self.tile_xy = figure.tile_xy if figure is not None else tile_xy
        self.title = title
        if label_corner not in LABEL_CORNERS:
            raise ValueError(f"label_corner {label_corner!r}: must be one of {LABEL_CORNERS}")
        self.label = label
        self.label_corner = label_corner
        self._lock = threading.Lock()
        self._tile_cache: dict[tuple[int, int], tuple[np.ndarray, ...]] = {}
        self._info = PanelInfo()
        self._badge: tuple[int, Placed] | None = None
        self._wall = wall_colours(wall)
        top_y = float(self._wall[0] / 255.0 @ _YUV[0, :3] + 16.0)  # the wall's top, as luma
        self._title_fill = _TITLE_LIGHT if top_y < 145 else _TITLE_DARK
        self._base = self._backdrop()
        self._bg = self._render_background("", "", [])

    # -- background -------------------------------------------------------------------------
    def set_product(
        self, name: str, price_text: str, features: list[str], info: PanelInfo | None = None
    ) -> None:
        """Redraw the product panel (name, price with currency, up to 3 feature lines, and the
        picture, struck regular price, discount, low stock and sale end from ``info``)."""
        info = info or PanelInfo()
        bg = self._render_background(name, price_text, features[:3], info)
        with self._lock:
            self._bg = bg
            self._info = info
            self._badge = None
            self._tile_cache = {}

    @property
    def background_rgb(self) -> np.ndarray:
        """The current background as (height, width, 3) uint8 RGB."""
        return self._bg.rgb

    @property
    def panel_box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the product panel on the canvas."""
        w, h = self.width, self.height
        return (24, int(h * 0.765), w - 24, h - 36)

    @property
    def label_box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the disclosure label on the canvas (sized to its text)."""
        w = int(
            ImageDraw.Draw(Image.new("L", (1, 1))).textlength(
                self.label, font=_font(22, self.label)
            )
        )
        w = min(self.width - 48, w + 40)
        top = self.label_corner.startswith("top")
        # Top-left sits under the LIVE badge and title; bottom corners sit just above the panel.
        y0 = (90 if self.label_corner == "top-left" else 36) if top else self.panel_box[1] - 56
        x0 = 24 if self.label_corner.endswith("left") else self.width - 24 - w
        return (x0, y0, x0 + w, y0 + 44)

    def _backdrop(self) -> np.ndarray:
        """Gradient studio wall and the host's body: (H, W, 3) float 0..255. Drawn once;
        product changes redraw only what goes over it."""
        w, h = self.width, self.height
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
        # A deep wall, darker than any built-in skin tone, with no bright halo behind the head:
        # against the former pale wall with a white glow, OpenCV's Haar cascade found the
        # darkest look (zuri) in 9 % of frames; on the default wall every look is found in
        # 97-100 % (README "Default host"; benchmarks/face_detect.py), the way a studio lights
        # a presenter. A wall a shop picks (`[avatar] wall`) is its own choice.
        top, bottom = self._wall
        img = top * (1.0 - t) + bottom * t
        img = np.broadcast_to(img, (h, w, 3))
        if self.figure is not None:
            body = self.figure.body
            img = body[..., :3] * 255.0 + img * (1.0 - body[..., 3:4])
        return np.array(img, dtype=np.float32)

    def _render_background(
        self, name: str, price: str, features: list[str], info: PanelInfo | None = None
    ) -> _Background:
        im = Image.fromarray(self._base.clip(0, 255).astype(np.uint8), "RGB")
        d = ImageDraw.Draw(im)

        # Header: LIVE badge, show title, AI disclosure label (must stay readable).
        d.rounded_rectangle((24, 36, 124, 80), radius=12, fill=(226, 40, 60))
        d.text((74, 58), "LIVE", font=_font(24), fill=(255, 255, 255), anchor="mm")
        d.text(
            (140, 58), self.title, font=_font(26, self.title), fill=self._title_fill, anchor="lm"
        )
        if self.label:
            lx0, ly0, lx1, ly1 = self.label_box
            d.rounded_rectangle((lx0, ly0, lx1, ly1), radius=12, fill=(20, 20, 30))
            d.text(
                ((lx0 + lx1) // 2, (ly0 + ly1) // 2),
                self.label,
                font=_font(22, self.label),
                fill=(255, 255, 255),
                anchor="mm",
            )

        # Product panel: doubles as the host's desk (the figure ends at its top edge).
        draw_panel(im, self.panel_box, _font, _fit, name, price, features, info or PanelInfo())
        rgb = np.asarray(im, dtype=np.uint8).copy()
        return _Background(i420=rgb_to_i420(rgb), rgb=rgb)

    # -- per frame ----------------------------------------------------------------------------
    def _tile_bg(self, bg: _Background, th: int, tw: int) -> tuple[np.ndarray, ...]:
        """Background under the tile as float planes (Y, U, V), cached per tile size."""
        key = (th, tw)
        with self._lock:
            cached = self._tile_cache.get(key)
            if cached is not None and cached[0] is bg:
                return cached[1:]
        x, y = self.tile_xy
        H, W = self.height, self.width
        if x + tw > W or y + th > H:
            raise ValueError(f"tile {tw}x{th} at {self.tile_xy} does not fit the {W}x{H} canvas")
        ys = bg.i420[y : y + th, x : x + tw].astype(np.float32)
        us = _u_plane(bg.i420, H, W)[y // 2 : (y + th) // 2, x // 2 : (x + tw) // 2]
        vs = _v_plane(bg.i420, H, W)[y // 2 : (y + th) // 2, x // 2 : (x + tw) // 2]
        planes = (ys, us.astype(np.float32), vs.astype(np.float32))
        with self._lock:
            self._tile_cache[key] = (bg, *planes)
        return planes

    def compose(
        self,
        rgba: np.ndarray,
        premultiplied: bool = True,
        params: np.ndarray | None = None,
        t: float | None = None,
    ) -> np.ndarray:
        """Blend the (4, h, w) float tile over the background; returns a new I420 uint8 array.

        With a figure, the collar goes over the tile and the arms posed by ``params`` (the
        frame's parameter vector) over both; ``t`` (media seconds) runs a flash-sale countdown.
        """
        if rgba.ndim != 3 or rgba.shape[0] != 4 or rgba.shape[1] % 2 or rgba.shape[2] % 2:
            raise ValueError(f"compose expects (4, h, w) with even h, w; got {rgba.shape}")
        bg = self._bg
        tile = np.asarray(rgba, dtype=np.float32)
        if not premultiplied:
            tile = np.concatenate([tile[:3] * tile[3:4], tile[3:4]])
        fig = self.figure
        if fig is not None and (tile.shape[2], tile.shape[1]) != fig.tile_size:
            # A smaller framing: the model's tile scaled once, area-averaged.
            hwc = cv2.resize(tile.transpose(1, 2, 0), fig.tile_size, interpolation=cv2.INTER_AREA)
            tile = np.ascontiguousarray(hwc.transpose(2, 0, 1))
        _, th, tw = tile.shape
        out = bg.i420.copy()
        _blend(out, tile, *self.tile_xy, self._tile_bg(bg, th, tw))
        if fig is not None:
            patches = [fig.collar] + (fig.arms(params) if params is not None else [])
            for pl in patches:
                if pl.sprite is not None:
                    _blend_sprite(out, pl.sprite, pl.x, pl.y)
                else:
                    _blend(out, pl.rgba, pl.x, pl.y)
        badge = self._countdown(t)
        if badge is not None:
            _blend(out, badge.rgba, badge.x, badge.y)
        return out

    def _countdown(self, t: float | None) -> Placed | None:
        """The flash-sale badge over the panel's top edge, redrawn once per second."""
        end = self._info.sale_ends_at
        if t is None or end is None or t >= end:
            return None
        sec = int(end - t)
        cached = self._badge
        if cached is not None and cached[0] == sec:
            return cached[1]
        rgba = countdown_patch(end - t, _font)
        px0, py0, px1, _ = self.panel_box
        placed = Placed(
            px1 - 24 - rgba.shape[1], py0 - 22, np.ascontiguousarray(rgba.transpose(2, 0, 1))
        )
        self._badge = (sec, placed)
        return placed

    # -- full-canvas pictures (a presenter video instead of the studio backdrop) ---------------
    def _overlay_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """Where the studio overlays are: (H, W) luma and (H/2, W/2) chroma boolean masks.
        The shapes mirror ``_render_background``'s header, label and panel drawing."""
        masks = getattr(self, "_masks", None)
        if masks is not None:
            return masks
        im = Image.new("L", (self.width, self.height), 0)
        d = ImageDraw.Draw(im)
        d.rounded_rectangle((24, 36, 124, 80), radius=12, fill=255)
        d.text((140, 58), self.title, font=_font(26, self.title), fill=255, anchor="lm")
        if self.label:
            d.rounded_rectangle(self.label_box, radius=12, fill=255)
        px0, py0, px1, py1 = self.panel_box
        d.rounded_rectangle((px0 + 4, py0 + 6, px1 + 4, py1 + 6), radius=28, fill=255)
        d.rounded_rectangle((px0, py0, px1, py1), radius=28, fill=255)
        y = np.asarray(im) > 0
        h2, w2 = self.height // 2, self.width // 2
        c = y.reshape(h2, 2, w2, 2).any(axis=(1, 3))
        self._masks = (y, c)
        return y, c

    def overlay(self, i420: np.ndarray) -> np.ndarray:
        """Draw the overlays (LIVE badge, title, AI disclosure label, product panel) from the
        current background over a full-canvas I420 picture, in place; returns it."""
        H, W = self.height, self.width
        if i420.shape != (H * 3 // 2, W):
            raise ValueError(f"overlay expects a {W}x{H} I420 array, got {i420.shape}")
        ym, cm = self._overlay_masks()
        bg = self._bg.i420
        np.copyto(i420[:H], bg[:H], where=ym)
        np.copyto(_u_plane(i420, H, W), _u_plane(bg, H, W), where=cm)
        np.copyto(_v_plane(i420, H, W), _v_plane(bg, H, W), where=cm)
        return i420


def tile_yuv(tile: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A (4, h, w) premultiplied float32 tile in colour, not yet blended: Y (h, w) on the
    0..255 scale with 16 * alpha in it, the chroma (2, h/2, w/2) of each 2x2 block with
    128 * alpha in it, and that block's mean alpha (h/2, w/2)."""
    _, th, tw = tile.shape
    y = (_YUV[0] @ tile.reshape(4, -1)).reshape(th, tw)
    # Chroma from the 2x2 mean of the premultiplied tile (alpha averaged the same way).
    # OpenCV's area resize at exactly half size is that mean, one vectorised pass per plane:
    # 0.14 ms for the head tile against 0.5 for numpy's strided adds (which read every other
    # float of every row four times).
    m2 = np.empty((4, th // 2, tw // 2), np.float32)
    for c in range(4):
        cv2.resize(tile[c], (tw // 2, th // 2), dst=m2[c], interpolation=cv2.INTER_AREA)
    uv = (_YUV[1:] @ m2.reshape(4, -1)).reshape(2, th // 2, tw // 2)
    return y, uv, m2[3]


def _blend(
    out: np.ndarray, tile: np.ndarray, x: int, y: int, planes: tuple[np.ndarray, ...] | None = None
) -> None:
    """Blend a (4, h, w) premultiplied tile into the I420 frame ``out`` at (x, y), in place.
    ``planes`` are the float (Y, U, V) under the tile when cached; else read from ``out``."""
    H, W = out.shape[0] * 2 // 3, out.shape[1]
    _, th, tw = tile.shape
    th, tw = min(th, H - y), min(tw, W - x)
    if th <= 0 or tw <= 0:
        return
    tile = tile[:, :th, :tw]
    ys, xs = slice(y, y + th), slice(x, x + tw)
    cs, cx = slice(y // 2, (y + th) // 2), slice(x // 2, (x + tw) // 2)
    if planes is None:
        planes = (
            out[ys, xs].astype(np.float32),
            _u_plane(out, H, W)[cs, cx].astype(np.float32),
            _v_plane(out, H, W)[cs, cx].astype(np.float32),
        )
    bg_y, bg_u, bg_v = planes
    y_out, uv, a2 = tile_yuv(tile)
    # out = bg * (1 - a) + (K . rgb_premul + 16 a), per plane.
    y_out += bg_y - bg_y * tile[3]
    y_out += 0.5
    inv_a2 = 1.0 - a2
    uv[0] += bg_u * inv_a2
    uv[1] += bg_v * inv_a2
    uv += 0.5
    # Assignment truncates to uint8 like astype, without the temporary.
    out[ys, xs] = y_out
    _u_plane(out, H, W)[cs, cx] = uv[0]
    _v_plane(out, H, W)[cs, cx] = uv[1]


def _blend_sprite(out: np.ndarray, sp: Sprite, x: int, y: int) -> None:
    """Blend a ``Sprite`` into the I420 frame ``out`` at (x, y) (even), in place: per plane one
    multiply, one add and one shift in uint16, no per-frame colour conversion."""
    H, W = out.shape[0] * 2 // 3, out.shape[1]
    h, w = sp.y.shape
    th, tw = min(h, H - y), min(w, W - x)
    if th <= 0 or tw <= 0:
        return
    if (th, tw) != (h, w):
        sp = sp.crop(0, th, 0, tw)
    dst = out[y : y + th, x : x + tw]
    acc = dst * sp.ya  # uint8 * uint16 -> uint16
    acc += sp.y
    acc >>= 8
    dst[...] = acc
    cs, cx = slice(y // 2, (y + th) // 2), slice(x // 2, (x + tw) // 2)
    for i, plane in ((0, _u_plane(out, H, W)), (1, _v_plane(out, H, W))):
        dst = plane[cs, cx]
        acc = dst * sp.uva
        acc += sp.uv[i]
        acc >>= 8
        dst[...] = acc
