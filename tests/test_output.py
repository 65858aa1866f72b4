"""Output stage against real peers: MP4 files read back by ffprobe/PyAV, a real nginx-rtmp server,
unreachable and hung RTMP endpoints, and aiortc client peers (direct and via a real aiohttp
server)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from aiohttp import ClientSession, web
from nginx_rtmp import NginxRtmp, free_port
from viewer import Viewer

from streamhost.frames import AVFrame, StreamFormat
from streamhost.output.encoder import OPUS, VIDEO, EncodedPacket, Encoder
from streamhost.output.recorder import Mp4Recorder
from streamhost.output.rtmp import RtmpPusher
from streamhost.output.webrtc import WebRtcHub, _AudioTrack, _VideoTrack, offer_handler

W, H, FPS, SR = 720, 1280, 25, 48000
SPF = SR // FPS


def make_frame(i: int) -> AVFrame:
    """Moving gradient + moving box (video) and a continuous 440 Hz tone (audio)."""
    video = np.full((H * 3 // 2, W), 128, np.uint8)
    video[:H] = ((np.arange(W)[None, :] + 4 * i) % 256).astype(np.uint8)
    y0 = (8 * i) % (H - 100)
    video[y0 : y0 + 100, 100:200] = 235
    t = np.arange(i * SPF, (i + 1) * SPF) / SR
    audio = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    return AVFrame(index=i, pts=i / FPS, video=video, audio=audio)


FRAMES = [make_frame(i) for i in range(50)]  # reused cyclically: building frames costs CPU


def frame(i: int) -> AVFrame:
    f = FRAMES[i % len(FRAMES)]
    return AVFrame(index=i, pts=i / FPS, video=f.video, audio=f.audio)


async def feed_realtime(enc: Encoder, start: int, count: int, on_frame=None) -> int:
    """Submit frames at 25 fps on the loop's clock (like the AV loop does)."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for k in range(count):
        delay = t0 + k / FPS - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        enc.submit(frame(start + k))
        if on_frame is not None:
            on_frame(start + k)
    return start + count


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "stream=codec_type,codec_name,profile,width,height,nb_read_frames,duration",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return {s["codec_type"]: s for s in json.loads(out)["streams"]}


# -- (a) MP4 ------------------------------------------------------------------------------------


def test_mp4_recording_250_frames(tmp_path: Path) -> None:
    path = tmp_path / "out.mp4"
    enc = Encoder(StreamFormat(W, H, FPS, SR))
    enc.add_sink(Mp4Recorder(path))
    enc.start()
    for i in range(250):
        while enc.queue_depth >= 6:  # as fast as the encoder goes, without overflow drops
            time.sleep(0.002)
        enc.submit(frame(i))
    enc.close()
    assert enc.stats.frames_encoded == 250 and enc.stats.frames_dropped == 0
    assert enc.stats.video_packets == 250  # one packet per frame: zerolatency, no B-frames

    if shutil.which("ffprobe"):
        s = ffprobe(path)
        v, a = s["video"], s["audio"]
        assert (v["codec_name"], v["width"], v["height"]) == ("h264", W, H)
        assert "Baseline" in v["profile"]
        assert int(v["nb_read_frames"]) == 250
        assert a["codec_name"] == "aac"
        assert abs(float(a["duration"]) - 10.0) < 0.05
        assert abs(float(a["duration"]) - float(v["duration"])) <= 1 / FPS

    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        decoded = sum(1 for _ in c.decode(vs))
        assert decoded == 250
        assert (vs.codec_context.width, vs.codec_context.height) == (W, H)
    with av.open(str(path)) as c:
        samples = sum(f.samples for f in c.decode(c.streams.audio[0]))
        assert abs(samples / SR - 10.0) < 0.05


def test_encoder_takes_each_picture_during_encode_and_any_memory_layout(tmp_path: Path) -> None:
    """The encoder wraps a frame's own memory (no copy): what it encodes is the picture as it
    was at submit, even when the caller reuses that array for the next frame, and a strided
    view is encoded like the same picture in one block."""
    path = tmp_path / "reuse.mp4"
    enc = Encoder(StreamFormat(W, H, FPS, SR))
    enc.add_sink(Mp4Recorder(path))
    enc.start()
    shared = np.empty((H * 3 // 2, W), np.uint8)
    levels = [40, 200, 90, 160]
    for i, level in enumerate(levels):
        shared.fill(128)
        shared[:H] = level
        enc.submit(AVFrame(index=i, pts=i / FPS, video=shared, audio=np.zeros(SPF, np.int16)))
        while enc.stats.frames_encoded <= i:  # encoded before the array is written again
            time.sleep(0.002)
    wide = np.full((H * 3 // 2, 2 * W), 128, np.uint8)
    wide[:H, ::2] = 220  # the even columns hold the picture: a view with a stride of 2
    enc.submit(AVFrame(index=4, pts=4 / FPS, video=wide[:, ::2], audio=np.zeros(SPF, np.int16)))
    enc.close()
    with av.open(str(path)) as c:
        lumas = [float(f.to_ndarray(format="gray").mean()) for f in c.decode(c.streams.video[0])]
    assert len(lumas) == 5
    full_range = [(y - 16) * 255 / 219 for y in [*levels, 220]]  # gray is full range
    for got, want in zip(lumas, full_range, strict=True):
        assert abs(got - want) < 4, (lumas, want)


def _track_ends(path: Path) -> dict[str, tuple[float, float]]:
    """(start, end) seconds of each track's packets, as muxed (no decode)."""
    out: dict[str, list[float]] = {}
    with av.open(str(path)) as c:
        for pkt in c.demux():
            if pkt.pts is None:
                continue
            tb = pkt.time_base
            a, b = float(pkt.pts * tb), float((pkt.pts + pkt.duration) * tb)
            lo, hi = out.setdefault(pkt.stream.type, [a, b])
            out[pkt.stream.type] = [min(lo, a), max(hi, b)]
    return {k: (v[0], v[1]) for k, v in out.items()}


def test_segments_rotate_with_both_tracks_whole(tmp_path: Path) -> None:
    """Every segment starts its tracks at 0 and ends them together: the audio up to a rotating
    keyframe reaches the segment that keyframe closes (the AAC encoder hands it over after
    the keyframe: 3 AAC frames, 61 ms, used to be lost at every rotation), and across the
    segments no audio is missing."""
    enc = Encoder(StreamFormat(320, 240, FPS, SR), video_bitrate=300_000)
    rec = Mp4Recorder(tmp_path / "rec.mp4", fragmented=True, segment_s=2)
    enc.add_sink(rec)
    enc.start()
    n = int(6.4 * FPS)
    for i in range(n):
        while enc.queue_depth >= 6:
            time.sleep(0.002)
        small = make_frame(i % 50)
        video = np.full((240 * 3 // 2, 320), 128, np.uint8)
        video[:240] = small.video[:240, :320]
        enc.submit(AVFrame(index=i, pts=i / FPS, video=video, audio=small.audio))
    enc.close()
    assert len(rec.segments) == 4
    aac = 1024 / SR
    total = 0.0
    for k, seg in enumerate(rec.segments):
        ends = _track_ends(seg)
        (v0, v1), (a0, a1) = ends["video"], ends["audio"]
        assert v0 == 0 and -aac - 1e-6 <= a0 <= aac, (seg.name, ends)
        if k < 3:
            assert v1 == 2.0, (seg.name, ends)
            assert abs(a1 - v1) <= aac + 1e-6, (seg.name, ends)  # was 61 ms short
        with av.open(str(seg)) as c:
            total += sum(f.samples for f in c.decode(c.streams.audio[0])) / SR
    # all the audio fed, give or take the encoder's priming and last padded frame per segment
    assert abs(total - n / FPS) <= 4 * 2 * aac, total


# -- overflow policies of the bounded queues --------------------------------------------------


def test_encoder_drops_the_oldest_frame_when_full() -> None:
    enc = Encoder(
        StreamFormat(W, H, FPS, SR), queue_frames=3
    )  # not started: nothing drains the queue
    assert [enc.submit(frame(i)) for i in range(5)] == [True, True, True, False, False]
    assert enc.stats.frames_dropped == 2 and enc.queue_depth == 3
    seen: list[int] = []

    class Sink:
        kinds = frozenset({VIDEO})

        def attach(self, info, encoder) -> None:
            pass

        def on_packet(self, packet: EncodedPacket) -> None:
            seen.append(packet.pts)

        def finish(self) -> None:
            pass

    enc.add_sink(Sink())
    enc.start()
    enc.close()
    assert seen == [2, 3, 4]  # the newest frames were kept, at their own timestamps


def _packet(kind: str, pts: int, keyframe: bool = False) -> EncodedPacket:
    return EncodedPacket(kind, b"\x00\x00\x00\x01\x65", pts, pts, 1, Fraction(1, FPS), keyframe)


def test_rtmp_pusher_drops_the_oldest_packet_then_waits_for_a_keyframe() -> None:
    pusher = RtmpPusher("rtmp://127.0.0.1:1/live/x", queue_packets=3)  # not attached: no thread
    for i in range(5):
        pusher.on_packet(_packet(VIDEO, i, keyframe=i == 0))
    assert pusher.packets_dropped == 2
    assert [p.pts for p in pusher._queue] == [2, 3, 4] and pusher._need_key


class _Hub:
    keyframes = 0

    def _request_keyframe(self) -> None:
        self.keyframes += 1


class _StubViewer:
    def __init__(self) -> None:
        self.hub = _Hub()


async def test_webrtc_video_track_drops_the_queued_gop_and_waits_for_a_keyframe() -> None:
    viewer = _StubViewer()
    track = _VideoTrack(viewer, maxsize=4, extradata=b"")  # type: ignore[arg-type]
    track.started = True
    track.push(_packet(VIDEO, 0))  # nothing decodes before an IDR
    assert track.dropped == 1 and track._queue.empty()
    for i in range(1, 5):
        track.push(_packet(VIDEO, i, keyframe=i == 1))
    assert track._queue.full()
    track.push(_packet(VIDEO, 5))  # full: the whole queued GOP goes, and this P-frame
    assert track.dropped == 1 + 4 + 1 and track._queue.empty()
    assert viewer.hub.keyframes == 1
    track.push(_packet(VIDEO, 6))
    assert track.dropped == 7 and track._queue.empty()
    track.push(_packet(VIDEO, 7, keyframe=True))
    assert track._queue.qsize() == 1 and track.dropped == 7


async def test_webrtc_audio_track_drops_the_oldest_packet() -> None:
    track = _AudioTrack(_StubViewer(), maxsize=3)  # type: ignore[arg-type]
    track.push(_packet(OPUS, 0))  # before the transport is up: old audio would add latency
    assert track._queue.empty() and track.dropped == 0
    track.started = True
    for i in range(1, 6):
        track.push(_packet(OPUS, i))
    assert track.dropped == 2
    assert [track._queue.get_nowait().pts for _ in range(3)] == [3, 4, 5]


# -- (b) RTMP to nginx --------------------------------------------------------------------------


async def test_rtmp_push_to_nginx() -> None:
    with NginxRtmp() as srv:
        enc = Encoder(StreamFormat(W, H, FPS, SR))
        pusher = RtmpPusher(srv.url())
        enc.add_sink(pusher)
        enc.start()
        got: dict[str, list[float]] = {"video": [], "audio": []}
        codecs: dict[str, str] = {}

        def read() -> None:
            with av.open(srv.url(), options={"rw_timeout": "3000000"}, timeout=10) as c:
                for s in c.streams:
                    codecs[s.type] = s.codec_context.name
                try:
                    for p in c.demux():
                        if p.dts is not None and p.stream.type in got:
                            got[p.stream.type].append(float(p.pts * p.time_base))
                except (av.error.EOFError, OSError):
                    pass  # rw_timeout after the publisher left: nginx never closes players

        pushed = [-1]
        feeder = asyncio.create_task(
            feed_realtime(enc, 0, 4 * FPS + 15, lambda i: pushed.__setitem__(0, i))
        )
        while pusher.state != "live":
            assert not feeder.done(), f"never went live: {pusher.stats()}"
            await asyncio.sleep(0.02)
        reader = asyncio.create_task(asyncio.to_thread(read))
        # joined = nginx has registered the player; then ask for an IDR, as a real ingest's
        # GOP cache (or a new WebRTC viewer) would get one
        while not re.search(r"\bplay\b", srv.error_log()):
            await asyncio.sleep(0.01)
        join_index = pushed[0] + 1
        enc.request_keyframe()
        await feeder
        await asyncio.to_thread(enc.close)
        await asyncio.wait_for(reader, 15)

        assert codecs == {"video": "h264", "audio": "aac"}
        expected = pushed[0] - join_index + 1
        # FLV timestamps are ms and shifted by the AAC priming delay: compare within 1/2 frame
        received = sum(1 for t in got["video"] if t >= join_index / FPS - 0.5 / FPS)
        assert expected >= 3 * FPS
        assert received >= 0.95 * expected, (received, expected, pusher.stats())
        assert len(got["audio"]) >= 0.95 * expected * SPF / 1024
        assert pusher.state == "closed" and pusher.reconnects == 0
        assert pusher.packets_sent > 0 and pusher.bytes_sent > 100_000


# -- (c) unreachable / hung RTMP ----------------------------------------------------------------


async def test_rtmp_dead_and_hung_servers_do_not_block() -> None:
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)  # the kernel completes TCP handshakes; nobody ever reads or answers
    accepted: list[socket.socket] = []

    def accept_forever() -> None:
        try:
            while True:
                accepted.append(hung.accept()[0])
        except OSError:
            pass

    threading.Thread(target=accept_forever, daemon=True).start()
    dead_url = f"rtmp://127.0.0.1:{free_port()}/live/x"
    hung_url = f"rtmp://127.0.0.1:{hung.getsockname()[1]}/live/x"

    enc = Encoder(StreamFormat(W, H, FPS, SR))
    dead = RtmpPusher(dead_url, connect_timeout=1.0, backoff_initial=0.2)
    stuck = RtmpPusher(hung_url, connect_timeout=1.0, backoff_initial=0.2)
    enc.add_sink(dead)
    enc.add_sink(stuck)
    enc.start()

    worst = 0.0
    stop = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal worst
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = loop.time()
            worst = max(worst, now - last)
            last = now

    hb = asyncio.create_task(heartbeat())
    try:
        n = await feed_realtime(enc, 0, 3 * FPS)
        await asyncio.sleep(0.3)
        assert enc.stats.frames_encoded == n and enc.stats.frames_dropped == 0
        for p in (dead, stuck):
            assert p.state in ("connecting", "reconnecting"), p.stats()
            assert p.reconnects >= 1, p.stats()
            assert p.packets_sent == 0
        assert "timeout" in stuck.last_error or stuck.reconnects >= 1
        assert accepted, "the hung server never saw a connection"
        t = time.monotonic()
        await asyncio.to_thread(enc.close)
        assert time.monotonic() - t < 12
        assert dead.state == stuck.state == "closed"
    finally:
        stop.set()
        await hb
        hung.close()
        for s in accepted:
            s.close()
    # A hung connect that held the loop (or the GIL) would stall it for seconds (the connect
    # timeout); 250 ms leaves room for scheduling noise on a loaded 2-core CI machine.
    assert worst <= 0.25, f"event loop blocked for {worst * 1000:.0f} ms"


# -- (d) WebRTC ---------------------------------------------------------------------------------


async def test_webrtc_viewers_share_one_encode() -> None:
    enc = Encoder(StreamFormat(W, H, FPS, SR))
    hub = WebRtcHub(enc)
    enc.start()
    app = web.Application()
    app.router.add_post("/offer", offer_handler(hub))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    total = 8 * FPS
    feeder = asyncio.create_task(feed_realtime(enc, 0, total))
    c1, c2 = Viewer(), Viewer()
    try:
        await asyncio.sleep(0.5)
        await c1.answer(await hub.handle_offer(**(await c1.offer())))
        assert hub.viewer_count == 1
        await asyncio.sleep(1.5)
        assert c1.video, "first viewer decoded nothing"
        forced_before = enc.stats.keyframes_forced
        requests_before = hub.keyframe_requests

        async with ClientSession() as http:
            await c2.connect(http, f"http://127.0.0.1:{port}/offer")
            async with http.post(f"http://127.0.0.1:{port}/offer", json={"nope": 1}) as r:
                assert r.status == 400
        assert hub.viewer_count == 2
        await asyncio.sleep(1.0)
        assert c2.video, "second viewer decoded nothing"
        assert hub.keyframe_requests > requests_before
        assert enc.stats.keyframes_forced > forced_before
        steady = asyncio.get_running_loop().time()
        await asyncio.sleep(2.5)

        # The second viewer's handshake (DTLS in this same process, beside both clients) may
        # delay the first viewer's audio a little, never for a second.
        assert c1.max_audio_gap() < 1.0, c1.max_audio_gap()
        for c in (c1, c2):
            frames, audio_s = c.window(c.video[0][0], 3.0)  # from the first decoded frame
            gap = c.max_audio_gap(since=steady)
            assert frames >= 20 * 3, (frames, hub.stats())
            assert {(w, h) for _, w, h in c.video} == {(W, H)}
            # Continuous audio once both are on: nearly all of the window, no hole longer than
            # a few packets (loaded 2-core CI machines add jitter).
            assert audio_s >= 2.7 and gap < 0.4, (audio_s, gap)
        await feeder
        await asyncio.sleep(0.2)
        # encode once: one encode per frame and one video packet per frame, whatever the viewers.
        # Two in-process 720p decoders can starve the encoder of a loaded 2-core machine past
        # its 320 ms queue (2 of 200 frames dropped once in CI beside a soak): a dropped frame
        # is counted and never encoded, so encoded + dropped is still every frame once.
        st = enc.stats
        assert st.frames_encoded + st.frames_dropped == total, st
        assert st.frames_dropped <= FPS // 5, st  # a hiccup, not an encoder that cannot keep up
        assert st.video_packets == st.frames_encoded, st
    finally:
        feeder.cancel()
        await c1.close()
        await c2.close()
        await hub.close()
        await asyncio.to_thread(enc.close)
        await runner.cleanup()
    assert hub.viewer_count == 0


# -- (e) implicit AIGC label (GB 45438-2025) in the MP4 and in RTMP onMetaData ---------------


def _format_tags(url_or_path: str, *extra: str) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", *extra, "-show_entries", "format_tags", "-of", "json",
         url_or_path],
        capture_output=True, text=True, timeout=30,
    ).stdout  # fmt: skip
    return json.loads(out or "{}").get("format", {}).get("tags", {})


def test_mp4_carries_the_aigc_label(tmp_path: Path) -> None:
    from streamhost.output.provenance import Provenance

    if not shutil.which("ffprobe"):
        return
    prov = Provenance("shop", "s1", producer="Example Shop Ltd")
    enc = Encoder(StreamFormat(W, H, FPS, SR))
    rec = Mp4Recorder(tmp_path / "l.mp4", fragmented=True, provenance=prov)
    enc.add_sink(rec)
    enc.start()
    for i in range(30):
        enc.submit(frame(i))
        time.sleep(0.005)
    enc.close()
    aigc = json.loads(_format_tags(str(rec.segments[0]))["AIGC"])
    assert aigc["Label"] == "1" and aigc["ContentProducer"] == "Example Shop Ltd"
    assert aigc["ProduceID"] == "shop:s1"
    assert set(aigc) == {"Label", "ContentProducer", "ProduceID", "ReservedCode1",
                         "ContentPropagator", "PropagateID", "ReservedCode2"}  # fmt: skip


async def test_rtmp_onmetadata_carries_the_aigc_label(monkeypatch) -> None:
    import nginx_rtmp

    from streamhost.output.provenance import Provenance

    # nginx-rtmp's default (meta on) rebuilds onMetaData from its own fields for players;
    # "meta copy" relays the publisher's block, as an ingest that keeps labels must
    monkeypatch.setattr(nginx_rtmp, "CONFIG", nginx_rtmp.CONFIG.replace(
        "live on;", "live on;\n            meta copy;"))  # fmt: skip
    with nginx_rtmp.NginxRtmp() as srv:
        enc = Encoder(StreamFormat(W, H, FPS, SR))
        pusher = RtmpPusher(srv.url(), provenance=Provenance("shop", "s2"))
        enc.add_sink(pusher)
        enc.start()
        feeder = asyncio.create_task(feed_realtime(enc, 0, 5 * FPS))
        while pusher.state != "live":
            assert not feeder.done(), pusher.stats()
            await asyncio.sleep(0.02)
        tags = await asyncio.to_thread(_format_tags, srv.url(), "-rw_timeout", "3000000")
        await feeder
        await asyncio.to_thread(enc.close)
    aigc = json.loads(tags["AIGC"])
    assert (aigc["Label"], aigc["ProduceID"]) == ("1", "shop:s2")
    assert "AI-generated" in tags["comment"]


def test_nvenc_asked_for_without_a_gpu_falls_back_to_x264_and_says_why() -> None:
    """output.video_encoder = "nvenc" where NVENC cannot open (no NVIDIA driver here, or a GPU
    without an NVENC unit): the stream encodes with x264, decodable, and says why."""
    from streamhost.output.codecs import nvenc_problem

    fmt = StreamFormat(320, 240, 25, 48000)
    problem = nvenc_problem(fmt)
    if problem is None:  # a machine whose GPU has NVENC: the GPU encoder is used
        enc = Encoder(fmt, video_encoder="nvenc")
        assert enc.info.video_codec == "h264_nvenc" and enc.info.video_note == ""
        enc.close()
        return
    assert "nvenc" in problem
    enc = Encoder(fmt, video_encoder="nvenc")
    assert enc.info.video_codec == "libx264"
    assert enc.info.video_note.startswith("nvenc asked for, x264 used: ")
    got: list = []

    class Collect:
        kinds = frozenset({VIDEO})

        def attach(self, info, encoder) -> None:  # type: ignore[no-untyped-def]
            pass

        def on_packet(self, p) -> None:  # type: ignore[no-untyped-def]
            got.append(p)

        def finish(self) -> None:
            pass

    enc.add_sink(Collect())
    enc.start()
    for i in range(10):
        while enc.queue_depth > 2:
            time.sleep(0.001)
        video = np.full((240 * 3 // 2, 320), 16 + i, np.uint8)
        enc.submit(AVFrame(i, i / 25, video, np.zeros(48000 // 25, np.int16)))
    enc.close()
    assert enc.stats.frames_dropped == 0
    assert len(got) == 10 and got[0].keyframe  # x264 encoded every frame
    assert Encoder(fmt).info.video_codec == "libx264"  # the default never tries the GPU
