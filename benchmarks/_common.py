"""Shared helpers for the scripts in ``benchmarks/``.

Every benchmark prints a table (name, value, unit) and, with ``--json PATH``, writes::

    {"benchmark": NAME, "machine": {...}, "config": {...},
     "results": [{"name": ..., "value": ..., "unit": ...}, ...]}

Here: the machine description, percentiles, the result list, table printing, JSON writing and CPU
time sampling (this thread, another thread of this process, or a whole process tree via /proc).
Nothing here imports the package, so a benchmark can use it before deciding what to load.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# -- machine ------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _gpu() -> list[dict[str, str]] | None:
    """NVIDIA GPUs as reported by nvidia-smi, or None when there is none (or no driver)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    gpus = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"name": parts[0], "memory": parts[1], "driver": parts[2]})
    return gpus or None


def _version(module: str) -> str | None:
    try:
        mod = importlib.import_module(module)
    except Exception:  # noqa: BLE001 - a missing or broken optional module is just "absent"
        return None
    return str(getattr(mod, "__version__", "unknown"))


def machine_info(extra_modules: Iterable[str] = (), probe: bool = False) -> dict[str, Any]:
    """Cores, CPU model, memory, GPU (None without nvidia-smi), OS and library versions; with
    ``probe``, also the day's speed yardstick (``_speed.speed_probe``, ~1 s)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    versions = {
        m: _version(m) for m in ("numpy", "onnxruntime", "av", "aiortc", *tuple(extra_modules))
    }
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "gpu": _gpu(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
        "loadavg_at_start": load,
    }
    if probe:
        from _speed import speed_probe

        info["speed_probe"] = speed_probe()
    return info


# -- statistics ---------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    xs = sorted(values)
    if len(xs) == 1:
        return float(xs[0])
    pos = (len(xs) - 1) * min(100.0, max(0.0, q)) / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))


def mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else math.nan


def ms(seconds: float) -> float:
    return seconds * 1000.0


# -- results ------------------------------------------------------------------------------------


@dataclass
class Results:
    """An ordered list of (name, value, unit) figures, printed as a table and written as JSON."""

    benchmark: str
    config: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    # curves for plots (benchmarks/report.py), written as the JSON's "series" key when non-empty
    series: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, value: float | int | None, unit: str, digits: int = 3) -> None:
        if isinstance(value, float):
            value = None if math.isnan(value) else round(value, digits)
        self.rows = [r for r in self.rows if r["name"] != name]
        self.rows.append({"name": name, "value": value, "unit": unit})

    def add_stage(self, stage: str, samples_ms: Sequence[float], unit: str = "ms") -> None:
        """``<stage>_ms_per_frame`` (mean) and ``<stage>_p50_ms`` from per-frame samples."""
        self.add(f"{stage}_ms_per_frame", mean(samples_ms), unit, 4)
        self.add(f"{stage}_p50_ms", percentile(samples_ms, 50), unit, 4)

    def get(self, name: str) -> Any:
        for r in self.rows:
            if r["name"] == name:
                return r["value"]
        raise KeyError(name)

    def as_dict(self, machine: dict[str, Any] | None = None) -> dict[str, Any]:
        out = {
            "benchmark": self.benchmark,
            "machine": machine if machine is not None else machine_info(),
            "config": self.config,
            "results": self.rows,
        }
        if self.series:
            out["series"] = self.series
        return out


def print_table(results: Results, file: Any = None) -> None:
    """The results as an aligned three-column table on stdout."""
    out = file or sys.stdout
    rows = [("name", "value", "unit")] + [
        (r["name"], _fmt(r["value"]), r["unit"]) for r in results.rows
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"# {results.benchmark}", file=out)
    for i, (n, v, u) in enumerate(rows):
        print(f"{n:<{w0}}  {v:>{w1}}  {u}", file=out)
        if i == 0:
            print(f"{'-' * w0}  {'-' * w1}  {'-' * 4}", file=out)
    out.flush()


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:.1f}"
    return str(v)


def write_json(path: str | os.PathLike[str], results: Results, machine: dict | None = None) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(results.as_dict(machine), indent=2) + "\n", encoding="utf-8")
    return p


def report(results: Results, json_path: str | None, machine: dict | None = None) -> None:
    """Print the table and, with ``--json PATH``, write the same figures as JSON."""
    print_table(results)
    if json_path:
        write_json(json_path, results, machine)
        print(f"wrote {json_path}")


def arg_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the options every benchmark has: ``--json PATH`` and ``--quick``."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    ap.add_argument("--quick", action="store_true", help="smoke test: fewer frames, short runs")
    return ap


# -- CPU time -----------------------------------------------------------------------------------


def reap(procs: Iterable[Any], timeout: float = 10) -> None:
    """Kill and wait for the child processes a run left behind (on error or timeout)."""
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(timeout)


def pin_one_core() -> int | None:
    """Pin this process to its last allowed core (per-core figures); the core, or None."""
    try:
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[-1]})
        return cores[-1]
    except (AttributeError, OSError):
        return None


def thread_cpu_clock(ident: int) -> int:
    """A clock id for ``time.clock_gettime`` that reads another thread's CPU time.

    ``ident`` is ``threading.Thread.ident`` (the pthread id) of a live thread in this process.
    """
    return time.pthread_getcpuclockid(ident)


def _proc_stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'
    return raw[raw.rindex(")") + 2 :].split()


def proc_cpu_seconds(pid: int, children: bool = True) -> float:
    """user+sys CPU seconds of one process (all its threads); with ``children`` also the CPU of
    children it has already waited for (cutime+cstime). 0.0 if the process is gone."""
    f = _proc_stat(pid)
    if f is None:
        return 0.0
    # after the comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    ticks = int(f[11]) + int(f[12])
    if children:
        ticks += int(f[13]) + int(f[14])
    return ticks / _CLK_TCK


def proc_minor_faults(pid: int) -> int:
    """Minor page faults of one process so far (pages it touched for the first time)."""
    f = _proc_stat(pid)
    return int(f[7]) if f is not None else 0


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """user+sys CPU seconds of each live thread (native id) of a process, from /proc."""
    out: dict[int, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            raw = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        f = raw[raw.rindex(")") + 2 :].split()
        out[int(tid)] = (int(f[11]) + int(f[12])) / _CLK_TCK
    return out


def descendants(pid: int) -> list[int]:
    """Live descendant pids of ``pid`` (children, grandchildren, ...), from /proc."""
    parent_of: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            f = _proc_stat(int(d))
            if f is not None:
                parent_of[int(d)] = int(f[1])
    out: list[int] = []
    frontier = [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent_of.items() if pp == p]
        out.extend(kids)
        frontier.extend(kids)
    return out


@dataclass(frozen=True)
class CpuSample:
    wall: float  # time.monotonic()
    self_s: float  # the process itself (+ children it reaped)
    children_s: dict[int, float]  # live descendants, each with its reaped children
    minor_faults: int = 0  # of the process itself

    @property
    def total_s(self) -> float:
        return self.self_s + sum(self.children_s.values())


def sample_tree(pid: int) -> CpuSample:
    """CPU seconds of a process and its live descendants, with the wall time of the sample.

    A descendant that exits between two samples and is reaped by its parent moves its CPU into
    the parent's cutime/cstime, so the tree total stays consistent across the two samples.
    """
    kids = {c: proc_cpu_seconds(c) for c in descendants(pid)}
    return CpuSample(time.monotonic(), proc_cpu_seconds(pid), kids, proc_minor_faults(pid))


def core_fraction(a: CpuSample, b: CpuSample) -> float:
    """Share of one core the tree used between two samples (CPU seconds / wall seconds)."""
    # a child alive at `a` but gone (and reaped) at `b`: its time is in the parent's c*time at b
    return (b.total_s - a.total_s) / max(1e-9, b.wall - a.wall)


def proc_rss_kib(pid: int) -> int:
    """Resident set size (VmRSS) of a process in KiB; 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares (slope, intercept) of ys against xs; NaNs with fewer than two distinct xs."""
    n = len(xs)
    if n < 2 or n != len(ys):
        return math.nan, math.nan
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return math.nan, math.nan
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return slope, my - slope * mx


def engine_without_gc_settling() -> None:
    """Make this process's Engine run as before streamhost/gc_pauses.py: its start-up settle
    and its every-30-s settles become no-ops (for before/after runs of the same code)."""
    import asyncio

    import streamhost.engine as eng

    async def never() -> None:
        await asyncio.Event().wait()

    eng.settle = lambda: 0.0  # type: ignore[assignment]
    eng.settle_forever = never  # type: ignore[assignment]
