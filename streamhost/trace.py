"""End-to-end traces: a timestamp per pipeline stage for every chat event and utterance.

Stages, in order (``STAGES``):

- ``received``: the chat event entered ``Stream.ingest`` (or an operator ``say`` arrived);
- ``triaged``: the director took the event from the triage queue to answer it (so the wait for
  the next sentence boundary is in this step);
- ``text_ready``: the sentence passed the guard and goes to TTS;
- ``first_audio``: TTS returned its audio (committed to the store right after);
- ``first_frame_rendered``: the AV frame that carries the sentence's first sample was rendered;
- ``first_packet_out``: the encoder handed that frame's packets to the outputs.

Clock: on the virtual clock every stamp is media time (deterministic; the packet-out stamp uses
the frame's own media time, since the encoder thread runs at an arbitrary pace). On the real
clock stamps are ``time.monotonic()`` seconds since the book was made: media time is re-anchored
after a stall (``RealClock.shift``), which would hide exactly the delays traces exist to show.

A chat event's trace becomes the trace of the first sentence that answers it; later sentences
of the same answer, scripted lines and filler start their own trace at ``text_ready``; an
operator ``say`` starts at ``received`` (when the command arrived). A finished trace feeds
rolling per-stage latency windows (the step from the previous stamped stage, and the time from
``received``) and becomes a row for the store's ``traces`` table. Thread-safe: the encoder
thread stamps ``first_packet_out``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

STAGES: tuple[str, ...] = (
    "received",
    "triaged",
    "text_ready",
    "first_audio",
    "first_frame_rendered",
    "first_packet_out",
)
MAX_OPEN = 4096  # open traces (chat that is queued or dropped never finishes): oldest go first
MAX_SAMPLES = 4096  # per latency window
ROW_BACKLOG = 20000  # finished rows waiting for the store; beyond this the oldest are dropped


def step_key(stage: str) -> str:
    """Name of the latency from the previous stamped stage into ``stage``."""
    return stage


def total_key(stage: str) -> str:
    """Name of the latency from ``received`` to ``stage``."""
    return f"received_to_{stage}"


def latency_keys() -> list[str]:
    return [step_key(s) for s in STAGES[1:]] + [total_key(s) for s in STAGES[2:]]


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list; 0.0 when empty."""
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, int(-(-q * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


@dataclass(slots=True)
class Trace:
    """One utterance (or chat event) and its stage stamps (seconds, see module docstring)."""

    trace_id: str
    source: str = ""
    utterance: str = ""  # the sentence's trace id when a chat trace became an utterance
    wall_time: float = field(default_factory=time.time)
    stamps: dict[str, float] = field(default_factory=dict)

    def latencies_ms(self) -> dict[str, float]:
        """Step and from-received latencies in ms for the stages this trace has."""
        out: dict[str, float] = {}
        prev: float | None = None
        t0 = self.stamps.get("received")
        for st in STAGES:
            t = self.stamps.get(st)
            if t is None:
                continue
            if prev is not None:
                out[step_key(st)] = (t - prev) * 1000.0
            if t0 is not None and st not in ("received", "triaged"):
                out[total_key(st)] = (t - t0) * 1000.0
            prev = t
        return out

    def row(self) -> tuple[Any, ...]:
        return (
            self.trace_id,
            self.utterance or self.trace_id,
            self.source,
            self.wall_time,
            *(self.stamps.get(s) for s in STAGES),
        )


class Window:
    """Latency samples (ms) of the last ``window_s`` trace-clock seconds, bounded."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, float]] = deque(maxlen=MAX_SAMPLES)

    def add(self, t: float, ms: float) -> None:
        self._samples.append((t, ms))

    def values(self, now: float) -> list[float]:
        while self._samples and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()
        return sorted(ms for _, ms in self._samples)


class TraceBook:
    """Stage stamps in (``stamp``/``on_stage``); finished-trace rows (``take_rows``) and
    rolling p50/p95 per latency key (``summary``) out."""

    def __init__(
        self, virtual: bool, media_now: Callable[[], float], window_s: float = 60.0
    ) -> None:
        self.virtual = virtual
        self._media_now = media_now
        self._t0 = time.monotonic()
        self.window_s = window_s
        self._open: OrderedDict[str, Trace] = OrderedDict()
        self._alias: OrderedDict[str, str] = OrderedDict()  # sentence id -> chat trace id
        self._rows: deque[tuple[Any, ...]] = deque(maxlen=ROW_BACKLOG)
        self._windows = {k: Window(window_s) for k in latency_keys()}
        self._lock = threading.Lock()
        self.finished = 0

    def now(self) -> float:
        if self.virtual:
            return self._media_now()
        return time.monotonic() - self._t0

    # ---- stamping ----
    def on_stage(self, obj: Any, stage: str, t: float | None = None) -> None:
        """A Sentence or ChatEvent reached ``stage`` (now, or at trace time ``t``). A sentence
        at ``text_ready`` that answers a chat event still waiting for its answer takes over
        that event's trace."""
        tid = obj.trace_id
        with self._lock:
            if stage == "text_ready" and tid not in self._open and tid not in self._alias:
                reply = getattr(obj, "reply_to", None)
                chat = self._open.get(reply.trace_id) if reply is not None else None
                if chat is not None and "text_ready" not in chat.stamps:
                    chat.utterance = tid
                    chat.source = str(getattr(obj, "source", ""))
                    self._alias[tid] = chat.trace_id
                    while len(self._alias) > MAX_OPEN:
                        self._alias.popitem(last=False)
            tr = self._get(tid, create=True)
            if not tr.source and hasattr(obj, "source"):
                tr.source = str(obj.source)
            self._put(tr, stage, self.now() if t is None else t)

    def stamp(self, trace_id: str, stage: str, t: float | None = None) -> None:
        """Stamp an existing trace (frames and packets carry ids only); unknown ids are
        ignored (e.g. speech queued before the book existed)."""
        with self._lock:
            tr = self._get(trace_id, create=False)
            if tr is not None:
                self._put(tr, stage, self.now() if t is None else t)

    def packet_out(self, trace_ids: Iterable[str], media_t: float) -> None:
        """The encoder emitted the frame that starts these sentences (encoder thread)."""
        t = media_t if self.virtual else None
        for tid in trace_ids:
            self.stamp(tid, "first_packet_out", t)

    def _get(self, tid: str, create: bool) -> Trace | None:
        tid = self._alias.get(tid, tid)
        tr = self._open.get(tid)
        if tr is None and create:
            tr = self._open[tid] = Trace(tid)
            while len(self._open) > MAX_OPEN:
                _, old = self._open.popitem(last=False)
                if "text_ready" in old.stamps:  # an utterance cut before air: still a record
                    self._rows.append(old.row())
        return tr

    def _put(self, tr: Trace, stage: str, t: float) -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown trace stage {stage!r}; stages: {', '.join(STAGES)}")
        tr.stamps.setdefault(stage, t)  # first time only: "first audio", "first frame"
        if stage == STAGES[-1]:
            self._finish(tr, t)

    def _finish(self, tr: Trace, t: float) -> None:
        self._open.pop(tr.trace_id, None)
        if tr.utterance:
            self._alias.pop(tr.utterance, None)
        for key, ms in tr.latencies_ms().items():
            self._windows[key].add(t, ms)
        self._rows.append(tr.row())
        self.finished += 1

    # ---- reading ----
    def take_rows(self) -> list[tuple[Any, ...]]:
        """Finished traces not yet stored (rows for ``Store.write_traces``)."""
        with self._lock:
            rows = list(self._rows)
            self._rows.clear()
        return rows

    def values(self, key: str) -> list[float]:
        """Sorted latency samples (ms) of ``key`` within the window."""
        with self._lock:
            return self._windows[key].values(self.now())

    def summary(self) -> dict[str, dict[str, float]]:
        """{latency key: {"p50", "p95", "count"}} over the window, keys with samples only."""
        out: dict[str, dict[str, float]] = {}
        for key in self._windows:
            v = self.values(key)
            if v:
                out[key] = {
                    "p50": round(percentile(v, 50), 3),
                    "p95": round(percentile(v, 95), 3),
                    "count": len(v),
                }
        return out
