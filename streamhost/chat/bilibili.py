"""Bilibili live danmaku: a ChatSource that speaks the WebSocket binary protocol.

The wire format (packets, compression, bounds) is in chat/bilibili_wire.py; op-5 commands become
ChatEvents in chat/bilibili_commands.py (``parse_command``, ``to_chat_events``: unknown
commands give ``[]``, which the source counts as ignored, not as errors).
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
from .bilibili_commands import parse_command, to_chat_events
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
from .intake import ChatRejected
from .source import Backoff, ChatSource

log = logging.getLogger("streamhost.chat.bilibili")

MAX_FRAME_BYTES = 4 * 1024 * 1024


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
