"""Stage plumbing: bounded queues with a stated overflow policy, wake-ups, supervision.

Every queue is bounded and says what happens when it is full. Items in a queue count as pending
work on the virtual clock, so a deterministic run never advances time past unprocessed input.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Generic, TypeVar

from .clock import Clock

log = logging.getLogger("streamhost.pipeline")
T = TypeVar("T")


class Overflow(StrEnum):
    DROP_OLDEST = "drop_oldest"  # chat: the newest message is the most relevant
    DROP_NEWEST = "drop_newest"  # refuse new input, keep what is queued
    BLOCK = "block"  # producer waits (used where losing data is worse than waiting)


class _NoClock:
    def hold(self) -> None:
        pass

    def release(self) -> None:
        pass


class BoundedQueue(Generic[T]):
    """An asyncio FIFO with a bound and an overflow policy.

    put()/put_nowait() in, get() out; ``task_done()`` after each got item is processed (this
    releases its virtual-clock hold, if the queue ``counts_as_work``). ``flush()`` drops everything queued and returns the count.
    """

    def __init__(
        self, name: str, maxsize: int, overflow: Overflow, clock: Clock, counts_as_work: bool = True
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"queue {name}: maxsize must be >= 1, got {maxsize}")
        self.name = name
        self.maxsize = maxsize
        self.overflow = overflow
        # A queue whose items wait for media time to pass (e.g. questions waiting for the
        # sentence boundary) must not hold the virtual clock, or time could never move on.
        self._clock = clock if counts_as_work else _NoClock()
        self._items: deque[T] = deque()
        self._not_empty = asyncio.Event()
        self._not_full = asyncio.Event()
        self._not_full.set()
        self.dropped = 0
        self.put_total = 0

    def __len__(self) -> int:
        return len(self._items)

    def put_nowait(self, item: T) -> bool:
        """Enqueue under the overflow policy; returns False if ``item`` itself was dropped."""
        if len(self._items) >= self.maxsize:
            if self.overflow is Overflow.DROP_NEWEST:
                self.dropped += 1
                return False
            if self.overflow is Overflow.DROP_OLDEST:
                self._items.popleft()
                self._clock.release()
                self.dropped += 1
            else:
                raise asyncio.QueueFull(self.name)
        self._items.append(item)
        self._clock.hold()
        self.put_total += 1
        self._not_empty.set()
        if len(self._items) >= self.maxsize:
            self._not_full.clear()
        return True

    async def put(self, item: T) -> bool:
        if self.overflow is Overflow.BLOCK:
            while len(self._items) >= self.maxsize:
                await self._not_full.wait()
        return self.put_nowait(item)

    async def get(self) -> T:
        while not self._items:
            self._not_empty.clear()
            await self._not_empty.wait()
        item = self._items.popleft()
        if not self._items:
            self._not_empty.clear()
        self._not_full.set()
        return item

    def get_nowait(self) -> T | None:
        if not self._items:
            return None
        item = self._items.popleft()
        self._not_full.set()
        return item

    def task_done(self) -> None:
        self._clock.release()

    def remove_if(self, pred: Callable[[T], bool]) -> int:
        """Drop queued items matching ``pred`` (e.g. stale questions); returns the count."""
        keep = [x for x in self._items if not pred(x)]
        n = len(self._items) - len(keep)
        self._items = deque(keep)
        for _ in range(n):
            self._clock.release()
        if n:
            self._not_full.set()
        return n

    def flush(self) -> int:
        n = len(self._items)
        self._items.clear()
        for _ in range(n):
            self._clock.release()
        self._not_full.set()
        self._not_empty.clear()
        return n


class Wake:
    """A level-triggered wake-up for one consumer task, counted as pending work on the clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._ev = asyncio.Event()
        self._pending = False

    def set(self) -> None:
        if not self._pending:
            self._pending = True
            self._clock.hold()
        self._ev.set()

    async def wait(self) -> None:
        """Wait for a wake-up. The caller must call ``done()`` when its reaction is finished."""
        await self._ev.wait()
        self._ev.clear()

    def done(self) -> None:
        if self._pending:
            self._pending = False
            self._clock.release()


class Supervisor:
    """Runs named stage coroutines; a stage that raises is logged and restarted with backoff.

    ``on_restart(name, exc)`` is called for each restart (metrics, alerts). The stream stays on
    air meanwhile because the AV loop degrades to idle when its inputs are empty.
    """

    def __init__(
        self,
        on_restart: Callable[[str, BaseException], None] | None = None,
        backoff_s: float = 0.05,
        max_backoff_s: float = 2.0,
    ) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._on_restart = on_restart
        self._backoff = backoff_s
        self._max_backoff = max_backoff_s
        self.restarts: dict[str, int] = {}

    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        task = asyncio.create_task(self._run(name, factory), name=f"stage:{name}")
        self._tasks[name] = task
        return task

    async def _run(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        delay = self._backoff
        while True:
            try:
                await factory()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any stage failure must not end the stream
                self.restarts[name] = self.restarts.get(name, 0) + 1
                log.error(
                    "stage %s failed (%s: %s); restart #%d in %.2fs",
                    name,
                    type(exc).__name__,
                    exc,
                    self.restarts[name],
                    delay,
                    exc_info=exc,
                )
                if self._on_restart is not None:
                    self._on_restart(name, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)

    async def stop(self) -> None:
        for t in self._tasks.values():
            t.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
