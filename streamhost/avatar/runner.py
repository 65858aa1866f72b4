"""ONNX Runtime wrapper for avatar models: face parameters in, RGBA tiles out."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .ort_session import make_session

INPUT_NAME = "params"
OUTPUT_NAME = "rgba"


class OnnxRenderer:
    """Runs an avatar ONNX model: ``render(params (B, N) float32) -> (B, 4, H, W) float32``.

    ``providers`` is a wish list (e.g. ["CUDAExecutionProvider"]); those not available in this
    onnxruntime build are skipped and CPU is always the fallback. ``threads`` sets
    intra_op_num_threads: give it the cores actually free (oversubscription doubles the time).
    A missing or unsuitable model file raises ValueError naming the file and the problem.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        providers: list[str] | None = None,
        threads: int = 1,
        n_params: int | None = None,
    ) -> None:
        path = Path(model_path)
        self.session, self.provider = make_session(path, providers, threads)
        self.threads = max(1, int(threads))

        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or inputs[0].name != INPUT_NAME or len(inputs[0].shape) != 2:
            got = [(i.name, i.shape) for i in inputs]
            raise ValueError(
                f"avatar model {path}: expected one input {INPUT_NAME!r} of shape (batch, N), "
                f"got {got}"
            )
        out = next((o for o in outputs if o.name == OUTPUT_NAME), None)
        if (
            out is None
            or len(out.shape) != 4
            or out.shape[1] not in (4, None)
            and not isinstance(out.shape[1], str)
        ):
            got = [(o.name, o.shape) for o in outputs]
            raise ValueError(
                f"avatar model {path}: expected an output {OUTPUT_NAME!r} of shape "
                f"(batch, 4, H, W), got {got}"
            )
        dim = inputs[0].shape[1]
        if not isinstance(dim, int):
            raise ValueError(
                f"avatar model {path}: input {INPUT_NAME!r} needs a fixed N, got {dim}"
            )
        if n_params is not None and dim != n_params:
            raise ValueError(
                f"avatar model {path}: input {INPUT_NAME!r} has {dim} parameters, expected {n_params}"
            )
        self.path = path
        self.n_params: int = dim
        h, w = out.shape[2], out.shape[3]
        self.size: tuple[int, int] | None = (
            (h, w) if isinstance(h, int) and isinstance(w, int) else None
        )

    def warmup(self, runs: int = 3, batch: int = 1) -> None:
        """A few inferences so the first real frame does not pay for allocation and tuning."""
        p = np.zeros((batch, self.n_params), dtype=np.float32)
        for _ in range(runs):
            self.render(p)

    def render(self, params: np.ndarray) -> np.ndarray:
        """(B, N) or (N,) float32 parameters -> (B, 4, H, W) float32 RGBA."""
        p = np.ascontiguousarray(params, dtype=np.float32)
        if p.ndim == 1:
            p = p[None]
        if p.ndim != 2 or p.shape[1] != self.n_params:
            raise ValueError(f"render expects (B, {self.n_params}) params, got {params.shape}")
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: p})[0]
