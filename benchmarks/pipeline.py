"""What does each stage of one default stream cost, and what share of a core does one stream use?

Part 1 (stages, each measured in isolation on realistic inputs): real espeak sentences go through
the SpeechPlayer/FaceDriver exactly as in the engine (audio per frame, face params per frame);
those params are rendered by the default ONNX puppet, composited to I420 at the default canvas
(720x1280 @ 25 fps), encoded by the project's Encoder (H.264 + AAC + Opus), muxed (FLV for RTMP,
MP4 for the recorder, NUT for the RTMP pusher's pipe) and packetized for one WebRTC viewer.
Figures are CPU ms per AV frame (40 ms of media): mean as ``<stage>_ms_per_frame`` and median as
``<stage>_p50_ms``. CPU time (``time.thread_time`` / the encoder thread's CPU clock) is used
throughout rather than wall time, so other work on a shared machine inflates the figures less.

Part 2: the real Engine (default config, real clock) in a child process with RTMP out to a
private nginx-rtmp on 127.0.0.1. CPU time (user+sys) of the engine process and its descendants
(the RTMP child) over a steady-state window after warm-up, divided by wall time, and the same
split by thread: first with no viewer (``stream_core_fraction``, ``stream_thread_*``: the
configuration and engine worker of streams.py, so the two must agree), then with one aiortc
WebRTC viewer in a separate process, its decoding not counted
(``stream_core_fraction_one_viewer``, ``one_viewer_thread_*``).

    python benchmarks/pipeline.py [--json PATH] [--seconds N] [--frames N] [--quick]
                                  [--render-ahead K]
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import (  # noqa: E402
    REPO,
    Results,
    arg_parser,
    core_fraction,
    machine_info,
    mean,
    percentile,
    proc_cpu_seconds,
    reap,
    report,
    sample_tree,
    thread_cpu_clock,
    thread_cpu_seconds,
)

from streamhost import heap  # noqa: E402

NAME = "pipeline"

# Real presenter lines (what the template generator says about the demo catalog, roughly).
SENTENCES = [
    "Welcome back to the live shop, I am so glad you are here with us tonight.",
    "Let me show you the electric kettle, it boils a full litre in under three minutes.",
    "The body is brushed steel, so it stays cool to the touch while the water heats.",
    "If you have a question about the price or the size, just type it into the chat.",
    "Right now it comes with free shipping and a two year warranty.",
    "Next up is the bamboo cutting board, and honestly it is one of my favourites.",
    "It is double sided, with a juice groove that keeps your counter clean.",
    "Thank you for joining, and do not forget to follow the stream for tomorrow's deals.",
]


def _ms(seconds: float) -> float:
    return seconds * 1000.0


# -- part 1: stages -----------------------------------------------------------------------------


def measure_tts(res: Results, cfg: Any, sentences: list[str]) -> tuple[Any, list[Any]]:
    """The configured voice's synthesis CPU per second of speech (one sentence at a time, like
    the director)."""
    from streamhost.frames import Sentence
    from streamhost.voice.registry import build_voice

    tts = build_voice(cfg.voice, cfg.stream.sample_rate, cfg.stream.language)
    tts.synthesize(Sentence("Warm up.", "script"))  # loads the library and the voice
    speeches, per_s, cpu_total, audio_total = [], [], 0.0, 0.0
    for _ in range(2):  # each sentence twice: more samples, same content
        for text in sentences:
            c0 = time.thread_time()
            sp = tts.synthesize(Sentence(text, "script", lang=cfg.stream.language))
            cpu = time.thread_time() - c0
            if len(speeches) < len(sentences):
                speeches.append(sp)
            per_s.append(_ms(cpu) / sp.duration)
            cpu_total += cpu
            audio_total += sp.duration
    ms_per_s = _ms(cpu_total) / audio_total
    res.add("tts_ms_per_speech_second", ms_per_s, "ms/s", 3)
    res.add("tts_p50_ms_per_speech_second", percentile(per_s, 50), "ms/s", 3)
    res.add("tts_ms_per_frame", ms_per_s / cfg.stream.fps, "ms", 4)
    return tts, speeches


def drive(
    cfg: Any, voice: Any, speeches: list[Any], n_frames: int
) -> tuple[list[Any], list[Any], list[float]]:
    """The engine's per-frame inputs: SpeechPlayer.pull (audio) + FaceDriver.params_at (face),
    with the sentences queued back to back (sentence gap as in the config). Returns per-frame
    params, audio and the driver's CPU ms per frame."""
    from streamhost.avatar.driver import FaceDriver
    from streamhost.frames import StreamFormat
    from streamhost.player import SpeechPlayer

    fps = cfg.stream.fps
    driver = FaceDriver(fps=fps, seed=cfg.talk.seed)
    player = SpeechPlayer(StreamFormat(sample_rate=cfg.stream.sample_rate, fps=fps), driver)
    tracks = [voice.visemes(sp) for sp in speeches]
    params, audio, cpu_ms = [], [], []
    k = 0
    for i in range(n_frames):
        t = i / fps
        while player.buffered_s() < cfg.talk.lead_s:  # what the director's low-buffer tick does
            j = k % len(speeches)
            gap = cfg.talk.segment_pause_s if j == 0 and k else cfg.talk.sentence_gap_s
            player.enqueue(speeches[j], tracks[j], gap_s=gap)
            k += 1
        pcm, _ = player.pull(t)
        c0 = time.thread_time()
        p = driver.params_at(t)
        cpu_ms.append(_ms(time.thread_time() - c0))
        params.append(p)
        audio.append(pcm)
    return params, audio, cpu_ms


def measure_render_compose(
    res: Results, cfg: Any, params: list[Any]
) -> tuple[list[Any], list[Any], Any]:
    """ONNX puppet (batch 1, 1 thread) and Compositor.compose -> I420, the compositor built as
    the engine builds it (the default host's figure: body, collar and per-frame arms posed by
    each frame's parameters, in the configured look and framing)."""
    import numpy as np

    from streamhost.avatar.compositor import Compositor
    from streamhost.avatar.figure import studio_figure
    from streamhost.avatar.pack import load_pack
    from streamhost.avatar.runner import OnnxRenderer
    from streamhost.avatar.studio import PanelInfo
    from streamhost.talk.catalog import load_catalog

    s, a = cfg.stream, cfg.avatar
    pack = load_pack(a.pack)
    renderer = OnnxRenderer(pack.model, providers=list(a.providers), threads=1)
    renderer.warmup()
    cat = load_catalog(cfg.talk.catalog)
    # as streamhost/engine.py builds it
    comp = Compositor(
        cfg.format, tile_xy=pack.tile_xy(s.width, s.height),
        label=a.label, label_corner=a.label_corner, figure=studio_figure(pack, a, cfg.format),
        title=s.title or cat.shop(s.language) or "LIVE SHOP",
    )  # fmt: skip
    # a product on the panel, as on air (the engine sets one when the show starts)
    pid = cat.ids[0]
    prod = cat.get(pid)
    feats, _ = prod.features_in(s.language)
    info = PanelInfo(stock=prod.stock, image=cat.images.get(pid, ""))
    comp.set_product(prod.name(s.language), prod.price_display(s.language), feats[:3], info)
    # The frames are kept for the encode stage, copied (outside the timed region) into one
    # preallocated, pre-faulted block. Keeping compose()'s own output arrays alive instead would
    # make every compose() fault in fresh pages for its 1.4 MB output -- a cost the engine,
    # which frees each frame after encoding, does not pay in steady state.
    n = len(params)
    frames = np.empty((n, s.height * 3 // 2, s.width), dtype=np.uint8)
    frames.fill(0)
    tiles, r_ms, c_ms, r_wall = [], [], [], []
    keep_tiles = 60
    proc, thr = 0.0, 0.0
    for i, p in enumerate(params):
        p0 = time.process_time()
        w0, c0 = time.perf_counter(), time.thread_time()
        rgba = renderer.render(p[None, :])[0]
        c1, w1 = time.thread_time(), time.perf_counter()
        frame = comp.compose(rgba, premultiplied=pack.premultiplied, params=p)
        c2 = time.thread_time()
        proc += time.process_time() - p0
        thr += c2 - c0
        r_ms.append(_ms(c1 - c0))
        r_wall.append(_ms(w1 - w0))
        c_ms.append(_ms(c2 - c1))
        frames[i] = frame
        del frame
        if i < keep_tiles:
            tiles.append(rgba.copy())
    res.add_stage("render", r_ms)
    res.add("render_wall_p50_ms", percentile(r_wall, 50), "ms", 4)
    res.add_stage("compose", c_ms)
    # The same work paced at the frame rate (sleeping until the next 40 ms tick, as the AV loop
    # does): caches go cold between frames and the CPU time per frame rises accordingly.
    pr_ms, pc_ms = [], []
    period = 1.0 / s.fps
    next_t = time.perf_counter()
    for p in params[: max(25, min(len(params), 100))]:
        next_t += period
        c0 = time.thread_time()
        rgba = renderer.render(p[None, :])[0]
        c1 = time.thread_time()
        comp.compose(rgba, premultiplied=pack.premultiplied, params=p)
        c2 = time.thread_time()
        pr_ms.append(_ms(c1 - c0))
        pc_ms.append(_ms(c2 - c1))
        time.sleep(max(0.0, next_t - time.perf_counter()))
    res.add_stage("render_paced", pr_ms)
    res.add_stage("compose_paced", pc_ms)
    # ORT with intra_op_num_threads=1 and numpy's BLAS should run in the calling thread only:
    # process CPU == thread CPU over the same spans shows no helper threads the figures miss.
    res.add("render_compose_other_threads_ms_per_frame", _ms(proc - thr) / n, "ms", 4)
    return frames, tiles, (comp, pack)


def measure_colour(res: Results, cfg: Any, tiles: list[Any], comp_pack: Any) -> None:
    """RGB->YUV: the compositor's per-frame conversion of the head tile (its own coefficients,
    the same numpy ops compose() runs) vs a full-frame rgb24->yuv420p through PyAV's reformat."""
    import av
    import numpy as np

    from streamhost.avatar import compositor as cm

    comp, pack = comp_pack
    reps = max(1, 300 // len(tiles))
    tile_ms = []
    for _ in range(reps):
        for rgba in tiles:
            c0 = time.thread_time()
            # --- the colour-conversion part of Compositor.compose (Y full-res, UV from 2x2 sums)
            tile = np.asarray(rgba, dtype=np.float32)
            _, th, tw = tile.shape
            y_fg = (cm._YUV[0] @ tile.reshape(4, -1)).reshape(th, tw)
            t2 = tile[:, 0::2, 0::2] + tile[:, 1::2, 0::2]
            t2 += tile[:, 0::2, 1::2]
            t2 += tile[:, 1::2, 1::2]
            uv = (cm._UV4 @ t2.reshape(4, -1)).reshape(2, th // 2, tw // 2)
            tile_ms.append(_ms(time.thread_time() - c0))
            del y_fg, uv
    res.add("colour_conversion_ms_per_frame", mean(tile_ms), "ms", 4)
    res.add("colour_conversion_p50_ms", percentile(tile_ms, 50), "ms", 4)

    # Reference: full RGB frames (real tiles blended over the RGB background), converted whole.
    bg = comp.background_rgb.astype(np.float32)
    x, y = comp.tile_xy
    rgb_frames = []
    for rgba in tiles:
        a = rgba[3][..., None]
        fg = np.moveaxis(rgba[:3], 0, -1) * 255.0
        if not pack.premultiplied:
            fg = fg * a
        img = bg.copy()
        th, tw = rgba.shape[1:]
        img[y : y + th, x : x + tw] = fg + img[y : y + th, x : x + tw] * (1.0 - a)
        rgb_frames.append(np.ascontiguousarray(img.clip(0, 255).astype(np.uint8)))
    sws_ms, np_ms = [], []
    for _ in range(reps):
        for rgb in rgb_frames:
            c0 = time.thread_time()
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            sws_ms.append(_ms(time.thread_time() - c0))
            del vf
    for rgb in rgb_frames[:20]:
        c0 = time.thread_time()
        cm.rgb_to_i420(rgb)
        np_ms.append(_ms(time.thread_time() - c0))
    res.add("rgb_full_frame_conversion_ms_per_frame", mean(sws_ms), "ms", 4)
    res.add("rgb_full_frame_conversion_p50_ms", percentile(sws_ms, 50), "ms", 4)
    res.add("rgb_full_frame_numpy_rgb_to_i420_ms_per_frame", mean(np_ms), "ms", 4)


class _Collect:
    """An encoder sink that keeps every packet (video, AAC, Opus) grouped by input frame."""

    def __init__(self) -> None:
        from streamhost.output.encoder import AUDIO, OPUS, VIDEO

        self.kinds = frozenset({VIDEO, AUDIO, OPUS})
        self.video_kind = VIDEO
        self.current: list[Any] = []
        self.per_frame: list[list[Any]] = []
        self.got_video = threading.Event()

    def attach(self, info: Any, encoder: Any) -> None:
        self.info = info

    def on_packet(self, packet: Any) -> None:
        self.current.append(packet)
        if packet.kind == self.video_kind:
            self.got_video.set()

    def finish(self) -> None:
        pass


def measure_encode(
    res: Results, cfg: Any, frames: list[Any], audio: list[Any], warm: int
) -> tuple[list[list[Any]], Any]:
    """The project's Encoder on its own worker thread, one frame at a time; CPU time of that
    thread per frame (H.264 + AAC + Opus, as with RTMP out and one WebRTC viewer)."""
    from streamhost.frames import AVFrame
    from streamhost.output.encoder import Encoder

    s, o = cfg.stream, cfg.output
    enc = Encoder(
        cfg.format,
        video_bitrate=o.video_bitrate_kbps * 1000,
        audio_bitrate=o.audio_bitrate_kbps * 1000,
    )
    sink = _Collect()
    enc.add_sink(sink)
    enc.start()
    assert enc._thread is not None and enc._thread.ident is not None
    clk = thread_cpu_clock(enc._thread.ident)
    cpu_ms, wall_ms = [], []
    p0 = time.process_time()
    m0 = time.thread_time()
    for i, (video, pcm) in enumerate(zip(frames, audio, strict=True)):
        sink.got_video.clear()
        c0, w0 = time.clock_gettime(clk), time.perf_counter()
        enc.submit(AVFrame(i, i / s.fps, video, pcm))
        if not sink.got_video.wait(5.0):
            raise RuntimeError(f"encoder produced no video packet for frame {i}")
        c1, w1 = time.clock_gettime(clk), time.perf_counter()
        sink.per_frame.append(sink.current)
        sink.current = []
        if i >= warm:
            cpu_ms.append(_ms(c1 - c0))
            wall_ms.append(_ms(w1 - w0))
    proc_other = (time.process_time() - p0) - (time.thread_time() - m0)
    enc.close()
    res.add_stage("encode", cpu_ms)
    res.add("encode_p99_ms", percentile(cpu_ms, 99), "ms", 4)
    res.add("encode_process_cpu_ms_per_frame", _ms(proc_other) / len(frames), "ms", 4)
    vbytes = sum(len(p.data) for f in sink.per_frame for p in f if p.kind == sink.video_kind)
    res.add("encode_video_kbps", vbytes * 8 / (len(frames) / s.fps) / 1000, "kbit/s", 1)
    return sink.per_frame, enc.info


def measure_mux(res: Results, per_frame: list[list[Any]], info: Any, warm: int) -> None:
    """Muxing the pre-encoded packets: FLV (RTMP), MP4 (recorder), NUT (RtmpPusher's pipe)."""
    import av

    from streamhost.output.encoder import AUDIO, VIDEO

    for fmt, name, opts in (
        ("flv", "mux", {"flvflags": "no_duration_filesize"}),
        ("mp4", "mux_mp4", {}),  # +faststart only rewrites at close (needs a path)
        ("nut", "mux_nut", {"flush_packets": "1"}),
    ):
        buf = io.BytesIO()
        out = av.open(buf, "w", format=fmt, options=opts)
        vs = out.add_stream_from_template(info.video_template)
        aus = out.add_stream_from_template(info.audio_template)
        out.start_encoding()
        ms = []
        for i, pkts in enumerate(per_frame):
            c0 = time.thread_time()
            for ep in pkts:
                if ep.kind not in (VIDEO, AUDIO):
                    continue
                pkt = ep.to_av()
                pkt.stream = vs if ep.kind == VIDEO else aus
                out.mux(pkt)
            if i >= warm:
                ms.append(_ms(time.thread_time() - c0))
        out.close()
        res.add_stage(name, ms)


def measure_webrtc(res: Results, per_frame: list[list[Any]], info: Any, warm: int) -> None:
    """One viewer's per-frame work in the engine: to_av (SPS/PPS prefixed on keyframes), aiortc's
    H264 ``pack()`` / Opus ``pack()``, RtpPacket with header extensions + ``serialize``; SRTP
    ``protect`` (AES128_CM_SHA1_80) reported separately."""
    import pylibsrtp
    from aiortc import clock as rtc_clock
    from aiortc.codecs.h264 import H264Encoder
    from aiortc.codecs.opus import OpusEncoder
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtp import HeaderExtensionsMap, RtpPacket

    from streamhost.output.encoder import OPUS, VIDEO

    ext = HeaderExtensionsMap()
    ext.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
                RTCRtpHeaderExtensionParameters(
                    id=2, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
                ),
            ]
        )
    )
    srtp = pylibsrtp.Session(
        pylibsrtp.Policy(
            key=os.urandom(30),
            ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
            srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
        )
    )
    h264, opus = H264Encoder(), OpusEncoder()
    seq = {VIDEO: 0, OPUS: 0}
    pack_ms, srtp_ms, n_rtp = [], [], 0
    for i, pkts in enumerate(per_frame):
        wire: list[bytes] = []
        c0 = time.thread_time()
        for ep in pkts:
            if ep.kind == VIDEO:
                payloads, ts = h264.pack(ep.to_av(info.video_extradata if ep.keyframe else b""))
                pt, ssrc = 102, 1111
            elif ep.kind == OPUS:
                payloads, ts = opus.pack(ep.to_av())
                pt, ssrc = 111, 2222
            else:
                continue
            for j, payload in enumerate(payloads):
                rtp = RtpPacket(
                    payload_type=pt,
                    sequence_number=seq[ep.kind],
                    timestamp=(0x12345678 + ts) & 0xFFFFFFFF,  # random origin, as aiortc
                )
                rtp.ssrc = ssrc
                rtp.payload = payload
                rtp.marker = 1 if j == len(payloads) - 1 else 0
                rtp.extensions.abs_send_time = (rtc_clock.current_ntp_time() >> 14) & 0xFFFFFF
                rtp.extensions.mid = "0"
                wire.append(rtp.serialize(ext))
                seq[ep.kind] = (seq[ep.kind] + 1) & 0xFFFF
        c1 = time.thread_time()
        for b in wire:
            srtp.protect(b)
        c2 = time.thread_time()
        if i >= warm:
            pack_ms.append(_ms(c1 - c0))
            srtp_ms.append(_ms(c2 - c1))
            n_rtp += len(wire)
    res.add_stage("webrtc_packetization", pack_ms)
    res.add_stage("webrtc_srtp", srtp_ms)
    res.add("webrtc_rtp_packets_per_frame", n_rtp / max(1, len(pack_ms)), "packets", 2)


# -- part 2: the real engine --------------------------------------------------------------------


def _load_nginx_helper() -> Any:
    spec = importlib.util.spec_from_file_location("_nginx_rtmp", REPO / "tests" / "nginx_rtmp.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _readline(proc: subprocess.Popen, timeout: float) -> dict[str, Any]:
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


def _healthz(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        return json.loads(r.read())["streams"][0]


def _window(worker: subprocess.Popen, viewer: subprocess.Popen | None, seconds: float) -> dict:
    """Marks (engine snapshots, the tree's CPU, each thread's CPU, the viewer's CPU) at the start
    and end of a ``seconds`` window of the running stream."""

    def mark() -> tuple[dict[str, Any], Any, float, dict[int, float]]:
        assert worker.stdin is not None
        worker.stdin.write("mark\n")
        worker.stdin.flush()
        m = _readline(worker, 10)
        thr = thread_cpu_seconds(worker.pid)
        v = proc_cpu_seconds(viewer.pid) if viewer is not None else 0.0
        return m, sample_tree(worker.pid), v, thr

    m0, a, v0, t0 = mark()
    time.sleep(seconds)
    m1, b, v1, t1 = mark()
    return {"m0": m0, "m1": m1, "a": a, "b": b, "v0": v0, "v1": v1, "t0": t0, "t1": t1}


def _wait_live(port: int, viewers: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        h = _healthz(port)
        if h["rtmp_live"] == 1 and h["viewers"] == viewers:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"stream not live with {viewers} viewer(s): {h}")
        time.sleep(0.2)


def measure_stream(
    res: Results, seconds: float, warmup: float, render_ahead: int = 0
) -> dict[str, Any]:
    """Two windows of one engine process: RTMP out only (``stream_core_fraction``, the
    configuration streams.py measures), then with one WebRTC viewer attached
    (``stream_core_fraction_one_viewer``); each with its CPU by thread."""
    nginx = _load_nginx_helper().NginxRtmp().start()
    procs: list[subprocess.Popen] = []
    data_dir = tempfile.TemporaryDirectory(prefix="streamhost-bench-")
    try:
        env = {**os.environ, "STREAMHOST_DATA_DIR": data_dir.name, "PYTHONUNBUFFERED": "1"}
        url = nginx.url("live", "bench")
        worker = subprocess.Popen(
            [sys.executable, __file__, "--_engine-worker", url, "1", str(render_ahead)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        procs.append(worker)
        port = _readline(worker, 60)["port"]
        _wait_live(port, 0)
        time.sleep(warmup)
        alone = _window(worker, None, seconds)
        viewer = subprocess.Popen(
            [sys.executable, __file__, "--_viewer", f"http://127.0.0.1:{port}/offer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(viewer)
        _readline(viewer, 60)  # {"first_frame": ...}: the viewer decodes video
        _wait_live(port, 1)
        time.sleep(warmup)
        watched = _window(worker, viewer, seconds)
        for p in (viewer, worker):
            assert p.stdin is not None
            p.stdin.close()
        vstats = _readline(viewer, 30)
        final = _readline(worker, 60)
        for p in (viewer, worker):
            p.wait(30)
    finally:
        reap(procs)
        nginx.stop()
        data_dir.cleanup()

    _stream_figures(res, alone, final, "stream", "")
    _stream_figures(res, watched, final, "one_viewer", "_one_viewer")
    a, b, m0, m1 = watched["a"], watched["b"], watched["m0"], watched["m1"]
    wall = b.wall - a.wall
    vf = [t for t in vstats["video"] if m0["mark"] <= t <= m1["mark"]]
    res.add("viewer_fps", len(vf) / wall, "fps", 2)
    viv = [_ms(y - x) for x, y in zip(vf, vf[1:], strict=False)]
    res.add("viewer_frame_interval_p99_ms", percentile(viv, 99), "ms", 2)
    res.add("viewer_process_core_fraction", (watched["v1"] - watched["v0"]) / wall, "cores", 3)
    res.add("late_frames_run_total", final["snapshot"]["late_frames"], "frames", 0)
    return {
        "huge_pages": m1["huge_pages"],  # glibc.malloc.hugetlb=1 in the engine process
        "huge_pages_mib_at_end": round((m1["huge_pages_kib"] or 0) / 1024, 1),
        "sentences": m1["snapshot"]["sentences"],
        "rtmp": final["rtmp"][0],
        "encoder": final["encoder"],
        "webrtc": final.get("webrtc"),
    }


def _stream_figures(res: Results, w: dict, final: dict, thread_prefix: str, suffix: str) -> None:
    """One window's figures: the process tree's share of a core, frame pacing, and where the
    engine's CPU went by thread (``<thread_prefix>_thread_<group>_*``)."""
    a, b, m0, m1 = w["a"], w["b"], w["m0"], w["m1"]
    wall = b.wall - a.wall
    rtmp_child = sum(b.children_s.values()) - sum(
        a.children_s.get(pid, 0.0) for pid in b.children_s
    )
    s0, s1 = m0["snapshot"], m1["snapshot"]
    emits = [t for t in final["emits"] if m0["mark"] <= t <= m1["mark"]]
    iv = [_ms(y - x) for x, y in zip(emits, emits[1:], strict=False)]
    res.add(f"stream_core_fraction{suffix}", core_fraction(a, b), "cores", 3)
    res.add(f"stream_rtmp_child_core_fraction{suffix}", rtmp_child / wall, "cores", 3)
    res.add(f"stream_window_seconds{suffix}", wall, "s", 2)
    res.add(f"stream_fps{suffix}", (s1["frames"] - s0["frames"]) / wall, "fps", 2)
    res.add(f"late_frames{suffix}", s1["late_frames"] - s0["late_frames"], "frames", 0)
    res.add(f"encoder_dropped_frames{suffix}", s1["encoder_dropped"] - s0["encoder_dropped"],
            "frames", 0)  # fmt: skip
    res.add(f"frame_interval_p50_ms{suffix}", percentile(iv, 50), "ms", 2)
    res.add(f"frame_interval_p99_ms{suffix}", percentile(iv, 99), "ms", 2)
    res.add(f"frame_interval_max_ms{suffix}", max(iv) if iv else None, "ms", 2)
    res.add(f"stream_render_ms_p50{suffix}", s1["render_ms_p50"], "ms", 3)
    n_frames = max(1, s1["frames"] - s0["frames"])
    res.add(f"stream_minor_faults_per_frame{suffix}", (b.minor_faults - a.minor_faults) / n_frames,
            "faults", 1)  # fmt: skip
    # Where the engine's CPU goes, by thread (Python thread names): the AV loop's render thread
    # ("render_N": face model + compose + colour conversion), the encoder thread (x264, AAC,
    # Opus, mux), the event loop (director, chat, control, WebRTC packetization and SRTP), the
    # default executor's workers ("asyncio_N": TTS, store writes), the RTMP push thread;
    # threads with no Python name (ONNX Runtime, FFmpeg, OpenBLAS pools) are "native".
    names = {int(k): v for k, v in {**m0["threads"], **m1["threads"]}.items()}
    fixed = {"MainThread": "event_loop", "encoder": "encoder", "rtmp-push": "rtmp_push"}
    by: dict[str, float] = {}
    t0 = w["t0"]
    for tid, cpu in w["t1"].items():
        name = names.get(tid, "native")
        if name.startswith("asyncio_"):
            group = "executor"
        elif name.startswith("render_"):
            group = "render"
        else:
            group = fixed.get(name.split(" ")[0], "native" if name == "native" else "other")
        by[group] = by.get(group, 0.0) + cpu - t0.get(tid, 0.0)
    groups = ("render", "encoder", "event_loop", "executor", "rtmp_push", "other", "native")
    for group in groups:
        res.add(f"{thread_prefix}_thread_{group}_core_fraction", by.get(group, 0.0) / wall,
                "cores", 3)  # fmt: skip
        res.add(f"{thread_prefix}_thread_{group}_ms_per_frame", by.get(group, 0.0) * 1000 / n_frames,
                "ms", 3)  # fmt: skip
    # The threads must account for the process (the RTMP child is counted apart).
    proc_cpu = core_fraction(a, b) - rtmp_child / wall
    res.add(f"{thread_prefix}_threads_accounted_pct",
            100.0 * sum(by.values()) / wall / max(proc_cpu, 1e-9), "%", 1)  # fmt: skip


def _engine_worker(url: str, copies: int = 1, render_ahead: int = 0) -> None:
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


def _viewer(offer_url: str) -> None:
    """Child process: one aiortc WebRTC viewer that decodes what it receives until stdin EOF."""
    import aiohttp
    from aiortc import RTCPeerConnection, RTCSessionDescription

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

        await pc.setLocalDescription(await pc.createOffer())
        async with aiohttp.ClientSession() as http:
            body = {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}
            async with http.post(offer_url, json=body) as r:
                ans = await r.json()
                if r.status != 200:
                    raise RuntimeError(f"offer refused: {ans}")
        await pc.setRemoteDescription(RTCSessionDescription(ans["sdp"], ans["type"]))
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        print(json.dumps({"video": video, "audio_frames": audio[0]}), flush=True)
        await pc.close()
        for t in tasks:
            t.cancel()

    asyncio.run(main())


# -- main ---------------------------------------------------------------------------------------


def main() -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=None, help="stream window (default 20)")
    ap.add_argument("--frames", type=int, default=None, help="frames per stage (default 375)")
    ap.add_argument("--no-stream", action="store_true", help="only the per-stage figures")
    ap.add_argument(
        "--render-ahead", type=int, default=0, choices=range(4), metavar="K",
        help="the stream's stream.render_ahead (default 0, the default config's)",
    )  # fmt: skip
    args = ap.parse_args()
    frames_n = args.frames or (75 if args.quick else 375)
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    warmup = 2.0 if args.quick else 5.0
    warm = 5  # first frames of encode/mux/packetize (codec start-up) are not counted

    from streamhost.config import load_config

    cfg = load_config()
    s = cfg.stream
    res = Results(
        NAME,
        config={
            "canvas": f"{s.width}x{s.height}",
            "fps": s.fps,
            "sample_rate": s.sample_rate,
            "video_bitrate_kbps": cfg.output.video_bitrate_kbps,
            "audio_bitrate_kbps": cfg.output.audio_bitrate_kbps,
            "avatar_threads": cfg.avatar.threads,
            "providers": list(cfg.avatar.providers),
            "stage_frames": frames_n,
            "stream_seconds": 0 if args.no_stream else seconds,
            "stream_warmup_seconds": warmup,
            "quick": bool(args.quick),
            "cpu_time": "thread CPU time (time.thread_time / pthread_getcpuclockid)",
            "stream_run": "default config, voice.prefetch off (the start-up fill is one-off), "
            "RTMP out to nginx-rtmp; a window with no viewer (stream_core_fraction: streams.py's "
            "configuration, same engine worker), then one with one WebRTC viewer process "
            "(*_one_viewer)",
            "render_ahead": args.render_ahead,
        },
    )
    machine = machine_info(extra_modules=("pylibsrtp",), probe=True)

    voice, speeches = measure_tts(res, cfg, SENTENCES)
    params, audio, drv_ms = drive(cfg, voice, speeches, frames_n)
    res.add_stage("driver", drv_ms)
    frames, tiles, comp_pack = measure_render_compose(res, cfg, params)
    measure_colour(res, cfg, tiles, comp_pack)
    per_frame, info = measure_encode(res, cfg, frames, audio, warm)
    del frames, tiles
    measure_mux(res, per_frame, info, warm)
    measure_webrtc(res, per_frame, info, warm)
    stages = [
        "driver",
        "render",
        "compose",
        "encode",
        "mux_nut",
        "mux",
        "webrtc_packetization",
        "webrtc_srtp",
    ]
    total = sum(res.get(f"{x}_ms_per_frame") for x in stages) + res.get("tts_ms_per_frame")
    res.add("stages_sum_ms_per_frame", total, "ms", 3)
    res.add("stages_sum_core_fraction", total * s.fps / 1000.0, "cores", 3)
    if not args.no_stream:
        res.config["stream_run_stats"] = measure_stream(res, seconds, warmup, args.render_ahead)
    report(res, args.json, machine)
    return 0


if __name__ == "__main__":
    # As `streamhost run` does: huge pages for the heap where STREAMHOST_HUGE_PAGES=1 asks, in
    # the stage figures' process and every engine worker (streams.py and viewers.py start
    # theirs through this file), so an opted-in run measures what an opted-in engine does.
    heap.reexec_with_huge_pages()
    if len(sys.argv) in (3, 4, 5) and sys.argv[1] == "--_engine-worker":
        _engine_worker(*sys.argv[2:3], *map(int, sys.argv[3:]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--_viewer":
        _viewer(sys.argv[2])
    else:
        sys.exit(main())
