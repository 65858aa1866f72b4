"""Capacity model: machines, cores, GPUs, egress and cost per stream-hour for 100, 10,000 and
400,000 concurrent hosts, CPU-only versus GPU, from the measured figures in benchmarks/results.

Measured inputs (result names, read from ``benchmarks/results/*.json``): a stream's cores
(``streams.stream_core_fraction``, ``soak.engine_core_fraction``: the larger), the renderers'
ms per frame (``render.*_ms_per_frame``), RSS (``soak.rss_mib_end``, ``fleet.stream_actor_rss_mb``),
the encoded bitrate (``pipeline.encode_video_kbps``), a WebRTC viewer's cores
(``viewers.viewer_core_fraction``) and the fleet's overhead (``fleet.fleet_overhead_core_per_stream``).
The GPU's Wav2Lip frames per second come from ``render_gpu.gpu_wav2lip96_fps_b16`` (measured on
a lent H200) when that file is there. Assumed (options; stated in the JSON config and
docs/capacity.md): machine shapes and prices, GPU frames per second without render_gpu.json,
utilization target, spares, egress price, Ray cell
size. Writes capacity.json and capacity.png with ``--json``; ``--markdown`` prints the tables.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS_DIR, Results, arg_parser, machine_info, report  # noqa: E402

NAME = "capacity"
HOSTS = (100, 10_000, 400_000)
FPS = 25  # the default stream: 720x1280 @ 25 fps


def measured(results_dir: Path) -> dict[str, float]:
    """The figures the model uses, by ``<file stem>.<result>``; missing files are skipped.
    By file, not by the JSON's benchmark name: soak_virtual.json is soak.py on the virtual
    clock, which runs flat out, and its cores per stream must not stand in for the real clock's."""
    out: dict[str, float] = {}
    for f in sorted(results_dir.glob("*.json")):
        try:
            data = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        for r in data.get("results", []):
            if isinstance(r.get("value"), int | float):
                out[f"{f.stem}.{r['name']}"] = float(r["value"])
    return out


def scenarios(m: dict[str, float], a: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per scenario: cores, RSS and egress per stream, and the machine it runs on."""
    stream = max(m.get("streams.stream_core_fraction", 0), m.get("soak.engine_core_fraction", 0))
    puppet_render = m["render.puppet_ms_per_frame"] * FPS / 1000
    rest = stream - puppet_render  # talk, voice, compositing, encoding, muxing, the AV loop
    overhead = m.get("fleet.fleet_overhead_core_per_stream", a["fleet_overhead_default"])
    rss_mb = max(m.get("soak.rss_mib_end", 0) * 1.048576, m.get("fleet.stream_actor_rss_mb", 0))
    kbps = m.get("pipeline.encode_video_kbps", 2500) + a["audio_kbps"]
    cpu_node = {"vcpus": a["cpu_node_vcpus"], "ram_gb": a["cpu_node_ram_gb"], "gpus": 0,
                "price": a["cpu_node_price"]}  # fmt: skip
    gpu_node = {"vcpus": a["gpu_node_vcpus"], "ram_gb": a["gpu_node_ram_gb"], "gpus": 1,
                "price": a["gpu_node_price"]}  # fmt: skip
    w96 = m["render.wav2lip96_ms_per_frame"] * FPS / 1000
    # Measured on a lent H200 where render_gpu.json exists (batch 16: p99 3.9 ms there), else
    # the assumed figure.
    per_gpu = int(m.get("render_gpu.gpu_wav2lip96_fps_b16", a["gpu_wav2lip96_fps"]) // FPS)
    gpu_src = "measured" if "render_gpu.gpu_wav2lip96_fps_b16" in m else "assumed"
    base = {"rss_mb": rss_mb, "kbps": kbps}
    return {
        "cpu_puppet": {"what": "default drawn host (puppet), CPU only", "node": cpu_node,
                       "cores": stream + overhead, "per_gpu": None, **base},
        "cpu_wav2lip96": {"what": "photo-real Wav2Lip 96, rendered on CPU", "node": cpu_node,
                          "cores": rest + w96 + overhead, "per_gpu": None, **base},
        "gpu_wav2lip96": {"what": f"photo-real Wav2Lip 96 on one GPU per machine ({gpu_src} fps)",
                          "node": gpu_node, "cores": rest + overhead, "per_gpu": per_gpu, **base},
    }  # fmt: skip


def plan(s: dict[str, Any], hosts: int, a: dict[str, Any]) -> dict[str, float]:
    """Machines, cores, GPUs, egress and cost for ``hosts`` concurrent streams of ``s``."""
    node = s["node"]
    by_cpu = math.floor(node["vcpus"] * a["utilization"] / s["cores"])
    by_ram = math.floor(node["ram_gb"] * 1024 * a["ram_use"] / s["rss_mb"])
    per_node = min(by_cpu, by_ram, *([node["gpus"] * s["per_gpu"]] if s["per_gpu"] else []))
    workers = math.ceil(hosts / per_node)
    workers += math.ceil(workers * a["spare_share"])  # room to drain a failed node onto
    heads = math.ceil(workers / a["cell_nodes"])  # one Ray cluster (cell) per this many nodes
    machines = workers + heads
    egress_gbps = hosts * s["kbps"] / 1e6
    egress_gb_h = egress_gbps / 8 * 3600
    cost_h = (
        workers * node["price"] + heads * a["cpu_node_price"] + egress_gb_h * a["egress_per_gb"]
    )
    return {"streams_per_machine": per_node, "machines": machines, "ray_heads": heads,
            "cores": workers * node["vcpus"] + heads * a["cpu_node_vcpus"],
            "gpus": workers * node["gpus"], "egress_gbps": egress_gbps,
            "cost_per_hour_usd": cost_h, "cost_per_stream_hour_usd": cost_h / hosts}  # fmt: skip


ASSUMED = {
    "cpu_node_vcpus": 64, "cpu_node_ram_gb": 128, "cpu_node_price": 2.86,
    "gpu_node_vcpus": 32, "gpu_node_ram_gb": 128, "gpu_node_price": 2.01,
    "gpu_wav2lip96_fps": 2000.0, "utilization": 0.75, "ram_use": 0.8, "spare_share": 0.05,
    "cell_nodes": 1000, "egress_per_gb": 0.05, "audio_kbps": 128, "fleet_overhead_default": 0.02,
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--results", default=str(RESULTS_DIR), help="folder of measured JSON")
    ap.add_argument("--png", default=None, help="plot path (default: beside --json)")
    ap.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    for k, v in ASSUMED.items():
        ap.add_argument(f"--{k.replace('_', '-')}", type=type(v), default=v, help=f"assumed ({v})")
    args = ap.parse_args(argv)
    a = {k: getattr(args, k) for k in ASSUMED}
    m = measured(Path(args.results))
    res = Results(NAME, config={"assumed": a, "hosts": list(HOSTS), "measured": {
        k: v for k, v in m.items() if k.split(".")[1] in _USED}})  # fmt: skip
    sc = scenarios(m, a)
    rows = []
    for name, s in sc.items():
        res.add(f"{name}_core_per_stream", s["cores"], "cores", 3)
        res.add(f"{name}_rss_mb_per_stream", s["rss_mb"], "MB", 0)
        for n in HOSTS:
            p = plan(s, n, a)
            rows.append((name, n, p))
            res.add(f"{name}_{n}_machines", p["machines"], "machines", 0)
            res.add(f"{name}_{n}_cores", p["cores"], "cores", 0)
            res.add(f"{name}_{n}_gpus", p["gpus"], "GPUs", 0)
            res.add(f"{name}_{n}_egress_gbps", p["egress_gbps"], "Gbit/s", 2)
            res.add(f"{name}_{n}_cost_per_stream_hour_usd", p["cost_per_stream_hour_usd"], "USD", 4)
        res.add(f"{name}_streams_per_machine", plan(s, 100, a)["streams_per_machine"], "streams", 0)
    res.add("egress_mbps_per_stream", next(iter(sc.values()))["kbps"] / 1000, "Mbit/s", 3)
    res.add("webrtc_viewer_core_fraction", m.get("viewers.viewer_core_fraction"), "cores", 4)
    res.series = {name: {str(n): p for nm, n, p in rows if nm == name} for name in sc}
    report(res, args.json, machine_info())
    if args.markdown:
        _markdown(sc, rows)
    png = args.png or (str(Path(args.json).with_suffix(".png")) if args.json else None)
    if png:
        _plot(sc, rows, png)
    return 0


_USED = {"stream_core_fraction", "engine_core_fraction", "puppet_ms_per_frame", "rss_mib_end",
         "wav2lip96_ms_per_frame", "wav2lip256_ms_per_frame", "stream_actor_rss_mb",
         "encode_video_kbps", "viewer_core_fraction", "fleet_overhead_core_per_stream",
         "actor_restart_s_p95", "fleet_start_s", "gpu_wav2lip96_fps_b16"}  # fmt: skip


def _markdown(sc: dict[str, Any], rows: list[tuple[str, int, dict[str, float]]]) -> None:
    print("\n| scenario | hosts | streams/machine | machines | cores | GPUs | egress Gbit/s "
          "| USD/h | USD per stream-hour |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    for name, n, p in rows:
        print(f"| {name} | {n:,} | {p['streams_per_machine']:.0f} | {p['machines']:,.0f} "
              f"| {p['cores']:,.0f} | {p['gpus']:,.0f} | {p['egress_gbps']:,.1f} "
              f"| {p['cost_per_hour_usd']:,.0f} | {p['cost_per_stream_hour_usd']:.4f} |")  # fmt: skip


def _plot(sc: dict[str, Any], rows: list[tuple[str, int, dict[str, float]]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in sc:
        pts = [(n, p) for nm, n, p in rows if nm == name]
        ax1.loglog([n for n, _ in pts], [p["machines"] for _, p in pts], "o-", label=name)
    ax1.set_xlabel("concurrent hosts")
    ax1.set_ylabel("machines (workers + Ray heads)")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend()
    names = list(sc)
    costs = [next(p for nm, n, p in rows if nm == k and n == HOSTS[-1]) for k in names]
    ax2.bar(names, [c["cost_per_stream_hour_usd"] for c in costs], color=["C0", "C1", "C2"])
    ax2.set_ylabel(f"USD per stream-hour at {HOSTS[-1]:,} hosts")
    ax2.set_title("assumed prices; compute + egress")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
