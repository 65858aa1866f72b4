"""The studio's fonts: a size and the text to draw in; a Pillow font with glyphs for that text
out (a CJK font for CJK text, DejaVu else, Pillow's built-in font as the fallback)."""

from __future__ import annotations

import functools

from PIL import ImageFont

_FONT_FILES = ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# DejaVu has no CJK glyphs (a Chinese product name would show as boxes); text with CJK in it is
# drawn with the first of these that is installed (scripts install fonts-wqy-microhei).
_CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)


def has_cjk(text: str) -> bool:
    return any("\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in text)


def _font(size: int, text: str = "") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The studio's font at ``size`` for drawing ``text`` (a CJK font when it needs one)."""
    return _load_font(size, has_cjk(text))


@functools.lru_cache(maxsize=32)
def _load_font(size: int, cjk: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # One font object per size and script, not per text drawn.
    # Prefer DejaVu where installed: Pillow's built-in font has no glyphs for e.g. the euro sign
    # or CJK; the built-in one is the everywhere-available fallback.
    files = (_CJK_FONT_FILES + _FONT_FILES) if cjk else _FONT_FILES
    for name in files:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font, still readable
        return ImageFont.load_default()
