"""Stage plumbing: wake-ups that count as pending work on the virtual clock, and supervision.

Queues are bounded where they are consumed, each with its overflow policy stated there: the
encoder's input and the RTMP pusher (drop the oldest), the WebRTC tracks (drop a GOP, or the
oldest audio packet), control subscribers (drop the oldest event), chat triage (evict the lowest
priority, then refuse newcomers). A pending wake-up holds the virtual clock, so a deterministic
run never advances time past unprocessed input.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .clock import Clock

log = logging.getLogger("streamhost.pipeline")


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
