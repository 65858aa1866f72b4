"""Media clocks: the real monotonic clock, and a virtual one for deterministic tests.

Both give media seconds since the stream started. The virtual clock advances only when the AV
loop calls ``advance_to``; before it does, it waits until no pipeline work is pending (``work()``
tokens held by queued items and running stages), so a run on the virtual clock produces the
same result however fast or slow the machine is.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager


class RealClock:
    virtual = False

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def restart(self) -> None:
        """Media time 0 = now. Called once when warm-up is done, so frame 0 is not born late."""
        self._t0 = time.monotonic()

    def shift(self, seconds: float) -> None:
        """Let media time fall ``seconds`` behind wall time (after a stall: one hitch rather
        than a burst of catch-up frames)."""
        self._t0 += seconds

    async def sleep_until(self, t: float) -> None:
        delay = t - self.now()
        if delay > 0:
            await asyncio.sleep(delay)

    async def sleep(self, dt: float) -> None:
        await asyncio.sleep(max(0.0, dt))

    @contextmanager
    def work(self) -> Iterator[None]:
        yield

    def hold(self) -> None:
        pass

    def release(self) -> None:
        pass

    @contextmanager
    def io(self) -> Iterator[None]:
        yield

    async def wait_idle(self) -> None:
        return None

    def advance_to(self, t: float) -> None:
        return None


class VirtualClock:
    """Deterministic clock. Time moves only through ``advance_to``.

    Pending work is counted with ``hold``/``release`` (or the ``work()`` context manager);
    ``wait_idle`` returns once the count is zero and the event loop has drained its ready
    callbacks, i.e. nothing can happen any more without time moving on.
    """

    virtual = True

    def __init__(self) -> None:
        self._now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._busy = 0
        self._io = 0
        self._idle: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        if self._idle is None:
            self._idle = asyncio.Event()
            self._idle.set()
        return self._idle

    def now(self) -> float:
        return self._now

    def restart(self) -> None:
        return None

    async def sleep_until(self, t: float) -> None:
        if t <= self._now:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (t, next(self._seq), fut))
        try:
            await fut
        finally:
            # advance_to took a hold for us so the pacer could not run ahead of our wake-up.
            if fut.done() and not fut.cancelled():
                self.release()

    async def sleep(self, dt: float) -> None:
        await self.sleep_until(self._now + dt)

    def hold(self) -> None:
        self._busy += 1
        self._event().clear()

    def release(self) -> None:
        self._busy -= 1
        if self._busy <= 0:
            self._busy = 0
            self._event().set()

    @contextmanager
    def work(self) -> Iterator[None]:
        self.hold()
        try:
            yield
        finally:
            self.release()

    @contextmanager
    def io(self) -> Iterator[None]:
        """Marks a network exchange in flight (e.g. an LLM stream on loopback): bytes in a
        socket are work the clock cannot count, so while one is open each step gives the
        loop a real moment to deliver them before time moves on."""
        self._io += 1
        try:
            yield
        finally:
            self._io -= 1

    @property
    def busy(self) -> int:
        return self._busy

    async def wait_idle(self) -> None:
        ev = self._event()
        while True:
            await ev.wait()
            # Let tasks woken by the last release run; they may take new holds.
            for _ in range(4):
                await asyncio.sleep(0)
            if self._io and self._busy == 0:
                await asyncio.sleep(0.002)
            if self._busy == 0:
                return

    def next_deadline(self) -> float | None:
        """The earliest pending sleep deadline (so the pacer can stop there on its way)."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    async def run_until(self, t: float) -> None:
        """Advance to ``t``, stopping at every sleeper's deadline on the way (waiting for the
        work each wake-up causes), so timers between frames fire at their exact time."""
        while True:
            await self.wait_idle()
            nxt = self.next_deadline()
            if nxt is None or nxt >= t:
                self.advance_to(t)
                return
            self.advance_to(nxt)

    def advance_to(self, t: float) -> None:
        if t < self._now:
            return
        self._now = t
        while self._sleepers and self._sleepers[0][0] <= t:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                self.hold()
                fut.set_result(None)


Clock = RealClock | VirtualClock
