"""Picture quality of a recording, before and after a change: PSNR and SSIM measured by ffmpeg.

A virtual-clock run of the default config on the working tree (``--seconds``, default 20)
records its MP4 and, beside it, every frame exactly as it left the AV loop (raw I420, the
encoder's input). Those same frames are then encoded again by each revision's own ``Encoder``
and ``Mp4Recorder`` (``--before REV``, default the commit before the density work, imported from
a ``git worktree`` of it ahead of the installed package; and the working tree), and ffmpeg's
``psnr`` and ``ssim`` filters compare each recording with the raw frames: what each revision's
encode loses on identical pictures. The run's own recording is measured too (``*_run``).

    python benchmarks/quality.py [--before REV] [--seconds S] [--json PATH] [--quick]
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Results, arg_parser, machine_info, report  # noqa: E402

NAME = "quality"
ROOT = Path(__file__).resolve().parent.parent
# fd1017e: the last commit before the density work (frame buffers from the heap, I420 sprites,
# skipped unchanged faces) and the upper-body host; pipeline_before_host.json ran it too.
BEFORE = "fd1017e"


def _run_worker(spec: dict[str, Any]) -> None:
    """Child: one virtual-clock run; the recording at spec["record"], raw frames at spec["raw"]."""
    import asyncio

    from streamhost.config import load_config
    from streamhost.engine import Engine

    async def run() -> None:
        cfg = load_config().with_overrides(
            output={"record": spec["record"], "rtmp": []}, http={"port": 0}
        )
        engine = Engine(cfg, virtual_clock=True)
        stream = engine.primary
        seen = {"n": 0, "shape": None}
        sink = stream.loop.sink
        with open(spec["raw"], "wb") as raw:

            async def tee(frame: Any) -> None:
                raw.write(frame.video.tobytes())
                seen["n"] += 1
                seen["shape"] = list(frame.video.shape)
                await sink(frame)

            stream.loop.sink = tee
            await engine.run(spec["seconds"])
        print(json.dumps({"frames": seen["n"], "shape": seen["shape"],
                          "fps": cfg.stream.fps}), flush=True)  # fmt: skip

    asyncio.run(run())


def _encode_worker(spec: dict[str, Any]) -> None:
    """Child: the raw frames at spec["raw"] through this revision's Encoder into an MP4."""
    import inspect
    import time

    import numpy as np

    from streamhost.frames import AVFrame
    from streamhost.output.encoder import Encoder
    from streamhost.output.recorder import Mp4Recorder

    w, h, fps, rate = spec["width"], spec["height"], spec["fps"], 48000
    kw = {"video_bitrate": spec["video_bitrate"], "audio_bitrate": spec["audio_bitrate"]}
    if next(iter(inspect.signature(Encoder).parameters)) == "fmt":
        from streamhost.frames import StreamFormat

        enc = Encoder(StreamFormat(w, h, fps, rate), **kw)
    else:  # before the StreamFormat argument: (width, height, fps, sample_rate, ...)
        enc = Encoder(w, h, fps, rate, **kw)
    enc.add_sink(Mp4Recorder(spec["record"]))
    enc.start()
    size = w * h * 3 // 2
    silence = np.zeros(rate // fps, np.int16)
    with open(spec["raw"], "rb") as f:
        i = 0
        while chunk := f.read(size):
            while enc.queue_depth > 2:
                time.sleep(0.001)
            video = np.frombuffer(chunk, np.uint8).reshape(h * 3 // 2, w)
            enc.submit(AVFrame(i, i / fps, video, silence, ()))
            i += 1
    enc.close()


def _ffmpeg_quality(raw: Path, rec: Path, width: int, height: int, fps: int) -> dict[str, float]:
    """PSNR (dB, Y and all planes) and SSIM (Y and all planes) of ``rec`` against the raw frames."""
    cmd = [
        "ffmpeg", "-hide_banner", "-nostats", "-f", "rawvideo", "-pix_fmt", "yuv420p",
        "-s", f"{width}x{height}", "-r", str(fps), "-i", str(raw), "-i", str(rec),
        "-lavfi", "[1:v][0:v]psnr;[1:v][0:v]ssim", "-f", "null", "-",
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    psnr = re.search(r"PSNR y:([\d.]+) u:([\d.]+) v:([\d.]+) average:([\d.]+)", out)
    ssim = re.search(r"SSIM Y:([\d.]+).*All:([\d.]+)", out)
    if psnr is None or ssim is None:
        raise RuntimeError(f"ffmpeg printed no PSNR/SSIM summary:\n{out[-2000:]}")
    return {
        "psnr_y_db": float(psnr.group(1)),
        "psnr_db": float(psnr.group(4)),
        "ssim_y": float(ssim.group(1)),
        "ssim": float(ssim.group(2)),
    }


def _child(mode: str, spec: dict[str, Any], tree: Path | None, env: dict[str, str]) -> str:
    """Run this file as a ``mode`` child, importing streamhost from ``tree`` when given."""
    if tree is not None:
        env = {**env, "PYTHONPATH": os.pathsep.join([str(tree), env.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, __file__, mode, json.dumps(spec)],
        capture_output=True, text=True, env=env, cwd=tree or ROOT, timeout=1800,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"quality {mode} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def measure(before: Path, seconds: float, work: Path) -> dict[str, dict[str, Any]]:
    """The run on this tree, then its frames through ``before``'s encoder and this one's."""
    from streamhost.config import load_config

    work.mkdir(parents=True, exist_ok=True)
    raw = work / "raw.yuv"
    env = {**os.environ, "STREAMHOST_DATA_DIR": str(work / "data"), "PYTHONUNBUFFERED": "1"}
    spec = {"record": str(work / "run.mp4"), "raw": str(raw), "seconds": seconds}
    info = json.loads(_child("--_run", spec, None, env).strip().splitlines()[-1])
    rows, width = info["shape"]
    height, fps = rows * 2 // 3, info["fps"]
    out = {"run": _ffmpeg_quality(raw, work / "run.mp4", width, height, fps)}
    o = load_config().output
    enc = {"raw": str(raw), "width": width, "height": height, "fps": fps,
           "video_bitrate": o.video_bitrate_kbps * 1000,
           "audio_bitrate": o.audio_bitrate_kbps * 1000}  # fmt: skip
    for tag, tree in (("before", before), ("after", None)):
        rec = work / f"{tag}.mp4"
        _child("--_encode", {**enc, "record": str(rec)}, tree, env)
        out[tag] = _ffmpeg_quality(raw, rec, width, height, fps)
    out["run"]["frames"] = info["frames"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--before", default=BEFORE, help=f"revision to compare with ({BEFORE})")
    ap.add_argument("--seconds", type=float, default=None, help="media seconds (default 20)")
    args = ap.parse_args(argv)
    seconds = args.seconds or (4.0 if args.quick else 20.0)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                          capture_output=True).stdout.strip()  # fmt: skip
    res = Results(NAME, config={
        "run": f"default config, virtual clock, {seconds:g} s of media, recording only",
        "measure": "ffmpeg psnr and ssim filters: each recording against the raw I420 frames "
        "the AV loop handed to the encoder; before/after: those frames through each "
        "revision's Encoder and Mp4Recorder (silent audio); run: the run's own recording",
        "before": args.before, "after": f"working tree at {head}",
    })  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="streamhost-quality-") as tmp:
        wt = Path(tmp) / "before-tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(wt), args.before], cwd=ROOT,
                       check=True, capture_output=True)  # fmt: skip
        try:
            got = measure(wt, seconds, Path(tmp) / "work")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(wt)], cwd=ROOT,
                           capture_output=True)  # fmt: skip
    for tag in ("before", "after", "run"):
        for k in ("psnr_y_db", "psnr_db", "ssim_y", "ssim"):
            res.add(f"{k}_{tag}", got[tag][k], "dB" if "psnr" in k else "", 4)
    res.add("frames", got["run"]["frames"], "frames", 0)
    res.add("psnr_change_db", got["after"]["psnr_db"] - got["before"]["psnr_db"], "dB", 3)
    res.add("ssim_change", got["after"]["ssim"] - got["before"]["ssim"], "", 5)
    report(res, args.json, machine_info())
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--_run":
        _run_worker(json.loads(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--_encode":
        _encode_worker(json.loads(sys.argv[2]))
    else:
        sys.exit(main())
