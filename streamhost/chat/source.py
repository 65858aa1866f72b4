"""Base of every chat source: reconnect with exponential backoff + jitter, and health.

A source connects to one platform, turns what it reads into ChatEvents and hands them to
``emit`` (the engine's chat intake). Bad input is rejected (counted, logged) and the source keeps
running; a lost connection is retried with backoff, resuming where the protocol allows.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass

from ..frames import ChatEvent

log = logging.getLogger("streamhost.chat")


@dataclass
class SourceHealth:
    """What a source reports in metrics and ``status``."""

    name: str
    platform: str
    state: str = "idle"  # idle | connecting | live | backoff | stopped
    connects: int = 0
    reconnects: int = 0
    events: int = 0
    rejected: int = 0
    last_error: str = ""
    last_event_wall: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


class Backoff:
    """Exponential backoff with full jitter: delay in [base*2^n * (1-jitter), base*2^n]."""

    def __init__(
        self,
        initial: float = 0.5,
        maximum: float = 30.0,
        jitter: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        if initial <= 0 or maximum < initial or not 0 <= jitter <= 1:
            raise ValueError("backoff needs 0 < initial <= maximum and 0 <= jitter <= 1")
        self.initial, self.maximum, self.jitter = initial, maximum, jitter
        self._n = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        top = min(self.maximum, self.initial * (2**self._n))
        # Stop growing once capped: 2**n past ~1024 overflows float, which would end run()
        # after ~1000 failed reconnects (a few hours' outage at a 30 s cap).
        if top < self.maximum:
            self._n += 1
        return top * (1 - self.jitter * self._rng.random())

    def reset(self) -> None:
        self._n = 0


class ChatSource(ABC):
    """Subclasses implement ``session()``: connect, read until the connection ends, call
    ``accept(event)`` per event and ``reject(code, detail)`` per bad input. ``run()`` keeps
    calling it with backoff until ``stop()``."""

    platform = "unknown"

    def __init__(
        self,
        name: str,
        emit: Callable[[ChatEvent], None],
        *,
        backoff: Backoff | None = None,
        healthy_after_s: float = 10.0,
    ) -> None:
        self.name = name
        self.emit = emit
        self.backoff = backoff or Backoff()
        self.healthy_after_s = healthy_after_s
        self.health = SourceHealth(name=name, platform=self.platform)
        self._stopping = False
        self._live_since: float | None = None
        self._wake: asyncio.Event | None = None
        self._session: asyncio.Future[None] | None = None

    @abstractmethod
    async def session(self) -> None:
        """One connection's lifetime; return or raise when it ends."""

    def accept(self, ev: ChatEvent) -> None:
        self.health.events += 1
        self.health.last_event_wall = time.time()
        try:
            self.emit(ev)
        except Exception as exc:  # noqa: BLE001 - a consumer problem must not drop the connection
            log.error("%s: emit failed for %s: %s", self.name, ev.trace_id, exc)

    def reject(self, code: str, detail: str) -> None:
        self.health.rejected += 1
        log.info("%s: rejected input (%s): %s", self.name, code, detail[:200])

    def live(self) -> None:
        """Call when the connection is established (after any handshake)."""
        self.health.state = "live"
        self.health.connects += 1
        self._live_since = time.monotonic()

    def finish(self) -> None:
        """Call from ``session()`` when the source is done for good (e.g. a replay file ended):
        ``run()`` then returns instead of reconnecting."""
        self._stopping = True

    async def run(self) -> None:
        self._wake = asyncio.Event()
        while not self._stopping:
            self.health.state = "connecting"
            self._live_since = None
            self._session = asyncio.ensure_future(self.session())
            try:
                await self._session
                err = "connection closed"
            except asyncio.CancelledError:
                if not self._stopping:
                    self.health.state = "stopped"
                    raise
                break
            except Exception as exc:  # noqa: BLE001 - any failure means: reconnect later
                err = f"{type(exc).__name__}: {exc}"
            finally:
                self._session = None
            if self._stopping:
                break
            if (
                self._live_since is not None
                and time.monotonic() - self._live_since >= self.healthy_after_s
            ):
                self.backoff.reset()
            delay = self.backoff.next()
            self.health.state = "backoff"
            self.health.reconnects += 1
            self.health.last_error = err
            log.warning("%s: %s; reconnecting in %.2fs", self.name, err, delay)
            try:
                await asyncio.wait_for(self._wake.wait(), delay)  # stop() cuts the wait short
            except TimeoutError:
                pass
        self.health.state = "stopped"

    def stop(self) -> None:
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._session is not None:
            self._session.cancel()
