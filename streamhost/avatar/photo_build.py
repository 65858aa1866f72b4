"""Photo pack builder: 1-10 portraits + consent in; a ``photo`` pack folder out.

Every photo is checked (readable, exactly one face, large enough, frontal enough); the most
frontal, largest face becomes the base, framed on the stream canvas (face in the upper
middle, above the product panel). The pack holds ``base.png``, ``mesh.npy`` (its 468
landmarks) and ``pack.toml`` with the consent record and the SHA-256 of every source photo.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np

from . import landmarks as L
from .pack import Pack, load_pack
from .packbuild import BuildError, ConsentInfo, check_consent

MIN_FACE_PX = 96  # below this the mouth is a few pixels: nothing to animate
MAX_YAW = 0.35  # nose off the eyes' midline by more than this (half eye distances): turned
MAX_ROLL = 20.0  # degrees
FACE_SHARE = 0.38  # face box width / canvas width on air
MAX_PHOTOS = 10


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_rgb(path: Path) -> np.ndarray:
    import cv2

    if not path.is_file():
        raise BuildError(f"image {path}: file not found")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise BuildError(f"image {path}: not a readable image (PNG or JPEG)")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def one_face(fm: L.FaceMesh, rgb: np.ndarray, where: str) -> L.Face:
    """The single face in a picture with its mesh; BuildError naming the problem otherwise."""
    faces = fm.detect_all(rgb)
    if not faces:
        raise BuildError(f"{where}: no face found (a frontal, well-lit face is needed)")
    if len(faces) > 1:
        raise BuildError(
            f"{where}: {len(faces)} faces found; a pack shows exactly one person (crop the "
            "photo to the presenter)"
        )
    f = fm.mesh(rgb, faces[0])
    assert f.mesh is not None
    if f.mesh_score < 0.5:
        raise BuildError(f"{where}: the face's landmarks are unsure (score {f.mesh_score:.2f})")
    return f


def check_face(f: L.Face, where: str) -> None:
    assert f.mesh is not None
    if f.width < MIN_FACE_PX:
        raise BuildError(
            f"{where}: the face is {f.width:.0f} px wide; at least {MIN_FACE_PX} px is needed "
            "(use a larger or closer photo)"
        )
    yaw, roll = L.yaw_roll(f.mesh)
    if abs(yaw) > MAX_YAW or abs(roll) > MAX_ROLL:
        raise BuildError(
            f"{where}: the face is not frontal enough (turned {yaw:+.2f}, limit ±{MAX_YAW}; "
            f"tilted {roll:+.0f}°, limit ±{MAX_ROLL:.0f}°): look straight into the camera"
        )


def portrait_crop(
    shape: tuple[int, ...], face: L.Face, width: int, height: int
) -> tuple[float, int, int, int, int]:
    """(scale, x0, y0, scaled width, scaled height): scale the picture so it covers the canvas
    and the face is FACE_SHARE of its width, then crop at (x0, y0) so the face sits in the
    canvas's upper middle. The clip builder applies the same framing to every video frame."""
    h, w = shape[:2]
    s = max(width / w, height / h, FACE_SHARE * width / face.width)
    nw, nh = max(width, round(w * s)), max(height, round(h * s))
    cx, cy = (face.box[0] + face.box[2]) / 2 * s, (face.box[1] + face.box[3]) / 2 * s
    x0 = int(np.clip(cx - width / 2, 0, nw - width))
    y0 = int(np.clip(cy - 0.33 * height, 0, nh - height))
    return s, x0, y0, nw, nh


def frame_portrait(rgb: np.ndarray, face: L.Face, width: int, height: int) -> np.ndarray:
    """Scale and crop so the picture covers the canvas and the face sits in its upper middle."""
    import cv2

    s, x0, y0, nw, nh = portrait_crop(rgb.shape, face, width, height)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    big = cv2.resize(rgb, (nw, nh), interpolation=interp)
    return np.ascontiguousarray(big[y0 : y0 + height, x0 : x0 + width])


def consent_toml(consent: ConsentInfo, sources: list[Path]) -> str:
    date = consent.date or dt.date.today().isoformat()
    note = f"\nnote = {json.dumps(consent.note)}" if consent.note else ""
    names = json.dumps([p.name for p in sources])
    hashes = json.dumps([sha256(p) for p in sources])
    return (
        f"[consent]\nperson = {json.dumps(consent.person.strip())}\nagreed = true\n"
        f"date = {json.dumps(date)}{note}\nsource_files = {names}\nsource_sha256 = {hashes}\n"
    )


def prepare_out(out: str | Path) -> Path:
    dst = Path(out)
    if dst.exists() and any(dst.iterdir()):
        raise BuildError(f"{dst} exists and is not empty (choose a new --out folder)")
    return dst


def delete_sources(sources: list[Path]) -> None:
    """``--delete-source``: the uploaded originals go once the pack holds what it needs."""
    for p in sources:
        p.unlink(missing_ok=True)


def build_photo_pack(
    out: str | Path,
    *,
    images: list[str | Path],
    consent: ConsentInfo,
    width: int = 720,
    height: int = 1280,
    delete_source: bool = False,
    progress: bool = True,
) -> Pack:
    """Check the photos, frame the best one on the canvas and write the pack."""
    import cv2
    from tqdm import tqdm

    check_consent(consent)
    if not 1 <= len(images) <= MAX_PHOTOS:
        raise BuildError(f"{len(images)} photos given: give 1 to {MAX_PHOTOS} (--image)")
    if width % 16 or height % 16:
        raise BuildError(f"canvas {width}x{height}: both sides must be multiples of 16")
    dst = prepare_out(out)
    sources = [Path(p) for p in images]
    fm = L.FaceMesh()
    best: tuple[float, np.ndarray, L.Face] | None = None
    for p in tqdm(sources, desc="photos", unit="photo", disable=not progress):
        rgb = read_rgb(p)
        f = one_face(fm, rgb, f"image {p}")
        check_face(f, f"image {p}")
        assert f.mesh is not None
        rank = f.width * (1.0 - abs(L.yaw_roll(f.mesh)[0]))
        if best is None or rank > best[0]:
            best = (rank, rgb, f)
    assert best is not None
    canvas = frame_portrait(best[1], best[2], width, height)
    face = one_face(fm, canvas, "the framed portrait")
    assert face.mesh is not None
    dst.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(dst / "base.png"), canvas[:, :, ::-1])
    np.save(dst / "mesh.npy", face.mesh.astype(np.float32))
    (dst / "pack.toml").write_text(
        f"""# Built by `streamhost avatar build --family photo` from {len(sources)} photo(s).
family = "photo"
driver = "phonemes"
base = "base.png"            # the portrait, framed on the canvas
mesh = "mesh.npy"            # its 468 face landmarks (canvas pixels)

[canvas]
width = {width}
height = {height}

{consent_toml(consent, sources)}""",
        encoding="utf-8",
    )
    pack = load_pack(dst)
    if delete_source:
        delete_sources(sources)
    return pack
