"""The child processes of the real-clock benchmarks (pipeline.py, streams.py, viewers.py) and how
to talk to them.

``python benchmarks/_engine_child.py --_engine-worker URL [COPIES [RENDER_AHEAD]]``: the Engine
on the default config with RTMP out to URL; stdin "mark" -> one JSON line of snapshots, EOF ->
stop and print the totals. ``--_viewer OFFER_URL``: one aiortc viewer that decodes until stdin
EOF, then prints its frame times. Each child writes one JSON object per stdout line.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import select
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import REPO  # noqa: E402

from streamhost import heap  # noqa: E402


def load_nginx_helper() -> Any:
    spec = importlib.util.spec_from_file_location("_nginx_rtmp", REPO / "tests" / "nginx_rtmp.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def readline(proc: subprocess.Popen, timeout: float) -> dict[str, Any]:
    """The next JSON line from a child's stdout (other lines are skipped), or RuntimeError."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"child {proc.args[2:4]} gave no answer within {timeout}s")
        r, _, _ = select.select([proc.stdout], [], [], left)
        if not r:
            continue
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"child {proc.args[2:4]} exited ({proc.wait()})")
        try:
            return json.loads(line)
        except ValueError:
            continue


def healthz(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        return json.loads(r.read())["streams"][0]


def wait_live(port: int, viewers: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        h = healthz(port)
        if h["rtmp_live"] == 1 and h["viewers"] == viewers:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"stream not live with {viewers} viewer(s): {h}")
        time.sleep(0.2)


def engine_worker(url: str, copies: int = 1, render_ahead: int = 0) -> None:
    """Child process: the Engine on the default config + RTMP out, its HTTP app on a free port;
    ``copies`` > 1 runs that many streams in this one process (``streamhost run --copies``,
    stream k pushing to ``url-k``); ``render_ahead``: the config's ``stream.render_ahead``. stdin: "mark" -> one JSON line with the snapshots; EOF ->
    stop cleanly, print the totals. ``snapshot``/``emits`` are stream 0's, ``snapshots``/
    ``all_emits`` every stream's."""
    from aiohttp import web

    from streamhost.config import load_config
    from streamhost.control.http import build_app
    from streamhost.engine import Engine

    async def main() -> None:
        # Speech prefetch off: its one-off fill at start-up (a minute or two of low-priority
        # synthesis) is not the stream's steady cost, and pipeline.py and streams.py must
        # measure the same configuration.
        cfg = load_config().with_overrides(
            output={"rtmp": [url]}, http={"port": 0}, voice={"prefetch": False},
            stream={"render_ahead": render_ahead},
        )  # fmt: skip
        engine = Engine(cfg, copies=copies)
        runner = web.AppRunner(build_app(engine), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, cfg.http.host, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        stream = engine.primary
        all_emits: list[list[float]] = [[] for _ in engine.streams]
        for st, emits in zip(engine.streams, all_emits, strict=True):
            orig = st.loop.sink

            async def timed_sink(frame: Any, orig: Any = orig, emits: list = emits) -> None:
                emits.append(time.monotonic())  # when each AV frame leaves the AV loop
                await orig(frame)

            st.loop.sink = timed_sink
        loop = asyncio.get_running_loop()

        def do_mark() -> None:
            names = {t.native_id: t.name for t in threading.enumerate()}
            out = {"mark": time.monotonic(), "snapshot": stream.snapshot(),
                   "snapshots": engine.snapshots(), "threads": names,
                   "huge_pages": heap.huge_pages_on(), "huge_pages_kib": heap.huge_pages_kib()}  # fmt: skip
            print(json.dumps(out), flush=True)

        def read_stdin() -> None:
            for line in sys.stdin:
                if line.strip() == "mark":
                    loop.call_soon_threadsafe(do_mark)
            loop.call_soon_threadsafe(engine.request_stop)

        threading.Thread(target=read_stdin, daemon=True).start()
        print(json.dumps({"port": port, "pid": os.getpid()}), flush=True)
        try:
            await engine.run(None)
        finally:
            await runner.cleanup()
        out = {
            "emits": all_emits[0],
            "all_emits": all_emits,
            "snapshot": stream.snapshot(),
            "rtmp": [p.stats() for p in stream.rtmp],
            "encoder": stream.encoder.stats.as_dict(),
            "webrtc": stream.webrtc.stats() if stream.webrtc else None,
        }
        print(json.dumps(out), flush=True)

    asyncio.run(main())


async def connect_viewer(http: Any, pc: Any, offer_url: str) -> None:
    """Offer ``pc`` (an aiortc RTCPeerConnection, its transceivers added) to the engine's
    ``/offer`` through the aiohttp session ``http`` and apply its answer; RuntimeError on a
    refusal."""
    from aiortc import RTCSessionDescription

    await pc.setLocalDescription(await pc.createOffer())
    body = {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}
    async with http.post(offer_url, json=body) as r:
        ans = await r.json()
        if r.status != 200:
            raise RuntimeError(f"offer refused ({r.status}): {ans}")
    await pc.setRemoteDescription(RTCSessionDescription(ans["sdp"], ans["type"]))


def viewer(offer_url: str) -> None:
    """Child process: one aiortc WebRTC viewer that decodes what it receives until stdin EOF."""
    import aiohttp
    from aiortc import RTCPeerConnection

    async def main() -> None:
        pc = RTCPeerConnection()
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="recvonly")
        video: list[float] = []
        audio = [0]
        tasks = []

        async def consume(track: Any) -> None:
            try:
                while True:
                    await track.recv()
                    if track.kind == "video":
                        if not video:
                            print(json.dumps({"first_frame": time.monotonic()}), flush=True)
                        video.append(time.monotonic())
                    else:
                        audio[0] += 1
            except Exception:  # noqa: BLE001 - track ended
                pass

        @pc.on("track")
        def on_track(track: Any) -> None:
            tasks.append(asyncio.ensure_future(consume(track)))

        async with aiohttp.ClientSession() as http:
            await connect_viewer(http, pc, offer_url)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        print(json.dumps({"video": video, "audio_frames": audio[0]}), flush=True)
        await pc.close()
        for t in tasks:
            t.cancel()

    asyncio.run(main())


if __name__ == "__main__":
    # As `streamhost run` does: huge pages for the heap where STREAMHOST_HUGE_PAGES=1 asks, in
    # every engine worker (pipeline.py, streams.py and viewers.py start theirs through this
    # file), so an opted-in run measures what an opted-in engine does.
    heap.reexec_with_huge_pages()
    if len(sys.argv) in (3, 4, 5) and sys.argv[1] == "--_engine-worker":
        engine_worker(*sys.argv[2:3], *map(int, sys.argv[3:]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--_viewer":
        viewer(sys.argv[2])
    else:
        sys.exit(__doc__)
