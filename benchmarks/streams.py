"""How many default streams does one machine sustain, and what share of a core does each use?

Each stream is the real Engine on the default config (720x1280 @ 25 fps, real clock), pushing
RTMP to its own key on one private nginx-rtmp on 127.0.0.1, in two layouts measured one after the
other: ``process`` (one engine worker per stream: ``_engine_child.py``, the one ``pipeline.py``
measures) and ``copies`` (one worker running N streams, as ``streamhost run --copies N`` does). For each layout it steps N up (1, 2, 3, ...): start N engines, wait until every one is
live on RTMP, let them warm up, then measure a window. A level passes when, for every stream,
the p99 interval between AV frames leaving the AV loop is < 50 ms and no frame was dropped
(encoder queue overflow, or frames skipped by the AV loop's stall re-anchoring: fewer frames
than ``window x fps``); late ticks are reported and count only through the p99.

``max_streams_<layout>`` is the highest passing N (``max_streams`` the better of the two); the step-up stops after ``--patience`` (default 2)
failing levels in a row, since on a shared machine one level can fail on noise that the next
does not see. ``stream_core_fraction`` is the CPU (user+sys of the engine process and its RTMP
child, from /proc) of one stream running alone, in cores.

    python benchmarks/streams.py [--json PATH] [--max N] [--window S] [--warmup S] [--quick]
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

import _engine_child as child  # noqa: E402
from _common import (  # noqa: E402
    Results,
    arg_parser,
    core_fraction,
    machine_info,
    percentile,
    reap,
    report,
    sample_tree,
)

NAME = "streams"
P99_LIMIT_MS = 50.0
LAYOUTS = ("process", "copies")  # one process per stream; N streams in one process
FPS = 25


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def run_level(
    nginx: Any, n: int, window: float, warmup: float, layout: str, ahead: int = 0
) -> dict[str, Any]:
    """N streams at once; per-stream frame intervals, drops and CPU over one window. Layout
    "process": N engine processes of one stream each; "copies": one process running N streams
    (``streamhost run --copies N``), whose CPU is split evenly over its streams."""
    per = n if layout == "copies" else 1
    procs: list[subprocess.Popen] = []
    dirs = [tempfile.TemporaryDirectory(prefix="streamhost-streams-") for _ in range(n // per)]
    try:
        for i in range(n // per):
            env = {**os.environ, "STREAMHOST_DATA_DIR": dirs[i].name, "PYTHONUNBUFFERED": "1"}
            argv = [sys.executable, child.__file__, "--_engine-worker", nginx.url("live", f"s{i}")]
            procs.append(
                subprocess.Popen(
                    [*argv, str(per), str(ahead)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    text=True, env=env,
                )
            )  # fmt: skip

        def mark() -> list[tuple[dict[str, Any], Any]]:
            for p in procs:
                assert p.stdin is not None
                p.stdin.write("mark\n")
                p.stdin.flush()
            return [(child.readline(p, 20), sample_tree(p.pid)) for p in procs]

        # N engines loading models on a shared machine: allow for a slow start
        for p in procs:
            child.readline(p, 60 + 30 * n)
        deadline = time.monotonic() + 30 + 10 * n
        while not all(s["rtmp_live"] == 1 for m, _ in mark() for s in m["snapshots"]):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{n} streams: not all live on RTMP after start-up")
            time.sleep(0.2)
        time.sleep(warmup)
        load0 = os.getloadavg()[0]
        m0 = mark()
        time.sleep(window)
        m1 = mark()
        load1 = os.getloadavg()[0]
        for p in procs:
            assert p.stdin is not None
            p.stdin.close()
        finals = [child.readline(p, 60) for p in procs]
        for p in procs:
            p.wait(30)
    finally:
        reap(procs)
        for d in dirs:
            d.cleanup()

    streams = []
    for (a_mark, a), (b_mark, b), final in zip(m0, m1, finals, strict=True):
        wall = b.wall - a.wall
        for k in range(per):
            s0, s1 = a_mark["snapshots"][k], b_mark["snapshots"][k]
            emits = [t for t in final["all_emits"][k] if a_mark["mark"] <= t <= b_mark["mark"]]
            iv = [_ms(y - x) for x, y in zip(emits, emits[1:], strict=False)]
            frames = s1["frames"] - s0["frames"]
            # the AV loop re-anchors after a stall instead of bursting: those frames never exist
            skipped = max(0, round((b_mark["mark"] - a_mark["mark"]) * FPS) - frames - 1)
            streams.append(
                {
                    "core_fraction": core_fraction(a, b) / per,
                    "fps": frames / wall,
                    "frame_interval_p50_ms": percentile(iv, 50),
                    "frame_interval_p99_ms": percentile(iv, 99),
                    "frame_interval_max_ms": max(iv) if iv else None,
                    "late_frames": s1["late_frames"] - s0["late_frames"],
                    "encoder_dropped": s1["encoder_dropped"] - s0["encoder_dropped"],
                    "skipped_frames": skipped,
                }
            )
    worst_p99 = max(s["frame_interval_p99_ms"] for s in streams)
    dropped = sum(s["encoder_dropped"] + s["skipped_frames"] for s in streams)
    late = sum(s["late_frames"] for s in streams)
    return {
        "n": n,
        "layout": layout,
        "passed": worst_p99 < P99_LIMIT_MS and dropped == 0,
        "worst_p99_ms": worst_p99,
        "dropped_frames": dropped,
        "late_frames": late,
        "total_core_fraction": sum(s["core_fraction"] for s in streams),
        "core_fraction_per_stream": sum(s["core_fraction"] for s in streams) / n,
        "loadavg": [round(load0, 2), round(load1, 2)],
        "streams": streams,
    }


def main(argv: list[str] | None = None) -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--max", type=int, default=8, help="highest N to try (default 8)")
    ap.add_argument("--start", type=int, default=1, help="first N (default 1)")
    ap.add_argument("--window", type=float, default=None, help="seconds measured (default 20)")
    ap.add_argument("--warmup", type=float, default=None, help="seconds before (default 5)")
    ap.add_argument("--patience", type=int, default=2, help="failing levels in a row to stop")
    ap.add_argument(
        "--render-ahead", type=int, default=1, choices=range(4), metavar="K",
        help="the streams' stream.render_ahead (default 1: a density setup; 0 is the default "
        "config's, for the lowest latency)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    window = args.window or (3.0 if args.quick else 20.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 5.0)
    if args.start < 1 or args.max < args.start:
        ap.error(f"need 1 <= --start <= --max, got {args.start}..{args.max}")
    machine = machine_info(probe=True)
    res = Results(
        NAME,
        config={
            "stream": "default config: 720x1280 @ 25 fps, RTMP out to nginx-rtmp on 127.0.0.1, "
            "voice.prefetch off (its start-up fill is one-off), no viewer; pipeline.py's worker",
            "render_ahead": args.render_ahead,
            "layouts": "process: one engine process per stream; copies: one process running "
            "N streams (streamhost run --copies N), its CPU split evenly over them",
            "pass_rule": f"every stream: p99 frame interval < {P99_LIMIT_MS:g} ms, "
            "no encoder drops, no frames skipped by stall re-anchoring",
            "window_seconds": window,
            "warmup_seconds": warmup,
            "patience": args.patience,
            "levels_tried": [],
        },
    )
    nginx = child.load_nginx_helper().NginxRtmp().start()
    levels: list[dict[str, Any]] = []
    try:
        for layout in LAYOUTS:
            fails = 0
            for n in range(args.start, args.max + 1):
                lv = run_level(nginx, n, window, warmup, layout, args.render_ahead)
                levels.append(lv)
                print(
                    f"{layout} N={n}: {'pass' if lv['passed'] else 'FAIL'} worst p99 "
                    f"{lv['worst_p99_ms']:.1f} ms, dropped {lv['dropped_frames']}, late "
                    f"{lv['late_frames']}, {lv['core_fraction_per_stream']:.3f} core/stream, "
                    f"load {lv['loadavg']}",
                    flush=True,
                )
                fails = 0 if lv["passed"] else fails + 1
                if fails >= args.patience:
                    break
    finally:
        nginx.stop()
    best_all = 0
    for layout in LAYOUTS:
        mine = [lv for lv in levels if lv["layout"] == layout]
        passing = [lv["n"] for lv in mine if lv["passed"]]
        best = max(passing) if passing else 0
        best_all = max(best_all, best)
        at_best = next((lv for lv in mine if lv["n"] == best), None)
        failing = [lv["n"] for lv in mine if not lv["passed"]]
        res.add(f"max_streams_{layout}", best, "streams", 0)
        res.add(f"core_fraction_per_stream_at_max_{layout}",
                at_best["core_fraction_per_stream"] if at_best else None, "cores", 3)  # fmt: skip
        res.add(f"frame_interval_p99_ms_at_max_{layout}",
                at_best["worst_p99_ms"] if at_best else None, "ms", 2)  # fmt: skip
        res.add(f"first_failing_streams_{layout}", failing[0] if failing else None, "streams", 0)
    res.add("max_streams", best_all, "streams", 0)
    first = levels[0]  # one stream alone, in its own process: the same setup as pipeline.py
    res.add("stream_core_fraction", first["core_fraction_per_stream"], "cores", 3)
    res.config["levels_tried"] = [(lv["layout"], lv["n"]) for lv in levels]
    res.series = {
        k: [lv[k] if not isinstance(lv[k], float) else round(lv[k], 3) for lv in levels]
        for k in ("layout", "n", "worst_p99_ms", "core_fraction_per_stream",
                  "total_core_fraction", "dropped_frames", "passed")
    }  # fmt: skip
    res.config["levels"] = levels
    res.config["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    res.config["notes"] = (
        "p99 frame interval and drops depend on the whole machine: other work running at the "
        "same time (see each level's loadavg) makes max_streams pessimistic."
    )
    report(res, args.json, machine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
