"""Relay (TikTok/Douyin JSON over WebSocket), replay (JSONL on the media clock) and the chat
simulator."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from streamhost.chat.intake import ChatRejected
from streamhost.chat.relay import RelaySource, normalise_type, relay_to_event
from streamhost.chat.replay import ReplaySource, parse_replay_line
from streamhost.chat.simulator import DEFAULT_MIX, ChatSimulator
from streamhost.chat.source import Backoff
from streamhost.clock import VirtualClock
from streamhost.frames import EVENT_KINDS, ChatEvent


async def wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


# --------------------------------------------------------------------------- relay mapping


def test_normalise_type() -> None:
    assert normalise_type("WebcastChatMessage") == "chat"
    assert normalise_type("webcastGiftMessage") == "gift"
    assert normalise_type("Comment") == "comment"
    assert normalise_type("message") == "message"


@pytest.mark.parametrize(
    "obj,expect",
    [
        (  # TikTok-Live-Connector style, flat
            {
                "type": "chat",
                "uniqueId": "ana_01",
                "nickname": "Ana",
                "userId": "7001",
                "comment": "how much is the lamp?",
            },
            ("comment", "Ana", "7001", "how much is the lamp?", 1),
        ),
        (  # {"event", "data"} wrapper, nested user object
            {"event": "comment", "data": {"user": {"uniqueId": "bo", "userId": 9}, "text": "hi"}},
            ("comment", "bo", "9", "hi", 1),
        ),
        ({"type": "chat", "user": "carl", "content": "yo"}, ("comment", "carl", "", "yo", 1)),
        (
            {"type": "like", "uniqueId": "dee", "likeCount": 15, "totalLikeCount": 900},
            ("like", "dee", "dee", "", 15),
        ),
        ({"type": "follow", "uniqueId": "eve"}, ("follow", "eve", "eve", "", 1)),
        ({"type": "share", "uniqueId": "eve"}, ("share", "eve", "eve", "", 1)),
        ({"type": "member", "uniqueId": "fay"}, ("join", "fay", "fay", "", 1)),
        (
            {"type": "social", "uniqueId": "gus", "displayType": "pm_mt_guidance_share"},
            ("share", "gus", "gus", "", 1),
        ),
        (
            {"type": "social", "uniqueId": "gus", "displayType": "pm_main_follow_message"},
            ("follow", "gus", "gus", "", 1),
        ),
        (  # Douyin grabber style
            {
                "method": "WebcastChatMessage",
                "payload": {"user": {"id": "123", "nickName": "小明"}, "content": "多少钱"},
            },
            ("comment", "小明", "123", "多少钱", 1),
        ),
        (
            {"method": "WebcastLikeMessage", "payload": {"user": {"nickName": "a"}, "count": 3}},
            ("like", "a", "", "", 3),
        ),
        (
            {"method": "WebcastMemberMessage", "payload": {"user": {"nickName": "b", "id": 1}}},
            ("join", "b", "1", "", 1),
        ),
        (
            {"method": "WebcastSocialMessage", "payload": {"user": {"nickName": "c"}, "action": 1}},
            ("follow", "c", "", "", 1),
        ),
        (
            {"method": "WebcastSocialMessage", "payload": {"user": {"nickName": "c"}, "action": 3}},
            ("share", "c", "", "", 1),
        ),
    ],
)
def test_relay_mapping(obj: dict, expect: tuple) -> None:
    ev = relay_to_event(obj, 4.0)
    assert ev is not None
    assert (ev.kind, ev.user, ev.user_id, ev.text, ev.count) == expect
    assert ev.received_at == 4.0 and ev.platform == "tiktok" and ev.raw is obj


def test_relay_gifts_and_streaks() -> None:
    base = {"type": "gift", "uniqueId": "h", "giftName": "Rose", "diamondCount": 1}
    mid = relay_to_event({**base, "giftType": 1, "repeatCount": 4, "repeatEnd": False}, 0)
    end = relay_to_event({**base, "giftType": 1, "repeatCount": 5, "repeatEnd": True}, 0)
    other = relay_to_event({**base, "giftType": 2, "repeatCount": 1, "repeatEnd": False}, 0)
    assert mid and end and other
    assert (mid.kind, mid.item, mid.count, mid.streak_end) == ("gift", "Rose", 4, False)
    assert (end.count, end.amount, end.currency, end.streak_end) == (5, 5.0, "diamonds", True)
    assert other.streak_end is True  # non-streakable gifts are final as they arrive
    dy = relay_to_event(
        {
            "method": "WebcastGiftMessage",
            "payload": {
                "user": {"nickName": "i"},
                "gift": {"name": "小心心", "diamondCount": 1},
                "repeatCount": 10,
                "repeatEnd": 1,
            },
        },
        0,
    )
    assert dy and (dy.item, dy.count, dy.amount, dy.streak_end) == ("小心心", 10, 10.0, True)


def test_relay_ignored_types() -> None:
    assert relay_to_event({"type": "roomUser", "viewerCount": 5}, 0) is None
    assert relay_to_event({"method": "WebcastRoomUserSeqMessage", "payload": {}}, 0) is None


@pytest.mark.parametrize(
    "obj,code",
    [
        ([1, 2], "bad_shape"),
        ({"user": "a", "comment": "x"}, "bad_shape"),
        ({"type": "chat", "comment": "x"}, "bad_user"),
        ({"type": "chat", "user": "a"}, "bad_text"),
        ({"type": "chat", "user": "a", "comment": "  \u200b "}, "empty"),
        ({"type": "chat", "user": "a", "comment": "x" * 501}, "too_long"),
        ({"type": "like", "user": "a", "likeCount": "many"}, "bad_count"),
        ({"type": "like", "user": "a", "likeCount": -1}, "bad_count"),
        (
            {"type": "gift", "user": "a", "giftName": "R", "diamondCount": float("nan")},
            "bad_amount",
        ),
        ({"type": "chat", "data": "x"}, "bad_shape"),
    ],
)
def test_relay_rejects(obj: object, code: str) -> None:
    with pytest.raises(ChatRejected) as e:
        relay_to_event(obj, 0)
    assert e.value.code == code


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    [
        "type",
        "event",
        "method",
        "data",
        "payload",
        "user",
        "uniqueId",
        "nickname",
        "userId",
        "comment",
        "content",
        "text",
        "giftName",
        "repeatCount",
        "diamondCount",
        "repeatEnd",
        "giftType",
        "likeCount",
        "count",
        "gift",
        "action",
        "displayType",
        "timestamp",
    ]
)
_types = st.sampled_from(
    [
        "chat",
        "comment",
        "gift",
        "like",
        "follow",
        "social",
        "share",
        "member",
        "subscribe",
        "WebcastChatMessage",
        "WebcastGiftMessage",
        "roomUser",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        _json,
        st.dictionaries(_keys, _json | _types, max_size=8),
        st.fixed_dictionaries(
            {"type": _types}, optional={"data": st.dictionaries(_keys, _json, max_size=6)}
        ),
    )
)
def test_relay_to_event_only_raises_chat_rejected(obj: object) -> None:
    try:
        ev = relay_to_event(obj, 1.0)
    except ChatRejected:
        return
    if ev is not None:
        assert ev.kind in EVENT_KINDS and ev.user and ev.count >= 1 and ev.amount >= 0


# --------------------------------------------------------------------------- relay source

Script = Callable[[web.WebSocketResponse, int], Awaitable[None]]


async def relay_server(script: Script) -> tuple[str, web.AppRunner, list[int]]:
    conns: list[int] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conns.append(1)
        await script(ws, len(conns))
        if not ws.closed:
            async for _ in ws:  # stay open until the client leaves
                pass
        return ws

    app = web.Application()
    app.router.add_get("/events", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return f"ws://127.0.0.1:{port}/events", runner, conns


async def test_relay_source_events_malformed_huge_and_reconnect() -> None:
    async def script(ws: web.WebSocketResponse, n: int) -> None:
        if n == 1:
            await ws.send_json({"type": "chat", "uniqueId": "ana", "comment": "first"})
            await ws.send_str("{not json")
            await ws.send_bytes(b"\xff\xfe\x00")
            await ws.send_json({"type": "chat", "comment": "no user"})
            await ws.send_str(
                json.dumps({"type": "chat", "uniqueId": "x", "comment": "y" * (1 << 20)})
            )
            await ws.send_json({"type": "roomUser", "viewerCount": 3})
            await ws.send_json(
                [
                    {"type": "like", "uniqueId": "bo", "likeCount": 5},
                    {
                        "method": "WebcastGiftMessage",
                        "payload": {
                            "user": {"nickName": "cy"},
                            "gift": {"name": "Rose"},
                            "repeatCount": 1,
                        },
                    },
                ]
            )
            await ws.send_json({"type": "chat", "uniqueId": "ana", "comment": "after the junk"})
            await ws.close()  # the relay goes away; the source must come back
        else:
            await ws.send_json({"event": "chat", "data": {"nickname": "dan", "text": "again"}})

    url, runner, conns = await relay_server(script)
    got: list[ChatEvent] = []
    src = RelaySource(
        "relay",
        got.append,
        url,
        clock_now=lambda: 7.0,
        backoff=Backoff(initial=0.02, maximum=0.05),
    )
    task = asyncio.create_task(src.run())
    try:
        await wait_until(lambda: any(e.text == "again" for e in got))
    finally:
        src.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()
    assert [(e.kind, e.user, e.text) for e in got] == [
        ("comment", "ana", "first"),
        ("like", "bo", ""),
        ("gift", "cy", ""),
        ("comment", "ana", "after the junk"),
        ("comment", "dan", "again"),
    ]
    assert all(e.received_at == 7.0 and e.platform == "tiktok" for e in got)
    assert src.rejected_codes == {"bad_json": 1, "bad_utf8": 1, "bad_user": 1, "too_large": 1}
    assert src.health.rejected == 4 and src.ignored == 1
    assert len(conns) == 2 and src.health.connects == 2 and src.health.reconnects >= 1


# --------------------------------------------------------------------------- replay


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def drive(clock: VirtualClock, until: float, step: float) -> None:
    """The pacer's job in the engine: advance the virtual clock once nothing else can run."""
    t = clock.now()
    while t < until - 1e-9:
        await clock.wait_idle()
        t = round(t + step, 9)
        clock.advance_to(t)
    await clock.wait_idle()


async def test_replay_on_virtual_clock_emits_at_media_times(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "chat.jsonl",
        [
            '{"t": 0.5, "user": "ana", "text": "hello"}',
            "",
            '{"t": 1.25, "user": "bo", "text": "price?", "lang": "en"}',
            "{broken",
            '{"t": -1, "user": "x", "text": "neg"}',
            '{"t": 2.0, "user": "cy", "kind": "gift", "item": "Rose", "count": 3, "amount": 3,'
            ' "currency": "coins", "streak_end": false}',
            '{"t": 2.0, "user": "", "text": "no user"}',
            '{"t": 3.0, "user": "dee", "text": "bye", "platform": "twitch"}',
        ],
    )
    clock = VirtualClock()
    got: list[tuple[float, ChatEvent]] = []
    src = ReplaySource("replay", lambda e: got.append((clock.now(), e)), path, clock)
    task = asyncio.create_task(src.run())
    await drive(clock, 1.0, 0.25)
    assert [e.text for _, e in got] == ["hello"]
    await drive(clock, 4.0, 0.25)
    await asyncio.wait_for(task, 5)  # the replay stops itself at the end of the file
    assert [(t, e.received_at, e.user) for t, e in got] == [
        (0.5, 0.5, "ana"),
        (1.25, 1.25, "bo"),
        (2.0, 2.0, "cy"),
        (3.0, 3.0, "dee"),
    ]
    gift = got[2][1]
    assert (gift.kind, gift.item, gift.count, gift.amount, gift.streak_end) == (
        "gift",
        "Rose",
        3,
        3.0,
        False,
    )
    assert got[1][1].lang == "en" and got[3][1].platform == "twitch"
    assert src.rejected_lines == [(4, "bad_json"), (5, "bad_t"), (7, "bad_user")]
    assert src.health.rejected == 3 and src.done and src.health.state == "stopped"


async def test_replay_speed_and_loop(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "c.jsonl",
        ['{"t": 0, "user": "a", "text": "one"}', '{"t": 2, "user": "b", "text": "two"}'],
    )
    clock = VirtualClock()
    clock.advance_to(10.0)  # the replay starts mid-stream: times are relative to its start
    got: list[float] = []
    src = ReplaySource(
        "r", lambda e: got.append(e.received_at), path, clock, speed=2.0, loop=True, loop_gap_s=1.0
    )
    task = asyncio.create_task(src.run())
    await drive(clock, 14.0, 0.125)
    src.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    # speed 2: a loop is (2 + 1 gap) / 2 = 1.5 s of media time
    assert got == [10.0, 11.0, 11.5, 12.5, 13.0, 14.0]


def test_parse_replay_line() -> None:
    t, ev = parse_replay_line(b'{"t": 1.5, "user": "a", "text": "x", "kind": "comment"}', 3)
    assert t == 1.5 and ev.user == "a" and ev.platform == "replay"
    assert parse_replay_line("   \n", 4) is None
    for bad, code in [
        (b"\xff", "bad_utf8"),
        ("[1]", "bad_shape"),
        ('{"user": "a", "text": "x"}', "bad_t"),
        ('{"t": true, "user": "a", "text": "x"}', "bad_t"),
        ('{"t": 1, "user": "a", "text": "x", "kind": "dance"}', "bad_kind"),
        ('{"t": 1, "user": "a", "text": "x", "count": 1.5}', "bad_count"),
        ('{"t": 1, "user": "a", "text": "x", "streak_end": 1}', "bad_streak_end"),
        ('{"t": 1, "user": "a", "text": "x", "item": 5}', "bad_item"),
        ("x" * 70_000, "too_large"),
    ]:
        with pytest.raises(ChatRejected) as e:
            parse_replay_line(bad, 17)
        assert e.value.code == code and str(e.value).startswith("line 17:"), bad


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.binary(max_size=80),
        st.dictionaries(
            st.sampled_from(
                [
                    "t",
                    "user",
                    "text",
                    "kind",
                    "count",
                    "amount",
                    "item",
                    "lang",
                    "streak_end",
                    "platform",
                    "sent_at",
                    "currency",
                    "user_id",
                ]
            ),
            _json,
            max_size=8,
        ).map(json.dumps),
    ),
    st.integers(1, 10**6),
)
def test_parse_replay_line_only_raises_chat_rejected(line: str | bytes, lineno: int) -> None:
    try:
        out = parse_replay_line(line, lineno)
    except ChatRejected as e:
        assert str(e).startswith(f"line {lineno}:")
        return
    if out is not None:
        t, ev = out
        assert t >= 0 and ev.kind in EVENT_KINDS and ev.user


# --------------------------------------------------------------------------- simulator


async def run_sim(seconds: float, **kw) -> list[ChatEvent]:
    clock = VirtualClock()
    got: list[ChatEvent] = []
    sim = ChatSimulator("sim", got.append, clock, **kw)
    task = asyncio.create_task(sim.run())
    await drive(clock, seconds, 0.04)  # the AV loop's 25 fps frame step
    sim.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return got


async def test_simulator_rate_mix_and_determinism() -> None:
    kw = dict(rate_per_s=5000, seed=7, catalog_product_names=["desk lamp", "Kaffeemühle"])
    got = await run_sim(10.0, **kw)
    assert len(got) == 50_000  # exact: tick counts never drift
    per_second = Counter(int(e.received_at - 1e-9) for e in got)
    assert set(per_second.values()) == {5000}
    mix = Counter(e.raw["sim"] for e in got)  # type: ignore[index]
    total = sum(DEFAULT_MIX.values())
    for cls, w in DEFAULT_MIX.items():
        assert mix[cls] / len(got) == pytest.approx(w / total, abs=0.01), cls
    comments = [e for e in got if e.kind == "comment"]
    assert Counter(e.lang for e in comments).keys() == {"en", "de", "it", "zh"}
    questions = [e for e in got if e.raw["sim"] == "question"]  # type: ignore[index]
    assert all(e.item in ("desk lamp", "Kaffeemühle") and e.item in e.text for e in questions)
    assert all(e.kind in EVENT_KINDS for e in got)

    again = await run_sim(10.0, **kw)
    key = lambda e: (e.user, e.user_id, e.text, e.kind, e.count, e.item, e.lang, e.received_at)  # noqa: E731
    assert list(map(key, again)) == list(map(key, got))
    other = await run_sim(1.0, **{**kw, "seed": 8})
    assert list(map(key, other)) != list(map(key, got[: len(other)]))


async def test_simulator_custom_mix_and_fractional_rate() -> None:
    got = await run_sim(
        10.0,
        rate_per_s=7.3,
        mix={"comment": 1, "gift": 1},
        seed=1,
        catalog_product_names=[],
        languages={"zh": 1.0},
    )
    assert len(got) == 73
    assert {e.raw["sim"] for e in got} == {"chatter", "gift"}  # type: ignore[index]
    assert all(e.lang == "zh" for e in got if e.kind == "comment")
    gifts = [e for e in got if e.kind == "gift"]
    assert gifts and all(e.amount > 0 and e.currency == "coins" and e.item for e in gifts)


def test_simulator_rejects_bad_config() -> None:
    clock = VirtualClock()
    with pytest.raises(ValueError, match="unknown key 'dance'"):
        ChatSimulator("s", print, clock, 1, mix={"dance": 1})
    with pytest.raises(ValueError, match="positive weight"):
        ChatSimulator("s", print, clock, 1, mix={"gift": 0})
    with pytest.raises(ValueError):
        ChatSimulator("s", print, clock, -1)
