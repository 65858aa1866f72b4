"""Avatar packs: a folder with a ``pack.toml`` manifest and the model it names.

Folder path in; a validated ``Pack`` out, or ``PackError`` naming the file, the key and the
problem.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

FAMILIES = ("puppet",)
DRIVERS = ("phonemes",)


class PackError(ValueError):
    """A pack that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class Pack:
    root: Path
    family: str
    model: Path
    driver: str
    render_width: int
    render_height: int
    tile_x: int
    tile_y: int
    premultiplied: bool

    def tile_xy(self, canvas_width: int, canvas_height: int) -> tuple[int, int]:
        """Where the head tile goes; raises PackError if it does not fit the canvas."""
        if (
            self.tile_x + self.render_width > canvas_width
            or self.tile_y + self.render_height > canvas_height
        ):
            raise PackError(
                f"{self.root / 'pack.toml'}: head tile {self.render_width}x{self.render_height} at "
                f"({self.tile_x}, {self.tile_y}) does not fit a {canvas_width}x{canvas_height} canvas"
            )
        return self.tile_x, self.tile_y


def _int(data: dict, section: str, key: str, where: Path, problems: list[str], lo: int = 0) -> int:
    v = data.get(section, {}).get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v < lo:
        problems.append(f"[{section}] {key} = {v!r}: must be an integer >= {lo}")
        return lo
    if section == "canvas" and v % 2:
        problems.append(f"[{section}] {key} = {v}: must be even (4:2:0 chroma)")
    return v


def load_pack(path: str | Path) -> Pack:
    root = Path(path)
    manifest = root / "pack.toml"
    if not root.is_dir():
        raise PackError(f"avatar pack {str(root)!r} is not a folder")
    if not manifest.is_file():
        raise PackError(f"avatar pack {str(root)!r} has no pack.toml")
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise PackError(f"{manifest}: not valid TOML: {e}") from None
    problems: list[str] = []
    family = data.get("family")
    if family not in FAMILIES:
        problems.append(f"family = {family!r}: must be one of {', '.join(FAMILIES)}")
    driver = data.get("driver", "phonemes")
    if driver not in DRIVERS:
        problems.append(f"driver = {driver!r}: must be one of {', '.join(DRIVERS)}")
    model = data.get("model")
    model_path = root / model if isinstance(model, str) else root
    if not isinstance(model, str) or not model_path.is_file():
        problems.append(f"model = {model!r}: must name a file in the pack folder")
    alpha = data.get("alpha", "premultiplied")
    if alpha not in ("premultiplied", "straight"):
        problems.append(f'alpha = {alpha!r}: must be "premultiplied" or "straight"')
    rw = _int(data, "render", "width", manifest, problems, 16)
    rh = _int(data, "render", "height", manifest, problems, 16)
    tx = _int(data, "canvas", "tile_x", manifest, problems)
    ty = _int(data, "canvas", "tile_y", manifest, problems)
    if problems:
        raise PackError(f"{manifest}: " + "; ".join(problems))
    return Pack(root, family, model_path, driver, rw, rh, tx, ty, alpha == "premultiplied")
