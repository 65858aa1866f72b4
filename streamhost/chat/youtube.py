"""YouTube Live Chat over the Data API v3 (``liveChatMessages.list`` polling).

``GET {base}/youtube/v3/liveChat/messages?liveChatId=..&part=snippet,authorDetails&key=..
[&pageToken=..]`` -> JSON ``youtube#liveChatMessageListResponse`` -> ``parse_messages_response``
-> ChatEvents. The next request waits ``pollingIntervalMillis`` and carries ``nextPageToken``;
the token survives reconnects, so a dropped connection neither repeats nor loses messages.

Event mapping by ``snippet.type`` (``platform="youtube"``, ``user`` = authorDetails.displayName,
``user_id`` = authorDetails.channelId, ``sent_at`` = snippet.publishedAt as unix seconds,
``raw`` = the item as received):

- ``textMessageEvent``          -> ``comment``, text = textMessageDetails.messageText
- ``superChatEvent``            -> ``gift``, amount = amountMicros / 1e6, currency = ISO code,
  text = userComment, item = "superchat"
- ``superStickerEvent``         -> ``gift``, amount/currency as above, item = the sticker's altText
  (or its id), text = ""
- ``newSponsorEvent``           -> ``purchase``, amount=1, currency="membership",
  item = memberLevelName (a viewer buying a membership for themself, like a Twitch sub)
- ``memberMilestoneChatEvent``  -> ``purchase``, amount=1, currency="membership", item = level,
  text = userComment (a renewed membership, like a Twitch resub)
- ``membershipGiftingEvent``    -> ``gift``, count = amount = giftMembershipsCount,
  currency="membership", item = giftMembershipsLevelName
- everything else (giftMembershipReceivedEvent, deletions, bans, polls, chatEndedEvent,
  tombstones ...) -> None

Errors: 403 quotaExceeded / rateLimitExceeded -> wait ``quota_backoff_s`` (doubling up to
``quota_backoff_max_s``) and poll again; liveChatEnded / liveChatNotFound / liveChatDisabled /
404 / a bad API key, or a response with ``offlineAt`` -> the source stops with
``health.last_error`` saying why; other HTTP errors and dropped connections -> ``run()``'s
reconnect with backoff; a bad document or item -> ``reject`` and polling goes on.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp

from ..frames import ChatEvent
from .intake import ChatRejected
from .source import Backoff, ChatSource, log

RESPONSE_KIND = "youtube#liveChatMessageListResponse"
DEFAULT_BASE_URL = "https://www.googleapis.com"
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
QUOTA_REASONS = frozenset(
    {"quotaExceeded", "rateLimitExceeded", "dailyLimitExceeded", "userRateLimitExceeded"}
)
# Errors that do not go away by asking again: stop instead of burning quota forever.
FATAL_REASONS = frozenset(
    {"liveChatEnded", "liveChatNotFound", "liveChatDisabled", "keyInvalid", "keyExpired"}
)


def _obj(parent: dict, key: str, what: str) -> dict:
    v = parent.get(key)
    if not isinstance(v, dict):
        raise ChatRejected("yt_bad_item", f"{what}.{key} must be an object")
    return v


def _str(parent: dict, key: str, what: str, default: str | None = None) -> str:
    v = parent.get(key, default)
    if not isinstance(v, str):
        raise ChatRejected("yt_bad_item", f"{what}.{key} must be a string")
    return v


def _money(details: dict, what: str) -> tuple[float, str]:
    # amountMicros is a uint64 that the API serializes as a string; accept a number too.
    micros = details.get("amountMicros")
    try:
        if isinstance(micros, bool) or not isinstance(micros, str | int | float):
            raise ValueError
        amount = float(micros) / 1e6
    except ValueError:
        raise ChatRejected("yt_bad_item", f"{what}.amountMicros must be a number") from None
    if not math.isfinite(amount) or amount < 0:
        raise ChatRejected("yt_bad_item", f"{what}.amountMicros out of range")
    return amount, _str(details, "currency", what, "")


def _count(details: dict, key: str, what: str) -> int:
    v = details.get(key, 1)
    if isinstance(v, str) and v.isdigit():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ChatRejected("yt_bad_item", f"{what}.{key} must be a positive integer")
    return v


def parse_item(item: Any, received_at: float = 0.0) -> ChatEvent | None:
    """One ``youtube#liveChatMessage`` -> ChatEvent, None (not chat), or ChatRejected."""
    if not isinstance(item, dict):
        raise ChatRejected("yt_bad_item", "item must be an object")
    sn = _obj(item, "snippet", "item")
    kind = _str(sn, "type", "snippet")
    if kind not in (
        "textMessageEvent",
        "superChatEvent",
        "superStickerEvent",
        "newSponsorEvent",
        "memberMilestoneChatEvent",
        "membershipGiftingEvent",
    ):
        return None
    author = _obj(item, "authorDetails", "item")
    user = _str(author, "displayName", "authorDetails").strip()
    if not user:
        raise ChatRejected("yt_bad_item", "authorDetails.displayName is empty")
    sent_at: float | None = None
    published = sn.get("publishedAt")
    if published is not None:
        if not isinstance(published, str):
            raise ChatRejected("yt_bad_item", "snippet.publishedAt must be a string")
        try:
            sent_at = datetime.fromisoformat(published).timestamp()
        except (ValueError, OverflowError, OSError):
            raise ChatRejected("yt_bad_item", f"bad publishedAt {published[:40]!r}") from None
    base: dict[str, Any] = {
        "user": user,
        "user_id": _str(author, "channelId", "authorDetails", ""),
        "platform": "youtube",
        "received_at": received_at,
        "raw": item,
        "sent_at": sent_at,
    }
    if kind == "textMessageEvent":
        details = sn.get("textMessageDetails")
        if isinstance(details, dict) and "messageText" in details:
            text = _str(details, "messageText", "textMessageDetails")
        else:
            text = _str(sn, "displayMessage", "snippet")
        if not text.strip():
            return None
        return ChatEvent(text=text, **base)
    if kind == "superChatEvent":
        d = _obj(sn, "superChatDetails", "snippet")
        amount, currency = _money(d, "superChatDetails")
        text = _str(d, "userComment", "superChatDetails", "")
        return ChatEvent(
            text=text, kind="gift", amount=amount, currency=currency, item="superchat", **base
        )
    if kind == "superStickerEvent":
        d = _obj(sn, "superStickerDetails", "snippet")
        amount, currency = _money(d, "superStickerDetails")
        meta = d.get("superStickerMetadata")
        sticker = ""
        if isinstance(meta, dict):
            alt, sid = meta.get("altText"), meta.get("stickerId")
            sticker = alt if isinstance(alt, str) and alt else sid if isinstance(sid, str) else ""
        return ChatEvent(
            text="", kind="gift", amount=amount, currency=currency, item=sticker, **base
        )
    if kind == "newSponsorEvent":
        d = sn.get("newSponsorDetails")
        level = _str(d, "memberLevelName", "newSponsorDetails", "") if isinstance(d, dict) else ""
        return ChatEvent(
            text="", kind="purchase", amount=1.0, currency="membership", item=level, **base
        )
    if kind == "memberMilestoneChatEvent":
        d = _obj(sn, "memberMilestoneChatDetails", "snippet")
        return ChatEvent(
            text=_str(d, "userComment", "memberMilestoneChatDetails", ""),
            kind="purchase",
            amount=1.0,
            currency="membership",
            item=_str(d, "memberLevelName", "memberMilestoneChatDetails", ""),
            **base,
        )
    # membershipGiftingEvent
    d = _obj(sn, "membershipGiftingDetails", "snippet")
    n = _count(d, "giftMembershipsCount", "membershipGiftingDetails")
    return ChatEvent(
        text="",
        kind="gift",
        amount=float(n),
        currency="membership",
        count=n,
        item=_str(d, "giftMembershipsLevelName", "membershipGiftingDetails", ""),
        **base,
    )


def parse_messages_response(
    obj: Any,
    received_at: float = 0.0,
    on_reject: Callable[[ChatRejected, Any], None] | None = None,
) -> tuple[list[ChatEvent], str | None, float | None]:
    """A ``liveChatMessageListResponse`` -> (events, nextPageToken, polling interval in s).

    Raises ChatRejected when the document itself is unusable. A bad item does not spoil the
    page: it is skipped and handed to ``on_reject`` (if given). A missing token or interval is
    returned as None (the caller keeps its previous token / default interval).
    """
    if not isinstance(obj, dict):
        raise ChatRejected("yt_bad_response", "response must be a JSON object")
    kind = obj.get("kind", RESPONSE_KIND)
    if kind != RESPONSE_KIND:
        raise ChatRejected("yt_bad_response", f"unexpected kind {str(kind)[:60]!r}")
    items = obj.get("items", [])
    if not isinstance(items, list):
        raise ChatRejected("yt_bad_response", "items must be a list")
    token = obj.get("nextPageToken")
    if token is not None and (not isinstance(token, str) or not token):
        raise ChatRejected("yt_bad_response", "nextPageToken must be a non-empty string")
    interval = obj.get("pollingIntervalMillis")
    interval_s: float | None = None
    if interval is not None:
        if isinstance(interval, str) and interval.isdigit():
            interval = int(interval)
        if (
            isinstance(interval, bool)
            or not isinstance(interval, int | float)
            or not math.isfinite(interval)
            or interval < 0
        ):
            raise ChatRejected("yt_bad_response", "pollingIntervalMillis must be a number >= 0")
        interval_s = interval / 1000.0
    events: list[ChatEvent] = []
    for item in items:
        try:
            ev = parse_item(item, received_at)
        except ChatRejected as e:
            if on_reject is not None:
                on_reject(e, item)
            continue
        if ev is not None:
            events.append(ev)
    return events, token, interval_s


def _error_reason(body: bytes) -> tuple[str, str]:
    """(reason, message) from a Google API error body; ("", text) when it is not one."""
    try:
        err = json.loads(body)["error"]
        reasons = [e.get("reason", "") for e in err.get("errors", []) if isinstance(e, dict)]
        reason = next((r for r in reasons if r), "") or str(err.get("status", ""))
        return reason, str(err.get("message", ""))[:200]
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", body[:200].decode("utf-8", "replace")


class YouTubeSource(ChatSource):
    """Polls one YouTube live chat and emits ChatEvents.

    In: ``liveChatMessages.list`` pages from ``base_url`` (API key ``api_key``). Out:
    ``emit(ChatEvent)`` per message (see the module docstring), ``reject(code, detail)`` per bad
    document or item. ``received_at`` comes from ``clock_now()``. ``health.state`` turns
    "stopped" with ``health.last_error`` set when the chat has ended (the source stops itself).
    """

    platform = "youtube"

    def __init__(
        self,
        name: str,
        emit: Callable[[ChatEvent], None],
        live_chat_id: str,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        clock_now: Callable[[], float] = time.monotonic,
        *,
        default_interval_s: float = 5.0,
        min_interval_s: float = 0.0,
        quota_backoff_s: float = 60.0,
        quota_backoff_max_s: float = 900.0,
        request_timeout_s: float = 30.0,
        backoff: Backoff | None = None,
        healthy_after_s: float = 10.0,
    ) -> None:
        super().__init__(name, emit, backoff=backoff, healthy_after_s=healthy_after_s)
        if not live_chat_id or not api_key:
            raise ValueError("YouTubeSource needs a live_chat_id and an api_key")
        self.live_chat_id = live_chat_id
        self.api_key = api_key
        self.url = base_url.rstrip("/") + "/youtube/v3/liveChat/messages"
        self.clock_now = clock_now
        self.default_interval_s = default_interval_s
        self.min_interval_s = min_interval_s
        self.quota_backoff = Backoff(
            quota_backoff_s, max(quota_backoff_s, quota_backoff_max_s), jitter=0.2
        )
        self.request_timeout_s = request_timeout_s
        #: the page to ask for next; kept across reconnects so nothing is read twice.
        self.page_token: str | None = None
        # Belt and braces against a server that replays a page: recently seen message ids.
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._wake = asyncio.Event()

    def stop(self) -> None:
        super().stop()
        self._wake.set()  # end a poll-interval / quota wait now

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), max(0.0, seconds))
        except TimeoutError:
            pass

    def _finish(self, why: str) -> None:
        self.health.last_error = why
        log.warning("%s: %s; stopping", self.name, why)
        self.stop()

    async def session(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.request_timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            first = True
            while not self._stopping:
                params = {
                    "liveChatId": self.live_chat_id,
                    "part": "snippet,authorDetails",
                    "key": self.api_key,
                }
                if self.page_token:
                    params["pageToken"] = self.page_token
                async with http.get(self.url, params=params) as resp:
                    status = resp.status
                    # Read to the end (a cut-off body raises ClientPayloadError -> reconnect),
                    # but never hold more than MAX_RESPONSE_BYTES of a runaway response.
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in resp.content.iter_any():
                        size += len(chunk)
                        if size > MAX_RESPONSE_BYTES:
                            raise ConnectionError(f"response over {MAX_RESPONSE_BYTES} bytes")
                        chunks.append(chunk)
                    body = b"".join(chunks)
                if status != 200:
                    reason, message = _error_reason(body)
                    if reason in FATAL_REASONS or status == 404:
                        self._finish(f"chat ended: HTTP {status} {reason or ''} {message}".strip())
                        return
                    if reason in QUOTA_REASONS:
                        # Retrying sooner only burns more quota: wait minutes, not seconds.
                        delay = self.quota_backoff.next()
                        self.health.state = "backoff"
                        self.health.last_error = f"HTTP {status} {reason}: {message}"
                        log.warning("%s: %s; polling again in %.1fs", self.name, reason, delay)
                        await self._sleep(delay)
                        continue
                    raise ConnectionError(f"HTTP {status} {reason}: {message}".strip())
                self.quota_backoff.reset()
                if first:
                    self.live()
                    first = False
                elif self.health.state == "backoff":
                    self.health.state = "live"
                interval = self._handle_page(body)
                await self._sleep(max(self.min_interval_s, interval))

    def _handle_page(self, body: bytes) -> float:
        """Emit one page's events, advance the page token; returns the wait before the next."""
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            self.reject("yt_bad_json", f"response is not JSON: {e}")
            return self.default_interval_s
        try:
            events, token, interval = parse_messages_response(
                doc,
                self.clock_now(),
                on_reject=lambda e, item: self.reject(e.code, f"{e}: {str(item)[:200]}"),
            )
        except ChatRejected as e:
            self.reject(e.code, str(e))
            return self.default_interval_s
        for ev in events:
            mid = ev.raw.get("id") if isinstance(ev.raw, dict) else None
            if isinstance(mid, str) and mid:
                if mid in self._seen:
                    continue
                self._seen[mid] = None
                if len(self._seen) > 5000:
                    self._seen.popitem(last=False)
            self.accept(ev)
        if token:
            self.page_token = token
        if isinstance(doc, dict) and doc.get("offlineAt"):
            self._finish(f"chat ended: stream went offline at {str(doc['offlineAt'])[:40]}")
        return self.default_interval_s if interval is None else interval
