"""A small per-stream event bus for the control socket.

The stream publishes ``(topic, payload)`` as things happen (a sentence committed or aired, a
chat decision, a moderation block, an alert, a metrics sample); each control connection that
subscribed holds a `Subscriber`: a bounded queue with drop-oldest overflow and a ``dropped``
counter, so a slow operator client never blocks or slows the stream. Publishing with no
subscriber for a topic costs one dict lookup. Everything runs on the event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

# question: a viewer's question the host could not answer, handed to the operator (and each
# change of its state: answered, unanswered).
TOPICS: tuple[str, ...] = ("metrics", "transcript", "chat", "moderation", "alerts", "question")
DEFAULT_QUEUE = 256


class Subscriber:
    """One connection's view of the bus: the topics it wants and a bounded event queue."""

    def __init__(self, bus: EventBus, maxlen: int = DEFAULT_QUEUE) -> None:
        self._bus = bus
        self.topics: set[str] = set()
        self._queue: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._ready = asyncio.Event()
        self.dropped = 0  # events lost because this subscriber fell behind
        self.closed = False

    def put(self, event: dict[str, Any]) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1  # deque(maxlen) drops the oldest on append
        self._queue.append(event)
        self._ready.set()

    def subscribe(self, topics: list[str]) -> None:
        self.topics.update(topics)
        self._bus._reindex()

    def unsubscribe(self, topics: list[str]) -> None:
        self.topics.difference_update(topics)
        self._bus._reindex()

    def pending(self) -> int:
        return len(self._queue)

    def take(self) -> list[dict[str, Any]]:
        """Everything queued now (oldest first), each with the running ``dropped`` count."""
        out = list(self._queue)
        self._queue.clear()
        self._ready.clear()
        for ev in out:
            ev["dropped"] = self.dropped
        return out

    async def wait(self) -> list[dict[str, Any]]:
        """Wait until there is something to send (or the subscriber is closed)."""
        while not self._queue and not self.closed:
            self._ready.clear()
            await self._ready.wait()
        return self.take()

    def close(self) -> None:
        self.closed = True
        self._ready.set()
        self._bus.remove(self)


class EventBus:
    """Topic -> subscribers. ``publish`` never blocks and never raises."""

    def __init__(self) -> None:
        self._subs: list[Subscriber] = []
        self._by_topic: dict[str, list[Subscriber]] = {}
        self.published = 0

    def add(self, maxlen: int = DEFAULT_QUEUE) -> Subscriber:
        sub = Subscriber(self, maxlen)
        self._subs.append(sub)
        return sub

    def remove(self, sub: Subscriber) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
            self._reindex()

    def _reindex(self) -> None:
        idx: dict[str, list[Subscriber]] = {}
        for s in self._subs:
            for t in s.topics:
                idx.setdefault(t, []).append(s)
        self._by_topic = idx

    def wants(self, topic: str) -> bool:
        return topic in self._by_topic

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        subs = self._by_topic.get(topic)
        if not subs:
            return
        self.published += 1
        for s in subs:
            s.put({"type": "event", "topic": topic, **payload})
