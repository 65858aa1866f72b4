"""Does a CUDA graph lift the default host's GPU render out of kernel-launch overhead?

The puppet is ~1,400 small elementwise ONNX nodes; on an H200 at batch 1 its 6.5 ms per
inference (``render_gpu.json``) is launch overhead, not arithmetic, and that overhead is why N
streams batched through ``SharedRenderer`` missed the 20 ms p99 rule even at 16 streams. ONNX
Runtime can capture a session's kernels once into a CUDA graph and replay it with one launch
(``enable_cuda_graph``), provided inputs and outputs stay at fixed device addresses (IO binding).

Per batch size B (one captured session each): wall time of one frame's worth of work as a
stream would see it -- copy B parameter vectors in, replay, copy B RGBA tiles out -- for the
plain CUDA session (numpy in and out, as the engine runs it today) and the graph-captured one,
p50/p99, and the largest difference between their tiles. Then N paced 25-fps streams through
``SharedRenderer`` on the graph sessions (a batch padded to the next captured size), with
``render_gpu.py``'s pass rule (every stream's p99 under 20 ms, no missed tick):
``gpu_graph_batched_streams``.

Run on a GPU machine with onnxruntime-gpu::

    python benchmarks/render_gpu_graph.py --json benchmarks/results/render_gpu_graph.json
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Results, arg_parser, machine_info, percentile, report  # noqa: E402
from render import PUPPET, puppet_inputs  # noqa: E402
from render_gpu import LATENCY_LIMIT_MS, passes, run_streams  # noqa: E402

NAME = "render_gpu_graph"
GRAPH_BATCHES = (1, 2, 4, 8, 16, 32, 64)
STREAM_COUNTS = (16, 32, 64, 96, 128, 192, 256)


class GraphRenderer:
    """``render(params (B, N)) -> (B, 4, H, W)`` on CUDA-graph sessions, one per captured batch
    size; a batch is padded up to the next captured size (the padding rows are thrown away)."""

    def __init__(self, path: Path, batches: tuple[int, ...]) -> None:
        import onnxruntime as ort

        self.batches = batches
        self._lock = threading.Lock()
        self._by_b: dict[int, tuple[Any, Any, Any, Any]] = {}
        so = ort.SessionOptions()
        so.log_severity_level = 3
        for b in batches:
            sess = ort.InferenceSession(
                str(path), so, providers=[("CUDAExecutionProvider", {"enable_cuda_graph": "1"})]
            )
            if sess.get_providers()[0] != "CUDAExecutionProvider":
                raise RuntimeError(f"CUDA provider did not start: {sess.get_providers()}")
            n = sess.get_inputs()[0].shape[1]
            _, c, h, w = sess.get_outputs()[0].shape
            inp = ort.OrtValue.ortvalue_from_shape_and_type((b, n), np.float32, "cuda", 0)
            out = ort.OrtValue.ortvalue_from_shape_and_type((b, 4, h, w), np.float32, "cuda", 0)
            io = sess.io_binding()
            io.bind_ortvalue_input("params", inp)
            io.bind_ortvalue_output("rgba", out)
            self._by_b[b] = (sess, io, inp, out)
            self.n_params = n
        for b in batches:  # capture each graph now, not on a stream's first frame
            for _ in range(3):
                self.render(np.zeros((b, self.n_params), np.float32))

    def render(self, params: np.ndarray) -> np.ndarray:
        p = np.ascontiguousarray(params, dtype=np.float32)
        if p.ndim == 1:
            p = p[None]
        k = len(p)
        b = next((x for x in self.batches if x >= k), None)
        if b is None:
            # copies: each call may hand back a view of the same bound output buffer
            return np.concatenate([self.render(p[i : i + self.batches[-1]]).copy()
                                   for i in range(0, k, self.batches[-1])])  # fmt: skip
        if b != k:
            p = np.concatenate([p, np.zeros((b - k, p.shape[1]), np.float32)])
        sess, io, inp, out = self._by_b[b]
        with self._lock:
            inp.update_inplace(p)
            sess.run_with_iobinding(io)
            return out.numpy()[:k]


def time_one(fn: Any, params: np.ndarray, b: int, runs: int) -> list[float]:
    walls = []
    for i in range(runs):
        k = (i * b) % (len(params) - b)
        t = time.perf_counter()
        fn(params[k : k + b])
        walls.append((time.perf_counter() - t) * 1000)
    return walls


def main() -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=4.0, help="per streams run")
    args = ap.parse_args()
    import onnxruntime as ort

    if hasattr(ort, "preload_dlls"):
        ort.preload_dlls()  # CUDA and cuDNN from the nvidia-* wheels, where they are
    res = Results(NAME, config={"model": str(PUPPET.name), "batches": list(GRAPH_BATCHES),
                                "providers": ort.get_available_providers()})  # fmt: skip
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        print("no CUDAExecutionProvider in this onnxruntime", file=sys.stderr)
        return 1
    params = puppet_inputs(600)
    plain = ort.InferenceSession(str(PUPPET), providers=["CUDAExecutionProvider"])
    graph = GraphRenderer(PUPPET, GRAPH_BATCHES)
    runs = 50 if args.quick else 300
    worst = 0.0
    for b in GRAPH_BATCHES:
        ref = plain.run(None, {"params": params[:b]})[0]
        worst = max(worst, float(np.abs(graph.render(params[:b]) - ref).max()))
        for tag, fn in (("plain", lambda p: plain.run(None, {"params": p})[0]),
                        ("graph", graph.render)):  # fmt: skip
            fn(params[:b])
            w = time_one(fn, params, b, runs)
            res.add(f"gpu_{tag}_p50_ms_b{b}", percentile(w, 50), "ms", 3)
            res.add(f"gpu_{tag}_p99_ms_b{b}", percentile(w, 99), "ms", 3)
            res.add(f"gpu_{tag}_fps_b{b}", b * 1000.0 / percentile(w, 50), "frames/s", 1)
            print(f"b={b} {tag}: p50 {percentile(w, 50):.2f} p99 {percentile(w, 99):.2f} ms",
                  flush=True)  # fmt: skip
    res.add("gpu_graph_vs_plain_max_abs_diff", worst, "", 6)

    from streamhost.avatar.batcher import SharedRenderer

    shared = SharedRenderer(graph, batch_max=GRAPH_BATCHES[-1], max_wait_s=0.004)  # type: ignore[arg-type]
    best, stream_runs = 0, {}
    for n in STREAM_COUNTS:
        r = run_streams(shared, n, args.seconds, params)
        stream_runs[str(n)] = r
        res.add(f"gpu_graph_streams_{n}_worst_p99_ms", r["worst_p99_ms"], "ms", 2)
        res.add(f"gpu_graph_streams_{n}_missed_ticks", r["missed_ticks"], "ticks", 0)
        print(f"  {n} streams: {r}", flush=True)
        if passes(r, LATENCY_LIMIT_MS):
            best = n
        elif r["worst_p99_ms"] > 3 * LATENCY_LIMIT_MS:
            break
    shared.close()
    res.add("gpu_graph_batched_streams", best, "streams", 0)
    res.config["streams"] = {"pass_rule": f"every stream p99 < {LATENCY_LIMIT_MS} ms and 0 "
                             "missed ticks", "seconds_per_run": args.seconds, "runs": stream_runs}  # fmt: skip
    report(res, args.json, machine_info(["onnxruntime", "numpy"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
