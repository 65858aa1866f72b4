"""Bilibili danmaku: the binary protocol (pure functions) and BilibiliSource against a local
WebSocket server on 127.0.0.1 that speaks the protocol."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import Awaitable, Callable

import brotli
import pytest
from aiohttp import WSMsgType, web
from hypothesis import given, settings
from hypothesis import strategies as st

from streamhost.chat.bilibili import BilibiliSource, parse_command, to_chat_events
from streamhost.chat.bilibili_wire import (
    MAX_DECOMPRESSED,
    OP_AUTH,
    OP_AUTH_REPLY,
    OP_HEARTBEAT,
    OP_HEARTBEAT_REPLY,
    OP_MESSAGE,
    Packet,
    decode_packets,
    encode_packet,
)
from streamhost.chat.intake import ChatRejected
from streamhost.chat.source import Backoff
from streamhost.frames import ChatEvent


def danmu(text: str, uid: int = 42, uname: str = "bob") -> dict:
    return {
        "cmd": "DANMU_MSG:4:0:2:2:2:0",
        "info": [[0, 1, 25, 16777215, 1700000000123, 0, 0, "", 0], text, [uid, uname, 0, 0, 0]],
    }


def gift(name: str = "辣条", num: int = 3, price: int = 100, coin_type: str = "gold", **extra):
    data = {
        "giftName": name,
        "num": num,
        "price": price,
        "total_coin": price * num,
        "coin_type": coin_type,
        "uid": 7,
        "uname": "alice",
        "timestamp": 1700000000,
        "combo_send": None,
        "batch_combo_send": None,
    }
    data.update(extra)
    return {"cmd": "SEND_GIFT", "data": data}


def msg(obj: dict, ver: int = 0) -> bytes:
    return encode_packet(OP_MESSAGE, json.dumps(obj, ensure_ascii=False).encode(), ver=ver)


def zlib_frame(*packets: bytes) -> bytes:
    return encode_packet(OP_MESSAGE, zlib.compress(b"".join(packets)), ver=2, seq=0)


def brotli_frame(*packets: bytes) -> bytes:
    return encode_packet(OP_MESSAGE, brcompress(b"".join(packets)), ver=3, seq=0)


def brcompress(data: bytes) -> bytes:
    return brotli.compress(data, quality=4)  # the default (11) takes seconds on large inputs


# --------------------------------------------------------------------------- pure functions


def test_header_layout() -> None:
    p = encode_packet(OP_AUTH, b'{"a":1}', ver=1, seq=9)
    assert struct.unpack(">IHHII", p[:16]) == (16 + 7, 16, 1, 7, 9)
    assert decode_packets(p) == [Packet(1, 7, 9, b'{"a":1}')]


def test_raw_zlib_brotli_and_several_packets_per_body() -> None:
    a, b, c = msg(danmu("one")), msg(danmu("two")), msg(gift())
    frame = a + zlib_frame(b, c) + brotli_frame(a, zlib_frame(b))  # nested one level deeper
    texts = [json.loads(p.body)["cmd"] for p in decode_packets(frame)]
    assert texts == ["DANMU_MSG:4:0:2:2:2:0"] * 2 + ["SEND_GIFT"] + ["DANMU_MSG:4:0:2:2:2:0"] * 2


@pytest.mark.parametrize(
    "data,code",
    [
        (b"", "empty"),
        (b"\x00\x00\x00\x20\x00\x10", "truncated"),  # header cut short
        (encode_packet(5, b"x" * 40)[:-3], "truncated"),  # body cut short
        (b"\x00\x00\x00\x10\x00\x11\x00\x00" + b"\x00" * 8, "bad_header"),  # header length 17
        (struct.pack(">IHHII", 8, 16, 0, 5, 1) + b"x" * 8, "bad_header"),  # length < 16
        (struct.pack(">IHHII", 16, 16, 9, 5, 1), "bad_header"),  # version 9
        (encode_packet(5, b"not zlib at all", ver=2), "bad_compression"),
        (encode_packet(5, zlib.compress(b"x" * 1000)[:-10], ver=2), "truncated"),
        (encode_packet(5, brcompress(b"x" * 1000)[:-3], ver=3), "truncated"),
        (encode_packet(5, zlib.compress(b"\0" * 50_000_000), ver=2), "too_large"),
        (encode_packet(5, brcompress(b"\0" * 50_000_000), ver=3), "too_large"),
        (encode_packet(5, zlib.compress(b"\0" * 20), ver=2), "bad_header"),  # zeros != packets
    ],
)
def test_decode_rejects(data: bytes, code: str) -> None:
    with pytest.raises(ChatRejected) as e:
        decode_packets(data)
    assert e.value.code == code


def test_depth_bound() -> None:
    inner = msg(danmu("deep"))
    for _ in range(4):
        inner = zlib_frame(inner)
    with pytest.raises(ChatRejected) as e:
        decode_packets(inner)
    assert e.value.code == "too_deep"


def test_bomb_exactly_at_the_limit_is_accepted_and_one_over_is_not() -> None:
    pad = MAX_DECOMPRESSED - 16
    ok = encode_packet(5, zlib.compress(encode_packet(5, b" " * pad, ver=0)), ver=2)
    assert len(decode_packets(ok)[0].body) == pad
    over = encode_packet(5, zlib.compress(encode_packet(5, b" " * (pad + 1), ver=0)), ver=2)
    with pytest.raises(ChatRejected):
        decode_packets(over)
    ok_b = encode_packet(5, brcompress(encode_packet(5, b" " * pad, ver=0)), ver=3)
    assert len(decode_packets(ok_b)[0].body) == pad


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=256))
def test_decode_arbitrary_bytes_only_raises_chat_rejected(data: bytes) -> None:
    try:
        decode_packets(data)
    except ChatRejected:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64).map(lambda b: encode_packet(5, b, ver=2)))
def test_decode_garbage_compressed_only_raises_chat_rejected(data: bytes) -> None:
    try:
        decode_packets(data)
    except ChatRejected:
        pass


@st.composite
def near_valid_frames(draw: st.DrawFn) -> bytes:
    """Headers that are almost right (lengths off by a little, odd versions, corrupt
    compressed bodies): the paths random bytes rarely reach."""
    out = b""
    for _ in range(draw(st.integers(1, 3))):
        body = draw(st.binary(max_size=40))
        ver = draw(st.integers(0, 4))
        if ver == 2 and draw(st.booleans()):
            body = zlib.compress(encode_packet(5, body, ver=0))
        elif ver == 3 and draw(st.booleans()):
            body = brcompress(encode_packet(5, body, ver=0))
        if body and draw(st.booleans()):
            i = draw(st.integers(0, len(body) - 1))
            body = body[:i] + bytes([body[i] ^ draw(st.integers(1, 255))]) + body[i + 1 :]
        plen = 16 + len(body) + draw(st.sampled_from([0, 0, 0, -1, 1, -17]))
        out += struct.pack(">IHHII", max(plen, 0), 16, ver, 5, 1) + body
    return out


@settings(max_examples=300, deadline=None)
@given(near_valid_frames())
def test_decode_near_valid_frames_only_raises_chat_rejected(data: bytes) -> None:
    try:
        packets = decode_packets(data)
    except ChatRejected:
        return
    assert all(p.ver in (0, 1) for p in packets)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0, 1]),
            st.integers(0, 2**32 - 1),
            st.integers(0, 2**32 - 1),
            st.binary(max_size=200),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(["raw", "zlib", "brotli"]),
)
def test_encode_decode_round_trip(packets: list[tuple[int, int, int, bytes]], wrap: str) -> None:
    data = b"".join(encode_packet(op, body, ver=ver, seq=seq) for ver, op, seq, body in packets)
    if wrap == "zlib":
        data = zlib_frame(data)
    elif wrap == "brotli":
        data = brotli_frame(data)
    assert decode_packets(data) == [Packet(v, op, s, b) for v, op, s, b in packets]


def test_to_chat_events_commands() -> None:
    [d] = to_chat_events(danmu("你好 主播"), 3.5)
    assert (d.kind, d.text, d.user, d.user_id, d.platform) == (
        "comment",
        "你好 主播",
        "bob",
        "42",
        "bilibili",
    )
    assert d.received_at == 3.5 and d.sent_at == pytest.approx(1700000000.123)

    [g] = to_chat_events(gift(num=3, price=100), 1.0)
    assert (g.kind, g.item, g.count, g.amount, g.currency, g.streak_end, g.user) == (
        "gift",
        "辣条",
        3,
        pytest.approx(0.3),
        "CNY",
        True,
        "alice",
    )
    [s] = to_chat_events(gift(coin_type="silver", price=0, total_coin=0), 1.0)
    assert s.currency == "silver"
    [c] = to_chat_events(gift(combo_send={"combo_num": 2}), 1.0)
    assert c.streak_end is False
    [e] = to_chat_events(
        {
            "cmd": "COMBO_END",
            "data": {"uname": "alice", "uid": 7, "gift_name": "辣条", "combo_num": 9, "price": 100},
        },
        1.0,
    )
    assert (e.kind, e.count, e.streak_end, e.amount) == ("gift", 9, True, pytest.approx(0.9))

    [gb] = to_chat_events(
        {
            "cmd": "GUARD_BUY",
            "data": {"uid": 5, "username": "cap", "guard_level": 3, "num": 1, "price": 198000},
        },
        1.0,
    )
    assert (gb.kind, gb.item, gb.amount, gb.currency) == ("purchase", "舰长", 198.0, "CNY")

    kinds = []
    for t in (1, 2, 3, 9):
        evs = to_chat_events(
            {"cmd": "INTERACT_WORD", "data": {"uid": 1, "uname": "u", "msg_type": t}}, 1.0
        )
        kinds.append(evs[0].kind if evs else None)
    assert kinds == ["join", "follow", "share", None]
    [lk] = to_chat_events({"cmd": "LIKE_INFO_V3_CLICK", "data": {"uid": 1, "uname": "u"}}, 1.0)
    assert lk.kind == "like"
    assert to_chat_events({"cmd": "ONLINE_RANK_COUNT", "data": {"count": 3}}, 1.0) == []
    assert to_chat_events({"cmd": "DANMU_MSG_NOT_REALLY", "info": []}, 1.0) == []


@pytest.mark.parametrize(
    "cmd,code",
    [
        ({"cmd": "DANMU_MSG", "info": "nope"}, "bad_shape"),
        ({"cmd": "DANMU_MSG", "info": [[], 5, [1, "x"]]}, "bad_text"),
        ({"cmd": "DANMU_MSG", "info": [[], "hi", [1]]}, "bad_user"),
        ({"cmd": "DANMU_MSG", "info": [[], "\u200b", [1, "x"]]}, "empty"),
        ({"cmd": "SEND_GIFT", "data": []}, "bad_shape"),
        ({"cmd": "SEND_GIFT", "data": {"giftName": "a", "uname": "u", "num": "x"}}, "bad_count"),
        ({"cmd": "SEND_GIFT", "data": {"giftName": "a", "uname": "", "num": 1}}, "bad_user"),
        ({"cmd": "INTERACT_WORD", "data": {"uname": "u", "msg_type": [1]}}, None),
    ],
)
def test_to_chat_events_bad_shapes(cmd: dict, code: str | None) -> None:
    if code is None:
        assert to_chat_events(cmd, 0.0) == []
        return
    with pytest.raises(ChatRejected) as e:
        to_chat_events(cmd, 0.0)
    assert e.value.code == code


@pytest.mark.parametrize(
    "body,code",
    [(b"\xff\xfe{}", "bad_utf8"), (b"{nope", "bad_json"), (b"[1]", "bad_shape")],
)
def test_parse_command_rejects(body: bytes, code: str) -> None:
    with pytest.raises(ChatRejected) as e:
        parse_command(body)
    assert e.value.code == code


# --------------------------------------------------------------------------- the live source

Script = Callable[[web.WebSocketResponse, int], Awaitable[None]]


class DanmakuServer:
    """A Bilibili-like danmaku server: checks auth, replies op 8, answers heartbeats with op 3,
    then runs ``script(ws, connection_number)``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.auths: list[dict] = []
        self.heartbeats = 0
        self.connections = 0
        self.url = ""

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        n = self.connections
        first = await ws.receive()
        [auth] = decode_packets(first.data)
        assert auth.op == OP_AUTH and auth.ver == 1
        self.auths.append(json.loads(auth.body))
        await ws.send_bytes(encode_packet(OP_AUTH_REPLY, b'{"code":0}', ver=1))

        async def reader() -> None:
            async for m in ws:
                if m.type == WSMsgType.BINARY:
                    for p in decode_packets(m.data):
                        if p.op == OP_HEARTBEAT:
                            self.heartbeats += 1
                            await ws.send_bytes(
                                encode_packet(OP_HEARTBEAT_REPLY, struct.pack(">I", 1234))
                            )

        task = asyncio.create_task(reader())
        try:
            await self.script(ws, n)
            await task  # the connection stays open until one side closes it
        finally:
            task.cancel()
        return ws


async def serve(script: Script) -> tuple[DanmakuServer, web.AppRunner]:
    srv = DanmakuServer(script)
    app = web.Application()
    app.router.add_get("/sub", srv.handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    srv.url = f"ws://127.0.0.1:{port}/sub"
    return srv, runner


async def wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def make_source(url: str, got: list[ChatEvent]) -> BilibiliSource:
    return BilibiliSource(
        "bili",
        got.append,
        url,
        room_id=545068,
        uid=0,
        token="tok",
        clock_now=lambda: 12.0,
        heartbeat_s=0.05,
        backoff=Backoff(initial=0.02, maximum=0.05),
    )


async def test_source_reads_raw_zlib_brotli_and_survives_bad_frames() -> None:
    async def script(ws: web.WebSocketResponse, n: int) -> None:
        await ws.send_bytes(msg(danmu("raw one")))
        await ws.send_bytes(zlib_frame(msg(danmu("z1")), msg(gift(num=2)), msg(danmu("z2"))))
        await ws.send_bytes(brotli_frame(msg(danmu("b1")), msg(danmu("b2"))))
        await ws.send_bytes(b"\x13\x37garbage that is not a packet at all")
        await ws.send_bytes(msg(danmu("cut"))[:-5])  # truncated packet
        await ws.send_bytes(encode_packet(OP_MESSAGE, zlib.compress(b"\0" * 50_000_000), ver=2))
        await ws.send_bytes(encode_packet(OP_MESSAGE, b'{"cmd":"DANMU_MSG","info":"\xff\xfe"}'))
        await ws.send_str("text frames are not the protocol")
        await ws.send_bytes(msg({"cmd": "WATCHED_CHANGE", "data": {"num": 5}}))
        await ws.send_bytes(msg(danmu("still here", uname="carol")))

    srv, runner = await serve(script)
    got: list[ChatEvent] = []
    src = make_source(srv.url, got)
    task = asyncio.create_task(src.run())
    try:
        await wait_until(lambda: any(e.text == "still here" for e in got))
        await wait_until(lambda: srv.heartbeats >= 2 and src.popularity == 1234)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()

    assert srv.auths[0] == {
        "uid": 0,
        "roomid": 545068,
        "protover": 3,
        "platform": "web",
        "type": 2,
        "key": "tok",
    }
    assert [(e.kind, e.text or e.item) for e in got] == [
        ("comment", "raw one"),
        ("comment", "z1"),
        ("gift", "辣条"),
        ("comment", "z2"),
        ("comment", "b1"),
        ("comment", "b2"),
        ("comment", "still here"),
    ]
    assert all(e.received_at == 12.0 and e.platform == "bilibili" for e in got)
    assert got[-1].user == "carol"
    assert src.health.rejected == 5
    assert src.rejected_codes == {
        "bad_header": 1,
        "truncated": 1,
        "too_large": 1,
        "bad_utf8": 1,
        "bad_frame": 1,
    }
    assert src.ignored == 1
    assert src.health.events == 7 and src.health.state in ("live", "stopped")


async def test_source_reconnects_after_server_disconnect() -> None:
    async def script(ws: web.WebSocketResponse, n: int) -> None:
        await ws.send_bytes(msg(danmu(f"conn {n}")))
        if n == 1:
            await ws.close()  # server drops the first connection

    srv, runner = await serve(script)
    got: list[ChatEvent] = []
    src = make_source(srv.url, got)
    task = asyncio.create_task(src.run())
    try:
        await wait_until(lambda: [e.text for e in got] == ["conn 1", "conn 2"])
    finally:
        src.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()
    assert srv.connections == 2 and len(srv.auths) == 2
    assert src.health.connects == 2 and src.health.reconnects >= 1


async def test_auth_refused_is_a_failed_session() -> None:
    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()
        await ws.send_bytes(encode_packet(OP_AUTH_REPLY, b'{"code":-101}', ver=1))
        await ws.receive()
        return ws

    app = web.Application()
    app.router.add_get("/sub", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    src = make_source(f"ws://127.0.0.1:{port}/sub", [])
    task = asyncio.create_task(src.run())
    try:
        await wait_until(lambda: src.health.reconnects >= 2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()
    assert src.health.connects == 0
    assert "auth refused" in src.health.last_error
