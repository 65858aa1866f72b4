"""What does each added WebRTC viewer cost the engine?

One real Engine on the default config (real clock, RTMP out to a private nginx-rtmp, as
``pipeline.py``'s engine worker, ``_engine_child.py``) and, in another process, N aiortc viewers (real peer
connections over loopback: ICE, DTLS, SRTP, RTCP). N steps up (default 0, 1, 2, 4, 8) and back
down again; at each level, after every new viewer has received video (or the engine has seen the
dropped ones go), the engine process tree's CPU (user+sys from /proc) is measured over a window.
A least-squares line through every (N, engine cores) gives ``viewer_core_fraction``: the share of
one core each added viewer costs. The way down is there because this machine's speed drifts by
several per cent within minutes: on a sweep up only, a drift reads as a cost per viewer; up and
down, a steady drift cancels out of the slope (``--no-down`` measures the way up only).

By default the viewers do not decode: their depacketized H.264/Opus frames are counted, not
decoded (``--decode`` decodes them), so the viewer process takes less of the machine the engine
is measured on. Only the engine's CPU is the figure; the viewer process is reported apart.

    python benchmarks/viewers.py [--json PATH] [--levels 0,1,2,4,8] [--window S] [--quick]
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _engine_child as child  # noqa: E402
from _common import (  # noqa: E402
    Results,
    arg_parser,
    core_fraction,
    linear_fit,
    machine_info,
    proc_cpu_seconds,
    reap,
    report,
    sample_tree,
)

NAME = "viewers"


def _send(proc: subprocess.Popen, line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def measure(levels: list[int], window: float, settle: float, decode: bool) -> list[dict[str, Any]]:
    nginx = child.load_nginx_helper().NginxRtmp().start()
    procs: list[subprocess.Popen] = []
    data_dir = tempfile.TemporaryDirectory(prefix="streamhost-viewers-")
    out: list[dict[str, Any]] = []
    try:
        env = {**os.environ, "STREAMHOST_DATA_DIR": data_dir.name, "PYTHONUNBUFFERED": "1"}
        engine = subprocess.Popen(
            [sys.executable, child.__file__, "--_engine-worker", nginx.url("live", "viewers")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        procs.append(engine)
        port = child.readline(engine, 90)["port"]
        cmd = [sys.executable, __file__, "--_viewers", f"http://127.0.0.1:{port}/offer"]
        viewers = subprocess.Popen(
            cmd + (["--decode"] if decode else []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(viewers)
        deadline = time.monotonic() + 30
        while child.healthz(port)["rtmp_live"] != 1:
            if time.monotonic() > deadline:
                raise RuntimeError("engine not live on RTMP")
            time.sleep(0.2)
        have = 0
        for n in levels:
            if n != have:
                verb = "add" if n > have else "drop"
                _send(viewers, f"{verb} {abs(n - have)}")
                got = child.readline(viewers, 30 + 5 * abs(n - have))
                if got.get("error"):
                    raise RuntimeError(f"viewers: {got['error']}")
                have = n
            child.wait_live(port, n)  # a dropped viewer leaves once its DTLS close arrives
            time.sleep(settle)
            _send(viewers, "stats")
            f0 = child.readline(viewers, 10)["video_frames"]
            a, v0 = sample_tree(engine.pid), proc_cpu_seconds(viewers.pid)
            load0 = os.getloadavg()[0]
            time.sleep(window)
            b, v1 = sample_tree(engine.pid), proc_cpu_seconds(viewers.pid)
            _send(viewers, "stats")
            f1 = child.readline(viewers, 10)["video_frames"]
            wall = b.wall - a.wall
            fps = [(y - x) / wall for x, y in zip(f0, f1, strict=True)]
            out.append(
                {
                    "n": n,
                    "engine_core_fraction": core_fraction(a, b),
                    "viewer_process_core_fraction": (v1 - v0) / wall,
                    "min_viewer_fps": min(fps) if fps else None,
                    "loadavg": [round(load0, 2), round(os.getloadavg()[0], 2)],
                }
            )
            print(
                f"N={n}: engine {out[-1]['engine_core_fraction']:.3f} cores, viewer fps min "
                f"{out[-1]['min_viewer_fps']}, load {out[-1]['loadavg']}",
                flush=True,
            )
        for p in (viewers, engine):
            assert p.stdin is not None
            p.stdin.close()
        child.readline(engine, 60)  # the engine's final totals: it stopped cleanly
        for p in procs:
            p.wait(30)
    finally:
        reap(procs)
        nginx.stop()
        data_dir.cleanup()
    return out


def _viewers_child(offer_url: str, decode: bool) -> None:
    """Child process: aiortc viewers of one stream. stdin: ``add K`` (answers once each new
    viewer has received a video frame), ``drop K`` (closes the K newest), ``stats`` (frames
    received per open viewer); EOF: close."""
    import aiohttp
    import aiortc.rtcrtpreceiver as receiver
    from aiortc import RTCPeerConnection

    counts: list[int] = []  # video frames per viewer (depacketized; decoded with --decode)
    real_decoder = receiver.get_decoder

    class _Counter:
        def __init__(self, slot: int, inner: Any) -> None:
            self.slot, self.inner = slot, inner

        def decode(self, encoded_frame: Any) -> list[Any]:
            counts[self.slot] += 1
            return self.inner.decode(encoded_frame) if self.inner is not None else []

    slot_of_thread: dict[int, int] = {}

    def get_decoder(codec: Any) -> Any:
        # aiortc asks for a decoder from each receiver's decoder thread; the newest viewer's
        # video thread is the one without a slot yet (video threads are "video-decoder")
        if codec.mimeType.lower() != "video/h264":
            return real_decoder(codec) if decode else _NullAudio()
        key = threading.get_ident()
        if key not in slot_of_thread:
            slot_of_thread[key] = len(slot_of_thread)
        return _Counter(slot_of_thread[key], real_decoder(codec) if decode else None)

    class _NullAudio:
        def decode(self, encoded_frame: Any) -> list[Any]:
            return []

    receiver.get_decoder = get_decoder

    async def main() -> None:
        pcs: list[Any] = []
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[str | None] = asyncio.Queue()

        def read_stdin() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(lines.put_nowait, line.strip())
            loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=read_stdin, daemon=True).start()
        async with aiohttp.ClientSession() as http:

            async def connect() -> None:
                pc = RTCPeerConnection()
                pc.addTransceiver("video", direction="recvonly")
                pc.addTransceiver("audio", direction="recvonly")
                pcs.append(pc)
                counts.append(0)
                await child.connect_viewer(http, pc, offer_url)

            while (line := await lines.get()) is not None:
                try:
                    if line.startswith("add "):
                        before = len(pcs)
                        for _ in range(int(line.split()[1])):
                            await connect()
                        deadline = time.monotonic() + 30
                        while sum(1 for c in counts[before:] if c > 0) < len(pcs) - before:
                            if time.monotonic() > deadline:
                                raise RuntimeError("a new viewer received no video in 30 s")
                            await asyncio.sleep(0.05)
                        print(json.dumps({"viewers": len(pcs)}), flush=True)
                    elif line.startswith("drop "):
                        k = min(int(line.split()[1]), len(pcs))
                        gone, pcs[:] = pcs[len(pcs) - k :], pcs[: len(pcs) - k]
                        await asyncio.gather(*(pc.close() for pc in gone))
                        print(json.dumps({"viewers": len(pcs)}), flush=True)
                    elif line == "stats":
                        # slots follow connection order, so the open viewers are the first ones
                        print(json.dumps({"video_frames": counts[: len(pcs)]}), flush=True)
                except Exception as exc:  # noqa: BLE001 - reported to the parent, which stops
                    print(json.dumps({"error": repr(exc)}), flush=True)
        await asyncio.gather(*(pc.close() for pc in pcs), return_exceptions=True)

    asyncio.run(main())


def main(argv: list[str] | None = None) -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--levels", default=None, help="viewer counts, ascending (default 0,1,2,4,8)")
    ap.add_argument("--window", type=float, default=None, help="seconds per level (default 15)")
    ap.add_argument("--decode", action="store_true", help="viewers decode what they receive")
    ap.add_argument("--no-down", action="store_true", help="measure the way up only")
    args = ap.parse_args(argv)
    raw = args.levels or ("0,2" if args.quick else "0,1,2,4,8")
    try:
        levels = [int(x) for x in raw.split(",")]
    except ValueError:
        ap.error(f"--levels {raw!r}: expected ascending integers like 0,1,2,4,8")
    if len(levels) < 2 or levels != sorted(set(levels)) or levels[0] < 0:
        ap.error(f"--levels {raw!r}: need at least two distinct ascending counts >= 0")
    window = args.window or (3.0 if args.quick else 15.0)
    settle = 1.0 if args.quick else 3.0
    machine = machine_info()
    sweep = levels if args.no_down else levels + levels[-2::-1]
    rows = measure(sweep, window, settle, args.decode)
    ns = [r["n"] for r in rows]
    slope, intercept = linear_fit(ns, [r["engine_core_fraction"] for r in rows])
    res = Results(
        NAME,
        config={
            "stream": "default config: 720x1280 @ 25 fps, RTMP out to nginx-rtmp on 127.0.0.1",
            "levels": levels,
            "sweep": sweep,
            "window_seconds": window,
            "settle_seconds": settle,
            "viewers_decode": bool(args.decode),
            "fit": "least squares of engine cores against viewer count",
            "rows": rows,
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "notes": "CPU is user+sys of the engine process tree; other work on a shared machine "
            "slows the engine but is not counted in it (load average per level in rows).",
        },
    )
    res.add("viewer_core_fraction", slope, "cores/viewer", 4)
    res.add("engine_core_fraction_no_viewers", intercept, "cores", 3)
    at_max = [r["engine_core_fraction"] for r in rows if r["n"] == levels[-1]]
    res.add("engine_core_fraction_at_max", sum(at_max) / len(at_max), "cores", 3)
    res.add("max_viewers_measured", levels[-1], "viewers", 0)
    fps = [r["min_viewer_fps"] for r in rows if r["min_viewer_fps"] is not None]
    res.add("min_viewer_fps", min(fps) if fps else None, "fps", 2)
    res.series = {
        "n": ns,
        "engine_core_fraction": [round(r["engine_core_fraction"], 4) for r in rows],
        "viewer_process_core_fraction": [round(r["viewer_process_core_fraction"], 4) for r in rows],
    }
    report(res, args.json, machine)
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--_viewers":
        _viewers_child(sys.argv[2], "--decode" in sys.argv[3:])
    else:
        sys.exit(main())
