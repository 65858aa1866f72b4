"""Bilibili live danmaku: the WebSocket binary protocol, and a ChatSource that speaks it.

The wire format (packets, compression, bounds) is in chat/bilibili_wire.py.

Pure functions (no I/O, unit-testable), beside the wire's ``encode_packet`` and
``decode_packets``:

* ``to_chat_events(cmd, received_at) -> list[ChatEvent]``: one op-5 JSON command to events.
  Unknown commands give ``[]`` (the caller counts them as ignored, not as errors).

Money: Bilibili prices are in "gold" (金瓜子, 1000 gold = 1 CNY) or free "silver". Gold becomes
``amount`` in ``CNY``; silver stays ``amount`` in ``silver`` (no money value).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp

from ..frames import ChatEvent
from .bilibili_wire import (
    OP_AUTH,
    OP_AUTH_REPLY,
    OP_HEARTBEAT,
    OP_HEARTBEAT_REPLY,
    OP_MESSAGE,
    VER_INT,
    brotli,
    decode_packets,
    encode_packet,
)
from .intake import MAX_USER_CHARS, ChatRejected, _clean, load_json, wire_number
from .source import Backoff, ChatSource

log = logging.getLogger("streamhost.chat.bilibili")

MAX_FRAME_BYTES = 4 * 1024 * 1024
MAX_TEXT_CHARS = 500
GOLD_PER_CNY = 1000.0


def parse_command(body: bytes) -> dict[str, Any]:
    """The JSON object in an op-5 body, or ChatRejected (bad_utf8, bad_json, bad_shape)."""
    obj = load_json(body, "body")
    if not isinstance(obj, dict) or not isinstance(obj.get("cmd"), str):
        raise ChatRejected("bad_shape", 'a command must be a JSON object with a string "cmd"')
    return obj


# ---------------------------------------------------------------------------------------------
# Commands -> ChatEvents


def _user(value: Any) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ChatRejected("bad_user", f"user name must be a string, got {type(value).__name__}")
    name = _clean(str(value))[:MAX_USER_CHARS]
    if not name:
        raise ChatRejected("bad_user", "user name is empty")
    return name


def _uid(value: Any) -> str:
    # uid 0 means "not logged in / masked" on Bilibili: keep it empty rather than a fake id.
    if isinstance(value, bool) or not isinstance(value, int | str):
        return ""
    s = str(value)
    return "" if s in ("", "0") else s[:32]


def _num(value: Any, code: str, default: float = 0.0) -> float:
    return default if value is None else wire_number(value, code, code.removeprefix("bad_"))


def _count(value: Any) -> int:
    return max(1, int(_num(value, "bad_count", 1)))


def _data(cmd: dict[str, Any]) -> dict[str, Any]:
    data = cmd.get("data")
    if not isinstance(data, dict):
        raise ChatRejected("bad_shape", f'{cmd.get("cmd")}: "data" must be an object')
    return data


def _gift_amount(total: float, coin_type: Any) -> tuple[float, str]:
    if coin_type == "silver":
        return total, "silver"
    return total / GOLD_PER_CNY, "CNY"


def _gift(
    d: dict,
    cmd: str,
    item_key: str,
    num: int,
    amount: float,
    currency: str,
    streak_end: bool,
    sent_at: float | None,
    common: dict,
) -> ChatEvent:
    """A gift event from SEND_GIFT / COMBO_END data (they differ only in field names)."""
    item = d.get(item_key)
    if not isinstance(item, str):
        raise ChatRejected("bad_shape", f'{cmd}: "{item_key}" must be a string')
    return ChatEvent(
        user=_user(d.get("uname")), user_id=_uid(d.get("uid")), text="", kind="gift",
        item=_clean(item)[:64], count=num, amount=amount, currency=currency,
        streak_end=streak_end, sent_at=sent_at, **common,
    )  # fmt: skip


def to_chat_events(cmd: dict[str, Any], received_at: float) -> list[ChatEvent]:
    """Map one op-5 command object to ChatEvents.

    DANMU_MSG (prefix match; the cmd may carry suffixes like ``DANMU_MSG:4:0:2:2:2:0``):
    ``info[0]`` metadata (``info[0][4]`` send time in ms), ``info[1]`` text, ``info[2]`` =
    ``[uid, uname, ...]`` -> comment. SEND_GIFT -> gift (``streak_end`` False while a combo is
    running, i.e. ``combo_send``/``batch_combo_send`` is set); COMBO_END -> gift with the combo's
    total and ``streak_end``. GUARD_BUY -> purchase. SUPER_CHAT_MESSAGE -> paid comment.
    INTERACT_WORD msg_type 1 join, 2/4/5 follow, 3 share. LIKE_INFO_V3_CLICK -> like.
    Others -> ``[]``. Malformed known commands raise ChatRejected.
    """
    name = cmd.get("cmd")
    if not isinstance(name, str):
        raise ChatRejected("bad_shape", 'command has no string "cmd"')
    base = name.split(":", 1)[0]
    common = {"platform": "bilibili", "received_at": received_at, "raw": cmd}

    if base == "DANMU_MSG":
        info = cmd.get("info")
        if not isinstance(info, list) or len(info) < 3:
            raise ChatRejected("bad_shape", 'DANMU_MSG: "info" must be a list of at least 3')
        meta, text, who = info[0], info[1], info[2]
        if not isinstance(text, str):
            raise ChatRejected("bad_text", "DANMU_MSG: info[1] must be the text")
        if not isinstance(who, list) or len(who) < 2:
            raise ChatRejected("bad_user", "DANMU_MSG: info[2] must be [uid, uname, ...]")
        text = _clean(text)
        if not text:
            raise ChatRejected("empty", "DANMU_MSG: empty text")
        if len(text) > MAX_TEXT_CHARS:
            raise ChatRejected("too_long", f"DANMU_MSG: {len(text)} characters")
        sent_at = None
        if isinstance(meta, list) and len(meta) > 4 and not isinstance(meta[4], bool):
            try:
                ts = _num(meta[4], "bad_time")
            except ChatRejected:
                ts = 0.0  # metadata is advisory: a bad timestamp does not cost the comment
            # Bilibili sends milliseconds; anything that large cannot be seconds.
            sent_at = (ts / 1000.0 if ts > 1e11 else ts) or None
        return [
            ChatEvent(
                user=_user(who[1]),
                user_id=_uid(who[0]),
                text=text,
                kind="comment",
                sent_at=sent_at,
                **common,
            )
        ]

    if base == "SEND_GIFT":
        d = _data(cmd)
        num = _count(d.get("num"))
        total = d.get("total_coin")
        total_f = (
            _num(total, "bad_amount")
            if total is not None
            else _num(d.get("price"), "bad_amount") * num
        )
        amount, currency = _gift_amount(total_f, d.get("coin_type"))
        in_combo = bool(d.get("combo_send")) or bool(d.get("batch_combo_send"))
        sent_at = _num(d.get("timestamp"), "bad_time", 0.0) or None
        return [
            _gift(d, "SEND_GIFT", "giftName", num, amount, currency, not in_combo, sent_at, common)
        ]

    if base == "COMBO_END":
        d = _data(cmd)
        num = _count(d.get("combo_num") or d.get("batch_combo_num"))
        total = _num(d.get("combo_total_coin"), "bad_amount", -1.0)
        if total < 0:
            total = _num(d.get("price"), "bad_amount") * num
        amount, currency = _gift_amount(total, d.get("coin_type", "gold"))
        return [_gift(d, "COMBO_END", "gift_name", num, amount, currency, True, None, common)]

    if base == "GUARD_BUY":
        d = _data(cmd)
        num = _count(d.get("num"))
        price = _num(d.get("price"), "bad_amount")  # gold per unit (month)
        level = d.get("guard_level")
        item = d.get("gift_name") or (
            {1: "总督", 2: "提督", 3: "舰长"}.get(level, "") if isinstance(level, int) else ""
        )
        return [
            ChatEvent(
                user=_user(d.get("username") or d.get("uname")),
                user_id=_uid(d.get("uid")),
                text="",
                kind="purchase",
                item=_clean(item if isinstance(item, str) else "")[:64],
                count=num,
                amount=price * num / GOLD_PER_CNY,
                currency="CNY",
                **common,
            )
        ]

    if base == "SUPER_CHAT_MESSAGE":
        d = _data(cmd)
        info = d.get("user_info") if isinstance(d.get("user_info"), dict) else {}
        text = d.get("message")
        if not isinstance(text, str) or not _clean(text):
            raise ChatRejected("bad_text", 'SUPER_CHAT_MESSAGE: "message" must be text')
        text = _clean(text)[:MAX_TEXT_CHARS]
        return [
            ChatEvent(
                user=_user(info.get("uname") or d.get("uname")),
                user_id=_uid(d.get("uid")),
                text=text,
                kind="comment",
                amount=_num(d.get("price"), "bad_amount"),  # already CNY for super chats
                currency="CNY",
                **common,
            )
        ]

    if base == "INTERACT_WORD":
        d = _data(cmd)
        msg_type = d.get("msg_type")
        kind = (
            {1: "join", 2: "follow", 3: "share", 4: "follow", 5: "follow"}.get(msg_type)
            if isinstance(msg_type, int)
            else None
        )
        if kind is None:
            return []
        return [
            ChatEvent(
                user=_user(d.get("uname")), user_id=_uid(d.get("uid")), text="", kind=kind, **common
            )
        ]

    if base == "LIKE_INFO_V3_CLICK":
        d = _data(cmd)
        return [
            ChatEvent(
                user=_user(d.get("uname")),
                user_id=_uid(d.get("uid")),
                text="",
                kind="like",
                **common,
            )
        ]

    return []


# ---------------------------------------------------------------------------------------------
# The source


class BilibiliSource(ChatSource):
    """Reads one Bilibili live room's danmaku over WebSocket.

    In: the room's danmaku server ``url`` (e.g. ``wss://broadcastlv.chat.bilibili.com/sub``),
    ``room_id`` (the real room id), optional ``uid``/``token`` (the ``key`` from the room's
    danmaku info API) and ``buvid``. Out: ChatEvents through ``emit`` with ``received_at`` from
    ``clock_now`` (media seconds). Per session: auth (op 7), wait for op 8, heartbeat (op 2)
    every ``heartbeat_s``, read op 5 commands. Bad frames are rejected (counted in
    ``health.rejected`` and ``rejected_codes``) and reading goes on; commands we do not map are
    counted in ``ignored``. A silent server (no data, not even heartbeat replies, for
    ``2 * heartbeat_s + 5``) counts as a lost connection; the base class reconnects.
    """

    platform = "bilibili"

    def __init__(
        self,
        name: str,
        emit: Callable[[ChatEvent], None],
        url: str,
        room_id: int,
        uid: int = 0,
        token: str = "",
        clock_now: Callable[[], float] = time.monotonic,
        *,
        buvid: str = "",
        heartbeat_s: float = 30.0,
        auth_timeout_s: float = 10.0,
        backoff: Backoff | None = None,
        healthy_after_s: float = 10.0,
    ) -> None:
        super().__init__(name, emit, backoff=backoff, healthy_after_s=healthy_after_s)
        self.url = url
        self.room_id = int(room_id)
        self.uid = int(uid)
        self.token = token
        self.buvid = buvid
        self.clock_now = clock_now
        self.heartbeat_s = heartbeat_s
        self.auth_timeout_s = auth_timeout_s
        self.ignored = 0
        self.popularity = 0
        self.rejected_codes: Counter[str] = Counter()

    def reject(self, code: str, detail: str) -> None:
        self.rejected_codes[code] += 1
        super().reject(code, detail)

    def auth_body(self) -> bytes:
        """The op-7 JSON. protover 3 asks for brotli bodies; 2 (zlib) when brotli is missing."""
        body: dict[str, Any] = {
            "uid": self.uid,
            "roomid": self.room_id,
            "protover": 3 if brotli is not None else 2,
            "platform": "web",
            "type": 2,
            "key": self.token,
        }
        if self.buvid:
            body["buvid"] = self.buvid
        return json.dumps(body, separators=(",", ":")).encode()

    async def session(self) -> None:
        timeout = aiohttp.ClientTimeout(total=None, connect=self.auth_timeout_s)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.ws_connect(self.url, max_msg_size=MAX_FRAME_BYTES, autoping=True) as ws,
        ):
            await ws.send_bytes(encode_packet(OP_AUTH, self.auth_body(), ver=VER_INT, seq=1))
            await self._await_auth(ws)
            self.live()
            beat = asyncio.create_task(self._heartbeat(ws))
            try:
                await self._read(ws)
            finally:
                beat.cancel()
                await asyncio.gather(beat, return_exceptions=True)

    async def _await_auth(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        deadline = asyncio.get_running_loop().time() + self.auth_timeout_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError("no auth reply (op 8)")
            msg = await ws.receive(timeout=left)
            if msg.type != aiohttp.WSMsgType.BINARY:
                raise ConnectionError(f"connection ended before auth reply ({msg.type.name})")
            try:
                packets = decode_packets(msg.data)
            except ChatRejected as e:
                self.reject(e.code, str(e))
                continue
            for p in packets:
                if p.op != OP_AUTH_REPLY:
                    continue
                try:
                    code = json.loads(p.body.decode("utf-8")).get("code", 0) if p.body else 0
                except (ValueError, AttributeError):
                    code = -1
                if code != 0:
                    raise PermissionError(f"auth refused (code {code})")
                return

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        seq = 2
        while not ws.closed:
            await ws.send_bytes(encode_packet(OP_HEARTBEAT, b"", ver=VER_INT, seq=seq))
            seq += 1
            await asyncio.sleep(self.heartbeat_s)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        silence = 2 * self.heartbeat_s + 5
        while not self._stopping:
            try:
                msg = await ws.receive(timeout=silence)
            except TimeoutError:
                raise TimeoutError(f"server silent for {silence:.0f}s") from None
            if msg.type == aiohttp.WSMsgType.BINARY:
                self.handle_frame(msg.data)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                self.reject("bad_frame", "text frame on a binary protocol")
            elif msg.type == aiohttp.WSMsgType.ERROR:
                raise ConnectionError(f"websocket error: {ws.exception()}")
            else:  # CLOSE / CLOSING / CLOSED
                return

    def handle_frame(self, data: bytes) -> None:
        """Decode one binary frame and emit its events; rejects, never raises ChatRejected."""
        try:
            packets = decode_packets(data)
        except ChatRejected as e:
            self.reject(e.code, str(e))
            return
        now = self.clock_now()
        for p in packets:
            if p.op == OP_HEARTBEAT_REPLY:
                self.popularity = p.popularity()
            elif p.op == OP_MESSAGE:
                try:
                    events = to_chat_events(parse_command(p.body), now)
                except ChatRejected as e:
                    self.reject(e.code, str(e))
                    continue
                if not events:
                    self.ignored += 1
                for ev in events:
                    self.accept(ev)
