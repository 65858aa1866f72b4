"""Draw the demo catalog's product pictures (the project's own art, no third-party images).

    python -m streamhost.avatar.product_art [--out assets/catalog/images]

Writes kettle.png, headphones.png, backpack.png, lamp.png and bottle.png (256x256, RGBA): flat
shapes with a highlight and a soft shadow, drawn at 4x and downsampled for clean edges.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SIZE = 256
_K = 4  # supersampling
Draw = ImageDraw.ImageDraw


def _s(*v: float) -> list[float]:
    return [x * _K for x in v]


def _kettle(d: Draw) -> None:
    d.rounded_rectangle(_s(70, 70, 186, 210), radius=28 * _K, fill=(176, 184, 196))
    d.rectangle(_s(70, 180, 186, 210), fill=(60, 64, 74))
    d.polygon(_s(70, 100, 30, 86, 70, 130), fill=(150, 158, 170))  # spout
    d.arc(_s(160, 86, 230, 190), -80, 80, fill=(60, 64, 74), width=16 * _K)  # handle
    d.rounded_rectangle(_s(96, 56, 160, 74), radius=6 * _K, fill=(60, 64, 74))  # lid
    d.rounded_rectangle(_s(84, 84, 100, 170), radius=8 * _K, fill=(226, 232, 240))  # sheen
    d.ellipse(_s(120, 192, 134, 202), fill=(90, 200, 255))


def _headphones(d: Draw) -> None:
    d.arc(_s(48, 36, 208, 196), 180, 360, fill=(40, 40, 48), width=18 * _K)
    for x0 in (36, 172):
        d.rounded_rectangle(_s(x0, 110, x0 + 48, 200), radius=20 * _K, fill=(40, 40, 48))
        d.rounded_rectangle(_s(x0 + 8, 122, x0 + 40, 188), radius=14 * _K, fill=(90, 92, 110))
    d.arc(_s(60, 48, 196, 184), 200, 250, fill=(120, 122, 140), width=6 * _K)  # sheen


def _backpack(d: Draw) -> None:
    d.rounded_rectangle(_s(64, 50, 192, 220), radius=36 * _K, fill=(38, 110, 96))
    d.arc(_s(100, 24, 156, 76), 180, 360, fill=(30, 80, 70), width=10 * _K)
    d.rounded_rectangle(_s(84, 130, 172, 204), radius=18 * _K, fill=(30, 92, 80))
    d.line(_s(92, 140, 164, 140), fill=(230, 200, 90), width=4 * _K)
    d.rounded_rectangle(_s(76, 66, 92, 120), radius=8 * _K, fill=(70, 150, 134))  # sheen


def _lamp(d: Draw) -> None:
    d.polygon(_s(84, 60, 172, 60, 200, 130, 56, 130), fill=(250, 206, 96))
    d.polygon(_s(92, 66, 110, 66, 88, 124, 68, 124), fill=(255, 236, 170))  # sheen
    d.rectangle(_s(122, 130, 134, 200), fill=(70, 70, 80))
    d.ellipse(_s(80, 196, 176, 220), fill=(70, 70, 80))


def _bottle(d: Draw) -> None:
    d.rounded_rectangle(_s(94, 60, 162, 220), radius=24 * _K, fill=(220, 80, 90))
    d.rounded_rectangle(_s(108, 36, 148, 66), radius=8 * _K, fill=(60, 60, 70))
    d.rectangle(_s(94, 120, 162, 150), fill=(245, 245, 250))
    d.rounded_rectangle(_s(102, 76, 114, 200), radius=6 * _K, fill=(245, 150, 156))  # sheen


PRODUCTS: dict[str, Callable[[Draw], None]] = {
    "kettle": _kettle,
    "headphones": _headphones,
    "backpack": _backpack,
    "lamp": _lamp,
    "bottle": _bottle,
}


def draw(name: str) -> Image.Image:
    """One product picture: the shape over a soft drop shadow, RGBA, SIZE x SIZE."""
    big = SIZE * _K
    shape = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    PRODUCTS[name](ImageDraw.Draw(shape))
    shadow = Image.new("RGBA", (big, big), (40, 40, 70, 0))
    shadow.putalpha(shape.getchannel("A").point(lambda a: a * 90 // 255))
    shadow = shadow.filter(ImageFilter.GaussianBlur(8 * _K)).transform(
        (big, big), Image.AFFINE, (1, 0, -6 * _K, 0, 1, -10 * _K)
    )
    out = Image.alpha_composite(shadow, shape)
    return out.resize((SIZE, SIZE), Image.LANCZOS)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="assets/catalog/images")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in PRODUCTS:
        # Fixed PNG settings and no timestamp chunk, so a rebuild gives the same bytes.
        draw(name).save(out / f"{name}.png", optimize=True)
        print(f"wrote {out / name}.png")


if __name__ == "__main__":
    main()
