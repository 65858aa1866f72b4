"""Twitch chat over IRC (the real Twitch protocol: IRCv3 tags + Twitch commands).

Bytes from the socket -> ``parse_irc_line`` -> ``IrcMessage`` -> ``to_chat_event`` -> ChatEvent
(or None for protocol traffic) -> ``ChatSource.accept``. Any IRC server works for plain
PRIVMSG chat (tests use ngircd); tags, bits and USERNOTICEs need Twitch itself. The IRC line
syntax (``parse_irc_line``, ``IrcMessage``) is in chat/twitch_irc.py.

Event mapping (``platform="twitch"``, ``raw = {"command", "prefix", "tags", "params"}``,
``user`` = the ``display-name`` tag or else the prefix nick, ``user_id`` = the ``user-id`` tag,
``sent_at`` = the ``tmi-sent-ts`` tag in seconds):

- ``PRIVMSG #chan :text``                     -> ``comment`` (a CTCP ACTION ``/me`` is unwrapped)
- ``PRIVMSG`` with a ``bits=N`` tag (a cheer)  -> ``gift``, amount=N, currency="bits", text=message
- ``USERNOTICE`` msg-id ``sub`` / ``resub``     -> ``purchase``, amount=1, currency="sub",
  item=tier ("prime", "tier1", "tier2", "tier3"), text=the viewer's attached message. A sub is
  paid by the viewer for themself, hence a purchase, like YouTube's new-member events.
- ``USERNOTICE`` msg-id ``subgift``             -> ``gift``, amount=1, currency="sub", item=tier,
  count=1 (``msg-param-recipient-display-name`` stays in raw). A subgift that belongs to a
  community (mystery) gift carries ``msg-param-community-gift-id``; Twitch announces the whole
  batch first as ``submysterygift``, so those per-recipient notices map to None: thank once.
- ``USERNOTICE`` msg-id ``submysterygift``      -> ``gift``, count=amount=msg-param-mass-gift-count,
  currency="sub", item=tier
- ``USERNOTICE`` msg-id ``raid``                -> ``join``, count=msg-param-viewerCount,
  user=msg-param-displayName (the raiding channel)
- everything else (other USERNOTICEs, CLEARCHAT, CLEARMSG, NOTICE, ROOMSTATE, numerics ...) -> None
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import Callable

from ..frames import ChatEvent
from .intake import ChatRejected
from .source import Backoff, ChatSource, log
from .twitch_irc import IrcMessage, parse_irc_line

#: Twitch allows 8191 bytes of tags + 512 of message; we cap the whole line at 8 KB.
MAX_LINE_BYTES = 8192

_SUB_TIERS = {"Prime": "prime", "1000": "tier1", "2000": "tier2", "3000": "tier3"}


def _int_tag(tags: dict[str, str], key: str, default: int = 0) -> int:
    try:
        return int(tags.get(key, ""))
    except ValueError:
        return default


def to_chat_event(msg: IrcMessage, received_at: float) -> ChatEvent | None:
    """Map a parsed message to a ChatEvent (see the module docstring), or None."""
    tags = msg.tags
    if msg.command not in ("PRIVMSG", "USERNOTICE") or not msg.params:
        return None
    raw = {"command": msg.command, "prefix": msg.prefix, "tags": dict(tags), "params": msg.params}
    ts = _int_tag(tags, "tmi-sent-ts", -1)
    login = tags.get("login") or msg.nick
    base = {
        "user": tags.get("display-name") or login,
        "user_id": tags.get("user-id", ""),
        "platform": "twitch",
        "received_at": received_at,
        "raw": raw,
        "sent_at": ts / 1000.0 if ts >= 0 else None,
    }
    text = msg.params[1] if len(msg.params) > 1 else ""
    if msg.command == "PRIVMSG":
        if text.startswith("\x01ACTION ") and text.endswith("\x01"):
            text = text[8:-1]
        elif text.startswith("\x01"):
            return None  # other CTCP (VERSION, PING ...) is client chatter, not chat
        if not base["user"]:
            return None
        bits = _int_tag(tags, "bits")
        if bits > 0:
            return ChatEvent(text=text, kind="gift", amount=float(bits), currency="bits", **base)
        if not text.strip():
            return None
        return ChatEvent(text=text, **base)
    # USERNOTICE
    msg_id = tags.get("msg-id", "")
    tier = _SUB_TIERS.get(tags.get("msg-param-sub-plan", ""), "")
    if not base["user"] and msg_id not in ("subgift", "submysterygift"):
        return None
    if not base["user"]:
        base["user"] = "anonymous"  # anonymous gifters have no login
    if msg_id in ("sub", "resub"):
        return ChatEvent(text=text, kind="purchase", amount=1.0, currency="sub", item=tier, **base)
    if msg_id == "subgift":
        if tags.get("msg-param-community-gift-id"):
            return None  # part of a submysterygift batch that was already announced
        return ChatEvent(text="", kind="gift", amount=1.0, currency="sub", item=tier, **base)
    if msg_id == "submysterygift":
        n = max(1, _int_tag(tags, "msg-param-mass-gift-count", 1))
        return ChatEvent(
            text="", kind="gift", amount=float(n), currency="sub", item=tier, count=n, **base
        )
    if msg_id == "raid":
        base["user"] = tags.get("msg-param-displayName") or base["user"]
        n = max(1, _int_tag(tags, "msg-param-viewerCount", 1))
        return ChatEvent(text="", kind="join", count=n, **base)
    return None


class _Reconnect(Exception):
    """The server asked us to reconnect (Twitch RECONNECT)."""


class TwitchSource(ChatSource):
    """Reads one Twitch channel's chat over IRC and emits ChatEvents.

    In: IRC lines from ``host:port`` (TLS optional). Out: ``emit(ChatEvent)`` per chat message /
    cheer / sub / raid (see the module docstring), ``reject(code, detail)`` per bad line (over
    8 KB, invalid UTF-8, malformed). Anonymous (read-only ``justinfanNNNN``) unless ``nick`` and
    ``token`` (``oauth:...``) are given. ``received_at`` comes from ``clock_now()``.

    Keep-alive: after ``idle_timeout_s`` without a byte from the server it sends ``PING`` and
    drops the connection if nothing arrives within ``pong_timeout_s``; ``run()`` then reconnects
    with backoff. A Twitch ``RECONNECT`` reconnects at once (without backoff).
    """

    platform = "twitch"

    def __init__(
        self,
        name: str,
        emit: Callable[[ChatEvent], None],
        channel: str,
        host: str = "irc.chat.twitch.tv",
        port: int | None = None,
        tls: bool = False,
        nick: str | None = None,
        token: str | None = None,
        clock_now: Callable[[], float] = time.monotonic,
        *,
        idle_timeout_s: float = 300.0,
        pong_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        backoff: Backoff | None = None,
        healthy_after_s: float = 10.0,
    ) -> None:
        super().__init__(name, emit, backoff=backoff, healthy_after_s=healthy_after_s)
        channel = channel.strip().lstrip("#").lower()
        if not channel or any(c in channel for c in " ,\r\n\0\x07"):
            raise ValueError(f"invalid Twitch channel name {channel!r}")
        self.channel = "#" + channel
        self.host = host
        self.port = port if port is not None else (6697 if tls else 6667)
        self.tls = tls
        self.nick = (nick or f"justinfan{random.randint(10000, 99999)}").lower()
        if token and not token.startswith("oauth:"):
            token = "oauth:" + token
        self.token = token
        self.clock_now = clock_now
        self.idle_timeout_s = idle_timeout_s
        self.pong_timeout_s = pong_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.ssl_context = ssl_context
        self.pings_answered = 0
        self._writer: asyncio.StreamWriter | None = None

    def stop(self) -> None:
        super().stop()
        # Close the socket so a session blocked in read() ends now, not at the next line.
        if self._writer is not None:
            self._writer.close()

    async def session(self) -> None:
        # RECONNECT means "this server goes away soon": reconnect at once, but only a few times
        # in a row, so that a server that sends nothing else falls back to run()'s backoff.
        for _ in range(3):
            try:
                await self._connection()
                return
            except _Reconnect:
                if self._stopping:
                    return
                self.health.reconnects += 1
                log.info("%s: server sent RECONNECT; reconnecting now", self.name)
        raise ConnectionError("server keeps sending RECONNECT")

    async def _connection(self) -> None:
        ctx: ssl.SSLContext | None = None
        if self.tls:
            ctx = self.ssl_context or ssl.create_default_context()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                self.host, self.port, ssl=ctx, server_hostname=self.host if ctx else None
            ),
            self.connect_timeout_s,
        )
        self._writer = writer
        try:
            await self._talk(reader, writer)
        finally:
            self._writer = None
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 2.0)
            except (OSError, TimeoutError, ssl.SSLError):
                pass

    async def _talk(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def send(line: str) -> None:
            writer.write(line.encode("utf-8") + b"\r\n")

        # CAP REQ before registration: Twitch ACKs it; a generic ircd holds registration until
        # CAP END, which we send on the ACK/NAK (Twitch ignores CAP END).
        send("CAP REQ :twitch.tv/tags twitch.tv/commands")
        if self.token:
            send(f"PASS {self.token}")
        send(f"NICK {self.nick}")
        send(f"USER {self.nick} 0 * :{self.nick}")  # Twitch ignores USER; other ircds need it
        await writer.drain()
        joined = False
        buf = b""
        discarding = False  # inside an over-long line: drop bytes up to the next newline
        ping_sent = False
        # A server that never lets us join (one answering garbage, a wrong port) is dropped
        # and retried with backoff, not read forever: the join counts as part of connecting.
        join_by = time.monotonic() + self.connect_timeout_s
        while not self._stopping:
            wait = self.pong_timeout_s if ping_sent else self.idle_timeout_s
            if not joined:
                if (left := join_by - time.monotonic()) <= 0:
                    raise TimeoutError(f"not joined to {self.channel} within "
                                       f"{self.connect_timeout_s}s")  # fmt: skip
                wait = min(wait, left)
            try:
                chunk = await asyncio.wait_for(reader.read(65536), wait)
            except TimeoutError:
                if not joined and time.monotonic() >= join_by:
                    continue  # the join deadline, not the keep-alive: raised above
                if ping_sent:
                    raise TimeoutError(
                        f"no answer to keep-alive PING within {self.pong_timeout_s}s"
                    ) from None
                send("PING :tmi.twitch.tv")
                await writer.drain()
                ping_sent = True
                continue
            if not chunk:
                return  # server closed the connection (EOF)
            ping_sent = False
            buf += chunk
            lines = buf.split(b"\n")
            buf = lines.pop()
            for raw in lines:
                if discarding:
                    discarding = False
                    continue
                if len(raw) > MAX_LINE_BYTES:
                    self.reject("irc_too_long", f"line of {len(raw)} bytes")
                    continue
                joined = self._handle(raw, send, joined)
                # Flush PONG/JOIN/CAP END promptly; a no-op when nothing was written.
                await writer.drain()
            if len(buf) > MAX_LINE_BYTES:
                if not discarding:
                    self.reject("irc_too_long", f"line over {MAX_LINE_BYTES} bytes")
                discarding = True
                buf = b""

    def _handle(self, raw: bytes, send: Callable[[str], None], joined: bool) -> bool:
        """Handle one line; returns whether the channel is joined."""
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            return joined  # blank keep-alive lines are harmless
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.reject("irc_bad_utf8", f"invalid UTF-8 ({e.reason} at byte {e.start})")
            return joined
        try:
            msg = parse_irc_line(line)
        except ChatRejected as e:
            self.reject(e.code, f"{e}: {line[:200]!r}")
            return joined
        cmd = msg.command
        if cmd == "PING":
            send("PONG :" + (msg.params[-1] if msg.params else "tmi.twitch.tv"))
            self.pings_answered += 1
        elif cmd == "CAP" and len(msg.params) >= 2 and msg.params[1].upper() in ("ACK", "NAK"):
            send("CAP END")
        elif cmd == "001":
            send(f"JOIN {self.channel}")
        elif cmd == "RECONNECT":
            raise _Reconnect()
        elif cmd == "ERROR":
            raise ConnectionError("server ERROR: " + (msg.params[-1] if msg.params else ""))
        elif cmd == "NOTICE" and msg.params and "authentication failed" in msg.params[-1].lower():
            raise PermissionError("Twitch login failed: " + msg.params[-1])
        elif cmd in ("433", "432"):
            if not self.nick.startswith("justinfan"):
                raise ConnectionError(f"nick {self.nick!r} refused: {msg.params[-1:]}")
            # Anonymous nick taken (only on a generic ircd): draw another one.
            self.nick = f"justinfan{random.randint(10000, 99999)}"
            send(f"NICK {self.nick}")
        elif not joined and (
            (cmd == "JOIN" and msg.nick.lower() == self.nick and msg.params)
            or (cmd == "366" and len(msg.params) >= 2 and msg.params[1].lower() == self.channel)
        ):
            # Joined: Twitch echoes JOIN then sends 353/366, as a generic ircd does.
            self.live()
            return True
        elif cmd in ("PRIVMSG", "USERNOTICE"):
            if msg.params and msg.params[0].lower() != self.channel:
                return joined  # a private message or another channel's: not this stream's chat
            ev = to_chat_event(msg, self.clock_now())
            if ev is not None:
                self.accept(ev)
        return joined
