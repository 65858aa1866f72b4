"""Replay recorded chat from a JSONL file on the media clock.

One JSON object per line::

    {"t": 12.5, "user": "ana", "text": "how much is the lamp?"}
    {"t": 14.0, "user": "bo", "kind": "gift", "item": "Rose", "count": 3, "amount": 3,
     "currency": "coins"}

``t`` is seconds from the start of the replay (required, finite, >= 0); ``user``, ``text`` and
``kind`` follow the built-in ``/chat`` rules (``parse_chat``); optional ``user_id``,
``platform`` (default "replay"), ``amount``, ``currency``, ``count``, ``streak_end``, ``item``,
``lang``, ``sent_at``. Blank lines are skipped. Because emission waits on
``clock.sleep_until``, a replay on the VirtualClock is exactly reproducible.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..clock import Clock
from ..frames import ChatEvent
from .intake import ChatRejected, _clean, parse_chat
from .source import Backoff, ChatSource

MAX_LINE_BYTES = 64 * 1024
MAX_TEXT_CHARS = 500
YIELD_EVERY = 500  # emit this many already-due lines, then let the loop breathe


def _line_num(obj: dict[str, Any], key: str, lineno: int, integer: bool = False) -> float | None:
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ChatRejected(f"bad_{key}", f'line {lineno}: "{key}" must be a number')
    if not math.isfinite(v) or v < 0 or v > 1e15:
        raise ChatRejected(f"bad_{key}", f'line {lineno}: "{key}" = {v!r} is out of range')
    if integer and v != int(v):
        raise ChatRejected(f"bad_{key}", f'line {lineno}: "{key}" must be a whole number')
    return float(v)


def parse_replay_line(line: str | bytes, lineno: int) -> tuple[float, ChatEvent] | None:
    """One JSONL line -> ``(t, event)`` (``received_at`` left at 0; the source stamps it), None
    for a blank line, ChatRejected (message starting "line N:") for anything else."""
    if isinstance(line, bytes):
        if len(line) > MAX_LINE_BYTES:
            raise ChatRejected("too_large", f"line {lineno}: over {MAX_LINE_BYTES} bytes")
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ChatRejected("bad_utf8", f"line {lineno}: not UTF-8 ({e.reason})") from None
    if len(line) > MAX_LINE_BYTES:
        raise ChatRejected("too_large", f"line {lineno}: over {MAX_LINE_BYTES} characters")
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError) as e:
        raise ChatRejected("bad_json", f"line {lineno}: not JSON ({e})") from None
    if not isinstance(obj, dict):
        raise ChatRejected("bad_shape", f"line {lineno}: must be a JSON object")
    t = _line_num(obj, "t", lineno)
    if t is None:
        raise ChatRejected("bad_t", f'line {lineno}: "t" (seconds from start) is required')
    try:
        ev = parse_chat(obj, MAX_TEXT_CHARS, 0.0, platform="replay")
    except ChatRejected as e:
        raise ChatRejected(e.code, f"line {lineno}: {e}") from None
    platform = obj.get("platform")
    if isinstance(platform, str) and _clean(platform):
        ev.platform = _clean(platform)[:32]
    ev.amount = _line_num(obj, "amount", lineno) or 0.0
    ev.count = int(_line_num(obj, "count", lineno, integer=True) or 1)
    ev.sent_at = _line_num(obj, "sent_at", lineno)
    for key in ("currency", "item", "lang"):
        v = obj.get(key, "")
        if not isinstance(v, str):
            raise ChatRejected(f"bad_{key}", f'line {lineno}: "{key}" must be a string')
        setattr(ev, key, _clean(v)[:64])
    streak_end = obj.get("streak_end", True)
    if not isinstance(streak_end, bool):
        raise ChatRejected("bad_streak_end", f'line {lineno}: "streak_end" must be true/false')
    ev.streak_end = streak_end
    return t, ev


class ReplaySource(ChatSource):
    """Emits the events of a JSONL file at their recorded times.

    In: ``path`` (see module docstring), the stream's ``clock``, ``speed`` (2.0 = twice as
    fast), ``loop`` (start again after the last line plus ``loop_gap_s``). Out: ChatEvents with
    ``received_at`` = clock time of emission. Line ``t`` is emitted at
    ``start + t / speed`` where ``start`` is the clock time the replay began. Bad lines are
    rejected with their line number (``rejected_lines`` keeps the last few) and skipped. When
    the file is done (and not looping) the source stops itself; a failure mid-file (e.g. an
    unreadable file) is retried by the base class and resumes after the last line emitted.
    """

    platform = "replay"

    def __init__(
        self,
        name: str,
        emit: Callable[[ChatEvent], None],
        path: str | Path,
        clock: Clock,
        speed: float = 1.0,
        loop: bool = False,
        *,
        loop_gap_s: float = 1.0,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(name, emit, backoff=backoff)
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"speed must be a positive number, got {speed!r}")
        if loop_gap_s <= 0:
            # A zero-length loop over a file whose lines are all at t=0 would spin forever.
            raise ValueError("loop_gap_s must be > 0")
        self.path = Path(path)
        self.clock = clock
        self.speed = speed
        self.loop = loop
        self.loop_gap_s = loop_gap_s
        self.rejected_codes: Counter[str] = Counter()
        self.rejected_lines: list[tuple[int, str]] = []
        self.done = False
        self._start: float | None = None
        self._offset = 0.0  # media seconds of file time already played by earlier loops
        self._resume_after = 0  # last line number handled, so a retried session resumes there

    def reject(self, code: str, detail: str) -> None:
        self.rejected_codes[code] += 1
        super().reject(code, detail)

    async def session(self) -> None:
        if self._start is None:
            self._start = self.clock.now()
        self.live()
        while not self._stopping:
            last_t = await self._play_once()
            if not self.loop:
                break
            self._offset += last_t + self.loop_gap_s
            self._resume_after = 0
        self.done = True
        self.finish()  # the file is finished: tell run() not to "reconnect"

    async def _play_once(self) -> float:
        assert self._start is not None
        last_t = 0.0
        burst = 0
        with self.path.open("rb") as f:
            for lineno, line in enumerate(f, start=1):
                if self._stopping:
                    break
                if lineno <= self._resume_after:
                    continue
                try:
                    parsed = parse_replay_line(line, lineno)
                except ChatRejected as e:
                    self._resume_after = lineno
                    self.reject(e.code, str(e))
                    self.rejected_lines.append((lineno, e.code))
                    del self.rejected_lines[:-100]
                    continue
                if parsed is None:
                    self._resume_after = lineno
                    continue
                t, ev = parsed
                last_t = max(last_t, t)
                due = self._start + (self._offset + t) / self.speed
                if due > self.clock.now() + 1e-9:
                    burst = 0
                    await self.clock.sleep_until(due)
                elif burst >= YIELD_EVERY:
                    # Many lines already due: yield, but hold the clock so a virtual pacer does
                    # not take the pause for idleness and move time on under us.
                    burst = 0
                    with self.clock.work():
                        await asyncio.sleep(0)
                burst += 1
                ev.received_at = self.clock.now()
                self._resume_after = lineno
                self.accept(ev)
        return last_t
