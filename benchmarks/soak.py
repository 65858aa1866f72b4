"""Does one default stream stay healthy for hours: memory, A/V sync, drops, restarts?

The real Engine on the default config runs in a child process, either on the real clock
(``--minutes M``, default 30, RTMP out to a private nginx-rtmp and an MP4 recording) or on the
virtual clock (``--virtual-hours H``: H hours of content rendered as fast as this machine can;
the speed is measured over the first samples and the time 8 hours of content would take here is
printed). Every ``--every`` media seconds the child reports its RSS (VmRSS from /proc) and the
stream's counters.

A/V offset: the design makes audio the master clock and stamps both tracks from the frame index
and sample counts. What can still drift is the *content*: each AV frame carries its own audio,
and if frames delivered more or fewer samples than one frame period, its sound would be stamped
away from its picture. So, on the encoder thread after every encoded video frame, the offset is
(end of the audio timeline - end of the video timeline) in the encoder's own pts
(``Encoder.av_offset_ms``); ``av_offset_max_ms`` is the largest magnitude over every frame of the
run. With a recording, the MP4 is also read back with PyAV and the audio/video track start and
end times compared (``recording_av_offset_start_ms`` / ``..._end_ms``).

RSS growth: a least-squares line through the samples after the warm-up (``--warmup-minutes``,
default a quarter of the run, at most 10 minutes as the overnight issue asks), in % of the mean RSS per hour of media.

    python benchmarks/soak.py [--json PATH] [--minutes M | --virtual-hours H] [--record PATH]
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _engine_child as child  # noqa: E402
import _soak_child as soak_child  # noqa: E402
from _common import (  # noqa: E402
    Results,
    arg_parser,
    linear_fit,
    machine_info,
    report,
)

NAME = "soak"
TARGET_HOURS = 8.0


# -- parent ---------------------------------------------------------------------------------------


def recording_offsets(path: str) -> dict[str, float]:
    """Audio minus video track start and end times (ms) of an MP4, from its packets."""
    import av

    spans: dict[str, list[float]] = {}
    with av.open(path) as c:
        for pkt in c.demux():
            if pkt.pts is None or pkt.stream.type not in ("audio", "video"):
                continue
            tb = float(pkt.time_base)
            start, end = pkt.pts * tb, (pkt.pts + (pkt.duration or 0)) * tb
            s = spans.setdefault(pkt.stream.type, [start, end])
            s[0], s[1] = min(s[0], start), max(s[1], end)
    if "audio" not in spans or "video" not in spans:
        raise RuntimeError(f"{path}: expected an audio and a video track, got {sorted(spans)}")
    return {
        "start_ms": (spans["audio"][0] - spans["video"][0]) * 1000.0,
        "end_ms": (spans["audio"][1] - spans["video"][1]) * 1000.0,
        "video_seconds": spans["video"][1] - spans["video"][0],
    }


def recording_segments(path: str) -> dict[str, float]:
    """``recording_offsets`` over every segment of a recording (segment 1 is ``path``, the
    rest ``<stem>-NNNN-<start>.mp4`` beside it): the video seconds summed, the offsets of the
    segment where they are largest, and how many segments there were."""
    base = Path(path)
    parts = [base, *sorted(base.parent.glob(f"{base.stem}-[0-9][0-9][0-9][0-9]-*{base.suffix}"))]
    each = [recording_offsets(str(p)) for p in parts if p.is_file()]
    if not each:
        raise RuntimeError(f"{path}: no recording segments")
    return {
        "start_ms": max((e["start_ms"] for e in each), key=abs),
        "end_ms": max((e["end_ms"] for e in each), key=abs),
        "video_seconds": sum(e["video_seconds"] for e in each),
        "segments": len(each),
    }


def run_soak(
    duration_s: float,
    virtual: bool,
    every: float,
    record: str | None,
    rtmp: bool,
    chat_rate: float = 0.0,
    prefill_lines: int | None = 0,
    tracemalloc_frames: int = 0,
    warmup_s: float = 300.0,
    gc_settle: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``prefill_lines``: virtual clock only, how many likely lines go into the speech cache
    before the night (None: all of them, as the real clock's prefetcher would; 0: none)."""
    nginx = child.load_nginx_helper().NginxRtmp().start() if rtmp else None
    data_dir = tempfile.TemporaryDirectory(prefix="streamhost-soak-")
    samples: list[dict[str, Any]] = []
    proc: subprocess.Popen | None = None
    try:
        spec = {
            "virtual": virtual,
            "duration": duration_s,
            "every": every,
            "record": record,
            "rtmp": nginx.url("live", "soak") if nginx else None,
            "chat_rate": chat_rate,
            "prefill_lines": prefill_lines if virtual else 0,
            "tracemalloc": tracemalloc_frames,
            "warmup": warmup_s,
            "gc_settle": gc_settle,
        }
        env = {**os.environ, "STREAMHOST_DATA_DIR": data_dir.name, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, soak_child.__file__, "--_soak-worker", json.dumps(spec)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        wall0 = time.monotonic()
        told = False
        prefilled_mib = None
        while True:
            # the first message waits for the engine's start and, virtual, the cache prefill
            patience = 600 if not samples else 120 + (every if not virtual else 0)
            if tracemalloc_frames and samples and samples[-1]["media"] >= duration_s - every:
                # the last sample is followed by the end snapshot and its comparison with the
                # warm one: minutes over a million traced blocks (a 45-minute run lost to 120 s)
                patience = 1800
            msg = child.readline(proc, patience)
            if "final" in msg:
                final = {**msg["final"], "prefilled_mib": prefilled_mib}
                break
            if "prefilled_mib" in msg:
                prefilled_mib = msg["prefilled_mib"]
                print(f"speech cache prefilled: {prefilled_mib:.1f} MiB", flush=True)
                continue
            s = msg["sample"]
            samples.append(s)
            if virtual and not told and s["media"] >= min(30.0, duration_s / 2):
                told = True
                speed = s["media"] / max(1e-9, s["wall"] - samples[0]["wall"])
                print(
                    f"virtual clock: {speed:.2f} s of content per wall second here; "
                    f"{TARGET_HOURS:g} h of content would take {TARGET_HOURS / speed:.1f} h",
                    flush=True,
                )
            elif len(samples) % 10 == 0:
                print(
                    f"{s['media']:.0f} s media, {time.monotonic() - wall0:.0f} s wall, RSS "
                    f"{s['rss_kib'] / 1024:.1f} MiB, A/V offset {s['av_offset_ms']:.2f} ms",
                    flush=True,
                )
        proc.wait(60)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if nginx is not None:
            nginx.stop()
        data_dir.cleanup()
    return samples, final


def growth_per_hour(
    samples: list[dict[str, Any]], warmup_s: float, key: str = "rss_kib", pct: bool = True
) -> float:
    """Slope of ``key`` over media time after the warm-up, per media hour: in % of its mean
    (``pct``), else in its own unit."""
    t0 = samples[0]["media"]
    after = [s for s in samples if s["media"] - t0 >= warmup_s and key in s]
    if len(after) < 3:  # a run barely longer than its warm-up: use its second half
        after = [s for s in samples[len(samples) // 2 :] if key in s]
    if len(after) < 2:
        return math.nan
    xs = [s["media"] / 3600.0 for s in after]
    ys = [float(s[key]) for s in after]
    slope, _ = linear_fit(xs, ys)
    if math.isnan(slope) or not pct:
        return slope
    mean = sum(ys) / len(ys)
    return slope / mean * 100.0 if mean else math.nan


def rss_growth_pct_per_hour(samples: list[dict[str, Any]], warmup_s: float) -> float:
    """Slope of RSS over media time after the warm-up, in % of its mean per hour."""
    return growth_per_hour(samples, warmup_s)


def main(argv: list[str] | None = None) -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--minutes", type=float, help="real-clock run length (default 30)")
    mode.add_argument("--virtual-hours", type=float, help="hours of content, virtual clock")
    ap.add_argument("--every", type=float, default=None, help="media seconds between samples")
    ap.add_argument("--warmup-minutes", type=float, default=None, help="excluded from RSS slope")
    ap.add_argument("--record", help="MP4 path to record to (real clock: a temp file by default)")
    ap.add_argument("--no-rtmp", action="store_true", help="no RTMP output")
    ap.add_argument(
        "--chat-rate", type=float, default=0.5, help="simulated chat messages per media second"
    )
    ap.add_argument(
        "--no-prefill", action="store_true", help="virtual clock: start with an empty speech cache"
    )
    ap.add_argument(
        "--no-gc-settle", action="store_true",
        help="the engine without its garbage-collector settling (streamhost/gc_pauses.py)",
    )  # fmt: skip
    ap.add_argument(
        "--tracemalloc", type=int, default=0, metavar="FRAMES",
        help="trace Python allocations (FRAMES deep; slower) and report the sites that grew "
        "after the warm-up",
    )  # fmt: skip
    args = ap.parse_args(argv)
    virtual = args.virtual_hours is not None or (args.quick and args.minutes is None)
    if virtual:
        duration = (args.virtual_hours or 20 / 3600) * 3600.0
    else:
        duration = (args.minutes or 30.0) * 60.0
    if not duration > 0:
        ap.error("the run length must be positive")
    every = args.every or max(1.0, min(10.0, duration / 60))
    warmup = (
        args.warmup_minutes * 60.0 if args.warmup_minutes is not None else min(600.0, duration / 4)
    )
    tmp = None
    record = args.record
    if record is None and not virtual:
        tmp = tempfile.TemporaryDirectory(prefix="streamhost-soak-rec-")
        record = str(Path(tmp.name) / "soak.mp4")
    if record:
        record = str(Path(record).resolve())
    machine = machine_info()
    try:
        # Faster than real time the push still runs its whole path (mux, child, socket):
        # that path is where an earlier soak found growth; nginx takes the packets as they come.
        samples, final = run_soak(
            duration, virtual, every, record, rtmp=not args.no_rtmp, chat_rate=args.chat_rate,
            prefill_lines=0 if args.no_prefill else (30 if args.quick else None),
            tracemalloc_frames=args.tracemalloc, warmup_s=warmup, gc_settle=not args.no_gc_settle,
        )  # fmt: skip
        rec = recording_segments(record) if record else None
    finally:
        if tmp is not None:
            tmp.cleanup()
    last = final["sample"]
    wall = last["wall"] - samples[0]["wall"]
    media = last["media"] - samples[0]["media"]
    res = Results(
        NAME,
        config={
            "clock": "virtual" if virtual else "real",
            "media_seconds": duration,
            "sample_every_media_seconds": every,
            "rss_warmup_media_seconds": warmup,
            "rtmp": not args.no_rtmp,
            "chat_rate_per_media_s": args.chat_rate,
            "gc_settle": not args.no_gc_settle,
            "tracemalloc_frames": args.tracemalloc,
            "recorded": bool(record),
            "av_offset": "encoder pts: audio timeline end - video timeline end, every frame",
            "rss_growth": "least squares after warm-up, % of mean RSS per media hour",
            "speech_cache": "virtual clock: prefilled before the night from the likely lines, as "
            "the real clock's prefetcher fills it in its first minutes",
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "notes": [
                "A/V offset is measured after every encoded frame in the encoder's pts; it stays "
                "0 while each AV frame carries exactly one frame period of audio.",
                "recording_av_offset_*: raw MP4 track times read back with PyAV. The audio track "
                "starts 1024 samples (21.3 ms) early (AAC encoder priming, trimmed by players via "
                "the edit list) and ends up to one AAC frame late (the last partial AAC frame "
                "is padded): framing, not drift.",
            ],
        },
    )
    res.add("rss_growth_pct_per_hour", rss_growth_pct_per_hour(samples, warmup), "%/h", 3)
    res.add("av_offset_max_ms", final["av_offset_absmax_ms"], "ms", 3)
    res.add("av_offset_start_ms", final["av_offset_first_ms"], "ms", 3)
    res.add("av_offset_end_ms", final["av_offset_last_ms"], "ms", 3)
    if rec is not None:
        res.add("recording_av_offset_start_ms", rec["start_ms"], "ms", 3)
        res.add("recording_av_offset_end_ms", rec["end_ms"], "ms", 3)
        res.add("recording_video_seconds", rec["video_seconds"], "s", 2)
        res.add("recording_segments", rec["segments"], "files", 0)
    res.add("dropped_frames", last["encoder_dropped"], "frames", 0)
    res.add("late_frames", last["late_frames"], "frames", 0)
    res.add("stalls", last["stalls"], "", 0)
    res.add("stage_restarts", last["stage_restarts"], "", 0)
    if "frozen_cyclic_garbage" in final:  # what the engine's gc freezes kept all night
        res.add("frozen_cyclic_garbage", final["frozen_cyclic_garbage"], "objects", 0)
    res.add("frames", last["frames"], "frames", 0)
    res.add("media_seconds", media, "s", 1)
    res.add("wall_seconds", wall, "s", 1)
    # the engine process alone (the RTMP child is apart), over the whole run
    cpu = (last["cpu_s"] - samples[0]["cpu_s"]) / max(1e-9, wall)
    res.add("engine_core_fraction", cpu, "cores", 3)
    res.add("rss_mib_start", samples[0]["rss_kib"] / 1024, "MiB", 1)
    res.add("rss_mib_end", last["rss_kib"] / 1024, "MiB", 1)
    # What else a leak shows in; and the speech cache, which fills up to its bound by design
    # (RSS less the cache tells a leak from a cache still filling). RSS less the live C heap:
    # fragmentation (heap_free, where still resident) and other mappings (weights, stacks,
    # libraries' own pools); trimmed pages count in heap_free but not in RSS, so the two are
    # not subtracted from each other.
    for s in samples + [last]:
        s["rss_less_cache_kib"] = s["rss_kib"] - s.get("speech_cache_bytes", 0) / 1024
        s["rss_less_caches_kib"] = s["rss_less_cache_kib"] - s.get("limb_cache_bytes", 0) / 1024
        if "heap_in_use_kib" in s:
            s["rss_less_heap_in_use_kib"] = s["rss_kib"] - s["heap_in_use_kib"]
    res.add("rss_less_speech_cache_growth_pct_per_hour",
            growth_per_hour(samples, warmup, "rss_less_cache_kib"), "%/h", 3)  # fmt: skip
    res.add("speech_cache_mib_end", last.get("speech_cache_bytes", 0) / 2**20, "MiB", 1)
    # the posed limb sprites: bounded too (LIMB_CACHE_BYTES), filled as new poses come
    res.add("rss_less_caches_growth_pct_per_hour",
            growth_per_hour(samples, warmup, "rss_less_caches_kib"), "%/h", 3)  # fmt: skip
    res.add("limb_cache_mib_end", last.get("limb_cache_bytes", 0) / 2**20, "MiB", 1)
    for key in ("heap_in_use_kib", "heap_free_kib", "heap_mmapped_kib", "rss_less_heap_in_use_kib"):
        if key in last:  # MiB per media hour: one unit for the parts (they do not sum to RSS)
            name = key.removesuffix("_kib")
            res.add(f"{name}_mib_end", last[key] / 1024, "MiB", 1)
            res.add(f"{name}_growth_mib_per_hour",
                    growth_per_hour(samples, warmup, key, False) / 1024, "MiB/h", 2)  # fmt: skip
    res.add("py_blocks_growth_per_hour", growth_per_hour(samples, warmup, "py_blocks", False),
            "blocks/h", 0)  # fmt: skip
    if final.get("prefilled_mib") is not None:
        res.add("speech_cache_prefilled_mib", final["prefilled_mib"], "MiB", 1)
    for key, unit in (("open_files", "fds"), ("threads", "threads"), ("tasks", "tasks"),
                      ("arenas", "arenas")):  # fmt: skip
        res.add(f"{key}_start", samples[0].get(key), unit, 0)
        res.add(f"{key}_end", samples[-1].get(key), unit, 0)  # on air, not after stop
        res.add(f"{key}_growth_per_hour", growth_per_hour(samples, warmup, key, False),
                f"{unit}/h", 2)  # fmt: skip
    res.add("chat_messages_accepted", last.get("chat_accepted", 0), "msgs", 0)
    # the heap on transparent huge pages (heap.reexec_with_huge_pages): how much, start and end
    for when, sample in (("start", samples[0]), ("end", samples[-1])):
        res.add(f"huge_pages_mib_{when}", (sample.get("huge_pages_kib") or 0) / 1024, "MiB", 1)
    if virtual:
        speed = media / max(1e-9, wall)
        res.add("virtual_speed_x", speed, "x real time", 3)
        res.add("hours_for_8h_content", TARGET_HOURS / speed if speed > 0 else None, "h", 2)
    res.series = {
        "media_s": [round(s["media"], 2) for s in samples],
        "rss_mib": [round(s["rss_kib"] / 1024, 2) for s in samples],
        "speech_cache_mib": [round(s.get("speech_cache_bytes", 0) / 2**20, 2) for s in samples],
        "limb_cache_mib": [round(s.get("limb_cache_bytes", 0) / 2**20, 2) for s in samples],
        "heap_in_use_mib": [round(s.get("heap_in_use_kib", 0) / 1024, 2) for s in samples],
        "heap_free_mib": [round(s.get("heap_free_kib", 0) / 1024, 2) for s in samples],
        "py_blocks": [s.get("py_blocks") for s in samples],
        "open_files": [s.get("open_files") for s in samples],
        "threads": [s.get("threads") for s in samples],
        "tasks": [s.get("tasks") for s in samples],
        "av_offset_ms": [round(s["av_offset_ms"], 3) for s in samples],
        "av_offset_window_absmax_ms": [round(s["av_offset_window_absmax_ms"], 3) for s in samples],
    }
    grew = final.get("tracemalloc_growth")
    if grew is not None:
        # all traced Python allocations, end of the run less end of the warm-up
        res.add("tracemalloc_growth_mib", final["tracemalloc_total_kib"] / 1024, "MiB", 2)
        res.series["tracemalloc_growth_top"] = grew  # where Python allocations grew, most first
        for g in grew:
            print(f"{g['kib']:10.1f} KiB {g['blocks']:8d} blocks  {g['where']}")
    report(res, args.json, machine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
