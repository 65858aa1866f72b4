"""A fixed yardstick of this machine's speed today, recorded beside the figures it qualifies.

The machines here are shared virtual CPUs whose speed moves by 2x between days (the same isolated
x264 encode of the same frames: 2.0 ms one day, 4.6 ms another), so a stream's share of a core
means little without the day's speed beside it. ``speed_probe()`` times two of the stream's own
kernels, flat out on one thread with warm caches: the default puppet's ONNX render of fixed
driver parameters, and a libx264 encode, with the engine's settings, of fixed composed frames.
Figures from two days compare as ratios to these probes, not as raw milliseconds.
"""

from __future__ import annotations

import itertools
import statistics
import time
from typing import Any

FRAMES = 60  # ~0.5 s of CPU per kernel: enough for a stable median, cheap beside any benchmark


def _median_ms(fn: Any, items: list[Any], warm: int = 5) -> float:
    for it in items[:warm]:
        fn(it)
    out = []
    for it in items:
        c0 = time.thread_time()
        fn(it)
        out.append((time.thread_time() - c0) * 1000.0)
    return round(statistics.median(out), 3)


def speed_probe() -> dict[str, float]:
    """{"puppet_ms_per_frame", "x264_ms_per_frame"}: median thread-CPU ms per frame (1 thread)."""
    import av
    import numpy as np

    from streamhost.avatar.driver import FaceDriver
    from streamhost.avatar.pack import load_pack
    from streamhost.avatar.runner import OnnxRenderer
    from streamhost.config import load_config
    from streamhost.output.codecs import open_codecs

    cfg = load_config()
    s = cfg.stream
    driver = FaceDriver(fps=s.fps, seed=1)
    params = [driver.params_at(i / s.fps)[None, :] for i in range(FRAMES)]
    renderer = OnnxRenderer(load_pack(cfg.avatar.pack).model, threads=1)
    puppet = _median_ms(renderer.render, params)

    # Frames with structure and motion (a gradient that scrolls), so x264 has real work: a flat
    # picture encodes in a fraction of the time a composed frame takes.
    h, w = s.height, s.width
    ramp = (np.add.outer(np.arange(h), np.arange(w)) % 256).astype(np.uint8)
    frames = []
    for i in range(FRAMES):
        yuv = np.full((h * 3 // 2, w), 128, np.uint8)
        yuv[:h] = np.roll(ramp, 3 * i, axis=1)
        frames.append(yuv)
    o = cfg.output
    # GOP 2 s and one thread: the Encoder's defaults, which the engine keeps.
    _null, vctx, _actx, _info = open_codecs(
        cfg.format, o.video_bitrate_kbps * 1000, o.audio_bitrate_kbps * 1000, 1, 2.0, threads=1
    )
    pts = itertools.count()

    def encode(yuv: Any) -> None:
        vf = av.VideoFrame.from_numpy_buffer(yuv, format="yuv420p")
        vf.pts = next(pts)
        vctx.encode(vf)

    x264 = _median_ms(encode, frames)
    return {"puppet_ms_per_frame": puppet, "x264_ms_per_frame": x264}
