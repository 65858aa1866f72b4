"""The AV loop: one tick per video frame, paced by the media clock.

Each tick pulls one frame of audio from the speech player, asks the face driver for that
instant's parameters, renders and composites the picture off the event loop, and hands the
resulting AVFrame to the outputs. Audio and picture leave together, so sync holds by construction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .avpool import lower_priority
from .clock import Clock
from .frames import AVFrame, StreamFormat
from .player import SpeechPlayer

log = logging.getLogger("streamhost.avloop")

# A render this late is hung, not slow (one takes 2-20 ms; a loaded 2-core box stays far under
# a second): the frame goes out with the last picture instead of holding every output.
RENDER_DEADLINE_S = 1.0
EMIT_PHASE = 0.4  # of a frame period: when a frame is sent after its tick (see AVLoop)


@dataclass
class LoopStats:
    frames: int = 0
    late_frames: int = 0  # ticks that started more than one frame period after their time
    max_lateness_ms: float = 0.0
    stalls: int = 0  # times the media clock was re-anchored after falling behind
    render_ms: list[float] = field(default_factory=list)  # recent per-frame render+compose ms
    render_faults: int = 0  # frames whose picture raised or missed RENDER_DEADLINE_S
    render_hung: int = 0  # renders that missed the deadline (the render thread was stuck)


class AVLoop:
    """Speech player + picture function in; AVFrames out to ``sink`` (awaited: back-pressure).

    ``picture(t)`` returns the I420 frame for media time t (called in a worker thread).
    ``on_tick()`` runs on the loop before each frame (the director's low-buffer check).
    """

    def __init__(
        self,
        clock: Clock,
        fmt: StreamFormat,
        player: SpeechPlayer,
        picture: Callable[[float], np.ndarray],
        sink: Callable[[AVFrame], Awaitable[None]],
        on_tick: Callable[[], None] | None = None,
        on_started: Callable[[str, float], None] | None = None,
        on_render_fault: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.clock = clock
        self.fmt = fmt
        self.fps = fmt.fps
        self.player = player
        self.picture = picture
        self.sink = sink
        self.on_tick = on_tick
        self.on_started = on_started
        self.on_render_fault = on_render_fault  # on the loop, once per run of failed pictures
        self.render_deadline_s = RENDER_DEADLINE_S
        self._stuck: asyncio.Future[np.ndarray] | None = None  # a hung render, still running
        self._faulty = False  # the last frame's picture failed
        self.stats = LoopStats()
        self.max_lag_s = 0.2
        # Frames leave at a steady phase of their period, not whenever the render finished:
        # a render takes 8-20 ms, and sending at that jitter makes WebRTC/RTMP receivers buffer
        # for it. A render that ends later than the phase is sent at once.
        self.emit_phase_s = EMIT_PHASE * (1.0 / self.fps)
        # Frames rendered ahead of their send time (real clock): a render may then run late by
        # up to that many periods without a late frame, which N streams sharing two cores need;
        # every frame, and so every answer, leaves that much later (0: none, the default).
        self.render_ahead = 0
        self._idle_picture: np.ndarray | None = None
        # One dedicated render thread: the model's working set stays in that core's cache
        # (the shared default pool hops threads, which measurably slows paced rendering).
        self._executor: Any = ThreadPoolExecutor(
            1, thread_name_prefix="render", initializer=lower_priority
        )
        self._own_executor = True
        self.index = 0

    def use_lane(self, lane: Any) -> None:
        """Render on a lane of a shared ``DeadlinePool`` (avpool.py), each frame due at its
        media time, instead of this loop's own render thread."""
        self._executor.shutdown(wait=False)
        self._executor, self._own_executor = lane, False

    async def run(
        self, duration_s: float | None = None, stop: Callable[[], bool] | None = None
    ) -> None:
        period = 1.0 / self.fps
        end_index = None if duration_s is None else int(round(duration_s * self.fps))
        ahead = 0 if self.clock.virtual else self.render_ahead
        pending: deque[tuple[int, float, asyncio.Task[np.ndarray], np.ndarray, tuple[str, ...]]]
        pending = deque()
        try:
            while (end_index is None or self.index < end_index) and not (stop and stop()):
                t = self.index * period
                await self._wait_tick(t, period)
                if self.on_tick is not None:
                    self.on_tick()
                audio, started = self.player.pull(t)
                if ahead:
                    # the render thread works on this frame while the loop sends an earlier one
                    task = asyncio.ensure_future(self._render(t))
                    pending.append((self.index, t, task, audio, started))
                    self.index += 1
                    if len(pending) > ahead:
                        await self._emit(*pending.popleft(), delay=ahead * period)
                    continue
                video = await self._render(t)
                await self._emit_frame(AVFrame(self.index, t, video, audio, started), 0.0)
                self.index += 1
            while pending:  # the run ended: what was rendered ahead still goes out, in order
                await self._emit(*pending.popleft(), delay=ahead * period)
        finally:
            for *_, task, _a, _s in pending:
                task.cancel()
            if self._own_executor:
                self._executor.shutdown(wait=False)

    async def _wait_tick(self, t: float, period: float) -> None:
        if self.clock.virtual:
            await self.clock.run_until(t)
            await self.clock.wait_idle()
            return
        await self.clock.sleep_until(t)
        late = self.clock.now() - t
        if late > period:
            self.stats.late_frames += 1
        self.stats.max_lateness_ms = max(self.stats.max_lateness_ms, late * 1000)
        if late > self.max_lag_s:
            # A stall (the machine was busy): re-anchor instead of bursting frames out
            # back to back to catch up, which viewers see as a fast-forward.
            self.clock.shift(late)
            self.stats.stalls += 1

    async def _emit(
        self, index: int, t: float, task: asyncio.Task[np.ndarray], audio: np.ndarray,
        started: tuple[str, ...], delay: float,
    ) -> None:  # fmt: skip
        video = await task
        await self._emit_frame(AVFrame(index, t, video, audio, started), delay)

    async def _emit_frame(self, frame: AVFrame, delay: float) -> None:
        if frame.started and self.on_started is not None:
            for tid in frame.started:
                self.on_started(tid, frame.pts)
        due = frame.pts + delay + self.emit_phase_s
        if not self.clock.virtual and self.clock.now() < due:
            await self.clock.sleep_until(due)
        await self.sink(frame)
        self.stats.frames += 1

    async def _render(self, t: float) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            if self._stuck is not None:
                if not self._stuck.done():
                    # The one render thread is still inside the hung call: queueing more behind
                    # it would only pile up; the last picture goes out until it returns.
                    raise TimeoutError("the renderer is still hung")
                if not self._stuck.cancelled():
                    self._stuck.exception()  # retrieved: its hang was reported already
                self._stuck = None
            if self._own_executor:
                fut = asyncio.get_running_loop().run_in_executor(self._executor, self.picture, t)
            else:
                fut = asyncio.wrap_future(self._executor.submit_by(t, self.picture, t))
            try:
                # shield: a deadline must not cancel the executor future (the thread runs on)
                video = await asyncio.wait_for(asyncio.shield(fut), self.render_deadline_s)
            except TimeoutError:
                self._stuck = fut
                self.stats.render_hung += 1
                raise
            self._idle_picture = video
            self._faulty = False
        except Exception as exc:  # noqa: BLE001 - a failing renderer degrades, never goes black
            if self._idle_picture is None:
                raise
            self.stats.render_faults += 1
            if not self._faulty:  # once per episode, not 25 times a second
                self._faulty = True
                log.error("render failed at t=%.3f: %r; repeating the last picture", t, exc)
                if self.on_render_fault is not None:
                    self.on_render_fault(exc)
            video = self._idle_picture.copy()
        ms = (time.perf_counter() - t0) * 1000
        r = self.stats.render_ms
        r.append(ms)
        if len(r) > 250:
            del r[:125]
        return video
