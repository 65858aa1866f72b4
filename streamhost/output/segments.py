"""Recording segments: their names, their "unsigned" sidecars, and the worker that signs them.

In: closed segment files (``SignJob``) from ``Mp4Recorder``. Out: the same files, signed in
place (a signed copy replaces the original atomically), or left as they are with a sidecar
``<segment>.unsigned.json`` saying why. The sidecar is written when a segment opens and
removed only once it is signed, so a crash, a kill or a failed sign all leave the segment
playable and marked unsigned.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .provenance import Provenance
from .sidecar import sidecar_path, write_sidecar

log = logging.getLogger(__name__)


def segment_path(base: Path, index: int, start: dt.datetime) -> Path:
    """Segment 1 is the configured path itself (a short recording is one plain file); later
    ones are ``<stem>-<NNNN>-<UTC start>.mp4`` beside it, in order by name."""
    if index == 1:
        return base
    return base.with_name(f"{base.stem}-{index:04d}-{start:%Y%m%dT%H%M%SZ}{base.suffix}")


@dataclass
class SignJob:
    """A closed segment and what its manifest says about it."""

    path: Path
    index: int
    start: dt.datetime
    end: dt.datetime
    media_start_s: float
    media_end_s: float


@dataclass
class SignStats:
    signed: int = 0
    failed: int = 0
    cpu_s: float = 0.0  # signing thread CPU time, all segments
    wall_s: list[float] = field(default_factory=list)


class SignWorker:
    """One thread that signs closed segments in order, at a lower CPU priority than the AV
    path. ``submit`` (encoder thread) only enqueues; ``close`` waits for what is queued."""

    def __init__(self, prov: Provenance) -> None:
        self.prov = prov
        self.stats = SignStats()
        self._jobs: queue.Queue[SignJob | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="c2pa-sign", daemon=True)
        self._thread.start()

    def submit(self, job: SignJob) -> None:
        write_sidecar(job.path, "signing", "closed; waiting for the signer",
                      **_times(job))  # fmt: skip
        self._jobs.put(job)

    def close(self, timeout: float = 60.0) -> None:
        self._jobs.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("c2pa signer still busy after %.0fs; its segment stays unsigned", timeout)

    def _run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            # Linux threads are tasks: niceness per thread keeps a sign off the AV path's core
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        while (job := self._jobs.get()) is not None:
            c0, t0 = time.thread_time(), time.monotonic()
            try:
                self._sign(job)
                self.stats.signed += 1
            except Exception as e:  # noqa: BLE001 - any failure leaves the segment unsigned
                self.stats.failed += 1
                reason = f"{type(e).__name__}: {e}"
                log.error("segment %s left unsigned: %s", job.path, reason)
                with contextlib.suppress(OSError):
                    write_sidecar(job.path, "unsigned", reason, **_times(job))
                self.prov.alert("provenance_sign_failed", segment=str(job.path), error=reason)
            self.stats.cpu_s += time.thread_time() - c0
            self.stats.wall_s.append(time.monotonic() - t0)

    def _sign(self, job: SignJob) -> None:
        assert self.prov.signer is not None
        manifest = self.prov.manifest(job.path.name, job.index, job.start, job.end,
                                      job.media_start_s, job.media_end_s)  # fmt: skip
        tmp = job.path.with_name(job.path.name + ".signing")
        try:
            self.prov.signer.sign(job.path, tmp, manifest)
            os.replace(tmp, job.path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        sidecar_path(job.path).unlink(missing_ok=True)


def _times(job: SignJob) -> dict[str, Any]:
    return {"index": job.index, "start": job.start.isoformat(), "end": job.end.isoformat()}
