"""Fuzz every HTTP endpoint of a real engine (virtual clock) with hypothesis: random methods,
paths, query strings, headers and bodies, and WebSocket sessions of random text, binary, JSON,
protocol commands with wrong types and frames past the size limits.

A crash is a 5xx answer, or an error (or an exception) logged by aiohttp, asyncio or streamhost
while the example ran. The count is printed and must be 0; afterwards the engine still runs and
``/healthz`` answers. The engine and its app run in a thread of their own (hypothesis examples
are synchronous; each one is a coroutine handed to that loop). The default run is short and
derandomized; ``test_fuzz_endpoints_long`` (``slow``) is the long random run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.http_exceptions import HttpProcessingError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from streamhost.config import load_config
from streamhost.control.commands import COMMANDS, MESSAGE_TYPES
from streamhost.control.http import CAPTIONS_WS_MAX, CHAT_WS_MAX, CONTROL_WS_MAX, build_app
from streamhost.control.limits import Limits
from streamhost.engine import Engine

TOKEN = "fuzz-token"
# Generous: the fuzz is to reach the handlers (test_security checks that the limits bite).
OPEN = Limits(request_rate=1e6, request_burst=1e6, negotiate_rate=1e6, negotiate_burst=1e6,
              chat_rate=1e6, chat_burst=1e6, ws_per_address=10_000)  # fmt: skip
# Commands that would end the run or load a voice model are left out; the rest run for real.
SAFE_TYPES = [t for t in MESSAGE_TYPES if t not in ("shutdown", "voice", "script")]
PATHS = ["/", "/operator", "/healthz", "/metrics", "/chat", "/captions", "/offer", "/takeover",
         "/control", "/static/presence.js", "/static/../pyproject.toml", "/static/%2e%2e/x",
         "/static/", "/nope", "//healthz", "/chat/"]  # fmt: skip
WS_PATHS = ["/chat", "/captions", "/control"]
LIMIT_OF = {"/chat": CHAT_WS_MAX, "/captions": CAPTIONS_WS_MAX, "/control": CONTROL_WS_MAX}
ASCII = hs.characters(min_codepoint=32, max_codepoint=126)


class Crashes(logging.Handler):
    """Error records (or any with an exception) from the server side, as they are logged.
    aiohttp's HTTP parser answers a request it cannot parse (an unknown Content-Encoding such as
    zstd, a broken header) with a 400 before any handler runs, and logs it with a traceback:
    those are counted apart, in ``rejected``, not as crashes."""

    WATCHED = ("aiohttp", "asyncio", "streamhost")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []
        self.rejected = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] not in self.WATCHED:
            return
        if record.levelno < logging.ERROR and not record.exc_info:
            return
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= exc.code < 500:
            self.rejected += 1
            return
        self.records.append(f"{record.name}: {record.getMessage()[:300]} {exc!r:.300}")


class Served:
    """A real engine and its app on a loop in a thread; ``call(coro)`` runs one coroutine
    there and returns its result."""

    def __init__(self, tmp_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self._start(tmp_path), 120)

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self, tmp_path: Path) -> None:
        cfg = load_config().with_overrides(store={"data_dir": str(tmp_path / "data")})
        self.engine = Engine(cfg, virtual_clock=True, token=TOKEN)
        self.runner = web.AppRunner(build_app(self.engine, OPEN), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        self.task = asyncio.create_task(self.engine.run(None))
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))

    async def _stop(self) -> None:
        await self.http.close()
        self.engine.request_stop()
        await asyncio.wait_for(asyncio.gather(self.task, return_exceptions=True), 60)
        await self.runner.cleanup()

    def close(self) -> None:
        try:
            self.call(self._stop(), 90)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


# ---- strategies ----
def json_values() -> hs.SearchStrategy[Any]:
    scalars = (hs.none() | hs.booleans() | hs.integers(-(2**70), 2**70)
               | hs.floats(allow_nan=False) | hs.text(max_size=40))  # fmt: skip
    return hs.recursive(
        scalars,
        lambda kids: hs.lists(kids, max_size=4) | hs.dictionaries(hs.text(max_size=8), kids, max_size=4),
        max_leaves=10,
    )  # fmt: skip


def commands() -> hs.SearchStrategy[dict[str, Any]]:
    """Protocol messages of a known type whose fields are often of the wrong type."""
    fields = sorted({k for d in MESSAGE_TYPES.values() for k in d["properties"]} - {"type"})
    odd = json_values() | hs.sampled_from(
        ["now", "happy", "chat", "x" * 600, "", TOKEN, "\ud800", TOKEN + "\udfff"]
    )
    return hs.fixed_dictionaries(
        {"type": hs.sampled_from(SAFE_TYPES)},
        optional={f: odd for f in fields},
    )


def bodies() -> hs.SearchStrategy[bytes]:
    encoded = (json_values() | commands()).map(lambda v: json.dumps(v).encode())
    offers = hs.fixed_dictionaries(
        {"sdp": json_values() | hs.sampled_from(["v=0\r\n", "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"]),
         "type": hs.sampled_from(["offer", "answer"]) | json_values()},
    ).map(lambda v: json.dumps(v).encode())  # fmt: skip
    deep = hs.integers(10, 30_000).map(lambda n: b"[" * n + b"]" * (n % 3))
    return hs.binary(max_size=2000) | encoded | offers | deep | hs.just(b"x" * 70_000)


def headers(base: str) -> hs.SearchStrategy[dict[str, str]]:
    samples = {
        "Origin": hs.sampled_from([base, "https://evil.example", "null", "http://[::1", ""])
        | hs.text(ASCII, max_size=40),
        "Content-Type": hs.sampled_from(
            [
                "application/json",
                "application/json; charset=bogus",
                "text/plain",
                "multipart/form-data; boundary=x",
                "application/x-www-form-urlencoded",
            ]
        ),  # fmt: skip
        "Authorization": hs.sampled_from([f"Bearer {TOKEN}", "Bearer x", "Basic abc", "Bearer"])
        | hs.text(ASCII, max_size=40),
        "X-Forwarded-For": hs.text(ASCII, max_size=40),
        "Content-Encoding": hs.sampled_from(["gzip", "deflate", "br", "zstd", "bogus"]),
        "Upgrade": hs.sampled_from(["websocket", "h2c", "x"]),
        "Connection": hs.sampled_from(["upgrade", "close", "keep-alive"]),
        "Host": hs.sampled_from(["evil.example", "", "a" * 300]),
        "Range": hs.sampled_from(["bytes=0-10", "bytes=99999999-", "bytes=x", "bytes=5-1"]),
    }
    return hs.fixed_dictionaries({}, optional=samples)  # type: ignore[arg-type]


def requests(base: str) -> hs.SearchStrategy[tuple[Any, ...]]:
    path = hs.sampled_from(PATHS) | hs.text(ASCII, max_size=30).map(lambda s: "/" + s)
    query = hs.dictionaries(hs.sampled_from(["token", "x", "since", ""]) | hs.text(ASCII, max_size=8),
                            hs.text(max_size=20), max_size=3)  # fmt: skip
    method = hs.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
    return hs.tuples(method, path, query, headers(base), bodies())


def sessions(base: str) -> hs.SearchStrategy[tuple[Any, ...]]:
    frame = hs.one_of(
        hs.tuples(hs.just("text"), hs.text(max_size=300)),
        hs.tuples(hs.just("text"), (json_values() | commands()).map(json.dumps)),
        hs.tuples(hs.just("binary"), hs.binary(max_size=300)),
        hs.tuples(hs.just("huge"), hs.sampled_from([-1, 1])),  # just under / over the limit
    )
    ws_headers = hs.fixed_dictionaries({}, optional={
        "Origin": hs.sampled_from([base, "https://evil.example"]),
        "Authorization": hs.sampled_from([f"Bearer {TOKEN}", "Bearer nope"]),
    })  # fmt: skip
    return hs.tuples(hs.sampled_from(WS_PATHS), ws_headers, hs.booleans(),
                     hs.lists(frame, max_size=6))  # fmt: skip


def raw_requests() -> hs.SearchStrategy[bytes]:
    """Requests the client library would not send: any bytes in header values (invalid UTF-8
    reaches the handlers as surrogate escapes), any request line."""
    names = hs.sampled_from([b"Authorization", b"Origin", b"Host", b"X-Forwarded-For",
                             b"Content-Type", b"Upgrade", b"Cookie"])  # fmt: skip
    values = hs.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
    auth = hs.sampled_from([b"Bearer ", b"Bearer " + TOKEN.encode(), b""])
    line = hs.tuples(
        hs.sampled_from([b"GET", b"POST", b"PUT", b"BREW"]),
        hs.sampled_from([p.encode() for p in PATHS])
        | hs.binary(max_size=20).map(lambda b: b"/" + b),
        hs.sampled_from([b"", b"?token=\xff", b"?token=" + TOKEN.encode(), b"?%ff=%fe"]),
    ).map(lambda t: t[0] + b" " + t[1].replace(b" ", b"") + t[2] + b" HTTP/1.1\r\n")

    def build(parts: tuple[bytes, list[tuple[bytes, bytes]], bytes]) -> bytes:
        start, headers, body = parts
        lines = b"".join(k + b": " + v + b"\r\n" for k, v in headers)
        return (start + b"Host: x\r\nConnection: close\r\n" + lines
                + b"Content-Length: %d\r\n\r\n" % len(body) + body)  # fmt: skip

    pairs = hs.lists(hs.tuples(names, values) | hs.tuples(hs.just(b"Authorization"),
                     hs.tuples(auth, values).map(b"".join)), max_size=4)  # fmt: skip
    return hs.tuples(line, pairs, hs.binary(max_size=200)).map(build)


# ---- one example ----
async def one_raw(s: Served, data: bytes) -> str | None:
    host, port = s.base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        await writer.drain()
        head = await asyncio.wait_for(reader.readline(), 20)
    except ConnectionError:
        return None
    finally:
        writer.close()
    parts = head.split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return f"raw -> {head!r}" if status >= 500 else None


async def one_request(s: Served, case: tuple[Any, ...]) -> str | None:
    method, path, query, hdrs, body = case
    try:
        async with s.http.request(method, s.base + path, params=query, headers=hdrs,
                                  data=body if method not in ("GET", "HEAD") else None,
                                  allow_redirects=False) as r:  # fmt: skip
            await r.read()
            return f"{method} {path} -> {r.status}" if r.status >= 500 else None
    except (ValueError, aiohttp.ClientError, TimeoutError):
        return None  # a request the client would not send, or a connection the server dropped


async def one_session(s: Served, case: tuple[Any, ...]) -> str | None:
    path, hdrs, auth, frames = case
    try:
        ws = await s.http.ws_connect(s.base + path, headers=hdrs, max_msg_size=0)
    except aiohttp.WSServerHandshakeError as e:
        return f"WS {path} handshake -> {e.status}" if e.status >= 500 else None
    async with ws:
        if auth and path == "/control":
            await ws.send_json({"type": "auth", "token": TOKEN})
        try:
            for kind, data in frames:
                if kind == "huge":
                    await ws.send_str("x" * (LIMIT_OF[path] + data))
                elif kind == "binary":
                    await ws.send_bytes(data)
                else:
                    await ws.send_str(data)
        except ConnectionError:
            pass  # the server closed (a frame over its limit): its close code is read below
        while True:  # read what comes back until quiet or closed
            try:
                msg = await ws.receive(timeout=0.2)
            except TimeoutError:
                return None
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
                code = ws.close_code
                # 1009: a frame over the limit. The server then closes with that frame's rest
                # (or the next one) unread, which resets TCP: the client may see 1006 instead.
                over = ("huge", 1) in frames
                ok = code in (None, 1000, 1001) or (over and code in (1009, 1006))
                return None if ok else f"WS {path} closed with {code}"
            if msg.type == WSMsgType.ERROR:
                return None
    return None


def fuzz(
    tmp_path: Path, http_examples: int, ws_examples: int, raw_examples: int, derandomize: bool
) -> None:
    watcher = Crashes()
    logging.getLogger().addHandler(watcher)
    s = Served(tmp_path)
    crashes: list[str] = []
    common = dict(deadline=None, derandomize=derandomize, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.large_base_example])  # fmt: skip

    def run(coro: Coroutine[Any, Any, str | None], what: Any) -> None:
        before = len(watcher.records)
        try:
            found = s.call(coro, 60)
        except Exception as e:  # noqa: BLE001 - an example that broke the client is counted
            found = f"{type(e).__name__}: {e}"
        logged = watcher.records[before:]
        if found or logged:
            crashes.append(f"{found or ''} {logged[:3]} <- {str(what)[:300]}")

    try:

        @settings(max_examples=http_examples, **common)  # type: ignore[arg-type]
        @given(requests(s.base))
        def http_case(case: tuple[Any, ...]) -> None:
            run(one_request(s, case), case)

        @settings(max_examples=ws_examples, **common)  # type: ignore[arg-type]
        @given(sessions(s.base))
        def ws_case(case: tuple[Any, ...]) -> None:
            run(one_session(s, case), case)

        @settings(max_examples=raw_examples, **common)  # type: ignore[arg-type]
        @given(raw_requests())
        def raw_case(data: bytes) -> None:
            run(one_raw(s, data), data)

        http_case()
        ws_case()
        raw_case()
        health = s.call(_health(s))
        assert not s.task.done(), "the engine stopped during the fuzz"
    finally:
        s.close()
        logging.getLogger().removeHandler(watcher)
    print(f"\nfuzz: {http_examples} requests, {ws_examples} WebSocket sessions, "
          f"{raw_examples} raw requests, "
          f"{len(crashes)} crashes ({watcher.rejected} requests the HTTP parser answered 400)")  # fmt: skip
    assert health == (200, True), health
    assert not crashes, "\n".join(crashes[:10])


async def _health(s: Served) -> tuple[int, bool]:
    async with s.http.get(s.base + "/healthz") as r:
        return r.status, (await r.json())["ok"]


@pytest.mark.timeout(120)
def test_fuzz_endpoints(tmp_path: Path) -> None:
    fuzz(tmp_path, http_examples=150, ws_examples=40, raw_examples=100, derandomize=True)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_fuzz_endpoints_long(tmp_path: Path) -> None:
    fuzz(tmp_path, http_examples=3000, ws_examples=1000, raw_examples=2000, derandomize=False)


assert set(SAFE_TYPES) <= set(COMMANDS) | {"hello", "auth"}
