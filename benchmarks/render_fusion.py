"""Would a fused renderer be cheaper than ONNX Runtime's node-by-node run of the default host?

The drawn host's graph is about 1,400 small elementwise nodes, and ONNX Runtime runs each as its
own pass over its band of the tile. A fused kernel computes every layer of a pixel in one pass,
with no intermediate tensors. This measures what fusion buys on this CPU before anyone writes a
second renderer by hand: the same model (``streamhost.avatar.model.PuppetModel``) compiled by
torch's inductor, which fuses the elementwise chains into generated C++ loops (vectorised,
one thread), against ``assets/avatar/default/puppet.onnx`` in ONNX Runtime with the engine's
session settings (one thread).

It also splits the ONNX render by what the tile draws: the same model exported with the eyes,
the lower face (nose, cheeks, mouth) or both left out, so ``*_ms`` differences name what each
part costs. Every variant renders the same speaking, gesturing parameter sequence
(``render.py``'s), in alternating rounds so a change in the machine's speed hits all of them;
the figure is the median over rounds of CPU ms per render.

    python benchmarks/render_fusion.py [--json PATH] [--quick] [--rounds R] [--frames N]

Needs torch (the ``dev`` extra) and a C++ compiler for inductor; the compile takes about a
minute here and is not counted.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Results, arg_parser, machine_info, pin_one_core, report  # noqa: E402
from render import PUPPET, puppet_inputs  # noqa: E402

NAME = "render_fusion"
# What each ONNX variant leaves out of the face details (their layers become zero coverage).
PARTS = {"no_eyes": ("eyes",), "no_lower_face": ("lower",), "no_face_details": ("eyes", "lower")}


def _model(drop: tuple[str, ...] = ()) -> Any:
    """The default host's torch model, with the named face-detail groups drawn as nothing."""
    from streamhost.avatar.model import PuppetModel

    m = PuppetModel().eval()

    def nothing(xf, yf, axf, f, style):  # noqa: ANN001, ANN202 - same signature as the parts
        return [xf * 0.0] * 7

    for part in drop:
        setattr(m, f"_{part}", nothing)
    return m


def _ort_runner(path: Path) -> Callable[[Any], Any]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return lambda p: sess.run(None, {name: p})[0]


def _export(drop: tuple[str, ...], path: Path) -> Path:
    import torch

    from streamhost.avatar.build import OPSET
    from streamhost.avatar.params import N_PARAMS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation, as in build.py
        torch.onnx.export(_model(drop), (torch.zeros(1, N_PARAMS),), str(path),
                          input_names=["params"], opset_version=OPSET, dynamo=False)  # fmt: skip
    return path


def _inductor_runner(example: Any) -> tuple[Callable[[Any], Any], float]:
    """The model compiled by inductor (graph captured whole by torch.export), compile seconds."""
    import torch

    torch.set_num_threads(1)
    x = torch.from_numpy(example[:1].copy())
    t0 = time.perf_counter()
    with torch.no_grad():
        compiled = torch.compile(
            torch.export.export(_model(), (x,)).module(), backend="inductor", fullgraph=True
        )
        compiled(x)
    compile_s = time.perf_counter() - t0

    def run(p: Any) -> Any:
        with torch.no_grad():
            return compiled(torch.from_numpy(p)).numpy()

    return run, compile_s


def _cpu_ms(run: Callable[[Any], Any], params: Any) -> float:
    c0 = time.thread_time()
    for i in range(len(params)):
        run(params[i : i + 1])
    return (time.thread_time() - c0) * 1000 / len(params)


def main() -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=None, help="alternating rounds (10)")
    ap.add_argument("--frames", type=int, default=None, help="renders per variant per round")
    args = ap.parse_args()
    rounds = args.rounds or (3 if args.quick else 10)
    frames = args.frames or (50 if args.quick else 250)
    core = pin_one_core()
    params = puppet_inputs(frames)
    res = Results(
        NAME,
        config={
            "rounds": rounds,
            "frames_per_round": frames,
            "pinned_core": core,
            "threads": 1,
            "timing": "CPU ms per render (thread time), median over alternating rounds",
            "onnx": str(PUPPET.relative_to(PUPPET.parents[3])),
        },
    )
    runners: dict[str, Callable[[Any], Any]] = {"onnx": _ort_runner(PUPPET)}
    with tempfile.TemporaryDirectory() as d:
        for key, drop in PARTS.items():
            runners[f"onnx_{key}"] = _ort_runner(_export(drop, Path(d) / f"{key}.onnx"))
        runners["inductor"], compile_s = _inductor_runner(params)
        res.config["inductor_compile_s"] = round(compile_s, 1)
        diff = max(
            float(abs(runners["inductor"](params[i : i + 1]) - runners["onnx"](params[i : i + 1]))
                  .max())
            for i in range(0, frames, max(1, frames // 20))
        )  # fmt: skip
        for run in runners.values():  # warm every session and allocator before timing
            _cpu_ms(run, params[:10])
        times: dict[str, list[float]] = {k: [] for k in runners}
        for r in range(rounds):
            # Alternate the order as well, so no variant always runs right after the same one.
            for key in list(runners)[:: 1 if r % 2 == 0 else -1]:
                times[key].append(_cpu_ms(runners[key], params))
    med = {k: statistics.median(v) for k, v in times.items()}
    res.add("onnx_ms", med["onnx"], "ms")
    res.add("inductor_ms", med["inductor"], "ms")
    res.add("inductor_over_onnx", med["inductor"] / med["onnx"], "x")
    res.add("inductor_max_abs_diff", diff, "", 7)
    res.add("large_layers_ms", med["onnx_no_face_details"], "ms")
    res.add("face_details_ms", med["onnx"] - med["onnx_no_face_details"], "ms")
    res.add("eyes_ms", med["onnx"] - med["onnx_no_eyes"], "ms")
    res.add("lower_face_ms", med["onnx"] - med["onnx_no_lower_face"], "ms")
    res.series["rounds_ms"] = {k: [round(x, 3) for x in v] for k, v in times.items()}
    report(res, args.json, machine_info(["onnxruntime", "torch"], probe=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
