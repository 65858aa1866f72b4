"""The figures of one night, read from a stream's store (read-only) into a ``Night``.

In: the store file and a ``since`` (unix seconds, or None for everything). Out: plain numbers,
counters and row lists; nothing here formats or draws. Older store files (no ``health`` or
``alerts`` table, chat without amounts) still read: what they lack comes back empty.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..observe import HEALTH_EVERY_S
from ..store import HEALTH_COLUMNS, open_read_only
from ..trace import STAGES, Trace, latency_keys, percentile

CHAT_BUCKET_S = 600.0  # chat volume per 10 minutes
# Health rows further apart than this (wall seconds) inside one run: the stream was frozen.
GAP_S = 3 * HEALTH_EVERY_S


@dataclass(slots=True)
class Span:
    start: float  # unix seconds
    end: float
    what: str  # e.g. "off air (process not running)", "RTMP output 0 reconnecting"

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(slots=True)
class Latency:
    key: str  # trace.latency_keys(): a step ("first_audio") or from received ("received_to_...")
    count: int
    p50: float  # ms
    p95: float
    p99: float
    max: float


@dataclass
class Night:
    """Everything the morning report shows, for one stream since ``since``."""

    stream: str
    since: float | None
    start: float = 0.0  # first on-air second seen (unix), 0 when the store is empty
    end: float = 0.0
    runs: list[Span] = field(default_factory=list)  # one per process run (media clock)
    outages: list[Span] = field(default_factory=list)
    on_air_s: float = 0.0
    rtmp_down_s: float = 0.0
    health: list[dict[str, Any]] = field(default_factory=list)  # rows + per-interval deltas
    frames: int = 0
    late_frames: int = 0
    dropped_frames: int = 0
    stalls: int = 0
    av_offset_max_ms: float = 0.0
    latency: list[Latency] = field(default_factory=list)
    chat_total: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    chat_buckets: dict[float, Counter[str]] = field(default_factory=dict)  # bucket -> decisions
    chat_kinds: Counter[str] = field(default_factory=Counter)
    replied: int = 0  # chat events the host answered on air (a line with reply_to)
    sentences: int = 0
    questions: Counter[str] = field(default_factory=Counter)  # handed to the operator, by state
    unanswered: list[tuple[float, str, str]] = field(default_factory=list)  # wall, user, text
    gifts: list[dict[str, Any]] = field(default_factory=list)  # gift and purchase rows
    gift_totals: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    blocked: Counter[str] = field(default_factory=Counter)  # moderation reason -> count
    blocked_rows: list[tuple[float, str, str, str]] = field(default_factory=list)
    guard: Counter[str] = field(default_factory=Counter)  # guard rejections by reason kind
    guard_rows: list[tuple[float, str, str]] = field(default_factory=list)
    alerts: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    actions: list[tuple[float, str, str, str, bool, str]] = field(default_factory=list)
    operators: Counter[str] = field(default_factory=Counter)

    @property
    def uptime_pct(self) -> float | None:
        span = self.end - self.start
        return 100.0 * self.on_air_s / span if span > 0 and self.runs else None


def gather(path: str | Path, stream: str, since: float | None = None) -> Night:
    db = open_read_only(path)
    try:
        return _gather(db, stream, since)
    finally:
        db.close()


def _gather(db: sqlite3.Connection, stream: str, since: float | None) -> Night:
    night = Night(stream=stream, since=since)
    t0 = since or 0.0
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def rows(sql: str, table: str) -> list[tuple[Any, ...]]:
        if table not in tables:
            return []
        return db.execute(sql, (t0,)).fetchall()

    _health(night, rows(f"SELECT {','.join(HEALTH_COLUMNS)} FROM health"
                        " WHERE wall_time >= ? ORDER BY id", "health"))  # fmt: skip
    _latency(night, rows("SELECT received, triaged, text_ready, first_audio, first_frame_rendered,"
                         " first_packet_out FROM traces WHERE wall_time >= ?", "traces"))  # fmt: skip
    chat_cols = {r[1] for r in db.execute("PRAGMA table_info(chat)")}
    given = "amount, currency, item, count" if "amount" in chat_cols else "0, '', '', 1"
    chat_sql = f"SELECT wall_time, kind, user, text, decision, reason, trace_id, {given} FROM chat"
    chat_ids = _chat(night, rows(chat_sql + " WHERE wall_time >= ? ORDER BY id", "chat"))
    lines = rows("SELECT wall_time, reply_to FROM transcript WHERE wall_time >= ?", "transcript")
    night.sentences = len(lines)
    night.replied = len(chat_ids & {r[1] for r in lines if r[1]})
    for _, wall, _, user, _, text, state, _ in rows(
        "SELECT id, wall_time, asked_at, user, lang, text, state, answer FROM questions"
        " WHERE wall_time >= ? ORDER BY id", "questions"
    ):  # fmt: skip
        night.questions[state] += 1
        if state == "unanswered":
            night.unanswered.append((wall, user, text))
    for wall, reason, text in rows(
        "SELECT wall_time, reason, text FROM rejected WHERE wall_time >= ? ORDER BY id", "rejected"
    ):
        night.guard[reason.split(":", 1)[0]] += 1
        night.guard_rows.append((wall, reason, text))
    for wall, kind, fields in rows(
        "SELECT wall_time, kind, fields FROM alerts WHERE wall_time >= ? ORDER BY id", "alerts"
    ):
        night.alerts.append((wall, kind, _json(fields)))
    for wall, actor, command, args, ok, detail in rows(
        "SELECT wall_time, actor, command, args, ok, detail FROM audit WHERE wall_time >= ?"
        " ORDER BY id", "audit"
    ):  # fmt: skip
        night.actions.append((wall, actor, command, args, bool(ok), detail))
        night.operators[actor] += 1
    if not night.runs and lines:  # no health rows (an older store): when the host talked
        night.start, night.end = min(r[0] for r in lines), max(r[0] for r in lines)
    return night


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"fields": text}
    return value if isinstance(value, dict) else {"fields": value}


def _health(night: Night, rows: list[tuple[Any, ...]]) -> None:
    """Runs, outages and frame counters from the health samples.

    Counters restart with the process, so totals add up the increase between samples of one
    run; a run that began inside the window also counts what it did before its first sample.
    A run began ``media_time`` seconds before its first sample's wall time."""
    prev: dict[str, Any] | None = None
    down: dict[int, float] = {}  # RTMP output -> since when it is not live (after being live)
    was_live: set[int] = set()
    for r in rows:
        h = dict(zip(HEALTH_COLUMNS, r, strict=True))
        new_run = prev is None or h["media_time"] < prev["media_time"]
        if new_run:
            start = h["wall_time"] - h["media_time"]
            from_start = prev is not None or h["media_time"] <= 1.5 * HEALTH_EVERY_S
            if prev is not None:
                night.runs[-1].end = prev["wall_time"]
                night.outages.append(Span(prev["wall_time"], start, "off air (not running)"))
                _close_rtmp(night, down, prev["wall_time"])
                was_live.clear()
            night.runs.append(Span(start if from_start else h["wall_time"], h["wall_time"], "run"))
            base = {k: 0 for k in ("frames", "late_frames", "encoder_dropped", "stalls")}
            if not from_start:
                base = {k: h[k] for k in base}
        else:
            assert prev is not None
            base = prev
            if h["wall_time"] - prev["wall_time"] > GAP_S:
                night.outages.append(Span(prev["wall_time"], h["wall_time"], "no health sample"
                                          " (stream frozen or machine asleep)"))  # fmt: skip
        d = {k: max(0, h[k] - base[k]) for k in ("frames", "late_frames", "encoder_dropped",
                                                   "stalls")}  # fmt: skip
        night.frames += d["frames"]
        night.late_frames += d["late_frames"]
        night.dropped_frames += d["encoder_dropped"]
        night.stalls += d["stalls"]
        night.av_offset_max_ms = max(night.av_offset_max_ms, abs(h["av_offset_ms"]))
        states = h["rtmp"].split(",") if h["rtmp"] else []
        for i, st in enumerate(states):
            if st == "live":
                was_live.add(i)
                if i in down:
                    night.outages.append(Span(down.pop(i), h["wall_time"], f"RTMP output {i}"
                                              " not live"))  # fmt: skip
            elif i in was_live and i not in down:
                down[i] = h["wall_time"]
        night.health.append(
            {
                **h,
                "lost": d["late_frames"] + d["encoder_dropped"],
                "rtmp_live": states.count("live"),
                "rtmp_outputs": len(states),
            }
        )
        night.runs[-1].end = h["wall_time"]
        prev = h
    if prev is not None:
        _close_rtmp(night, down, prev["wall_time"])
    night.outages.sort(key=lambda s: s.start)
    if night.runs:
        night.start, night.end = night.runs[0].start, night.runs[-1].end
        night.on_air_s = sum(s.seconds for s in night.runs) - sum(
            s.seconds for s in night.outages if s.what.startswith("no health")
        )
        night.rtmp_down_s = sum(s.seconds for s in night.outages if s.what.startswith("RTMP"))


def _close_rtmp(night: Night, down: dict[int, float], at: float) -> None:
    for i, t in sorted(down.items()):
        night.outages.append(Span(t, at, f"RTMP output {i} not live"))
    down.clear()


def _latency(night: Night, rows: list[tuple[Any, ...]]) -> None:
    samples: dict[str, list[float]] = {k: [] for k in latency_keys()}
    for r in rows:
        tr = Trace("", stamps={s: t for s, t in zip(STAGES, r, strict=True) if t is not None})
        for k, v in tr.latencies_ms().items():
            samples.setdefault(k, []).append(v)
    for k, v in samples.items():
        if v:
            v.sort()
            night.latency.append(Latency(k, len(v), percentile(v, 50), percentile(v, 95),
                                         percentile(v, 99), v[-1]))  # fmt: skip


def _chat(night: Night, rows: list[tuple[Any, ...]]) -> set[str]:
    """Chat figures; returns the events' trace ids (to count the ones answered on air)."""
    ids: set[str] = set()
    for wall, kind, user, text, decision, reason, tid, amount, currency, item, count in rows:
        ids.add(tid)
        night.chat_total += 1
        night.decisions[decision] += 1
        night.chat_kinds[kind] += 1
        bucket = wall - wall % CHAT_BUCKET_S
        night.chat_buckets.setdefault(bucket, Counter())[decision] += 1
        if decision == "blocked":
            night.blocked[reason] += 1
            night.blocked_rows.append((wall, user, text, reason))
        if kind in ("gift", "purchase"):
            night.gifts.append({"wall_time": wall, "kind": kind, "user": user, "text": text,
                                "amount": amount, "currency": currency, "item": item,
                                "count": count})  # fmt: skip
            n, total = night.gift_totals.get((kind, currency), (0, 0.0))
            night.gift_totals[(kind, currency)] = (n + 1, total + amount)
    return ids
