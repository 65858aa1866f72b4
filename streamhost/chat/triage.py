"""Chat triage: which moderated chat events the host answers, in what order, and which it drops.

In: `ChatEvent`s that passed moderation, each with the media-clock time it arrived. Out: a
`Decision` per event (queued / merged / rate_limited / dropped_flood / ignored) and, on
`pop`, the next `Triaged` item to answer - highest priority first, oldest first within a
priority, never older than `max_age_s`.

Everything is bounded, whatever the chat does: the queue holds `max_queue` items (a flood
evicts the lowest-priority, oldest item, or drops the newcomer if it is the least important),
per-user rate buckets and "answered recently" keys are evicted by age and by count, so a
flood of 100k unique users costs a fixed amount of memory.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..frames import ChatEvent
from ..language import detect_language
from .classify import Priority, make_classifier
from .normalize import _prep

__all__ = [
    "ACTIONS",
    "Decision",
    "Priority",
    "Triage",
    "Triaged",
    "make_classifier",
]

ACTIONS: tuple[str, ...] = ("queued", "merged", "rate_limited", "dropped_flood", "ignored")


# A classifier returns a Priority, or (Priority, dedupe key) when it knows that two
# differently worded messages ask the same thing ("price:kettle").
Classification = Priority | tuple[Priority, str | None]
Classifier = Callable[[ChatEvent], Classification]

# Event kinds that are only counted (they feed the director's mood, not the queue).
_COUNT_ONLY_KINDS = frozenset({"like", "join", "share", "view", "enter"})

# Floods repeat the same few texts; detection is pure, so cache it (bounded).
_detect_language = functools.lru_cache(maxsize=4096)(detect_language)


@dataclass(slots=True)
class Triaged:
    """One item to answer: the first asker's event plus everyone who asked the same.

    ``count`` is the number of askers merged into it, ``users`` their display names (up to
    `Triage.max_users_listed`, first askers first). ``key`` is the dedupe key (None when
    the item never merges), ``queued_at`` / ``last_at`` media-clock seconds of the first and
    latest ask.
    """

    event: ChatEvent
    priority: Priority
    key: str | None
    queued_at: float
    last_at: float
    seq: int
    count: int = 1
    users: list[str] = field(default_factory=list)
    state: str = "queued"  # queued -> answered | evicted | stale


@dataclass(frozen=True, slots=True)
class Decision:
    """What `Triage.offer` did with one event: ``action`` (see ACTIONS), a short ``reason``
    ("dedupe", "answered_recently", "burst", "queue_full", "chatter", "like", "gift_streak",
    ...), the item it went into (queued/merged) and the item it evicted (if any)."""

    action: str
    reason: str
    item: Triaged | None = None
    evicted: Triaged | None = None


class _Bucket:
    __slots__ = ("tokens", "at")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens = tokens
        self.at = at


class Triage:
    """Priority queue of chat to answer, with dedupe, per-user rate limits and flood control.

    In: `offer(event, now)` for each moderated event (sets ``event.lang``), `pop(now)` when
    the director is ready to answer. Out: `Decision`s, `Triaged` items, `stats` for the
    director's mood and for metrics. `on_evict` (optional) is called with each item a flood
    pushes out, so it can be logged as dropped. Not thread-safe: one stream's event loop.
    """

    def __init__(
        self,
        classify: Classifier,
        *,
        max_queue: int = 256,
        max_age_s: float = 20.0,
        per_user_burst: int = 3,
        per_user_window_s: float = 10.0,
        dedupe_window_s: float = 30.0,
        lang: str = "en",
        max_users_listed: int = 5,
        max_tracked_users: int = 10_000,
        max_recent_keys: int = 4_096,
        on_evict: Callable[[Triaged], None] | None = None,
    ) -> None:
        if max_queue < 1:
            raise ValueError(f"max_queue must be >= 1, got {max_queue}")
        self.classify = classify
        self.max_queue = max_queue
        self.max_age_s = max_age_s
        self.per_user_burst = per_user_burst
        self.per_user_window_s = per_user_window_s
        self.dedupe_window_s = dedupe_window_s
        self.lang = lang
        self.max_users_listed = max_users_listed
        self.max_tracked_users = max_tracked_users
        self.max_recent_keys = max_recent_keys
        self.on_evict = on_evict
        # Tokens refill so that a full burst is available again after one window.
        self._refill = per_user_burst / per_user_window_s if per_user_window_s > 0 else 1e9
        self._queues: list[deque[Triaged]] = [deque() for _ in Priority]
        self._len = 0
        self._seq = itertools.count()
        self._pending: dict[str, Triaged] = {}  # dedupe key -> queued item
        self._recent: OrderedDict[str, float] = OrderedDict()  # key -> when answered
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()  # user -> bucket (LRU)
        self._actions: Counter[str] = Counter()
        self._reasons: Counter[str] = Counter()
        self._priorities: Counter[str] = Counter()
        self._kinds: Counter[str] = Counter()
        self._langs: Counter[str] = Counter()
        self._counts = {"received": 0, "evicted": 0, "stale": 0, "answered": 0, "likes": 0}

    # -- public --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._len

    def offer(self, ev: ChatEvent, now: float) -> Decision:
        """Triage one event that passed moderation. See ACTIONS for the outcomes."""
        c = self._counts
        c["received"] += 1
        kind = ev.kind
        self._kinds[kind] += 1
        if not ev.lang:
            ev.lang = _detect_language(ev.text, self.lang) if ev.text else self.lang
        self._langs[ev.lang] += 1
        if kind in _COUNT_ONLY_KINDS:
            if kind == "like":
                c["likes"] += max(1, ev.count)
            return self._done("ignored", kind)
        if kind == "gift" and not ev.streak_end:
            # A combo sends one event per tap; thank once, when the streak ends.
            return self._done("ignored", "gift_streak")

        got = self.classify(ev)
        prio, key = got if isinstance(got, tuple) else (got, None)
        prio = Priority(prio)
        self._priorities[prio.name] += 1
        if prio is Priority.OTHER:
            return self._done("ignored", "chatter")

        if prio is not Priority.OPERATOR and not self._take_token(ev, now):
            return self._done("rate_limited", "burst")

        if prio in (Priority.QUESTION, Priority.GREETING):
            if key is None:
                key = (
                    f"{prio.name}:{ev.lang}:{_prep(ev.text)}"
                    if prio is Priority.QUESTION
                    else "greeting"
                )
            item = self._pending.get(key)
            if item is not None:
                self._merge(item, ev, now)
                return self._done("merged", "dedupe", item)
            if prio is Priority.QUESTION and self._answered_recently(key, now):
                return self._done("merged", "answered_recently")
        else:
            key = None

        evicted = None
        if self._len >= self.max_queue:
            lowest = self._lowest_priority()
            if prio > lowest:
                return self._done("dropped_flood", "queue_full")
            evicted = self._queues[lowest].popleft()
            self._len -= 1
            self._forget(evicted, "evicted")
            c["evicted"] += 1
            if self.on_evict is not None:
                self.on_evict(evicted)
        item = Triaged(ev, prio, key, now, now, next(self._seq), users=[ev.user])
        self._queues[prio].append(item)
        self._len += 1
        if key is not None:
            self._pending[key] = item
        return self._done("queued", "evicted_lower" if evicted else "ok", item, evicted)

    def pop(self, now: float, order: Sequence[Priority] | None = None) -> Triaged | None:
        """The next item to answer (highest priority, then oldest), skipping stale ones.
        ``order`` lets the director answer in another order than the flood-drop order (it
        answers questions before thanks)."""
        queues = self._queues if order is None else [self._queues[p] for p in order]
        for q in queues:
            while q:
                item = q.popleft()
                self._len -= 1
                if now - item.last_at > self.max_age_s:
                    self._forget(item, "stale")
                    self._counts["stale"] += 1
                    continue
                self._forget(item, "answered")
                self._counts["answered"] += 1
                if item.key is not None and item.priority is Priority.QUESTION:
                    self._remember(item.key, now)
                return item
        return None

    def peek_priority(self) -> Priority | None:
        """Priority of the next item (stale ones included), or None when empty."""
        for p, q in enumerate(self._queues):
            if q:
                return Priority(p)
        return None

    def clear(self) -> None:
        """Drop everything queued (operator "clear chat"); stats are kept."""
        for q in self._queues:
            for item in q:
                self._forget(item, "evicted")
            q.clear()
        self._len = 0

    @property
    def stats(self) -> dict[str, Any]:
        """Counters since construction: received, per action / reason / priority / kind /
        language, likes (summed counts), evicted, stale, answered, dropped (evicted +
        dropped_flood), queued now, tracked users and keys (memory bound checks)."""
        return {
            **self._counts,
            "dropped": self._counts["evicted"] + self._actions["dropped_flood"],
            "actions": dict(self._actions),
            "reasons": dict(self._reasons),
            "priorities": dict(self._priorities),
            "kinds": dict(self._kinds),
            "langs": dict(self._langs),
            "queued_now": self._len,
            "tracked_users": len(self._buckets),
            "tracked_keys": len(self._pending) + len(self._recent),
        }

    # -- internals -----------------------------------------------------------------------------

    def _done(
        self,
        action: str,
        reason: str,
        item: Triaged | None = None,
        evicted: Triaged | None = None,
    ) -> Decision:
        self._actions[action] += 1
        self._reasons[reason] += 1
        return Decision(action, reason, item, evicted)

    def _lowest_priority(self) -> int:
        for p in range(len(self._queues) - 1, -1, -1):
            if self._queues[p]:
                return p
        return 0  # unreachable while the queue is full

    def _merge(self, item: Triaged, ev: ChatEvent, now: float) -> None:
        item.count += 1
        item.last_at = now
        if len(item.users) < self.max_users_listed and ev.user not in item.users:
            item.users.append(ev.user)

    def _forget(self, item: Triaged, state: str) -> None:
        item.state = state
        if item.key is not None and self._pending.get(item.key) is item:
            del self._pending[item.key]

    def _remember(self, key: str, now: float) -> None:
        r = self._recent
        r[key] = now
        r.move_to_end(key)
        while len(r) > self.max_recent_keys:
            r.popitem(last=False)

    def _answered_recently(self, key: str, now: float) -> bool:
        r = self._recent
        # Keys are in answer order: expire from the front (amortized O(1)).
        while r:
            k, t = next(iter(r.items()))
            if now - t <= self.dedupe_window_s:
                break
            r.popitem(last=False)
        t = r.get(key)
        return t is not None and now - t <= self.dedupe_window_s

    def _take_token(self, ev: ChatEvent, now: float) -> bool:
        who = ev.user_id or ev.user
        b = self._buckets.get(who)
        if b is None:
            b = _Bucket(float(self.per_user_burst), now)
            self._buckets[who] = b
            # LRU by last activity: a bucket idle for a whole window is full again and
            # equivalent to none, so old ones go first; the count cap bounds a flood of
            # unique users that all arrive inside one window.
            bs = self._buckets
            while bs:
                oldest = next(iter(bs.values()))
                if (now - oldest.at) < self.per_user_window_s and len(bs) <= self.max_tracked_users:
                    break
                bs.popitem(last=False)
            if who not in bs:  # evicted itself (cap 0): allow, nothing to track
                return True
        else:
            b.tokens = min(float(self.per_user_burst), b.tokens + (now - b.at) * self._refill)
            b.at = now
            self._buckets.move_to_end(who)
        if b.tokens >= 1.0:
            b.tokens -= 1.0
            return True
        return False
