"""Receive-side helpers for the glass-to-glass benchmarks (latency.py, control_latency.py).

An engine child process (bench tag on, RTMP out to a private nginx-rtmp), and in this process:
a WebRTC viewer (aiortc, via /offer), an RTMP reader (PyAV, thread), a /chat sender and a
/control client. Every received video frame is stamped with this process's monotonic clock and
the bench tag it carries (``streamhost.avatar.tag``); every audio frame with its RMS. The sender
stamps the same clock, so chat -> frame times need no clock agreement with the engine.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from streamhost.avatar.tag import (  # noqa: E402
    HEIGHT,
    IDLE,
    TAG_X,
    TAG_Y,
    WIDTH,
    read_tag,
    tag_value,
)

TOKEN = "bench-token"
SILENCE_RMS = 300.0  # int16 RMS; espeak speech is in the thousands, silence encodes to ~0
SPEECH_RMS = 800.0


@functools.cache
def _test_helper(name: str) -> Any:
    """``tests/<name>.py``, loaded by path: the benchmarks run as scripts, not as a package."""
    spec = importlib.util.spec_from_file_location(f"_{name}", REPO / "tests" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def free_port() -> int:
    return int(_test_helper("nginx_rtmp").free_port())


# ---- timelines --------------------------------------------------------------------------------


@dataclass
class Timeline:
    """What one transport delivered: (arrival, tag) per video frame, (arrival, rms) per audio
    frame. Appended from a receiver task or thread; read by the analysis below."""

    name: str
    video: list[tuple[float, int | None]] = field(default_factory=list)
    audio: list[tuple[float, float]] = field(default_factory=list)

    def last_tag(self) -> int | None:
        return self.video[-1][1] if self.video else None

    def first_tag(self, value: int, after: float) -> float | None:
        for t, v in self.video:
            if t >= after and v == value:
                return t
        return None

    def first_tag_not(self, values: set[int | None], after: float) -> float | None:
        for t, v in self.video:
            if t >= after and v not in values and v is not None:
                return t
        return None

    def tags_between(self, a: float, b: float) -> list[tuple[float, int | None]]:
        return [(t, v) for t, v in self.video if a <= t < b]

    def audio_onset(self, after: float) -> float | None:
        for t, rms in self.audio:
            if t >= after and rms >= SPEECH_RMS:
                return t
        return None

    def silence(self, after: float, hold_s: float = 0.3) -> float | None:
        """Arrival of the first audio frame after ``after`` that starts at least ``hold_s`` of
        silence (gaps between words are shorter)."""
        start: float | None = None
        for t, rms in self.audio:
            if t < after:
                continue
            if rms < SILENCE_RMS:
                if start is None:
                    start = t
                elif t - start >= hold_s:
                    return start
            else:
                start = None
        return None


def _tag_of_luma(y: np.ndarray) -> int | None:
    return read_tag(y[: TAG_Y + HEIGHT, : TAG_X + WIDTH])


def _luma(frame: Any) -> np.ndarray:
    """The top-left corner of a PyAV VideoFrame's Y plane (no full-frame conversion)."""
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        frame = frame.reformat(format="yuv420p")
    plane = frame.planes[0]
    rows = TAG_Y + HEIGHT
    buf = np.frombuffer(plane, np.uint8)
    return buf[: rows * plane.line_size].reshape(rows, plane.line_size)


def _rms(frame: Any) -> float:
    a = frame.to_ndarray()
    if a.dtype != np.int16:
        a = (np.clip(a, -1.0, 1.0) * 32767).astype(np.int16)
    a = a.astype(np.float32)
    return float(np.sqrt(np.mean(a * a))) if a.size else 0.0


# ---- receivers ----------------------------------------------------------------------------------


# (kind, RTP timestamp) -> monotonic arrival of that frame's newest packet.
_WIRE: dict[tuple[str, int], float] = {}


def _stamp_on_arrival() -> None:
    """Stamp each RTP packet as it arrives, before aiortc's jitter buffers.

    The targets are "on the wire". aiortc's receiver holds a video frame until the first
    packet of the next one arrives (+1 frame, 40 ms) and audio until 4 more packets are in
    (+80 ms) - that client's playout policy, not the engine's latency. A decoded frame's pts is
    its RTP timestamp, so the viewer dates it by its last packet's arrival instead.
    """
    import aiortc.rtcrtpreceiver as rx

    cls = rx.RTCRtpReceiver
    if getattr(cls, "_wire_stamped", False):
        return
    original = cls._handle_rtp_packet

    async def handle(self: Any, packet: Any, arrival_time_ms: int) -> None:
        kind = getattr(self.track, "kind", "")
        _WIRE[(kind, packet.timestamp)] = time.monotonic()
        if len(_WIRE) > 20000:  # frames never decoded (lost, or the track ended)
            for key in list(_WIRE)[:10000]:
                _WIRE.pop(key, None)
        await original(self, packet, arrival_time_ms)

    cls._handle_rtp_packet = handle
    cls._wire_stamped = True


class WebRtcReceiver:
    """An aiortc viewer (``tests/viewer.py``): POST /offer, then decode every frame it receives
    into ``timeline``, dated by when its packets arrived (see ``_stamp_on_arrival``)."""

    def __init__(self, offer_url: str) -> None:
        self.offer_url = offer_url
        self.timeline = Timeline("webrtc")
        self._viewer: Any = None

    async def start(self) -> None:
        import aiohttp

        _stamp_on_arrival()
        self._viewer = _test_helper("viewer").Viewer(on_frame=self._on_frame)
        async with aiohttp.ClientSession() as http:
            await self._viewer.connect(http, self.offer_url)

    def _on_frame(self, track: Any, frame: Any) -> None:
        t = self._wire_time(track, frame.pts)
        if track.kind == "video":
            self.timeline.video.append((t, _tag_of_luma(_luma(frame))))
        else:
            self.timeline.audio.append((t, _rms(frame)))

    def _wire_time(self, track: Any, pts: int | None) -> float:
        """When the frame's last packet arrived; now, if that is not known."""
        rx = next((r for r in self._viewer.pc.getReceivers() if r.track is track), None)
        # aiortc dates decoded frames from its first one (TimestampMapper): undo that.
        mapper = getattr(rx, "_RTCRtpReceiver__timestamp_mapper", None)
        origin = getattr(mapper, "_origin", None)
        if pts is None or origin is None:
            return time.monotonic()
        return _WIRE.pop((track.kind, (pts + origin) % (1 << 32)), None) or time.monotonic()

    async def close(self) -> None:
        if self._viewer is not None:
            await self._viewer.close()


class RtmpReceiver:
    """A PyAV RTMP player (low-delay options) on a thread, decoding into ``timeline``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.timeline = Timeline("rtmp")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtmp-reader", daemon=True)
        self.error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        import av

        opts = {
            "fflags": "nobuffer",
            "flags": "low_delay",
            "probesize": "32768",
            "analyzeduration": "0",
            "rw_timeout": "5000000",  # nginx-rtmp keeps players open after the publisher left
        }
        try:
            with av.open(self.url, options=opts, timeout=10) as c:
                streams = [s for s in c.streams if s.type in ("video", "audio")]
                for pkt in c.demux(*streams):
                    if self._stop.is_set():
                        break
                    for frame in pkt.decode():
                        t = time.monotonic()
                        if pkt.stream.type == "video":
                            self.timeline.video.append((t, _tag_of_luma(_luma(frame))))
                        else:
                            self.timeline.audio.append((t, _rms(frame)))
        except Exception as e:  # noqa: BLE001 - reported in the results, never hangs the run
            if not self._stop.is_set():
                self.error = repr(e)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(8)


# ---- engine and clients ------------------------------------------------------------------------


class EngineProcess:
    """``streamhost run --bench`` in a child process with RTMP out to a private nginx-rtmp."""

    def __init__(self, talk: dict[str, Any] | None = None) -> None:
        self.talk = {"show": "", "segment_pause_s": 60.0, **(talk or {})}
        self.nginx: Any = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = free_port()
        self._tmp = tempfile.TemporaryDirectory(prefix="streamhost-latency-")
        self.rtmp_url = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> EngineProcess:
        self.nginx = _test_helper("nginx_rtmp").NginxRtmp().start()
        self.rtmp_url = self.nginx.url("live", "bench")
        tmp = Path(self._tmp.name)
        lines = ["[talk]", f'catalog = "{REPO / "assets/catalog/demo.json"}"']
        for k, v in self.talk.items():
            lines.append(f"{k} = {json.dumps(v)}")
        lines += [
            "[chat]",
            f'blocklists = "{REPO / "assets/moderation"}"',
            "per_user_burst = 1000",
            "dedupe_window_s = 0",
            "[avatar]",
            f'pack = "{REPO / "assets/avatar/default"}"',
            "[store]",
            f'data_dir = "{tmp / "data"}"',
        ]
        cfg = tmp / "bench.toml"
        cfg.write_text("\n".join(lines) + "\n")
        env = {**os.environ, "STREAMHOST_CONTROL_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
        env.pop("STREAMHOST_DATA_DIR", None)
        cmd = [
            sys.executable, "-m", "streamhost.cli", "run", "--config", str(cfg), "--bench",
            "--rtmp", self.rtmp_url, "--http", f"127.0.0.1:{self.port}",
        ]  # fmt: skip
        self.log = open(tmp / "engine.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"engine exited: {(tmp / 'engine.log').read_text()[-2000:]}")
            try:
                h = self.healthz()
                if h["rtmp_live"] == 1:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("engine did not go live on RTMP in time")
            time.sleep(0.2)

    def healthz(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.base + "/healthz", timeout=5) as r:
            return json.loads(r.read())["streams"][0]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.nginx is not None:
            self.nginx.stop()
        if getattr(self, "log", None) is not None:
            self.log.close()
        self._tmp.cleanup()


class Clients:
    """A /chat WebSocket and an authenticated /control WebSocket (replies matched by id).

    Both sockets are read continuously by background tasks: the server sends heartbeat pings
    every 30 s and closes a connection whose client never reads (aiohttp answers pings only
    while reading)."""

    def __init__(self, base: str) -> None:
        self.base = base.replace("http://", "ws://")
        self._n = 0
        self._chat_replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        # bench tag value -> transcript source ("script", "answer", ...) of committed lines
        self.sources: dict[int, str] = {}

    async def open(self) -> None:
        import aiohttp

        self.http = aiohttp.ClientSession()
        self.chat = await self.http.ws_connect(self.base + "/chat")
        self.control = await self.http.ws_connect(
            self.base + "/control", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        self._tasks = [
            asyncio.ensure_future(self._read_chat()),
            asyncio.ensure_future(self._read_control()),
        ]
        await self.command("subscribe", topics=["transcript"])

    async def _read_chat(self) -> None:
        async for msg in self.chat:
            self._chat_replies.put_nowait(json.loads(msg.data))

    async def _read_control(self) -> None:
        async for msg in self.control:
            obj = json.loads(msg.data)
            if obj.get("topic") == "transcript" and obj.get("phase") == "committed":
                self.sources[tag_value(obj.get("trace_id"))] = str(obj.get("source"))
                continue
            fut = self._pending.pop(obj.get("id"), None) if "id" in obj else None
            if fut is not None and not fut.done():
                fut.set_result(obj)

    async def send_chat(self, user: str, text: str) -> tuple[float, dict[str, Any]]:
        """(monotonic send time, the ingest reply with the chat event's trace_id)."""
        t = time.monotonic()
        await self.chat.send_json({"user": user, "text": text})
        return t, await asyncio.wait_for(self._chat_replies.get(), 10)

    async def command(self, type_: str, **args: Any) -> tuple[float, dict[str, Any]]:
        self._n += 1
        fut = self._pending[self._n] = asyncio.get_running_loop().create_future()
        t = time.monotonic()
        await self.control.send_json({"id": self._n, "type": type_, **args})
        msg = await asyncio.wait_for(fut, 10)
        if not msg.get("ok"):
            raise RuntimeError(f"{type_} failed: {msg}")
        return t, msg

    async def close(self) -> None:
        await self.chat.close()
        await self.control.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.close()


async def wait_for(pred: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


def ms(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else (b - a) * 1000.0


__all__ = [
    "IDLE",
    "Clients",
    "EngineProcess",
    "RtmpReceiver",
    "Timeline",
    "WebRtcReceiver",
    "ms",
    "wait_for",
]
