"""soak.py's child process: one Engine on the default config, on the real or the virtual clock,
reporting a JSON line per sample (RSS, the C heap's split, the stream's counters, the A/V offset)
and the totals at the end.

    python benchmarks/_soak_child.py --_soak-worker SPEC_JSON   (started by soak.py)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import proc_rss_kib  # noqa: E402

from streamhost import heap  # noqa: E402


def soak_worker(spec: dict[str, Any]) -> None:
    """Child process: one engine; a JSON line per sample; the totals at the end."""
    from streamhost.config import load_config
    from streamhost.engine import Engine
    from streamhost.output.encoder import VIDEO

    if not spec.get("gc_settle", True):
        from _common import engine_without_gc_settling

        engine_without_gc_settling()  # the engine before streamhost/gc_pauses.py
    traced = int(spec.get("tracemalloc") or 0)
    if traced:
        import tracemalloc

        tracemalloc.start(traced)
    marks: dict[str, Any] = {}  # the tracemalloc snapshot at the end of the warm-up

    async def main() -> None:
        output: dict[str, Any] = {}
        if spec.get("rtmp"):
            output["rtmp"] = [spec["rtmp"]]
        if spec.get("record"):
            output["record"] = spec["record"]
        cfg = load_config()
        if output:
            cfg = cfg.with_overrides(output=output)
        if spec.get("chat_rate"):
            # simulated viewers: questions in four languages, greetings, spam, gifts, purchases
            sim = {"type": "simulator", "name": "soak-chat", "rate_per_s": spec["chat_rate"]}
            cfg = cfg.with_overrides(chat={"sources": [sim]})
        engine = Engine(cfg, virtual_clock=spec["virtual"])
        stream = engine.primary
        off = {"first": None, "last": 0.0, "absmax": 0.0, "window": 0.0, "n": 0}

        class OffsetProbe:  # a sink: runs on the encoder thread right after each frame
            kinds = frozenset({VIDEO})

            def attach(self, info: Any, encoder: Any) -> None:
                self.encoder = encoder

            def on_packet(self, packet: Any) -> None:
                o = self.encoder.av_offset_ms
                if off["first"] is None:
                    off["first"] = o
                off["last"] = o
                off["n"] += 1
                off["absmax"] = max(off["absmax"], abs(o))
                off["window"] = max(off["window"], abs(o))

            def finish(self) -> None:
                pass

        stream.encoder.add_sink(OffsetProbe())

        def sample() -> dict[str, Any]:
            snap = stream.snapshot()
            out = {
                "wall": time.monotonic(),
                "media": engine.clock.now(),
                "rss_kib": proc_rss_kib(os.getpid()),
                "cpu_s": time.process_time(),
                "av_offset_ms": off["last"],
                "av_offset_window_absmax_ms": off["window"],
            }
            off["window"] = 0.0
            # which kind of memory grows: C heap in use (a leak), freed but mapped
            # (fragmentation), or neither (other mappings); and Python's own blocks
            for k, v in (heap.breakdown() or {}).items():
                out[f"heap_{k}_kib"] = v / 1024
            out["arenas"] = heap.arenas()
            out["huge_pages_kib"] = heap.huge_pages_kib()
            out["py_blocks"] = sys.getallocatedblocks()
            out["open_files"] = len(os.listdir("/proc/self/fd"))
            out["threads"] = len(os.listdir("/proc/self/task"))
            out["tasks"] = len(asyncio.all_tasks())
            cache = getattr(stream.tts, "cache", None)
            out["speech_cache_bytes"] = cache.bytes if cache is not None else 0
            figure = getattr(stream.compositor, "figure", None)
            out["limb_cache_bytes"] = figure.cache_bytes if figure is not None else 0
            out["chat_accepted"] = snap["chat_accepted"]
            for k in ("frames", "late_frames", "stalls", "encoder_dropped", "stage_restarts"):
                out[k] = snap.get(k, 0)
            out["sentences"] = snap["sentences"]
            return out

        async def sampler() -> None:
            while stream.loop.stats.frames == 0:
                await asyncio.sleep(0.01)
            t = t_first = engine.clock.now()
            while True:
                print(json.dumps({"sample": sample()}), flush=True)
                if traced and "warm" not in marks and t - t_first >= spec["warmup"]:
                    marks["warm"] = await asyncio.to_thread(tracemalloc.take_snapshot)
                t += spec["every"]
                await engine.clock.sleep_until(t)

        if spec.get("prefill_lines") != 0 and hasattr(stream.tts, "prefetch"):
            # On the real clock the prefetcher fills the speech cache in the first minutes;
            # the virtual clock skips it (it would only cost render time), so the cache would
            # fill over the night as lines are said and its fill would read as growth. Fill it
            # first, on a thread of its own (prefetch lowers its thread's priority for good).
            from streamhost.talk.prefetch import likely_lines

            lines = itertools.islice(
                likely_lines(stream.talk, cfg.talk.phrase_chars), spec["prefill_lines"]
            )
            filler = threading.Thread(target=stream.tts.prefetch, args=(lines,), name="prefill")
            filler.start()
            await asyncio.to_thread(filler.join)
            print(json.dumps({"prefilled_mib": stream.tts.cache.bytes / 2**20}), flush=True)
        task = asyncio.create_task(sampler())
        try:
            await engine.run(spec["duration"])
        finally:
            task.cancel()
        final = {
            "sample": sample(),
            "av_offset_first_ms": off["first"],
            "av_offset_last_ms": off["last"],
            "av_offset_absmax_ms": off["absmax"],
            "offset_frames": off["n"],
            "encoder": stream.encoder.stats.as_dict(),
            "rtmp": [p.stats() for p in stream.rtmp],
        }
        # The garbage the engine's freezes kept from the collector all night (gc_pauses.py);
        # last, as it unfreezes everything
        from streamhost.gc_pauses import collect_frozen

        final["frozen_cyclic_garbage"] = collect_frozen()
        if traced and "warm" in marks:
            end = tracemalloc.take_snapshot()
            final["tracemalloc_growth"] = traced_growth(marks["warm"], end)
            final["tracemalloc_total_kib"] = (
                sum(st.size_diff for st in end.compare_to(marks["warm"], "filename")) / 1024
            )
        print(json.dumps({"final": final}), flush=True)

    asyncio.run(main())


def traced_growth(before: Any, after: Any, top: int = 15) -> list[dict[str, Any]]:
    """Python allocation sites that grew most between two tracemalloc snapshots: where (the
    innermost frames in the project or its libraries), KiB and blocks gained."""
    stats = after.compare_to(before, "traceback")
    stats.sort(key=lambda st: st.size_diff, reverse=True)
    return [
        {
            # innermost frame first (a Traceback runs oldest to newest): "a.py:1 < b.py:9"
            "where": " < ".join(
                f"{Path(f.filename).name}:{f.lineno}" for f in st.traceback[::-1][:4]
            ),
            "kib": round(st.size_diff / 1024, 1),
            "blocks": st.count_diff,
        }
        for st in stats[:top]
    ]


if __name__ == "__main__":
    heap.reexec_with_huge_pages()  # as `streamhost run` does: STREAMHOST_HUGE_PAGES=1 asks
    if len(sys.argv) == 3 and sys.argv[1] == "--_soak-worker":
        soak_worker(json.loads(sys.argv[2]))
    else:
        sys.exit(__doc__)
