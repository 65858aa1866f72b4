"""The photo family: a portrait (scikit-image's astronaut, a test fixture) -> pack -> stream.

Needs the landmark models from scripts/fetch_face_models.py (scripts/_setup.sh installs them).
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import running_engine
from support import unavailable
from test_engine import lipsync

from streamhost.avatar import landmarks as L
from streamhost.avatar.pack import load_pack
from streamhost.cli import main as cli_main

skimage = pytest.importorskip("skimage")
ASTRONAUT = Path(skimage.__file__).parent / "data" / "astronaut.png"
W, H = 720, 1280


def _models_or_skip() -> None:
    try:
        L.models_dir()
    except L.FaceModelsMissing as e:
        unavailable(f"face landmark models ({e})")  # a failure under CI=true


def build(tmp_path: Path, *images: Path, extra: tuple[str, ...] = ()) -> int:
    args = ["avatar", "build", "--out", str(tmp_path / "pack"), "--person", "Test Presenter",
            "--consent", "yes", "--consent-date", "2026-12-01", *extra]  # fmt: skip
    for p in images:
        args += ["--image", str(p)]
    return cli_main(args)


def mouth_box(mesh: np.ndarray) -> tuple[slice, slice]:
    """Canvas rows/cols around the lips with room for the jaw drop."""
    lips = mesh[L.LIPS_OUTER]
    (x0, y0), (x1, y1) = lips.min(0), lips.max(0)
    mw = x1 - x0
    return slice(int(y0 - 0.05 * mw), int(y1 + 0.25 * mw)), slice(int(x0), int(x1))


def record_mouth(path: Path, box: tuple[slice, slice]) -> tuple[list[np.ndarray], np.ndarray]:
    with av.open(str(path)) as c:
        mouth = [f.to_ndarray(format="gray")[box].astype(np.float32) for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    return mouth, (pcm * 32767).astype(np.int16) if pcm.dtype.kind == "f" else pcm


def test_photo_refuses_bad_input(tmp_path, capsys) -> None:
    _models_or_skip()
    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), np.full((400, 400, 3), 128, np.uint8))
    assert build(tmp_path, grey) == 2
    assert "no face found" in capsys.readouterr().err
    img = cv2.imread(str(ASTRONAUT))
    two = tmp_path / "two.png"
    cv2.imwrite(str(two), np.concatenate([img, img], axis=1))
    assert build(tmp_path, two) == 2
    assert "2 faces found" in capsys.readouterr().err
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), cv2.resize(img, (300, 300)))
    assert build(tmp_path, small) == 2
    assert "px wide; at least 96 px" in capsys.readouterr().err
    turned = tmp_path / "turned.png"
    m = cv2.getRotationMatrix2D((450, 250), 35, 1.0)
    cv2.imwrite(str(turned), cv2.warpAffine(cv2.resize(img, (1024, 1024)), m, (1024, 1024)))
    assert build(tmp_path, turned) == 2
    assert "not frontal enough" in capsys.readouterr().err
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    assert build(tmp_path, broken) == 2
    assert "not a readable image" in capsys.readouterr().err
    assert cli_main(["avatar", "build", "--image", str(ASTRONAUT), "--out",
                     str(tmp_path / "pack")]) == 2  # fmt: skip
    assert "refusing to build: no consent record" in capsys.readouterr().err
    assert not (tmp_path / "pack").exists()


async def test_photo_pack_streams_with_lip_sync(tmp_path, capsys) -> None:
    _models_or_skip()
    src = tmp_path / "upload.png"
    src.write_bytes(ASTRONAUT.read_bytes())
    assert build(tmp_path, src, extra=("--delete-source",)) == 0, capsys.readouterr().err
    assert not src.exists()  # --delete-source: the upload is gone, the pack remains
    pack = load_pack(tmp_path / "pack")
    assert pack.family == "photo" and pack.consent is not None
    text = (tmp_path / "pack/pack.toml").read_text()
    import hashlib

    assert hashlib.sha256(ASTRONAUT.read_bytes()).hexdigest() in text
    assert "consent: Test Presenter, agreed 2026-12-01" in pack.describe()
    mesh = np.load(tmp_path / "pack/mesh.npy")
    box = mouth_box(mesh)
    out = tmp_path / "rec.mp4"
    async with running_engine(
        tmp_path, virtual=True, duration=12.0, stream={"width": W, "height": H},
        avatar={"pack": str(tmp_path / "pack")}, output={"record": str(out)},
    ) as (_engine, _url, task):  # fmt: skip
        await task
    mouth, pcm = record_mouth(out, box)
    assert len(mouth) == 300
    r = lipsync(mouth, pcm)
    print("photo lip sync, Pearson per offset:", {k: round(v, 3) for k, v in r.items()})
    best = max(r, key=lambda k: r[k])
    assert r[0] >= 0.6 and abs(best) <= 1, r
    # A stock detector still finds one face in what went on air, mid-sentence.
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb24") for i, f in enumerate(c.decode(video=0))]
    opening = np.array([(m < 110).mean() for m in mouth])
    frame = frames[int(opening.argmax())]
    if os.environ.get("STREAMHOST_SAVE_FRAMES"):
        cv2.imwrite(os.environ["STREAMHOST_SAVE_FRAMES"] + "/photo_open.png", frame[:, :, ::-1])
    assert len(L.FaceMesh().detect_all(frame)) == 1
    casc = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    assert len(casc.detectMultiScale(gray, 1.1, 5, minSize=(120, 120))) == 1
