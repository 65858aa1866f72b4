"""One avatar model shared by several streams, their frames rendered in one batched inference.

Each stream's render thread calls ``RenderClient.render(params)`` and blocks until its tile is
ready. A worker thread takes the first waiting request, gathers the others that arrive within
``max_wait_s`` (or stops early once every registered client has a request in), runs the model
once on the stacked batch, and hands each caller its slice.

On a GPU one batched call costs about the same as one single frame, so this is how one GPU serves
hundreds of streams. On a CPU this model's per-frame cost rises with the batch (the working set
outgrows the cache: see ``benchmarks/render.py``), so ``batch_max = 1`` is the CPU default and
each stream then renders directly in its own thread, with no hand-off at all.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .runner import OnnxRenderer

log = logging.getLogger("streamhost.avatar")


@dataclass(slots=True)
class _Request:
    params: np.ndarray  # (N,) float32
    done: threading.Event = field(default_factory=threading.Event)
    result: np.ndarray | None = None
    error: BaseException | None = None


@dataclass
class BatchStats:
    batches: int = 0
    frames: int = 0
    max_batch: int = 0

    @property
    def mean_batch(self) -> float:
        return self.frames / self.batches if self.batches else 0.0


class SharedRenderer:
    """An ``OnnxRenderer`` served to many clients; ``client()`` gives each stream its handle."""

    def __init__(
        self,
        renderer: OnnxRenderer,
        batch_max: int = 8,
        max_wait_s: float = 0.004,
        workers: int = 1,
    ) -> None:
        if batch_max < 1:
            raise ValueError(f"batch_max must be >= 1, got {batch_max}")
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.renderer = renderer
        self.batch_max = batch_max
        self.max_wait_s = max_wait_s
        # More than one batch in flight (ONNX Runtime releases the GIL and its session is
        # re-entrant). On one session with CUDA they still run one after another on its stream:
        # 2 or 4 workers measured no better than 1 on an H200 (benchmarks/render_gpu.py).
        self.workers = workers
        self.stats = BatchStats()
        self._pending: deque[_Request] = deque()
        self._cv = threading.Condition()
        self._clients = 0
        self._closed = False
        self._threads: list[threading.Thread] = []

    # -- clients -------------------------------------------------------------------------------
    def client(self) -> RenderClient:
        with self._cv:
            self._clients += 1
            if self.batch_max > 1 and not self._threads:
                for i in range(self.workers):
                    t = threading.Thread(target=self._serve, name=f"avatar-batch-{i}", daemon=True)
                    t.start()
                    self._threads.append(t)
        return RenderClient(self)

    def _release(self) -> None:
        with self._cv:
            self._clients = max(0, self._clients - 1)
            self._cv.notify_all()

    def _submit(self, params: np.ndarray) -> np.ndarray:
        if self.batch_max == 1:
            return self.renderer.render(params[None, :])[0]
        req = _Request(np.ascontiguousarray(params, dtype=np.float32))
        with self._cv:
            if self._closed:
                raise RuntimeError("shared renderer is closed")
            self._pending.append(req)
            self._cv.notify_all()
        req.done.wait()
        if req.error is not None:
            raise req.error
        assert req.result is not None
        return req.result

    # -- worker --------------------------------------------------------------------------------
    def _take_batch(self) -> list[_Request]:
        with self._cv:
            while not self._pending and not self._closed:
                self._cv.wait()
            if self._closed and not self._pending:
                return []
            deadline = time.monotonic() + self.max_wait_s
            # Streams tick at the same frame rate but not in phase: wait a little for the others,
            # never longer than max_wait_s, and not at all once every client is in.
            while len(self._pending) < min(self.batch_max, self._clients) and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(left)
            n = min(self.batch_max, len(self._pending))
            return [self._pending.popleft() for _ in range(n)]

    def _serve(self) -> None:
        while True:
            batch = self._take_batch()
            if not batch:
                return
            try:
                out = self.renderer.render(np.stack([r.params for r in batch]))
            except BaseException as e:  # noqa: BLE001 - every waiting stream must hear of it
                for r in batch:
                    r.error = e
                    r.done.set()
                continue
            with self._cv:  # several workers count into the same stats
                self.stats.batches += 1
                self.stats.frames += len(batch)
                self.stats.max_batch = max(self.stats.max_batch, len(batch))
            for i, r in enumerate(batch):
                r.result = out[i]
                r.done.set()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        for t in self._threads:
            t.join(timeout=2)


class RenderClient:
    """One stream's handle: ``render(params (1, N) or (N,)) -> (1, 4, H, W)`` like OnnxRenderer."""

    def __init__(self, shared: SharedRenderer) -> None:
        self._shared = shared
        r = shared.renderer
        self.n_params = r.n_params
        self.provider = r.provider
        self.size = r.size
        self.path = r.path
        self.threads = r.threads
        self._open = True

    def render(self, params: np.ndarray) -> np.ndarray:
        p = np.asarray(params, dtype=np.float32)
        if p.ndim == 2 and p.shape[0] == 1:
            p = p[0]
        if p.ndim != 1 or p.shape[0] != self.n_params:
            raise ValueError(f"render expects (1, {self.n_params}) params, got {params.shape}")
        return self._shared._submit(p)[None]

    def warmup(self, runs: int = 3) -> None:
        self._shared.renderer.warmup(runs=runs, batch=max(1, self._shared.batch_max))
        self._shared.renderer.warmup(runs=1, batch=1)

    def close(self) -> None:
        if self._open:
            self._open = False
            self._shared._release()


_registry: dict[tuple, SharedRenderer] = {}
_registry_lock = threading.Lock()


def shared_renderer(
    model: str | os.PathLike[str],
    providers: list[str],
    threads: int,
    batch_max: int = 1,
    max_wait_s: float = 0.004,
) -> RenderClient:
    """A client of the process-wide shared renderer for this model and settings (one ONNX
    session per model, however many streams use it)."""
    key = (str(os.path.realpath(model)), tuple(providers), threads, batch_max, max_wait_s)
    with _registry_lock:
        shared = _registry.get(key)
        if shared is None:
            shared = SharedRenderer(
                OnnxRenderer(model, providers=providers, threads=threads), batch_max, max_wait_s
            )
            _registry[key] = shared
        return shared.client()
