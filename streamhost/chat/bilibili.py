"""Bilibili live danmaku: the WebSocket binary protocol, and a ChatSource that speaks it.

Wire format: every packet is a 16-byte big-endian header followed by a body::

    u32 packet length (header + body) | u16 header length (16) | u16 protocol version
    | u32 operation | u32 sequence

Versions: 0 raw JSON, 1 heartbeat / int32 popularity (also used for auth), 2 zlib-compressed
packets, 3 brotli-compressed packets. A compressed body holds one or more complete packets,
concatenated. Operations: 2 heartbeat, 3 heartbeat reply, 5 command (JSON message), 7 auth
(join room), 8 auth reply.

Pure functions (no I/O, unit-testable):

* ``encode_packet(op, body, ver, seq) -> bytes``
* ``decode_packets(data) -> list[Packet]``: leaf packets with compressed bodies expanded
  (bounded: total decompressed size, nesting depth and packet count); anything malformed raises
  ``ChatRejected`` and nothing else.
* ``to_chat_events(cmd, received_at) -> list[ChatEvent]``: one op-5 JSON command to events.
  Unknown commands give ``[]`` (the caller counts them as ignored, not as errors).

Money: Bilibili prices are in "gold" (金瓜子, 1000 gold = 1 CNY) or free "silver". Gold becomes
``amount`` in ``CNY``; silver stays ``amount`` in ``silver`` (no money value).
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..frames import ChatEvent
from .intake import MAX_USER_CHARS, ChatRejected, _clean, load_json, wire_number
from .source import Backoff, ChatSource

try:  # brotli is optional at import time: without it we ask the server for zlib (protover 2).
    import brotli  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - exercised only where brotli is missing
    brotli = None

log = logging.getLogger("streamhost.chat.bilibili")

HEADER = struct.Struct(">IHHII")
HEADER_LEN = 16

VER_JSON = 0
VER_INT = 1
VER_ZLIB = 2
VER_BROTLI = 3

OP_HEARTBEAT = 2
OP_HEARTBEAT_REPLY = 3
OP_MESSAGE = 5
OP_AUTH = 7
OP_AUTH_REPLY = 8

# Real frames are a few KB; these bounds only stop hostile or broken input from costing memory.
MAX_DECOMPRESSED = 4 * 1024 * 1024
MAX_DEPTH = 2  # compressed body -> packets -> (one more level tolerated) -> leaves
MAX_PACKETS = 10_000
MAX_FRAME_BYTES = 4 * 1024 * 1024
MAX_TEXT_CHARS = 500
GOLD_PER_CNY = 1000.0


@dataclass(frozen=True, slots=True)
class Packet:
    """One decoded leaf packet: protocol version, operation, sequence and raw body bytes."""

    ver: int
    op: int
    seq: int
    body: bytes

    def popularity(self) -> int:
        """The int32 body of a heartbeat reply (room popularity); 0 if it is not 4 bytes."""
        return struct.unpack(">I", self.body)[0] if len(self.body) == 4 else 0


def encode_packet(op: int, body: bytes, ver: int = VER_INT, seq: int = 1) -> bytes:
    """Header + body. ``body`` is sent as is (callers compress it themselves for ver 2/3)."""
    return HEADER.pack(HEADER_LEN + len(body), HEADER_LEN, ver, op, seq) + body


def _decompress(ver: int, body: bytes, budget: int) -> bytes:
    """Decompress ``body`` producing at most ``budget`` bytes, or raise ChatRejected.

    Output is capped *while* decompressing, so a bomb (50 MB of zeros in 50 KB) costs at most
    ``budget`` bytes of memory, never its full expansion.
    """
    try:
        if ver == VER_ZLIB:
            d = zlib.decompressobj()
            out = d.decompress(body, budget + 1)
            if len(out) > budget or d.unconsumed_tail:
                raise ChatRejected("too_large", f"decompressed body exceeds {budget} bytes")
            if not d.eof:
                raise ChatRejected("truncated", "zlib body is truncated")
            return out
        if brotli is None:
            raise ChatRejected("unsupported", "brotli body but the brotli module is missing")
        b = brotli.Decompressor()
        out = b.process(body, output_buffer_limit=budget + 1)
        if len(out) > budget:
            raise ChatRejected("too_large", f"decompressed body exceeds {budget} bytes")
        if not b.is_finished():
            # Output still pending means the limit stopped it; otherwise the input ran out.
            if not b.can_accept_more_data():
                raise ChatRejected("too_large", f"decompressed body exceeds {budget} bytes")
            raise ChatRejected("truncated", "brotli body is truncated")
        return out
    except ChatRejected:
        raise
    except Exception as e:  # zlib.error, brotli.error: the body is not what its header says
        raise ChatRejected("bad_compression", f"cannot decompress ver {ver} body: {e}") from None


def decode_packets(data: bytes) -> list[Packet]:
    """Split a frame into leaf packets, expanding zlib/brotli bodies recursively.

    Raises ChatRejected (codes: empty, truncated, bad_header, too_large, too_deep,
    bad_compression, unsupported) for anything that is not a well-formed frame.
    """
    if not data:
        raise ChatRejected("empty", "empty frame")
    out: list[Packet] = []
    budget = [MAX_DECOMPRESSED]

    def walk(buf: bytes, depth: int) -> None:
        pos, n = 0, len(buf)
        if n == 0:
            raise ChatRejected("empty", "compressed body holds no packets")
        while pos < n:
            if n - pos < HEADER_LEN:
                raise ChatRejected("truncated", f"{n - pos} trailing bytes, a header needs 16")
            plen, hlen, ver, op, seq = HEADER.unpack_from(buf, pos)
            if hlen != HEADER_LEN:
                raise ChatRejected("bad_header", f"header length {hlen}, expected 16")
            if plen < HEADER_LEN:
                raise ChatRejected("bad_header", f"packet length {plen} is below 16")
            if plen > n - pos:
                raise ChatRejected("truncated", f"packet says {plen} bytes, {n - pos} remain")
            if ver not in (VER_JSON, VER_INT, VER_ZLIB, VER_BROTLI):
                raise ChatRejected("bad_header", f"unknown protocol version {ver}")
            body = buf[pos + HEADER_LEN : pos + plen]
            pos += plen
            if ver in (VER_ZLIB, VER_BROTLI):
                if depth >= MAX_DEPTH:
                    raise ChatRejected("too_deep", f"compressed packets nested over {MAX_DEPTH}")
                inner = _decompress(ver, body, budget[0])
                budget[0] -= len(inner)
                walk(inner, depth + 1)
            else:
                if len(out) >= MAX_PACKETS:
                    raise ChatRejected("too_large", f"frame holds over {MAX_PACKETS} packets")
                out.append(Packet(ver, op, seq, bytes(body)))

    walk(bytes(data), 0)
    return out


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
