"""Video I/O of the clip builder (PyAV): a video path in; its mono 16-bit audio, or the
canvas-framed RGB of chosen frames, out. RGB frames in; the pack's H.264 idle loop out."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_audio(video: Path, rate: int = 16000) -> np.ndarray:
    import av

    out = []
    with av.open(str(video)) as c:
        rs = av.AudioResampler(format="s16", layout="mono", rate=rate)
        for f in c.decode(audio=0):
            out += [g.to_ndarray().reshape(-1) for g in rs.resample(f)]
        out += [g.to_ndarray().reshape(-1) for g in rs.resample(None)]
    return np.concatenate(out) if out else np.zeros(0, np.int16)


def grab_frames(video: Path, wanted: set[int], framing: np.ndarray, width: int, height: int,
                progress: bool) -> dict[int, np.ndarray]:  # fmt: skip
    """Pass 2: the canvas-framed RGB of the wanted frames only."""
    import av
    import cv2
    from tqdm import tqdm

    out: dict[int, np.ndarray] = {}
    last = max(wanted)
    with av.open(str(video)) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        bar = tqdm(total=len(wanted), desc="samples", unit="frame", disable=not progress)
        for i, frame in enumerate(c.decode(vs)):
            if i in wanted:
                out[i] = cv2.warpAffine(frame.to_ndarray(format="rgb24"), framing,
                                        (width, height), flags=cv2.INTER_LINEAR)  # fmt: skip
                bar.update()
            if i >= last:
                break
        bar.close()
    return out


def write_idle(path: Path, frames: list[np.ndarray], fps: float) -> None:
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=round(fps))
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        s.options = {"crf": "12", "preset": "fast"}
        for f in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(s.encode(None))
