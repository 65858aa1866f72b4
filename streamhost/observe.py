"""What a running stream tells the outside: the store log, control-socket events, alerts,
latency traces and budget, metrics, and the RTMP outage watch.

Stages call in (``commit``, ``aired``, ``chat``, ``rejected``, ``restart``); operators and
dashboards read out (events on the bus, ``metrics()``), and two background tasks keep the
store flushed and sample the stream once per media second.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from .budget import BudgetWatch, load_budget
from .clock import Clock
from .control.events import EventBus
from .frames import ChatEvent, Sentence, Speech
from .store import HEALTH_COLUMNS, Store
from .trace import TraceBook
from .zh_variants import to_traditional, written_traditional

CAPTIONS_WAITING = 64  # committed, not yet aired lines kept for captions
CAPTION_LATEST_S = 0.3  # a caption whose frame the encoder never reported goes out after this
RTMP_DOWN_ALERT_S = 5.0  # an RTMP output that was live and has not been for this long: alert
STORE_RESUMED_S = 1.0  # store writes succeeding this long after a loss: write_resumed
HEALTH_EVERY_S = 10.0  # media seconds between stored health rows (the morning report's timeline)
METRIC_KEYS = (
    "frames", "late_frames", "encoder_dropped", "speech_buffered_seconds", "render_ms_p50",
    "viewers", "rtmp_live", "chat_queue", "sentences", "chat_accepted", "chat_blocked",
    "stage_restarts", "guard_rejections", "product", "stalls", "av_offset_ms",
)  # fmt: skip


class Observer:
    """One stream's log, events and health. In: what the stages report; out: store rows,
    events for control subscribers, alerts, and the per-second metrics sample."""

    def __init__(self, store: Store, clock: Clock, budget_path: str) -> None:
        self.store = store
        self.clock = clock
        self.events = EventBus()  # control-socket subscribers (see control/events.py)
        budget = load_budget(budget_path)
        self.trace = TraceBook(clock.virtual, clock.now, window_s=budget.window_s)
        self.budget = BudgetWatch(budget, self.trace, self.alert)
        self.chat_accepted = self.chat_rejected = self.chat_blocked = self.sentences = 0
        self.cpu_fraction = 0.0
        self._cpu_mark = (time.monotonic(), time.process_time())
        # Committed lines waiting to air, for the viewer page's captions (topic ``caption``):
        # bounded, a line taken back and dropped never airs and is pushed out by newer ones.
        self._captions: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._on_air: deque[tuple[float, dict[str, Any]]] = deque(maxlen=CAPTIONS_WAITING)
        self._loop: asyncio.AbstractEventLoop | None = None
        # the store's rows lost to a full disk: as last seen, at the alert, when last lost
        self._store_lost: dict[str, int] = {}
        self._store_lost_at_fail: dict[str, int] = {}
        self._store_failed_at: float | None = None

    # ---- what the stages report ----
    def commit(self, s: Sentence, speech: Speech) -> None:
        """A sentence is about to be spoken: it is in the store before it is on air."""
        self.store.add_sentence(s, self.clock.now(), speech.duration)
        self.sentences += 1
        self._captions[s.trace_id] = {
            "trace_id": s.trace_id, "text": caption_text(s), "lang": s.lang,
            "source": str(s.source),
            "duration": round(speech.duration, 3),
            "reply_to": s.reply_to.trace_id if s.reply_to else None,
        }  # fmt: skip
        while len(self._captions) > CAPTIONS_WAITING:
            self._captions.popitem(last=False)
        if self.events.wants("transcript"):
            self.events.publish("transcript", {
                "phase": "committed", "trace_id": s.trace_id,
                "media_time": round(self.clock.now(), 3), "source": str(s.source),
                "product": s.product_id, "emotion": str(s.emotion), "lang": s.lang,
                "reply_to": s.reply_to.trace_id if s.reply_to else None,
                "duration": round(speech.duration, 3), "text": s.text,
            })  # fmt: skip

    def aired(self, trace_id: str, t: float) -> None:
        self.trace.stamp(trace_id, "first_frame_rendered")
        self.store.mark_aired(trace_id, t)
        self.events.publish(
            "transcript", {"phase": "aired", "trace_id": trace_id, "media_time": round(t, 3)}
        )
        cap = self._captions.pop(trace_id, None)
        if cap is not None:
            self._loop = asyncio.get_running_loop()
            self._on_air.append((t, {**cap, "media_time": round(t, 3)}))
            # An encoder that fell behind drops frames (and never reports them): then the
            # caption goes out a little late rather than with the next line.
            self._loop.call_later(CAPTION_LATEST_S, self._publish_captions, t)

    def frame_out(self, media_t: float) -> None:
        """The encoder sent the frame at ``media_t`` that starts sentences (encoder thread).
        Their captions go out now, with the frame rather than when its audio was pulled (the
        encoder may be a few frames behind), so a viewer can show them against the video."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._publish_captions, media_t)

    def _publish_captions(self, media_t: float) -> None:
        # Public: only what the host says (never chat text, never operator-only data). Older
        # ones go too: their frame may have been dropped by an encoder that fell behind.
        while self._on_air and self._on_air[0][0] <= media_t + 1e-6:
            self.events.publish("caption", self._on_air.popleft()[1])

    def track_questions(self, followups: Any) -> None:
        """Store and publish every change of the operator's questions; ids go on from the
        ones already in the store (a restarted stream keeps its file)."""
        followups.on_change = self.question
        followups.number_from(self.store.last_question_id() + 1)

    def question(self, q: Any) -> None:
        """A question handed to the operator (talk/followup.Question), or its new state:
        stored, and published on topic ``question``."""
        d = q.as_dict()
        self.store.put_question(d)
        self.events.publish("question", {"media_time": round(self.clock.now(), 3), **d})

    def rejected(self, s: Sentence, reason: str) -> None:
        self.store.add_rejection(s, reason, self.clock.now())
        self.alert("guard_rejection", reason=reason, source=str(s.source), text=s.text)

    def chat(self, ev: ChatEvent, decision: str, reason: str) -> None:
        """A chat event's decision: stored with its reason and published."""
        self.store.add_chat(ev, decision, reason)
        if decision == "blocked":
            self.chat_blocked += 1
        else:
            self.chat_accepted += 1
        topics = ("chat", "moderation") if decision == "blocked" else ("chat",)
        if not any(self.events.wants(t) for t in topics):
            return
        payload = {
            "trace_id": ev.trace_id, "media_time": round(self.clock.now(), 3),
            "platform": ev.platform, "kind": ev.kind, "user_id": ev.user_id, "user": ev.user,
            "text": ev.text, "decision": decision, "reason": reason,
        }  # fmt: skip
        for t in topics:
            self.events.publish(t, payload)

    def restart(self, stage: str, exc: BaseException) -> None:
        self.audit("engine", "stage_restart", {"stage": stage}, False, repr(exc))
        self.alert("stage_restart", stage=stage, error=repr(exc))

    def audit(self, actor: str, action: str, args: dict[str, Any], ok: bool, detail: str) -> None:
        self.store.add_audit(actor, action, args, ok, detail, self.clock.now())

    def alert(self, kind: str, **fields: Any) -> None:
        # The recorder and the signer alert from their own threads: the store's buffer and
        # the event bus belong to the event loop, so such an alert hops onto it.
        loop = self._loop
        if loop is not None and _running_loop() is not loop:
            loop.call_soon_threadsafe(lambda: self.alert(kind, **fields))
            return
        self.store.add_alert(kind, fields, self.clock.now())
        self.events.publish(
            "alerts", {"kind": kind, "media_time": round(self.clock.now(), 3), **fields}
        )

    # ---- background tasks ----
    async def flush_store(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.1)  # wall time: chat rows reach the file within 100 ms
            rows = self.store.take_chat()
            if rows:
                await asyncio.to_thread(self.store.write_chat, rows)
            traces = self.trace.take_rows()
            if traces:
                await asyncio.to_thread(self.store.write_traces, traces)
            log = self.store.take_log()
            if log:
                await asyncio.to_thread(self.store.write_log, log)
            self._watch_store()

    def _watch_store(self) -> None:
        """A full disk: ``write_failed`` (what="store") when rows are first lost, and
        ``write_resumed`` with the rows lost by table once writes have succeeded for
        STORE_RESUMED_S (a checkpointed WAL can take a few rows while the disk is still full;
        one success must not clear the alert)."""
        lost = dict(self.store.lost)
        now = time.monotonic()
        if lost != self._store_lost:
            if self._store_failed_at is None:
                tables = sorted(k for k in lost if lost[k] != self._store_lost.get(k, 0))
                self.alert("write_failed", what="store", error=self.store.write_error,
                           lost="new rows of " + ", ".join(tables))  # fmt: skip
                self._store_lost_at_fail = dict(self._store_lost)
            self._store_lost, self._store_failed_at = lost, now
        elif (self._store_failed_at is not None and not self.store.write_error
              and now - self._store_failed_at >= STORE_RESUMED_S):  # fmt: skip
            self.alert("write_resumed", what="store", lost_rows={
                k: n - self._store_lost_at_fail.get(k, 0) for k, n in lost.items()
                if n != self._store_lost_at_fail.get(k, 0)})  # fmt: skip
            self._store_failed_at = None

    async def monitor(self, rtmp: list[Any], metrics: Callable[[], dict[str, Any]]) -> None:
        """Once per media second: a metrics event, and an alert for an RTMP output that was
        live and has not been for more than RTMP_DOWN_ALERT_S (once per outage); every
        HEALTH_EVERY_S a health row for the store (from the same sample), and a last one when
        the stream stops (so the night's totals and its end are exact)."""
        try:
            await self._monitor(rtmp, metrics)
        except asyncio.CancelledError:
            # A stage already closed must not turn a clean stop into an error.
            with contextlib.suppress(Exception):
                self._health(metrics(), rtmp)
            raise

    async def _monitor(self, rtmp: list[Any], metrics: Callable[[], dict[str, Any]]) -> None:
        next_health = 0.0
        down_since: dict[int, float | None] = {}
        was_live: set[int] = set()
        alerted: set[int] = set()
        t = float(int(self.clock.now())) + 1.0
        while True:
            await self.clock.sleep_until(t)
            now = self.clock.now()
            self._sample_cpu()
            self.budget.check()
            for i, p in enumerate(rtmp):
                if p.state == "live":
                    if i in alerted:  # clears the rtmp_down raised for this outage
                        since = down_since.get(i) or now
                        self.alert(
                            "rtmp_up", output=i, url=redact(p.url), down_s=round(now - since, 3)
                        )
                    was_live.add(i)
                    down_since[i] = None
                    alerted.discard(i)
                elif i in was_live:
                    since = down_since.get(i)
                    if since is None:
                        down_since[i] = since = now
                    if now - since > RTMP_DOWN_ALERT_S and i not in alerted:
                        alerted.add(i)
                        self.alert(
                            "rtmp_down", output=i, url=redact(p.url), state=p.state,
                            down_s=round(now - since, 3),
                        )  # fmt: skip
            sample = metrics() if self.events.wants("metrics") else None
            if sample is not None:
                self.events.publish("metrics", sample)
            if now >= next_health:
                next_health = now + HEALTH_EVERY_S
                self._health(sample or metrics(), rtmp)
            t = max(t + 1.0, float(int(now)) + 1.0)

    def _health(self, m: dict[str, Any], rtmp: list[Any]) -> None:
        # An output is read by ``state`` and ``url`` only; one without a reconnect count adds 0.
        self.store.add_health({
            **{k: m[k] for k in HEALTH_COLUMNS if k in m}, "wall_time": time.time(),
            "rtmp": ",".join(p.state for p in rtmp),
            "rtmp_reconnects": sum(getattr(p, "reconnects", 0) for p in rtmp),
        })  # fmt: skip

    def _sample_cpu(self) -> None:
        wall, cpu = time.monotonic(), time.process_time()
        w0, c0 = self._cpu_mark
        if wall - w0 > 1e-3:
            self.cpu_fraction = max(0.0, (cpu - c0) / (wall - w0))
            self._cpu_mark = (wall, cpu)

    def metrics(self, snap: dict[str, Any], fps: int, paused: bool) -> dict[str, Any]:
        """One metrics event: the snapshot's live numbers plus process CPU and RSS."""
        out = {k: snap[k] for k in METRIC_KEYS}
        out["media_time"] = snap["media_time_seconds"]
        out["fps"] = fps
        out["paused"] = paused
        out["cpu"] = round(self.cpu_fraction, 3)  # process CPU seconds per wall second
        out["rss_mb"] = round(rss_mb(), 1)
        out["latency"] = snap["latency"]  # {stage: {p50, p95, count}} in ms, see trace.py
        return out


def caption_text(s: Sentence) -> str:
    """What the viewer page shows for a line: its text, in traditional characters when it
    answers a viewer who wrote in them (the host speaks, and the store keeps, the language
    file's simplified Chinese; a reader in Taiwan or Hong Kong reads traditional)."""
    if s.lang == "zh" and s.reply_to is not None and written_traditional(s.reply_to.text):
        return to_traditional(s.text)
    return s.text


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def redact(url: str) -> str:
    """An RTMP URL without its stream key (the last path segment)."""
    head, _, _ = url.rpartition("/")
    return head + "/***" if head else "***"


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak, KiB on Linux
