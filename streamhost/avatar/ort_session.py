"""ONNX Runtime sessions for avatar models: provider choice with fallback, thread count, warm-up.

Model path + a provider wish list in; an ``InferenceSession`` and the provider actually in use
out, with one log line that says which it is and why any wished-for provider was not used.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("streamhost.avatar")

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def free_cores(reserved: int = 0) -> int:
    """Cores this process may run on, less ``reserved`` ones other work keeps busy (at least 1).

    Oversubscribed ONNX Runtime threads cost more than they give (measured: ~2x per frame when
    the encoder and the render pool fight over the same two cores), so callers reserve the cores
    that the encoder threads and the event loop use.
    """
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, n - max(0, reserved))


def _provider_entry(name: str, path: Path) -> Any:
    if name == "TensorrtExecutionProvider":
        # Engines are built per GPU and model; caching them turns a minutes-long start into
        # seconds after the first run.
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        cache = cache / "streamhost" / "trt"
        return (
            name,
            {
                "trt_engine_cache_enable": True,
                "trt_engine_cache_path": str(cache),
                "trt_fp16_enable": True,
            },
        )
    if name == "CUDAExecutionProvider":
        return (name, {"cudnn_conv_algo_search": "HEURISTIC"})
    return name


def make_session(
    path: str | os.PathLike[str],
    providers: list[str] | None = None,
    threads: int = 1,
    what: str = "avatar model",
) -> tuple[Any, str]:
    """(session, provider in use). Unavailable providers are skipped, a GPU provider that fails
    to start falls back to CPU, and one INFO line reports the outcome. A missing or unreadable
    file raises ValueError naming it."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{what} {path}: file not found")
    wished = list(providers or ["CPUExecutionProvider"])
    available = ort.get_available_providers()
    notes = [f"{p} not in this onnxruntime build" for p in wished if p not in available]
    chosen = [p for p in wished if p in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, int(threads))
    so.inter_op_num_threads = 1
    so.log_severity_level = 3  # ORT's own warnings are noise here; failures still raise
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # A frame every 40 ms, not a stream of batches: spinning workers only burn the core that
    # the encoder needs (measured: paced render CPU/frame drops ~15% with spinning off).
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    entries = [_provider_entry(p, path) for p in chosen]
    try:
        session = ort.InferenceSession(str(path), so, providers=entries)
    except Exception as e:  # ORT raises several exception types for bad files and GPU setups
        if chosen == ["CPUExecutionProvider"]:
            raise ValueError(f"{what} {path}: cannot load as ONNX ({e})") from e
        notes.append(f"{'/'.join(chosen[:-1])} failed to start ({str(e).splitlines()[0]})")
        try:
            session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        except Exception as e2:  # noqa: BLE001 - same as above, now on CPU alone
            raise ValueError(f"{what} {path}: cannot load as ONNX ({e2})") from e2
    in_use = session.get_providers()[0]
    if chosen[0] != in_use and chosen[0] in GPU_PROVIDERS:
        # onnxruntime-gpu drops a provider whose CUDA/cuDNN libraries fail to load with only a
        # logged error; say so here, or the operator sees a slow CPU stream and no reason.
        notes.append(f"{chosen[0]} was dropped by onnxruntime (CUDA libraries missing?)")
    log.info(
        "%s %s: running on %s, %d thread(s)%s",
        what,
        path.name,
        in_use,
        so.intra_op_num_threads,
        f" ({'; '.join(notes)})" if notes else "",
    )
    return session, in_use


def resolve_threads(requested: int, streams: int = 1) -> int:
    """``[avatar] threads``: a positive number as given; 0 = the cores the streams' encoders
    (one busy core each, measured: libx264 + AAC + Opus at 720x1280 is ~0.3 core) leave free,
    shared among the streams' render threads."""
    if requested > 0:
        return requested
    return max(1, free_cores(reserved=streams) // max(1, streams))
