"""The pack builder: a presenter video (or one photo) + a Wav2Lip-contract model + consent in;
a wav2lip avatar pack folder out (``pack.toml``, ``base.mp4`` or ``base.png``, ``boxes.json``,
``crops.npy``, the model).

Frames are cover-fitted to the stream canvas, faces found with OpenCV's bundled Haar cascade
(frames without a detection borrow the nearest detected box), boxes smoothed over time and the
model-sized crops cached. Nothing is built without the presenter's consent on record.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .pack import WAV2LIP_SIZES, Pack, check_wav2lip_model, load_pack
from .wav2lip_face import paste_regions, read_base_frames, smooth_boxes

SMOOTH = 5  # frames in the box smoothing window (what the manifest records)


class BuildError(ValueError):
    """The pack cannot be built; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class ConsentInfo:
    person: str
    agreed: bool
    date: str = ""
    note: str = ""


def check_consent(c: ConsentInfo) -> None:
    if not c.person.strip():
        raise BuildError(
            "refusing to build: no consent record. Name the person who appears (--person) and "
            "confirm they agreed to be shown as an AI-driven host (--consent yes)"
        )
    if not c.agreed:
        raise BuildError(
            f"refusing to build: {c.person!r} has not agreed (--consent yes records that they "
            "did); a pack of a real person needs their consent"
        )


def cover_fit(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to cover width x height and centre-crop (the stream canvas is portrait)."""
    import cv2

    h, w = rgb.shape[:2]
    s = max(width / w, height / h)
    nw, nh = max(width, round(w * s)), max(height, round(h * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    big = cv2.resize(rgb, (nw, nh), interpolation=interp)
    x0, y0 = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(big[y0 : y0 + height, x0 : x0 + width])


def detect_faces(frames: list[np.ndarray], progress: bool = True) -> np.ndarray:
    """(N, 4) float boxes x0, y0, x1, y1: the largest Haar detection per frame, gaps filled
    from the nearest detected frame, extended down to take in the chin (Wav2Lip's crops do)."""
    import cv2
    from tqdm import tqdm

    casc = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if casc.empty():
        raise BuildError("OpenCV's Haar face cascade is missing (opencv-python-headless < 5)")
    found: list[np.ndarray | None] = []
    for rgb in tqdm(frames, desc="faces", unit="frame", disable=not progress):
        H, W = rgb.shape[:2]
        # A presenter's face is large: finding it at <= 480 px is as reliable and ~4x faster.
        k = min(1.0, 480 / max(H, W))
        small = cv2.resize(rgb, (round(W * k), round(H * k)), interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        side = min(gray.shape) // 10
        dets = casc.detectMultiScale(gray, 1.05, 3, minSize=(side, side))
        if len(dets) == 0:
            found.append(None)
            continue
        x, y, w, h = (v / k for v in max(dets, key=lambda d: d[2] * d[3]))
        found.append(np.array([x, y, min(W, x + w), min(H, y + h + 0.12 * h)], np.float64))
    hits = [i for i, b in enumerate(found) if b is not None]
    if not hits:
        raise BuildError("no face found in any frame (a frontal, well-lit face is needed)")
    hit_arr = np.array(hits)
    out = np.empty((len(frames), 4), np.float64)
    for i, b in enumerate(found):
        out[i] = b if b is not None else found[int(hit_arr[np.abs(hit_arr - i).argmin()])]
    return out


def _model_size(model: Path, size: int | None) -> int:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    try:
        face = next(
            i
            for i in ort.InferenceSession(
                str(model), so, providers=["CPUExecutionProvider"]
            ).get_inputs()
            if i.name == "face"
        )
    except StopIteration:
        raise BuildError(f"model {model}: has no 'face' input (not a wav2lip model)") from None
    except Exception as e:  # noqa: BLE001 - ORT raises several types for bad files
        raise BuildError(f"model {model}: cannot load as ONNX ({e})") from None
    s = face.shape[-1]
    if s not in WAV2LIP_SIZES:
        raise BuildError(f"model {model}: face input {face.shape} is not S = 96 or 256")
    if size is not None and size != s:
        raise BuildError(f"--size {size} but the model {model} takes {s}x{s} faces")
    return s


def _read_video(path: Path, max_s: float, progress: bool) -> tuple[list[np.ndarray], int]:
    import av
    from tqdm import tqdm

    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as c:
            vs = c.streams.video[0]
            fps = round(float(vs.average_rate or 25))
            max_frames = max(1, int(max_s * fps))
            bar = tqdm(
                desc="decode",
                unit="frame",
                total=min(vs.frames, max_frames) or None,
                disable=not progress,
            )
            for f in c.decode(vs):
                frames.append(f.to_ndarray(format="rgb24"))
                bar.update()
                if len(frames) >= max_frames:
                    break
            bar.close()
    except (av.error.FFmpegError, IndexError) as e:
        raise BuildError(f"video {path}: cannot decode ({e})") from None
    if not frames:
        raise BuildError(f"video {path}: no frames")
    return frames, fps


def _write_video(path: Path, frames: list[np.ndarray], fps: int, progress: bool) -> None:
    import av
    from tqdm import tqdm

    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=fps)
        vs.width, vs.height = frames[0].shape[1], frames[0].shape[0]
        vs.pix_fmt = "yuv420p"
        vs.options = {"crf": "16", "preset": "veryfast"}
        for f in tqdm(frames, desc="encode", unit="frame", disable=not progress):
            c.mux(vs.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(vs.encode(None))


def build_pack(
    out: str | Path,
    *,
    model: str | Path,
    consent: ConsentInfo,
    video: str | Path | None = None,
    image: str | Path | None = None,
    size: int | None = None,
    width: int = 720,
    height: int = 1280,
    max_seconds: float = 10.0,
    progress: bool = True,
) -> Pack:
    """Build a wav2lip pack from ``video`` (its first ``max_seconds``, looped back and forth on
    air) or from one ``image`` (a still base frame whose mouth the model animates)."""
    import cv2
    from tqdm import tqdm

    check_consent(consent)
    if (video is None) == (image is None):
        raise BuildError("give exactly one of --video or --image")
    model = Path(model)
    if not model.is_file():
        raise BuildError(f"model {model}: file not found (a Wav2Lip-contract ONNX export)")
    S = _model_size(model, size)
    try:
        check_wav2lip_model(model, S)
    except ValueError as e:
        raise BuildError(str(e)) from None
    if width % 16 or height % 16:
        raise BuildError(f"canvas {width}x{height}: both sides must be multiples of 16")
    dst = Path(out)
    if dst.exists() and any(dst.iterdir()):
        raise BuildError(f"{dst} exists and is not empty (choose a new --out folder)")
    src = Path(video if video is not None else image)  # type: ignore[arg-type]
    if not src.is_file():
        raise BuildError(f"{src}: file not found")

    if video is not None:
        raw, fps = _read_video(src, max_seconds, progress)
    else:
        try:
            raw = [cv2.cvtColor(cv2.imread(str(src), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)]
        except cv2.error:
            raise BuildError(f"image {src}: not a readable image") from None
        fps = 25
    frames = [cover_fit(f, width, height) for f in tqdm(raw, desc="fit", disable=not progress)]
    del raw
    boxes = detect_faces(frames, progress)

    dst.mkdir(parents=True, exist_ok=True)
    if video is not None:
        base_name = "base.mp4"
        _write_video(dst / base_name, frames, fps, progress)
        # Crops come from the frames as the engine will decode them (after the H.264 round trip).
        frames = read_base_frames(dst / base_name)
    else:
        base_name = "base.png"
        cv2.imwrite(str(dst / base_name), frames[0][:, :, ::-1])
    regions = paste_regions(smooth_boxes(boxes, SMOOTH), width, height)
    crops = np.stack(
        [
            cv2.resize(f[y0:y1, x0:x1, ::-1], (S, S), interpolation=cv2.INTER_AREA)
            for f, (x0, y0, x1, y1) in tqdm(
                list(zip(frames, regions, strict=True)), desc="crops", disable=not progress
            )
        ]
    )
    np.save(dst / "crops.npy", crops)
    (dst / "boxes.json").write_text(json.dumps(np.round(boxes, 1).tolist()), encoding="utf-8")
    shutil.copyfile(model, dst / "model.onnx")
    date = consent.date or dt.date.today().isoformat()
    note = f"\nnote = {json.dumps(consent.note)}" if consent.note else ""
    (dst / "pack.toml").write_text(
        f"""# Built by `streamhost avatar build` from {src.name}.
family = "wav2lip"
model = "model.onnx"
driver = "audio"
size = {S}
base = "{base_name}"          # looped back and forth on air
boxes = "boxes.json"         # per-frame face boxes x0, y0, x1, y1 (canvas pixels)
smooth = {SMOOTH}                   # box smoothing window, frames
crops = "crops.npy"          # cache of the model-sized face crops

[canvas]
width = {width}
height = {height}

[consent]
person = {json.dumps(consent.person.strip())}
agreed = true
date = {json.dumps(date)}{note}
""",
        encoding="utf-8",
    )
    return load_pack(dst)
