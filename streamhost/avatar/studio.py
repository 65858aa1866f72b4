"""The studio's product panel: the product's picture, the price valid now (the regular price
struck through and the discount when one applies), low stock, and a flash sale's countdown.

``Talk.panel`` fills a ``PanelInfo``; the compositor draws the panel with ``draw_panel`` when the
product changes, and the countdown badge with ``countdown_patch`` once per second.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

log = logging.getLogger("streamhost.avatar")

LOW_STOCK = 20  # at or below this many units, the panel says how many are left


@dataclass(frozen=True, slots=True)
class PanelInfo:
    """What the panel shows beyond name, price and features (all optional).

    ``was``: the regular price as text when the price now is lower; ``discount``: percent off;
    ``stock``: units left; ``image``: a PNG/JPEG file; ``sale_ends_at``: media time (s) a flash
    sale ends (a countdown is shown until then)."""

    was: str = ""
    discount: int | None = None
    stock: int | None = None
    image: str = ""
    sale_ends_at: float | None = None


def _picture(path: str, size: int) -> Image.Image | None:
    """The product image fitted into a size x size square, or None (logged) if unreadable."""
    try:
        with Image.open(Path(path)) as im:
            im = im.convert("RGBA")
            im.thumbnail((size, size), Image.LANCZOS)
            return im.copy()
    except (OSError, ValueError) as exc:
        log.warning("product image %s: %s", path, exc)
        return None


def draw_panel(
    im: Image.Image,
    box: tuple[int, int, int, int],
    font,  # noqa: ANN001 - the compositor's font(size) helper
    fit,  # noqa: ANN001 - the compositor's text fitter
    name: str,
    price: str,
    features: list[str],
    info: PanelInfo,
) -> None:
    """Draw the panel (white card, picture on the left, text on the right) into ``im``."""
    d = ImageDraw.Draw(im)
    px0, py0, px1, py1 = box
    d.rounded_rectangle((px0 + 4, py0 + 6, px1 + 4, py1 + 6), radius=28, fill=(90, 90, 130))
    d.rounded_rectangle((px0, py0, px1, py1), radius=28, fill=(255, 255, 255))
    d.rounded_rectangle((px0, py0, px1, py0 + 14), radius=7, fill=(255, 120, 90))
    tx = px0 + 32
    side = py1 - py0 - 48
    pic = _picture(info.image, side) if info.image else None
    if pic is not None:
        ix, iy = px0 + 22, py0 + 28
        d.rounded_rectangle((ix - 2, iy - 2, ix + side + 2, iy + side + 2), radius=16,
                            fill=(244, 242, 248))  # fmt: skip
        im.paste(pic, (ix + (side - pic.width) // 2, iy + (side - pic.height) // 2), pic)
        tx = ix + side + 22
    width = px1 - tx - 24
    if name:
        d.text((tx, py0 + 30), fit(d, name, font(34, name), width), font=font(34, name),
               fill=(30, 30, 50))  # fmt: skip
    y = py0 + 76
    if price:
        d.text((tx, y), price, font=font(46), fill=(226, 60, 40))
        x = tx + d.textlength(price, font=font(46)) + 14
        if info.was:
            d.text((x, y + 16), info.was, font=font(26), fill=(130, 130, 150))
            w = d.textlength(info.was, font=font(26))
            d.line((x, y + 31, x + w, y + 31), fill=(130, 130, 150), width=3)
            x += w + 12
        if info.discount:
            tag = f"-{info.discount}%"
            tw = d.textlength(tag, font=font(24))
            d.rounded_rectangle((x, y + 10, x + tw + 16, y + 44), radius=8, fill=(226, 40, 60))
            d.text((x + 8, y + 27), tag, font=font(24), fill=(255, 255, 255), anchor="lm")
    y = py0 + 136
    if info.stock is not None and info.stock <= LOW_STOCK:
        left = "sold out" if info.stock == 0 else f"only {info.stock} left"
        d.text((tx, y), left, font=font(24), fill=(200, 90, 0))
        y += 34
    for feat in features:
        if y > py1 - 40:
            break
        d.ellipse((tx + 2, y + 8, tx + 14, y + 20), fill=(255, 120, 90))
        d.text((tx + 24, y), fit(d, feat, font(24, feat), width - 24), font=font(24, feat),
               fill=(70, 70, 90))  # fmt: skip
        y += 32


def countdown_patch(seconds_left: float, font) -> np.ndarray:  # noqa: ANN001
    """A "FLASH SALE mm:ss" badge as (h, w, 4) premultiplied float32 RGBA."""
    s = max(0, int(seconds_left))
    text = f"FLASH SALE  {s // 60:02d}:{s % 60:02d}"
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    w = int(probe.textlength(text, font=font(26))) + 36
    w += w % 2
    im = Image.new("RGBA", (w, 44), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((0, 0, w - 1, 43), radius=14, fill=(226, 40, 60, 255))
    d.text((w // 2, 22), text, font=font(26), fill=(255, 255, 255, 255), anchor="mm")
    a = np.asarray(im, np.float32) / 255.0
    a[..., :3] *= a[..., 3:4]
    return a
