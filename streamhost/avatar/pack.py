"""Avatar packs: a folder with a ``pack.toml`` manifest and the files it names.

Folder path in; a validated ``Pack`` out, or ``PackError`` naming the file, the key and the
problem. The families are rows of ``avatar/registry.py``; the two shipped ones:

* ``puppet``: the project's parametric model (params (B, N) -> RGBA head tile).
* ``wav2lip``: a presenter's video (or one photo) whose mouth a Wav2Lip-contract model redraws:
  ``mel`` (B, 1, 80, 16) + ``face`` (B, 6, S, S) -> (B, 3, S, S), with per-frame face boxes and
  a ``[consent]`` table naming who appears and that they agreed.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .pack_consent import Consent, _consent
from .registry import FAMILIES, load_family

WAV2LIP_SIZES = (96, 256)
IMAGE_EXTS = (".png", ".jpg", ".jpeg")


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
    # wav2lip only (puppet packs leave the defaults)
    size: int = 0
    base: Path | None = None
    boxes: Path | None = None
    crops: Path | None = None
    smooth: int = 1
    canvas_width: int = 0
    canvas_height: int = 0
    n_frames: int = 0
    consent: Consent | None = None
    # The family's picture is the whole canvas (not a tile placed on the studio background).
    whole_canvas: bool = False
    summary: str = ""  # the family's own one-line description for ``check``

    def tile_xy(self, canvas_width: int, canvas_height: int) -> tuple[int, int]:
        """Where the head tile goes; raises PackError if it does not fit the canvas. A wav2lip
        pack's picture is the whole canvas, so its canvas must equal the stream's."""
        if self.whole_canvas:
            if (self.canvas_width, self.canvas_height) != (canvas_width, canvas_height):
                raise PackError(
                    f"{self.root / 'pack.toml'}: [canvas] {self.canvas_width}x"
                    f"{self.canvas_height} does not match the stream's {canvas_width}x"
                    f"{canvas_height} (rebuild the pack, or set stream.width/height)"
                )
            return 0, 0
        if (
            self.tile_x + self.render_width > canvas_width
            or self.tile_y + self.render_height > canvas_height
        ):
            raise PackError(
                f"{self.root / 'pack.toml'}: head tile {self.render_width}x{self.render_height} "
                f"at ({self.tile_x}, {self.tile_y}) does not fit a {canvas_width}x{canvas_height} "
                "canvas"
            )
        return self.tile_x, self.tile_y

    def describe(self) -> str:
        """One line for ``streamhost check``: family, size, consent."""
        s = f"{self.summary or self.family}, driver {self.driver}"
        if self.consent is not None:
            s += f"; consent: {self.consent.describe()}"
        else:
            s += "; no real person (no consent table)"
        return s


def _int(data: dict, section: str, key: str, where: Path, problems: list[str], lo: int = 0) -> int:
    v = data.get(section, {}).get(key)
    if not isinstance(v, int) or isinstance(v, bool) or v < lo:
        problems.append(f"[{section}] {key} = {v!r}: must be an integer >= {lo}")
        return lo
    if section == "canvas" and v % 2:
        problems.append(f"[{section}] {key} = {v}: must be even (4:2:0 chroma)")
    return v


def base_frame_files(base: Path) -> list[Path]:
    """The image files of a frames folder, in name order."""
    return sorted(p for p in base.iterdir() if p.suffix.lower() in IMAGE_EXTS)


def probe_base(base: Path) -> tuple[int, int, int]:
    """(frames, width, height) of a frames folder, a single image or a video; raises
    PackError naming the file if it cannot be read."""
    if base.is_dir():
        files = base_frame_files(base)
        if not files:
            raise PackError(f"base folder {base}: no PNG/JPG frames")
        from PIL import Image

        try:
            with Image.open(files[0]) as im:
                w, h = im.size
        except OSError as e:
            raise PackError(f"base frame {files[0]}: not a readable image ({e})") from None
        return len(files), w, h
    if base.suffix.lower() in IMAGE_EXTS:
        from PIL import Image

        try:
            with Image.open(base) as im:
                w, h = im.size
        except OSError as e:
            raise PackError(f"base {base}: not a readable image ({e})") from None
        return 1, w, h
    import av

    try:
        with av.open(str(base)) as c:
            vs = c.streams.video[0]
            n, w, h = 0, vs.codec_context.width, vs.codec_context.height
            for _ in c.decode(vs):
                n += 1
    except (av.error.FFmpegError, IndexError) as e:
        raise PackError(f"base video {base}: cannot decode ({e})") from None
    if n == 0:
        raise PackError(f"base video {base}: no video frames")
    return n, w, h


def read_boxes(path: Path) -> np.ndarray:
    """(N, 4) float64 x0, y0, x1, y1 from a .json list of boxes or a .npy array."""
    try:
        if path.suffix.lower() == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            arr = np.asarray(json.loads(path.read_text(encoding="utf-8")), dtype=np.float64)
    except (OSError, ValueError, TypeError) as e:
        raise PackError(f"boxes {path}: cannot read ({e})") from None
    if arr.ndim != 2 or arr.shape[1] != 4 or not np.issubdtype(arr.dtype, np.number):
        raise PackError(
            f"boxes {path}: must be N boxes of 4 numbers (x0, y0, x1, y1), got shape {arr.shape}"
        )
    return arr.astype(np.float64)


def check_boxes(boxes: np.ndarray, w: int, h: int, where: Path) -> None:
    bad_order = np.nonzero((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1]))[0]
    if bad_order.size:
        i = int(bad_order[0])
        raise PackError(
            f"boxes {where}: box {i} {boxes[i].tolist()} is empty (need x0 < x1, y0 < y1)"
        )
    outside = np.nonzero(
        (boxes[:, 0] < 0) | (boxes[:, 1] < 0) | (boxes[:, 2] > w) | (boxes[:, 3] > h)
    )[0]
    if outside.size:
        i = int(outside[0])
        raise PackError(
            f"boxes {where}: box {i} {boxes[i].tolist()} lies outside the {w}x{h} frame "
            f"({outside.size} boxes outside)"
        )


def check_wav2lip_model(path: Path, size: int) -> None:
    """The model's inputs/outputs must follow the wav2lip contract for ``size`` (read from the
    ONNX Runtime session's metadata)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    # Validation only: skip graph optimisation so a big model opens quickly.
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - ORT raises several types for bad files
        raise PackError(f"model {path}: cannot load as ONNX ({e})") from None
    want = {"mel": [1, 80, 16], "face": [6, size, size]}
    got = {i.name: i.shape for i in sess.get_inputs()}

    def fixed(shape: list, tail: list[int]) -> bool:
        return len(shape) == len(tail) + 1 and list(shape[1:]) == tail

    if set(got) != set(want) or not all(fixed(got[k], v) for k, v in want.items()):
        raise PackError(
            f"model {path}: inputs must be mel (B, 1, 80, 16) and face (B, 6, {size}, {size}) "
            f"for size = {size}; the model has {', '.join(f'{k} {v}' for k, v in got.items())}"
        )
    outs = sess.get_outputs()
    if len(outs) != 1 or not fixed(outs[0].shape, [3, size, size]):
        raise PackError(
            f"model {path}: output must be one (B, 3, {size}, {size}) tensor; the model has "
            f"{', '.join(f'{o.name} {o.shape}' for o in outs)}"
        )


def _file(root: Path, data: dict, key: str, problems: list[str]) -> Path | None:
    v = data.get(key)
    if not isinstance(v, str) or not v:
        problems.append(f"{key} = {v!r}: must name a file in the pack folder")
        return None
    p = root / v
    if not p.exists():
        problems.append(f"{key} = {v!r}: {p} does not exist")
        return None
    return p


def load_wav2lip_manifest(
    root: Path, manifest: Path, data: dict, problems: list[str], driver: str, check_model: bool
) -> Pack:
    model = _file(root, data, "model", problems)
    base = _file(root, data, "base", problems)
    boxes_path = _file(root, data, "boxes", problems)
    size = data.get("size")
    if size not in WAV2LIP_SIZES:
        problems.append(f"size = {size!r}: must be one of {', '.join(map(str, WAV2LIP_SIZES))}")
    smooth = data.get("smooth", 5)
    if not isinstance(smooth, int) or isinstance(smooth, bool) or not 1 <= smooth <= 25:
        problems.append(f"smooth = {smooth!r}: must be an integer 1..25 (frames)")
    crops = data.get("crops")
    crops_path = root / crops if isinstance(crops, str) else None
    if crops is not None and not isinstance(crops, str):
        problems.append(f"crops = {crops!r}: must name a .npy file (a cache; may be absent)")
    cw = _int(data, "canvas", "width", manifest, problems, 16)
    ch = _int(data, "canvas", "height", manifest, problems, 16)
    consent = _consent(data, problems, required=True)
    if problems:
        raise PackError(f"{manifest}: " + "; ".join(problems))
    assert model is not None and base is not None and boxes_path is not None
    try:
        n, w, h = probe_base(base)
        if (w, h) != (cw, ch):
            raise PackError(
                f"base {base}: frames are {w}x{h}, but [canvas] says {cw}x{ch} (they must match)"
            )
        boxes = read_boxes(boxes_path)
        if len(boxes) != n:
            raise PackError(
                f"boxes {boxes_path}: {len(boxes)} boxes for {n} base frames (need one per frame)"
            )
        check_boxes(boxes, w, h, boxes_path)
        if check_model:
            check_wav2lip_model(model, size)
    except PackError as e:
        raise PackError(f"{manifest}: {e}") from None
    return Pack(
        root,
        "wav2lip",
        model,
        driver,
        cw,
        ch,
        0,
        0,
        False,
        size=size,
        base=base,
        boxes=boxes_path,
        crops=crops_path,
        smooth=smooth,
        canvas_width=cw,
        canvas_height=ch,
        n_frames=n,
        consent=consent,
        whole_canvas=True,
        summary=f"wav2lip S={size}, {n} base frames",
    )


def load_pack(path: str | Path, check_model: bool = True) -> Pack:
    """Read and validate a pack. ``check_model`` opens a wav2lip model to check its tensor
    names and shapes (a puppet model is checked when its renderer opens it)."""
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
        raise PackError(f"{manifest}: " + "; ".join(problems))
    drivers = FAMILIES[family].drivers
    driver = data.get("driver", drivers[0])
    if driver not in drivers:
        problems.append(f"driver = {driver!r}: a {family} pack takes {' or '.join(drivers)}")
    return load_family(family, root, manifest, data, problems, driver, check_model)


def load_puppet_manifest(
    root: Path, manifest: Path, data: dict, problems: list[str], driver: str, check_model: bool
) -> Pack:
    """The puppet family's keys: ``model``, ``alpha``, ``[render]`` size, ``[canvas]`` tile."""
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
    consent = _consent(data, problems, required=False)
    if problems:
        raise PackError(f"{manifest}: " + "; ".join(problems))
    return Pack(
        root, "puppet", model_path, driver, rw, rh, tx, ty, alpha == "premultiplied",
        consent=consent, summary=f"puppet {rw}x{rh}",
    )  # fmt: skip
