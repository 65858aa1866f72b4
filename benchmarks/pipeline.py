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

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _engine_child as child  # noqa: E402
from _common import (  # noqa: E402
    Results,
    arg_parser,
    core_fraction,
    machine_info,
    ms,
    percentile,
    proc_cpu_seconds,
    reap,
    report,
    sample_tree,
    thread_cpu_seconds,
)
from _stage_output import measure_encode, measure_mux, measure_webrtc  # noqa: E402
from _stage_picture import drive, measure_colour, measure_render_compose, measure_tts  # noqa: E402

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


# -- part 2: the real engine ------------------------------------------------------------------


def _window(worker: subprocess.Popen, viewer: subprocess.Popen | None, seconds: float) -> dict:
    """Marks (engine snapshots, the tree's CPU, each thread's CPU, the viewer's CPU) at the start
    and end of a ``seconds`` window of the running stream."""

    def mark() -> tuple[dict[str, Any], Any, float, dict[int, float]]:
        assert worker.stdin is not None
        worker.stdin.write("mark\n")
        worker.stdin.flush()
        m = child.readline(worker, 10)
        thr = thread_cpu_seconds(worker.pid)
        v = proc_cpu_seconds(viewer.pid) if viewer is not None else 0.0
        return m, sample_tree(worker.pid), v, thr

    m0, a, v0, t0 = mark()
    time.sleep(seconds)
    m1, b, v1, t1 = mark()
    return {"m0": m0, "m1": m1, "a": a, "b": b, "v0": v0, "v1": v1, "t0": t0, "t1": t1}


def measure_stream(
    res: Results, seconds: float, warmup: float, render_ahead: int = 0
) -> dict[str, Any]:
    """Two windows of one engine process: RTMP out only (``stream_core_fraction``, the
    configuration streams.py measures), then with one WebRTC viewer attached
    (``stream_core_fraction_one_viewer``); each with its CPU by thread."""
    nginx = child.load_nginx_helper().NginxRtmp().start()
    procs: list[subprocess.Popen] = []
    data_dir = tempfile.TemporaryDirectory(prefix="streamhost-bench-")
    try:
        env = {**os.environ, "STREAMHOST_DATA_DIR": data_dir.name, "PYTHONUNBUFFERED": "1"}
        url = nginx.url("live", "bench")
        worker = subprocess.Popen(
            [sys.executable, child.__file__, "--_engine-worker", url, "1", str(render_ahead)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        procs.append(worker)
        port = child.readline(worker, 60)["port"]
        child.wait_live(port, 0)
        time.sleep(warmup)
        alone = _window(worker, None, seconds)
        viewer = subprocess.Popen(
            [sys.executable, child.__file__, "--_viewer", f"http://127.0.0.1:{port}/offer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(viewer)
        child.readline(viewer, 60)  # {"first_frame": ...}: the viewer decodes video
        child.wait_live(port, 1)
        time.sleep(warmup)
        watched = _window(worker, viewer, seconds)
        for p in (viewer, worker):
            assert p.stdin is not None
            p.stdin.close()
        vstats = child.readline(viewer, 30)
        final = child.readline(worker, 60)
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
    viv = [ms(y - x) for x, y in zip(vf, vf[1:], strict=False)]
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
    iv = [ms(y - x) for x, y in zip(emits, emits[1:], strict=False)]
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


# -- main -------------------------------------------------------------------------------------


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
    # the stage figures' process (each engine worker re-execs in _engine_child.py).
    heap.reexec_with_huge_pages()
    sys.exit(main())
