"""Fleet: start time, restart time after a killed process, and Ray's overhead per stream.

A 3-node local Ray cluster (``ray.cluster_utils.Cluster``: a head and two workers, 2 logical
CPUs each) runs 4 light streams (544x544 @ 20 fps, espeak, no WebRTC, 1 CPU share each) as
``streamhost.fleet`` actors. Results: ``fleet_start_s`` (placing the 4 streams until each has
sent frames; the cluster already up), ``actor_restart_s`` p50/p95 (SIGKILL of a stream's process
until its restarted actor sends frames again, resumed from its store), and
``fleet_overhead_core_per_stream``: the CPU of everything in the fleet that is not a stream
(Ray's GCS, raylets, idle workers, the driver with its 1 s status poll) over a window, divided
by the streams. Needs the ``fleet`` extra.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Results,
    arg_parser,
    descendants,
    machine_info,
    percentile,
    proc_cpu_seconds,
    proc_rss_kib,
    report,
    sample_tree,
)

NAME = "fleet"
LIGHT = {"stream": {"width": 544, "height": 544, "fps": 20},
         "output": {"webrtc": False, "video_bitrate_kbps": 300},
         "voice": {"engine": "espeak", "prefetch": False, "cache_mb": 0}}  # fmt: skip
STREAMS = 4


async def _until_running(fleet, timeout: float, check=lambda: True) -> None:
    deadline = time.monotonic() + timeout
    while True:
        await fleet.poll()
        rows = fleet.status()
        if all(r["state"] == "running" and r["frames"] > 0 for r in rows) and check():
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"fleet not running after {timeout} s: {rows}")
        await asyncio.sleep(0.1)


async def _measure(fleet, trials: int, window: float, res: Results) -> None:
    t0 = time.perf_counter()
    fleet.start()
    await _until_running(fleet, 180)
    res.add("fleet_start_s", time.perf_counter() - t0, "s", 2)
    # Overhead: the whole process tree minus the stream actors' own processes.
    me = os.getpid()
    actors = {r["pid"] for r in fleet.status()}
    a0, s0 = sample_tree(me), {p: proc_cpu_seconds(p, children=False) for p in actors}
    w0 = time.monotonic()
    while time.monotonic() - w0 < window:
        await fleet.poll()  # what `fleet up` does once a second
        await asyncio.sleep(1.0)
    a1, s1 = sample_tree(me), {p: proc_cpu_seconds(p, children=False) for p in actors}
    wall = time.monotonic() - w0
    streams_cpu = sum(s1[p] - s0[p] for p in actors)
    overhead = (a1.total_s - a0.total_s - streams_cpu) / wall
    res.add("fleet_overhead_core_per_stream", overhead / STREAMS, "cores", 4)
    res.add("stream_core_fraction", streams_cpu / wall / STREAMS, "cores", 3)
    others = [p for p in [me, *descendants(me)] if p not in actors]
    res.add("fleet_overhead_rss_mb", sum(proc_rss_kib(p) for p in others) / 1024, "MB", 0)
    res.add("stream_actor_rss_mb", sum(proc_rss_kib(p) for p in actors) / 1024 / STREAMS, "MB", 0)
    times: list[float] = []
    for i in range(trials):
        m = fleet.members[f"s{i % STREAMS}"]
        before = m.restarts
        await _until_running(fleet, 120, lambda m=m: m.status.get("sentences", 0) > 0)
        os.kill(m.status["pid"], signal.SIGKILL)
        t = time.perf_counter()
        await _until_running(fleet, 120, lambda m=m, b=before: m.restarts > b)
        times.append(time.perf_counter() - t)
        print(f"restart {i + 1}/{trials}: {times[-1]:.2f} s", flush=True)
    res.add("actor_restart_s_p50", percentile(times, 50), "s", 2)
    res.add("actor_restart_s_p95", percentile(times, 95), "s", 2)
    res.add("actor_restart_trials", len(times), "trials", 0)
    res.series = {"actor_restart_s": [round(x, 3) for x in times]}
    await fleet.down(30)


def main(argv: list[str] | None = None) -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=None, help="kills timed (default 8)")
    ap.add_argument("--window", type=float, default=None, help="overhead window s (default 20)")
    args = ap.parse_args(argv)
    trials = args.trials or (2 if args.quick else 8)
    window = args.window or (5.0 if args.quick else 20.0)
    import ray
    from ray.cluster_utils import Cluster

    from streamhost.fleet.config import fleet_from_dict
    from streamhost.fleet.manager import Fleet

    load0 = os.getloadavg()
    store = 80 * 2**20
    t0 = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "object_store_memory": store, "include_dashboard": False})  # fmt: skip
    for _ in range(2):
        cluster.add_node(num_cpus=2, object_store_memory=store)
    ray.init(address=cluster.address, namespace="bench-fleet", log_to_driver=False)
    res = Results(NAME, config={
        "cluster": "ray.cluster_utils.Cluster: 3 nodes x 2 logical CPUs on this machine",
        "streams": STREAMS, "stream": "544x544 @ 20 fps, espeak, no WebRTC, 1 CPU share",
        "ray": ray.__version__, "trials": trials, "overhead_window_s": window,
    })  # fmt: skip
    res.add("cluster_start_s", time.perf_counter() - t0, "s", 2)
    with tempfile.TemporaryDirectory() as tmp:
        fc = fleet_from_dict({
            "fleet": {"address": cluster.address, "data_dir": tmp, "cpus_per_stream": 1.0},
            "stream": [{"name": f"s{i}", "overrides": LIGHT} for i in range(STREAMS)],
        })  # fmt: skip
        fleet = Fleet(fc)
        try:
            asyncio.run(_measure(fleet, trials, window, res))
        finally:
            if fleet.members:
                asyncio.run(fleet.down(30))
            ray.shutdown()
            cluster.shutdown()
    load1 = os.getloadavg()
    res.config["loadavg_before_after"] = [round(load0[0], 2), round(load1[0], 2)]
    report(res, args.json, machine_info(["ray"]))
    return 0


if __name__ == "__main__":
    # as `streamhost fleet up` does: with STREAMHOST_HUGE_PAGES=1 the local cluster's nodes,
    # and so the stream actors, inherit the heap's huge-page setting (streamhost/heap.py)
    from streamhost.heap import reexec_with_huge_pages

    reexec_with_huge_pages()
    raise SystemExit(main())
