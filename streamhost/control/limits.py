"""Per-address limits for the HTTP apps: request rates, WebSocket counts, chat frame rates.

In: a client address (``security.client_address``) per request, frame or connection. Out: a
verdict - ``0.0`` (go on) or the seconds to wait (the 429's ``Retry-After``), or a refusal
reason for a WebSocket over its cap. Every table is bounded: the least recently seen address is
forgotten first, so a spray of addresses costs memory once, never without end.

The numbers sit in ``Limits`` (the app keeps one under ``LIMITS``): they are sized for people
(a page load is a handful of requests, a viewer holds two WebSockets) and for many viewers behind
one NAT, not for one address driving a thousand clients.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from .security import client_address, json_error

MAX_ADDRESSES = 10_000  # addresses each table remembers; the stalest is evicted past this


@dataclass(frozen=True)
class Limits:
    """Per-address budgets (token buckets: ``*_rate`` per second, up to ``*_burst`` at once)."""

    request_rate: float = 50.0  # any HTTP request or WebSocket upgrade
    request_burst: float = 200.0
    negotiate_rate: float = 0.5  # /offer and /takeover: each builds a WebRTC peer connection
    negotiate_burst: float = 10.0
    chat_rate: float = 20.0  # /chat messages (frames or POSTs) without the chat.ws_token
    chat_burst: float = 100.0
    ws_per_address: int = 32  # open WebSockets from one address ...
    ws_total: int = 2048  # ... and in all
    max_sdp: int = 32 * 1024  # characters of one SDP offer (browsers send 3-10 KiB)


NEGOTIATE_PATHS = ("/offer", "/takeover")


class TokenBuckets:
    """One token bucket per key. ``take(key)`` spends a token: 0.0 if there was one, else the
    seconds until there will be (the caller answers 429 and spends nothing)."""

    def __init__(
        self,
        rate: float,
        burst: float,
        max_keys: int = MAX_ADDRESSES,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._now = now
        self._b: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def __len__(self) -> int:
        return len(self._b)

    def take(self, key: str, cost: float = 1.0) -> float:
        t = self._now()
        tokens, at = self._b.pop(key, (self.burst, t))
        tokens = min(self.burst, tokens + (t - at) * self.rate)
        wait = 0.0
        if tokens >= cost:
            tokens -= cost
        else:
            wait = (cost - tokens) / self.rate if self.rate > 0 else math.inf
        self._b[key] = (tokens, t)  # most recent last: eviction takes from the front
        while len(self._b) > self.max_keys:
            self._b.popitem(last=False)
        return wait


class Concurrency:
    """Open connections per key and in all; ``acquire`` says why not (or None and counts it),
    ``release`` gives the place back."""

    def __init__(self, per_key: int, total: int) -> None:
        self.per_key = per_key
        self.total = total
        self._open: dict[str, int] = {}
        self.count = 0

    def acquire(self, key: str) -> str | None:
        if self.count >= self.total:
            return f"the server holds its maximum of {self.total} WebSockets"
        if self._open.get(key, 0) >= self.per_key:
            return f"at most {self.per_key} WebSockets per address"
        self._open[key] = self._open.get(key, 0) + 1
        self.count += 1
        return None

    def release(self, key: str) -> None:
        n = self._open.get(key, 0) - 1
        if n > 0:
            self._open[key] = n
        else:
            self._open.pop(key, None)
        self.count = max(0, self.count - 1)


def too_many(wait: float, what: str) -> web.Response:
    """The 429 for a spent bucket, with ``Retry-After`` in whole seconds (at least 1)."""
    retry = 3600 if not math.isfinite(wait) else max(1, math.ceil(wait))
    return json_error(
        429, "rate_limited", f"too many {what} from your address; retry in {retry} s",
        headers={"Retry-After": str(retry)},
    )  # fmt: skip


def rate_middleware(
    limits: Limits, trusted: frozenset[str], negotiate_paths: tuple[str, ...] = NEGOTIATE_PATHS
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Every request spends from its address's request bucket, and a WebRTC negotiation also
    from the (much smaller) negotiation bucket; a spent bucket answers 429 before the handler
    runs. ``negotiate_paths`` match the end of the path (the fleet front prefixes /s/<name>)."""
    requests = TokenBuckets(limits.request_rate, limits.request_burst)
    negotiations = TokenBuckets(limits.negotiate_rate, limits.negotiate_burst)

    @web.middleware
    async def limit(request: web.Request, handler: Callable[..., Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:  # fmt: skip
        peer = client_address(request, trusted)
        wait = requests.take(peer)
        if wait:
            return too_many(wait, "requests")
        if request.method == "POST" and request.path.endswith(negotiate_paths):
            wait = negotiations.take(peer)
            if wait:
                return too_many(wait, "WebRTC negotiations")
        return await handler(request)

    return limit
