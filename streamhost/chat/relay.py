"""A WebSocket client for TikTok / Douyin relay tools (one JSON event per message).

Tools such as TikTok-Live-Connector relays or Douyin barrage grabbers read the platform's own
(protobuf, signed) feed and re-emit each event as JSON. Their shapes differ a little; this module
accepts the common ones and maps them onto ChatEvent.

Mapping (``relay_to_event``)
----------------------------
Event type: the first string among ``type``, ``event``, ``method``. It is normalised by
lower-casing and stripping a ``webcast`` prefix and a ``message`` suffix, so
``WebcastChatMessage`` -> ``chat``. Payload: the object under ``data`` or ``payload`` when
present, else the top-level object itself.

============================  ============  ===============================================
type (normalised)             ChatEvent     notes
============================  ============  ===============================================
chat, comment, message        comment       text: ``comment`` | ``content`` | ``text``
                                            | ``msg``
gift                          gift          item: ``giftName`` | ``gift_name`` |
                                            ``gift.name`` | ``giftDetails.giftName``;
                                            count: ``repeatCount`` | ``repeat_count`` |
                                            ``comboCount`` | ``count`` (default 1);
                                            amount = ``diamondCount`` (per gift, also under
                                            ``gift``/``giftDetails``) x count, currency
                                            ``diamonds``; streak_end: ``repeatEnd``; with
                                            ``giftType`` present, only type 1 gifts can
                                            stream (others are always ended, as
                                            TikTok-Live-Connector documents)
like                          like          count: ``likeCount`` | ``like_count`` | ``count``
follow                        follow
share                         share
social                        follow/share  share when ``displayType``/``label`` mentions
                                            "share", ``action`` == 3 or ``shareType`` is set;
                                            else follow (Douyin action 1)
member, join, enter           join
subscribe                     purchase      a paid subscription; item "subscription"
anything else (roomUser,      None          ignored by the caller, not an error
streamEnd, control, ...)
============================  ============  ===============================================

User name: ``user`` when it is a string, else the first non-empty of ``nickname``,
``nickName``, ``uniqueId``, ``unique_id``, ``displayId``, ``display_id``, ``username``,
``uname`` - looked up in a nested ``user`` object first, then in the payload. User id: ``userId``
| ``user_id`` | ``uid`` | ``id`` (nested ``user`` first), falling back to the ``uniqueId``
handle. ``timestamp``/``createTime`` (seconds or milliseconds) become ``sent_at``.

Bad shapes (not an object, no type, no user, a comment without text, non-numeric counts)
raise ChatRejected; the source counts them and keeps reading.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp

from ..frames import ChatEvent
from .intake import MAX_USER_CHARS, ChatRejected, _clean, load_json, utf8_size, wire_number
from .source import Backoff, ChatSource

MAX_MESSAGE_BYTES = 64 * 1024  # application limit: larger messages are rejected, reading goes on
MAX_WS_BYTES = 4 * 1024 * 1024  # transport limit: beyond it aiohttp drops the connection
MAX_TEXT_CHARS = 500
MAX_BATCH = 1000

_TYPES = {
    "chat": "comment",
    "comment": "comment",
    "message": "comment",
    "gift": "gift",
    "like": "like",
    "follow": "follow",
    "share": "share",
    "social": "social",
    "member": "join",
    "join": "join",
    "enter": "join",
    "subscribe": "purchase",
}
_NAME_KEYS = (
    "nickname",
    "nickName",
    "uniqueId",
    "unique_id",
    "displayId",
    "display_id",
    "username",
    "uname",
)
_ID_KEYS = ("userId", "user_id", "uid", "id")
_HANDLE_KEYS = ("uniqueId", "unique_id", "displayId", "display_id")


def normalise_type(value: str) -> str:
    """``WebcastChatMessage`` -> ``chat``; ``Comment`` -> ``comment``."""
    t = value.strip().lower()
    if t.startswith("webcast"):
        t = t[len("webcast") :]
    if t.endswith("message") and t != "message":
        t = t[: -len("message")]
    return t


def _first_str(objs: list[dict[str, Any]], keys: tuple[str, ...]) -> str:
    for o in objs:
        for k in keys:
            v = o.get(k)
            if isinstance(v, str) and _clean(v):
                return _clean(v)
            if isinstance(v, int) and not isinstance(v, bool):
                return str(v)
    return ""


def _first_number(objs: list[dict[str, Any]], keys: tuple[str, ...], what: str) -> float | None:
    for o in objs:
        for k in keys:
            if o.get(k) is not None:
                return wire_number(o[k], "bad_" + what, f'"{k}"')
    return None


def relay_to_event(obj: Any, received_at: float, platform: str = "tiktok") -> ChatEvent | None:
    """One relay JSON object -> a ChatEvent, None for event types we do not use, or
    ChatRejected for a bad shape. See the module docstring for the mapping."""
    if not isinstance(obj, dict):
        raise ChatRejected("bad_shape", f"event must be a JSON object, got {type(obj).__name__}")
    raw_type = next(
        (obj[k] for k in ("type", "event", "method") if isinstance(obj.get(k), str)), None
    )
    if raw_type is None:
        raise ChatRejected("bad_shape", 'event has no string "type", "event" or "method"')
    t = normalise_type(raw_type)
    kind = _TYPES.get(t)
    if kind is None:
        return None
    payload = obj
    for k in ("data", "payload"):
        if k in obj:
            if not isinstance(obj[k], dict):
                raise ChatRejected("bad_shape", f'"{k}" must be an object')
            payload = obj[k]
            break
    nested = payload.get("user")
    scopes = [nested, payload] if isinstance(nested, dict) else [payload]

    user = _clean(nested) if isinstance(nested, str) else _first_str(scopes, _NAME_KEYS)
    if not user:
        raise ChatRejected("bad_user", "event names no user")
    # "id" only inside a nested user object: at the top level it is usually the message id.
    user_id = (
        (_first_str([nested], _ID_KEYS) if isinstance(nested, dict) else "")
        or _first_str([payload], _ID_KEYS[:-1])
        or _first_str(scopes, _HANDLE_KEYS)
    )

    ts = _first_number([payload], ("timestamp", "createTime", "create_time"), "time")
    sent_at = (ts / 1000.0 if ts > 1e11 else ts) if ts else None

    ev = ChatEvent(
        user=user[:MAX_USER_CHARS],
        text="",
        platform=platform,
        kind="follow" if kind == "social" else kind,
        user_id=user_id[:64],
        received_at=received_at,
        raw=obj,
        sent_at=sent_at,
    )

    if kind == "comment":
        text = next(
            (
                payload[k]
                for k in ("comment", "content", "text", "msg")
                if isinstance(payload.get(k), str)
            ),
            None,
        )
        if not isinstance(text, str):
            raise ChatRejected("bad_text", "comment has no string comment/content/text")
        text = _clean(text)
        if not text:
            raise ChatRejected("empty", "comment text is empty")
        if len(text) > MAX_TEXT_CHARS:
            raise ChatRejected("too_long", f"comment has {len(text)} characters")
        ev.text = text
    elif kind == "gift":
        gift_scopes = [payload] + [
            payload[k]
            for k in ("gift", "giftDetails", "extendedGiftInfo")
            if isinstance(payload.get(k), dict)
        ]
        ev.item = _first_str(gift_scopes, ("giftName", "gift_name", "name", "describe"))[:64]
        count = _first_number(
            [payload], ("repeatCount", "repeat_count", "comboCount", "count"), "count"
        )
        ev.count = max(1, int(count or 1))
        diamonds = _first_number(gift_scopes, ("diamondCount", "diamond_count"), "amount")
        ev.amount = (diamonds or 0.0) * ev.count
        ev.currency = "diamonds"
        repeat_end = payload.get("repeatEnd", payload.get("repeat_end"))
        gift_type = payload.get("giftType", payload.get("gift_type"))
        if isinstance(gift_type, int) and not isinstance(gift_type, bool) and gift_type != 1:
            ev.streak_end = True  # only type-1 gifts stream; others are final as they arrive
        elif repeat_end is None:
            ev.streak_end = True
        else:
            ev.streak_end = bool(repeat_end)
    elif kind == "like":
        count = _first_number([payload], ("likeCount", "like_count", "count"), "count")
        ev.count = max(1, int(count or 1))
    elif kind == "social":
        label = " ".join(
            str(payload.get(k, "")) for k in ("displayType", "label", "display_type")
        ).lower()
        action = payload.get("action")
        if "share" in label or action == 3 or payload.get("shareType") is not None:
            ev.kind = "share"
    elif kind == "purchase":
        ev.item = "subscription"
    return ev


class RelaySource(ChatSource):
    """Reads a relay's WebSocket: JSON text (or UTF-8 binary) frames, one event each (a JSON
    array of events is accepted too).

    In: ``url`` of the relay. Out: ChatEvents (``platform`` as given, default "tiktok") through
    ``emit``, ``received_at`` from ``clock_now``. Bad messages - not UTF-8, not JSON, a bad
    shape, over ``max_message_bytes`` - are rejected (``health.rejected``, ``rejected_codes``)
    and reading goes on; event types outside the mapping are counted in ``ignored``. A closed
    connection or missing pong (``heartbeat_s``) ends the session; the base class reconnects.
    """

    platform = "relay"

    def __init__(
        self,
        name: str,
        emit: Callable[[ChatEvent], None],
        url: str,
        clock_now: Callable[[], float] = time.monotonic,
        *,
        platform: str = "tiktok",
        heartbeat_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        backoff: Backoff | None = None,
        healthy_after_s: float = 10.0,
    ) -> None:
        super().__init__(name, emit, backoff=backoff, healthy_after_s=healthy_after_s)
        self.url = url
        self.clock_now = clock_now
        self.event_platform = platform
        self.health.platform = platform
        self.heartbeat_s = heartbeat_s
        self.connect_timeout_s = connect_timeout_s
        self.max_message_bytes = max_message_bytes
        self.ignored = 0
        self.rejected_codes: Counter[str] = Counter()

    def reject(self, code: str, detail: str) -> None:
        self.rejected_codes[code] += 1
        super().reject(code, detail)

    async def session(self) -> None:
        timeout = aiohttp.ClientTimeout(total=None, connect=self.connect_timeout_s)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.ws_connect(self.url, heartbeat=self.heartbeat_s, max_msg_size=MAX_WS_BYTES) as ws,
        ):
            self.live()
            while not self._stopping:
                msg = await ws.receive()
                if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    self.handle_message(msg.data)
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    raise ConnectionError(f"websocket error: {ws.exception()}")
                else:  # CLOSE / CLOSING / CLOSED
                    return

    def handle_message(self, data: str | bytes) -> None:
        """Parse one message and emit its event(s); rejects, never raises ChatRejected."""
        try:
            size = utf8_size(data)
            if size > self.max_message_bytes:
                raise ChatRejected(
                    "too_large", f"message is {size} bytes; the limit is {self.max_message_bytes}"
                )
            obj = load_json(data, "message")
        except ChatRejected as e:
            self.reject(e.code, str(e))
            return
        items = obj if isinstance(obj, list) else [obj]
        if len(items) > MAX_BATCH:
            self.reject("too_large", f"batch of {len(items)} events; the limit is {MAX_BATCH}")
            return
        now = self.clock_now()
        for item in items:
            try:
                ev = relay_to_event(item, now, self.event_platform)
            except ChatRejected as e:
                self.reject(e.code, str(e))
                continue
            if ev is None:
                self.ignored += 1
            else:
                self.accept(ev)
