"""How long Python's garbage collector stops one default stream, with and without the engine's
settling (streamhost/gc_pauses.py: collect and freeze once start-up is done, then every 30 s).

Each arm is a fresh process running the Engine on the default config with simulated chat
(``--chat-rate`` messages a second: answers, thanks, the talk path's garbage) on the real
clock for ``--seconds`` after start-up, timing every collection with ``gc.callbacks``: the
full walks (the oldest generation; settles included) by count and size, and the late frames
the stream counted. The collector starts a full walk by its own rule (when a quarter as many
objects as it already holds have survived since the last one), so a window may hold none:
``full_collection_forced_ms`` is what one costs at the window's end, timed by starting one.
Settled, ``frozen_cyclic_garbage`` is the cyclic garbage the freezes kept from the collector
(``collect_frozen``). The "off" arm replaces the engine's two settle calls with no-ops: the
engine before the change.

    python benchmarks/gc_pauses.py [--json PATH] [--quick] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import (  # noqa: E402
    Results,
    arg_parser,
    engine_without_gc_settling,
    machine_info,
    percentile,
    report,
)


def child(arm: str, seconds: float, chat_rate: float) -> None:
    """One arm: the engine for ``seconds`` of air; one JSON line of what the collector did."""
    import asyncio
    import gc
    import time

    import streamhost.engine as eng
    from streamhost.config import load_config
    from streamhost.gc_pauses import collect_frozen

    if arm == "off":
        engine_without_gc_settling()
    pauses: list[tuple[int, float, float]] = []  # (generation, ms, when)
    began: list[float] = []

    def timed(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            began.append(time.perf_counter())
        elif began:
            t = began.pop()
            pauses.append((info["generation"], (time.perf_counter() - t) * 1000, t))

    gc.callbacks.append(timed)

    async def main() -> dict[str, Any]:
        chat = {"type": "simulator", "name": "bench-chat", "rate_per_s": chat_rate}
        cfg = load_config().with_overrides(http={"port": 0}, chat={"sources": [chat]})
        engine = eng.Engine(cfg)
        task = asyncio.create_task(engine.run(None))
        while not engine.primary.loop.index:  # the first frame: start-up is over
            await asyncio.sleep(0.05)
        on_air = time.perf_counter()
        tracked = len(gc.get_objects())
        await asyncio.sleep(seconds)
        snap = engine.primary.snapshot()
        gc.callbacks.remove(timed)
        # what a full collection costs now, whenever the collector's own rule starts one
        t = time.perf_counter()
        gc.collect()
        forced = (time.perf_counter() - t) * 1000
        kept = collect_frozen() if arm == "on" else 0
        engine.request_stop()
        await task
        air = [(g, ms) for g, ms, t in pauses if t >= on_air]
        return {
            "tracked_on_air": tracked,
            "full": [ms for g, ms in air if g == 2],
            "young_p99": percentile([ms for g, ms in air if g < 2] or [0.0], 99),
            "late_frames": snap.get("late_frames"),
            "forced_ms": forced,
            "frozen_garbage": kept,
        }

    print(json.dumps(asyncio.run(main())), flush=True)


def run_arm(arm: str, seconds: float, chat_rate: float) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--_child", arm, str(seconds), str(chat_rate)],
        capture_output=True, text=True, timeout=seconds + 300, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = arg_parser(__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=180.0, help="air time per arm")
    ap.add_argument("--chat-rate", type=float, default=1.0, help="chat messages a second")
    ap.add_argument("--_child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        child(args._child[0], float(args._child[1]), float(args._child[2]))
        return
    seconds = 30.0 if args.quick else args.seconds
    machine = machine_info()
    res = Results("gc_pauses", config={"seconds_per_arm": seconds, "stream": "default config",
                                       "chat_per_s": args.chat_rate, "settle_every_s": 30.0})  # fmt: skip
    for arm in ("off", "on"):
        r = run_arm(arm, seconds, args.chat_rate)
        full = r["full"]
        res.add(f"tracked_objects_on_air_{arm}", r["tracked_on_air"], "objects")
        res.add(f"full_collections_per_min_{arm}", len(full) * 60.0 / seconds, "1/min", 2)
        res.add(f"full_collection_p50_ms_{arm}", percentile(full, 50) if full else 0.0, "ms", 2)
        res.add(f"full_collection_max_ms_{arm}", max(full, default=0.0), "ms", 2)
        res.add(f"full_collection_forced_ms_{arm}", r["forced_ms"], "ms", 2)
        res.add(f"young_collection_p99_ms_{arm}", r["young_p99"], "ms", 2)
        res.add(f"late_frames_{arm}", r["late_frames"], "frames")
        if arm == "on":
            res.add("frozen_cyclic_garbage", r["frozen_garbage"], "objects")
    report(res, args.json, machine)


if __name__ == "__main__":
    main()
