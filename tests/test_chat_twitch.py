"""Twitch IRC chat: parser units (real Twitch lines), hypothesis properties, and the source
against a real IRC server (ngircd, see tests/ircd.py).

ngircd relays plain PRIVMSGs only; Twitch's tags / USERNOTICEs are covered by the parser tests.
A tiny local asyncio server is used only where ngircd cannot produce the Twitch behaviour:
RECONNECT and lines over 512 bytes (Twitch's tagged lines run to 8 KB).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ircd import IrcServer, require_ngircd

from streamhost.chat.intake import ChatRejected
from streamhost.chat.source import Backoff
from streamhost.chat.twitch import (
    MAX_LINE_BYTES,
    IrcMessage,
    TwitchSource,
    parse_irc_line,
    to_chat_event,
)
from streamhost.frames import EVENT_KINDS, ChatEvent

# --- real Twitch lines (from Twitch's IRC documentation, ids shortened) -----------------------

CHEER = (
    "@badge-info=;badges=;bits=100;color=#FF0000;display-name=Ann;id=b34ccfc7-4977;"
    "tmi-sent-ts=1507246572675;user-id=123 :ann!ann@ann.tmi.twitch.tv PRIVMSG #shop :cheer100 nice"
)
PRIVMSG = (
    "@badge-info=;badges=broadcaster/1;client-nonce=459e3142897c7a22b7d275178f2259e0;"
    "color=#0000FF;display-name=lovingt3s;emote-only=1;emotes=62835:0-10;first-msg=0;flags=;"
    "id=885196de-cb67-427a-baa8-82f9b0fcd05f;mod=0;room-id=713936733;subscriber=0;"
    "tmi-sent-ts=1643904084794;turbo=0;user-id=713936733;user-type= "
    ":lovingt3s!lovingt3s@lovingt3s.tmi.twitch.tv PRIVMSG #lovingt3s :bleedPurple"
)
RESUB = (
    "@badge-info=subscriber/5;badges=subscriber/3;color=#0000FF;display-name=Ronni;emotes=;"
    "id=db25007f-7a18-43eb-9379-80131e44d633;login=ronni;mod=0;msg-id=resub;"
    "msg-param-cumulative-months=6;msg-param-streak-months=2;msg-param-should-share-streak=1;"
    "msg-param-sub-plan=Prime;msg-param-sub-plan-name=Prime;room-id=12345678;subscriber=1;"
    "system-msg=ronni\\shas\\ssubscribed\\sfor\\s6\\smonths!;tmi-sent-ts=1507246572675;turbo=1;"
    "user-id=87654321;user-type=staff :tmi.twitch.tv USERNOTICE #dallas :Great stream -- keep it up!"
)
SUBGIFT = (
    "@badge-info=;badges=staff/1,premium/1;color=#0000FF;display-name=TWW2;emotes=;"
    "id=e9176cd8-5e22-4684-ad40-ce53c2561c5e;login=tww2;mod=0;msg-id=subgift;msg-param-months=1;"
    "msg-param-recipient-display-name=Mr_Woodchuck;msg-param-recipient-id=55554444;"
    "msg-param-recipient-name=mr_woodchuck;msg-param-sub-plan-name=House\\sof\\sNyoro~n;"
    "msg-param-sub-plan=1000;room-id=19571752;subscriber=0;"
    "system-msg=TWW2\\sgifted\\sa\\sTier\\s1\\ssub\\sto\\sMr_Woodchuck!;tmi-sent-ts=1521159445153;"
    "turbo=0;user-id=87654321;user-type=staff :tmi.twitch.tv USERNOTICE #forstycup"
)
MYSTERY = (
    "@badge-info=;badges=;color=;display-name=Gifty;emotes=;id=1a2b;login=gifty;mod=0;"
    "msg-id=submysterygift;msg-param-mass-gift-count=5;msg-param-origin-id=9f;"
    "msg-param-community-gift-id=4242;msg-param-sub-plan=2000;room-id=1;subscriber=0;"
    "system-msg=Gifty\\sis\\sgifting\\s5\\sTier\\s2\\sSubs!;tmi-sent-ts=1;turbo=0;user-id=274598607;"
    "user-type= :tmi.twitch.tv USERNOTICE #shop"
)
RAID = (
    "@badge-info=;badges=turbo/1;color=#9ACD32;display-name=TestChannel;emotes=;"
    "id=3d830f12-795c-447d-af3c-ea05e40fbddb;login=testchannel;mod=0;msg-id=raid;"
    "msg-param-displayName=TestChannel;msg-param-login=testchannel;msg-param-viewerCount=15;"
    "room-id=33332222;subscriber=0;system-msg=15\\sraiders\\sfrom\\sTestChannel\\shave\\sjoined\\n!;"
    "tmi-sent-ts=1507246572675;turbo=1;user-id=123456;user-type= "
    ":tmi.twitch.tv USERNOTICE #othertestchannel"
)
CLEARCHAT = (
    "@room-id=12345678;target-user-id=87654321;tmi-sent-ts=1642715756806 "
    ":tmi.twitch.tv CLEARCHAT #dallas :ronni"
)


def test_parse_cheer_line_tags_prefix_params() -> None:
    m = parse_irc_line(CHEER + "\r\n")
    assert m.command == "PRIVMSG"
    assert m.prefix == "ann!ann@ann.tmi.twitch.tv" and m.nick == "ann"
    assert m.params == ["#shop", "cheer100 nice"]
    assert m.tags["bits"] == "100" and m.tags["badge-info"] == "" and m.tags["color"] == "#FF0000"
    ev = to_chat_event(m, received_at=12.5)
    assert ev is not None
    assert (ev.kind, ev.user, ev.user_id, ev.text) == ("gift", "Ann", "123", "cheer100 nice")
    assert (ev.amount, ev.currency, ev.platform, ev.received_at) == (100.0, "bits", "twitch", 12.5)
    assert ev.sent_at == pytest.approx(1507246572.675)
    assert ev.raw is not None and ev.raw["tags"]["id"] == "b34ccfc7-4977"
    assert ev.raw["params"] == ["#shop", "cheer100 nice"]


def test_privmsg_is_comment() -> None:
    ev = to_chat_event(parse_irc_line(PRIVMSG), 0.0)
    assert ev is not None
    assert (ev.kind, ev.user, ev.user_id, ev.text) == (
        "comment",
        "lovingt3s",
        "713936733",
        "bleedPurple",
    )


def test_tag_escapes_are_unescaped() -> None:
    m = parse_irc_line(RESUB)
    assert m.tags["system-msg"] == "ronni has subscribed for 6 months!"
    m = parse_irc_line(r"@a=x\:y\sz\\w\r\n\q\ :srv CMD p")
    assert m.tags["a"] == "x;y z\\w\r\nq"
    assert parse_irc_line(RAID).tags["system-msg"].endswith("joined\n!")


def test_usernotice_mapping() -> None:
    resub = to_chat_event(parse_irc_line(RESUB), 1.0)
    assert resub is not None
    assert (resub.kind, resub.user, resub.currency, resub.item, resub.amount) == (
        "purchase",
        "Ronni",
        "sub",
        "prime",
        1.0,
    )
    assert resub.text == "Great stream -- keep it up!"
    gift = to_chat_event(parse_irc_line(SUBGIFT), 1.0)
    assert gift is not None
    assert (gift.kind, gift.user, gift.item, gift.count, gift.currency) == (
        "gift",
        "TWW2",
        "tier1",
        1,
        "sub",
    )
    assert gift.raw is not None
    assert gift.raw["tags"]["msg-param-recipient-display-name"] == "Mr_Woodchuck"
    mystery = to_chat_event(parse_irc_line(MYSTERY), 1.0)
    assert mystery is not None
    assert (mystery.kind, mystery.count, mystery.amount, mystery.item) == ("gift", 5, 5.0, "tier2")
    # The per-recipient subgifts of that batch are not thanked again.
    batch_part = SUBGIFT.replace("msg-param-months=1;", "msg-param-community-gift-id=4242;")
    assert to_chat_event(parse_irc_line(batch_part), 1.0) is None
    raid = to_chat_event(parse_irc_line(RAID), 1.0)
    assert raid is not None
    assert (raid.kind, raid.user, raid.count) == ("join", "TestChannel", 15)
    for ev in (resub, gift, mystery, raid):
        assert ev.kind in EVENT_KINDS


@pytest.mark.parametrize(
    "line",
    [
        CLEARCHAT,
        "PING :tmi.twitch.tv",
        ":tmi.twitch.tv 001 justinfan1 :Welcome, GLHF!",
        "@msg-id=ritual;display-name=X :tmi.twitch.tv USERNOTICE #c :hi",
        ":a!a@a PRIVMSG #c :\x01VERSION\x01",
        ":a!a@a PRIVMSG #c :   ",
    ],
)
def test_non_chat_lines_map_to_none(line: str) -> None:
    assert to_chat_event(parse_irc_line(line), 0.0) is None


def test_ctcp_action_is_unwrapped() -> None:
    ev = to_chat_event(parse_irc_line(":bo!bo@h PRIVMSG #c :\x01ACTION waves\x01"), 0.0)
    assert ev is not None and ev.text == "waves" and ev.user == "bo"


@pytest.mark.parametrize(
    "line,code",
    [
        ("", "irc_empty"),
        ("   ", "irc_empty"),
        ("@ :srv PRIVMSG #c :x", "irc_bad_tags"),
        ("@bad key=1 :srv PRIVMSG #c :x", "irc_bad_command"),
        ("@k!y=1 PRIVMSG #c :x", "irc_bad_tags"),
        (": PRIVMSG #c :x", "irc_bad_prefix"),
        (":srv", "irc_bad_command"),
        (":srv 12 x", "irc_bad_command"),
        (":srv PRIV-MSG x", "irc_bad_command"),
        ("PRIVMSG #c :a\rb", "irc_bad_char"),
        ("PRIVMSG #c :a\0b", "irc_bad_char"),
    ],
)
def test_malformed_lines_are_rejected(line: str, code: str) -> None:
    with pytest.raises(ChatRejected) as e:
        parse_irc_line(line)
    assert e.value.code == code


@given(st.text())
@settings(max_examples=400, deadline=None)
def test_arbitrary_text_only_raises_chat_rejected(text: str) -> None:
    try:
        m = parse_irc_line(text)
    except ChatRejected:
        return
    to_chat_event(m, 0.0)  # must not raise either


_no_ctl = st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\r\n")
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Keys like "+example.com/foo-bar": optional client "+", optional vendor, then the name.
_tag_key = st.builds(
    lambda plus, vendor, name: plus + vendor + name,
    st.sampled_from(["", "+"]),
    st.one_of(st.just(""), st.text(_ALNUM + ".-", max_size=8).map(lambda v: "v" + v + "/")),
    st.text(_ALNUM + "-", min_size=1, max_size=12),
)
_middle = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\r\n "), min_size=1
).filter(lambda s: not s.startswith(":"))
_messages = st.builds(
    IrcMessage,
    command=st.one_of(
        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12),
        st.text("0123456789", min_size=3, max_size=3),
    ),
    params=st.one_of(
        st.just([]),
        st.tuples(st.lists(_middle, max_size=5), st.text(_no_ctl)).map(lambda t: [*t[0], t[1]]),
    ),
    # Tag values may hold anything but NUL: ; space \ CR LF travel escaped.
    tags=st.dictionaries(
        _tag_key,
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")),
        max_size=6,
    ),
    prefix=st.one_of(st.none(), _middle),
)


@given(_messages)
@settings(max_examples=200, deadline=None)
def test_round_trip(msg: IrcMessage) -> None:
    assert parse_irc_line(msg.to_line()) == msg


# --- against a real IRC server ------------------------------------------------------------------


class IrcClient:
    """Another chat user: a plain asyncio TCP IRC client."""

    def __init__(self, port: int, nick: str) -> None:
        self.port, self.nick = port, nick
        self.reader: asyncio.StreamReader
        self.writer: asyncio.StreamWriter

    async def connect(self, channel: str) -> IrcClient:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.send(f"NICK {self.nick}", f"USER {self.nick} 0 * :test user")
        await self.expect(" 001 ")
        self.send(f"JOIN {channel}")
        await self.expect(" 366 ")
        return self

    def send(self, *lines: str | bytes) -> None:
        for line in lines:
            data = line if isinstance(line, bytes) else line.encode()
            self.writer.write(data + b"\r\n")

    async def expect(self, needle: str, timeout: float = 10.0) -> str:
        async def loop() -> str:
            while True:
                raw = await self.reader.readline()
                if not raw:
                    raise ConnectionError("server closed")
                line = raw.decode(errors="replace")
                if line.startswith("PING"):
                    self.send("PONG" + line[4:].rstrip())
                if needle in line:
                    return line

        return await asyncio.wait_for(loop(), timeout)

    async def close(self) -> None:
        self.writer.close()


async def until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(0.02)


@pytest.fixture
def ircd(tmp_path):
    require_ngircd()
    srv = IrcServer(tmp_path / "ircd").start()
    yield srv
    srv.stop()


class Running:
    """A TwitchSource with its run() task; collects events."""

    def __init__(self, port: int, **kw) -> None:
        self.events: list[ChatEvent] = []
        kw.setdefault("backoff", Backoff(initial=0.05, maximum=0.3))
        kw.setdefault("clock_now", time.monotonic)
        self.src = TwitchSource("tw", self.events.append, "#shop", "127.0.0.1", port, **kw)
        self.task = asyncio.create_task(self.src.run())

    def texts(self) -> list[str]:
        return [e.text for e in self.events]

    async def close(self) -> None:
        self.src.stop()
        await asyncio.wait_for(self.task, 5)
        assert self.src.health.state == "stopped"


async def test_receives_chat_in_order_from_real_ircd(ircd: IrcServer) -> None:
    r = Running(ircd.port)
    try:
        await until(lambda: r.src.health.state == "live", what="source live")
        assert r.src.health.connects == 1
        viewer = await IrcClient(ircd.port, "viewer1").connect("#shop")
        msgs = [f"message {i}" for i in range(20)]
        msgs += ["@badge-info=;bits=100 :ann PRIVMSG #shop :looks like tags", "grüße 🎉 价格?"]
        viewer.send(*(f"PRIVMSG #shop :{m}" for m in msgs))
        viewer.send("PRIVMSG #shop :\x01ACTION waves\x01", "PRIVMSG #other :not ours")
        await until(lambda: len(r.events) >= len(msgs) + 1, what="all messages")
        await asyncio.sleep(0.2)
        assert r.texts() == [*msgs, "waves"]
        ev = r.events[0]
        assert (ev.user, ev.kind, ev.platform, ev.currency) == ("viewer1", "comment", "twitch", "")
        assert ev.raw is not None and ev.raw["prefix"].startswith("viewer1!")
        # Invalid UTF-8 passes through ngircd: rejected, and the source keeps reading.
        viewer.send(b"PRIVMSG #shop :bad \xff\xfe bytes", b"PRIVMSG #shop :after bad")
        await until(lambda: r.texts()[-1:] == ["after bad"], what="message after bad UTF-8")
        assert r.src.health.rejected == 1
        assert r.src.health.reconnects == 0
        await viewer.close()
    finally:
        await r.close()


async def test_reconnects_with_backoff_after_ircd_restart(ircd: IrcServer) -> None:
    r = Running(ircd.port)
    try:
        await until(lambda: r.src.health.state == "live")
        ircd.stop()
        await until(lambda: r.src.health.reconnects >= 2, what="failed reconnect attempts")
        assert r.src.health.state in ("backoff", "connecting")
        assert r.src.health.last_error
        ircd.start()
        await until(lambda: r.src.health.state == "live", timeout=15, what="live again")
        assert r.src.health.connects == 2
        viewer = await IrcClient(ircd.port, "viewer2").connect("#shop")
        viewer.send("PRIVMSG #shop :hello again")
        await until(lambda: r.texts() == ["hello again"], what="message after restart")
        await viewer.close()
    finally:
        await r.close()


async def test_server_kill_error_reconnects(ircd: IrcServer) -> None:
    r = Running(ircd.port, nick="hostbot")
    try:
        await until(lambda: r.src.health.state == "live")
        oper = await IrcClient(ircd.port, "oper1").connect("#shop")
        oper.send("OPER op oppass")
        await oper.expect(" 381 ")  # you are now an IRC operator
        oper.send("KILL hostbot :go away")
        await until(lambda: r.src.health.reconnects >= 1, what="reconnect after KILL")
        assert "go away" in r.src.health.last_error or "ERROR" in r.src.health.last_error
        await until(lambda: r.src.health.connects == 2, what="second connection live")
        oper.send("PRIVMSG #shop :after kill")
        await until(lambda: r.texts() == ["after kill"])
        await oper.close()
    finally:
        await r.close()


async def test_answers_server_ping(ircd: IrcServer) -> None:
    # ngircd PINGs a client idle for PingTimeout and drops it without a PONG in PongTimeout.
    r = Running(ircd.port)
    try:
        await until(lambda: r.src.health.state == "live")
        await until(lambda: r.src.pings_answered >= 1, timeout=IrcServer.PING_TIMEOUT_S + 5)
        await asyncio.sleep(IrcServer.PONG_TIMEOUT_S + 1)
        assert r.src.health.reconnects == 0 and r.src.health.connects == 1
        assert r.src.health.state == "live"
    finally:
        await r.close()


async def test_keepalive_ping_drops_a_silent_server(ircd: IrcServer) -> None:
    r = Running(ircd.port, idle_timeout_s=0.3, pong_timeout_s=0.5)
    try:
        await until(lambda: r.src.health.state == "live")
        await asyncio.sleep(1.0)  # our own PINGs are answered: the connection stays
        assert r.src.health.reconnects == 0
        assert ircd.proc is not None
        os.kill(ircd.proc.pid, signal.SIGSTOP)  # a hung server: TCP stays up, nothing answers
        try:
            await until(lambda: r.src.health.reconnects >= 1, timeout=5, what="keep-alive drop")
            assert "PING" in r.src.health.last_error
        finally:
            os.kill(ircd.proc.pid, signal.SIGCONT)
        await until(lambda: r.src.health.connects >= 2, timeout=10, what="live after thaw")
    finally:
        await r.close()


async def test_stop_ends_a_live_session_promptly(ircd: IrcServer) -> None:
    r = Running(ircd.port)
    await until(lambda: r.src.health.state == "live")
    t0 = time.monotonic()
    await r.close()
    assert time.monotonic() - t0 < 2


# --- Twitch-only behaviour ngircd cannot produce: a tiny line server -----------------------------


async def test_reconnect_command_and_long_lines() -> None:
    """RECONNECT reconnects at once (no backoff); an 8 KB+ line is rejected, reading goes on."""
    conns: list[float] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = len(conns)
        conns.append(time.monotonic())
        nick = ""
        try:
            while line := await reader.readline():
                msg = parse_irc_line(line.decode())
                if msg.command == "NICK":
                    nick = msg.params[0]
                    writer.write(f":tmi.twitch.tv 001 {nick} :Welcome, GLHF!\r\n".encode())
                elif msg.command == "JOIN":
                    w = writer.write
                    w(f":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN #shop\r\n".encode())
                    w(f":{nick}.tmi.twitch.tv 366 {nick} #shop :End of /NAMES list\r\n".encode())
                    w(f"{CHEER.replace('nice', f'conn{n}')}\r\n".encode())
                    if n == 0:
                        big = "@x=" + "a" * MAX_LINE_BYTES + " :a!a@a PRIVMSG #shop :too big"
                        w(big.encode() + b"\r\n")
                        w(b":a!a@a PRIVMSG #shop :after big\r\n")
                        w(b":tmi.twitch.tv RECONNECT\r\n")
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # A long backoff proves the RECONNECT path does not wait for it.
    r = Running(port, backoff=Backoff(initial=5.0, maximum=5.0, jitter=0.0))
    try:
        await until(lambda: len(r.events) >= 3, timeout=4, what="events from both connections")
        assert r.texts() == ["cheer100 conn0", "after big", "cheer100 conn1"]
        assert r.events[0].kind == "gift" and r.events[0].amount == 100
        assert r.src.health.rejected == 1
        assert len(conns) == 2 and conns[1] - conns[0] < 2.0
        assert r.src.health.connects == 2
    finally:
        await r.close()
        server.close()
        await server.wait_closed()
