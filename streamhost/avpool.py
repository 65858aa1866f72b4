"""One pool of AV worker threads for the streams of a process, earliest deadline first.

N streams in one process (``run --copies N``) each had a render thread and an encoder thread:
2N threads for two cores, scheduled by the OS with no idea which frame is due first. Here the
streams' renders and encodes are jobs on one pool sized to the cores. A job carries a deadline
on the shared media clock (the frame's time); a free worker always takes the job due first.
Each stream's renderer and encoder is a ``Lane``: its jobs run one at a time, in the order they
were submitted (a renderer and an x264 context are stateful), and only a lane's oldest job
competes for a worker, so the pool's order is the order of urgency across streams.

A stream that falls behind is not slowed silently: its frames still leave on time with what is
ready, and its late ticks and dropped frames are counted by the AV loop and the encoder.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

log = logging.getLogger("streamhost.avpool")


# AV workers (renders, encodes) run this many nice levels below the event loop, which sends
# every frame at a fixed phase of its period: when the cores are full, a waking loop preempts
# a worker at once instead of queueing behind it for the scheduler's wake-up granularity.
# Measured: 4 default copies at render_ahead 3 on 2 cores, worst p99 frame interval 52.0 and
# 60.7 ms with the workers at the loop's priority, 45.5, 48.1 and 49.3 ms with them 5 levels
# nicer (2026-12-05).
WORKER_NICE = 5


def lower_priority(step: int = WORKER_NICE) -> None:
    """Run the calling thread ``step`` nice levels below where it runs now (at most 19). On
    Linux each thread has its own nice value and raising it needs no privilege; where that
    fails or does not exist, nothing changes. Threads it starts later inherit the value."""
    if step <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))
    except OSError as exc:
        log.debug("could not lower an AV worker's priority: %s", exc)


def pool_size() -> int:
    """Workers for the cores this process may run on (the event loop takes its turns too)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class DeadlinePool:
    """Callables in (through ``lane().submit_by``), run on ``threads`` daemon workers, the job
    with the earliest deadline first; each job's result or exception out through its Future."""

    def __init__(self, threads: int | None = None, name: str = "av") -> None:
        self.threads = threads or pool_size()
        self._heap: list[tuple[float, int, Lane]] = []
        self._cv = threading.Condition()
        self._seq = itertools.count()
        self._closed = False
        self._workers = [
            threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True)
            for i in range(self.threads)
        ]
        for w in self._workers:
            w.start()

    def lane(self, name: str = "") -> Lane:
        """A serial queue of jobs on this pool (one per renderer, one per encoder)."""
        return Lane(self, name)

    def close(self) -> None:
        """Stop the workers once the jobs already queued have run."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()

    def _push(self, deadline: float, lane: Lane) -> None:
        with self._cv:
            heapq.heappush(self._heap, (deadline, next(self._seq), lane))
            self._cv.notify()

    def _work(self) -> None:
        lower_priority()
        while True:
            with self._cv:
                while not self._heap and not self._closed:
                    self._cv.wait()
                if not self._heap:
                    return
                _, _, lane = heapq.heappop(self._heap)
            lane._run_head()


class Lane:
    """Jobs of one stateful stage, in submission order, one at a time, on a ``DeadlinePool``.
    ``submit_by(deadline, fn, *args)`` -> Future; ``submit(fn, *args)`` (deadline 0, for
    ``loop.run_in_executor``) makes a lane usable wherever an executor is."""

    def __init__(self, pool: DeadlinePool, name: str = "") -> None:
        self.pool = pool
        self.name = name
        self._jobs: deque[tuple[float, Callable[..., Any], tuple, Future]] = deque()
        self._lock = threading.Lock()
        self._busy = False  # the head job is in the pool's heap or running
        self._idle = threading.Event()
        self._idle.set()

    def submit_by(self, deadline: float, fn: Callable[..., Any], *args: Any) -> Future:
        fut: Future = Future()
        with self._lock:
            self._jobs.append((deadline, fn, args, fut))
            self._idle.clear()
            start = not self._busy
            self._busy = True
        if start:
            self.pool._push(deadline, self)
        return fut

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self.submit_by(0.0, fn, *args)

    @property
    def pending(self) -> int:
        return len(self._jobs)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every job submitted so far has run; False on timeout."""
        return self._idle.wait(timeout)

    def _run_head(self) -> None:
        with self._lock:
            _, fn, args, fut = self._jobs.popleft()
        if fut.set_running_or_notify_cancel():
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - the Future carries it to the caller
                fut.set_exception(exc)
        with self._lock:
            nxt = self._jobs[0][0] if self._jobs else None
            if nxt is None:
                self._busy = False
                self._idle.set()
        if nxt is not None:
            self.pool._push(nxt, self)
