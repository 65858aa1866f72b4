"""The security pass over the HTTP endpoints: Origin checks, per-address limits, frame and body
size limits, security headers and CSP nonces, tokens kept out of logs and the audit table, and
the fleet front doing the same. Most checks run against ``build_app`` over a small stand-in
stream (fast); the token check runs a real engine on the virtual clock."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from streamhost.chat.intake import ChatRejected
from streamhost.config import load_config
from streamhost.control.events import EventBus
from streamhost.control.http import CAPTIONS_WS_MAX, CHAT_WS_MAX, CONTROL_WS_MAX, build_app
from streamhost.control.limits import Concurrency, Limits, TokenBuckets
from streamhost.control.security import RedactingAccessLogger, redact, redact_args
from streamhost.engine import Engine
from streamhost.fleet.front import build_front
from streamhost.store import Store

TOKEN = "s3cret-control-token"
EVIL = "https://evil.example"


class FakeStream:
    """What build_app reads off the primary stream: config, chat intake, events, takeover."""

    def __init__(self, **overrides: Any) -> None:
        self.cfg = load_config().with_overrides(**overrides)
        self.events = EventBus()
        self.controls = SimpleNamespace(events=self.events)
        self.webrtc = SimpleNamespace(handle_offer=self._answer)
        self.takeover = SimpleNamespace(offer=self._answer)
        self.chat: list[Any] = []

    async def _answer(self, sdp: str, typ: str) -> dict[str, str]:
        return {"sdp": "answer", "type": "answer"}

    def submit_chat(self, raw: bytes | str) -> tuple[Any, str]:
        try:
            obj = json.loads(raw)
        except ValueError as e:
            raise ChatRejected("bad_json", str(e)) from None
        self.chat.append(obj)
        return SimpleNamespace(trace_id=f"t{len(self.chat)}"), "queued"


class FakeHost:
    def __init__(self, **overrides: Any) -> None:
        self.token = TOKEN
        self.running = True
        self.primary = FakeStream(**overrides)

    def snapshots(self) -> list[dict[str, Any]]:
        return []


@asynccontextmanager
async def client(app: web.Application) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(app)) as c:
        yield c


def same_origin(c: TestClient) -> str:
    return f"http://{c.server.host}:{c.server.port}"


async def refused(c: TestClient, path: str, **kw: Any) -> aiohttp.WSServerHandshakeError:
    with pytest.raises(aiohttp.WSServerHandshakeError) as e:
        await c.ws_connect(path, **kw)
    return e.value


async def test_origin_check_on_websockets_and_posts() -> None:
    host = FakeHost(control={"allowed_origins": ["https://shop.example"]})
    async with client(build_app(host)) as c:
        evil = {"Origin": EVIL}
        # A page elsewhere cannot drive /control (not even try tokens) nor inject chat.
        for path in ("/control", "/chat"):
            assert (await refused(c, path, headers=evil)).status == 403
        r = await c.post(
            "/takeover", data="{}", headers={**evil, "Authorization": f"Bearer {TOKEN}"}
        )
        body = await r.json()
        assert r.status == 403 and body["error"]["code"] == "forbidden_origin"
        assert EVIL in body["error"]["message"] and "allowed_origins" in body["error"]["message"]
        for path in ("/offer", "/chat"):
            assert (await c.post(path, data="{}", headers=evil)).status == 403
        assert (await c.post("/chat", data="{}", headers={"Origin": "null"})).status == 403
        assert host.primary.chat == []
        # The same site, an allowed site and no Origin at all (a relay, a script) get in.
        for headers in ({"Origin": same_origin(c)}, {"Origin": "https://shop.example"}, {}):
            async with c.ws_connect("/control", headers=headers) as ws:
                await ws.send_json({"type": "auth", "token": TOKEN})
                assert (await ws.receive_json())["authenticated"] is True
        assert (await c.post("/chat", json={"user": "a", "text": "hi"})).status == 200
        # Captions are what is on air: any site may show them; any site may link the pages.
        async with c.ws_connect("/captions", headers=evil) as ws:
            assert not ws.closed
        assert (await c.get("/", headers=evil)).status == 200


async def test_security_headers_and_csp_nonces_on_the_pages() -> None:
    host = FakeHost(control={"allowed_origins": ["https://shop.example"]})
    async with client(build_app(host)) as c:
        seen = set()
        for path, mic, frames in (("/", "microphone=()", "'self' https://shop.example"),
                                  ("/operator", "microphone=(self)", "'none'")):  # fmt: skip
            r = await c.get(path)
            text, h = await r.text(), r.headers
            assert h["X-Content-Type-Options"] == "nosniff"
            assert h["Referrer-Policy"] == "no-referrer"
            assert mic in h["Permissions-Policy"] and "camera=()" in h["Permissions-Policy"]
            csp = dict(d.strip().split(" ", 1) for d in h["Content-Security-Policy"].split(";"))
            assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == frames
            nonce = re.fullmatch(r"'self' 'nonce-([\w-]+)'", csp["script-src"]).group(1)
            assert csp["style-src"] == f"'self' 'nonce-{nonce}'"
            inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", text)
            assert inline and all(f'nonce="{nonce}"' in a for a in inline), inline
            assert f'<style nonce="{nonce}">' in text
            seen.add(nonce)
            assert "unsafe-inline" not in csp["script-src"] + csp["style-src"]
        assert len(seen) == 2 and (await c.get("/")).headers["X-Frame-Options"] == "SAMEORIGIN"
        assert (await c.get("/operator")).headers["X-Frame-Options"] == "DENY"
        r = await c.get("/static/presence.js")
        assert r.status == 200 and r.headers["X-Content-Type-Options"] == "nosniff"
        assert (await c.get("/nope")).headers["X-Content-Type-Options"] == "nosniff"


async def test_per_address_limits_answer_429_with_retry_after() -> None:
    limits = Limits(request_rate=1.0, request_burst=5, negotiate_rate=0.1, negotiate_burst=2,
                    chat_rate=0.1, chat_burst=1)  # fmt: skip
    host = FakeHost(http={"trusted_proxies": ["127.0.0.1"]})
    async with client(build_app(host, limits)) as c:
        statuses = [(await c.get("/healthz")).status for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        r = await c.get("/healthz")
        assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
        assert (await r.json())["error"]["code"] == "rate_limited"
        # Behind the trusted proxy each client has its own buckets.
        for who in ("198.51.100.7", "198.51.100.8"):
            xff = {"X-Forwarded-For": f"203.0.113.9, {who}"}  # the left part is the client's claim
            offers = [(await c.post("/offer", json={"sdp": "v=0", "type": "offer"}, headers=xff)).status
                      for _ in range(3)]  # fmt: skip
            assert offers == [200, 200, 429], offers
            chat = [(await c.post("/chat", json={"user": "u", "text": "x"}, headers=xff)).status
                    for _ in range(2)]  # fmt: skip
            assert chat == [200, 429], chat  # the chat bucket: 5 requests fit the request one
    host = FakeHost()
    async with client(build_app(host, Limits(chat_rate=0.1, chat_burst=3, ws_per_address=2))) as c:
        a = await c.ws_connect("/chat")
        b = await c.ws_connect("/captions")
        assert (await refused(c, "/control")).status == 429  # two sockets per address
        for i in range(4):
            await a.send_json({"user": "u", "text": str(i)})
        codes = [(await a.receive_json()).get("error", {}).get("code") for _ in range(4)]
        assert codes == [None, None, None, "rate_limited"]
        await a.send_json({"user": "u", "text": "still"})  # the socket stays up
        assert (await a.receive_json())["error"]["code"] == "rate_limited"
        await a.close()
        await asyncio.sleep(0.05)
        async with c.ws_connect("/control"):  # a place came free
            pass
        await b.close()
    # A relay holding chat.ws_token speaks for many viewers: metered per user, not per address.
    host = FakeHost(chat={"ws_token": "relay-token"})
    async with client(build_app(host, Limits(chat_rate=0.1, chat_burst=3))) as c:
        auth = {"Authorization": "Bearer relay-token"}
        statuses = [(await c.post("/chat", json={"user": f"u{i}", "text": "x"}, headers=auth)).status
                    for i in range(8)]  # fmt: skip
        assert statuses == [200] * 8


async def test_frame_and_body_size_limits() -> None:
    async with client(build_app(FakeHost())) as c:
        for path, limit in (("/control", CONTROL_WS_MAX), ("/captions", CAPTIONS_WS_MAX),
                            ("/chat", CHAT_WS_MAX)):  # fmt: skip
            async with c.ws_connect(path, max_msg_size=0) as ws:
                await ws.send_str("x" * (limit + 1))
                msg = await ws.receive(timeout=10)
                while msg.type == WSMsgType.TEXT:  # replies to nothing, events: not expected
                    msg = await ws.receive(timeout=10)
                assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING), msg
                assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG, (path, ws.close_code)
        r = await c.post("/offer", json={"sdp": "v" * 40_000, "type": "offer"})
        assert r.status == 413 and (await r.json())["error"]["code"] == "too_large"
        r = await c.post("/chat", data=b"x" * (65 * 1024))
        assert r.status == 413
        r = await c.post("/offer", data="[" * 20_000)  # nesting past the recursion limit
        assert r.status == 400 and (await r.json())["error"]["code"] == "bad_offer"


async def test_undecodable_token_bytes_are_a_wrong_token_not_a_crash() -> None:
    """Invalid UTF-8 in a header reaches the app as surrogate escapes, and JSON can carry a
    lone surrogate: both once made the token comparison raise (a 500 on /takeover)."""
    async with client(build_app(FakeHost())) as c:
        reader, writer = await asyncio.open_connection(c.server.host, c.server.port)
        writer.write(b"POST /takeover HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n"
                     b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")  # fmt: skip
        assert (await reader.readline()).startswith(b"HTTP/1.1 401")
        writer.close()
        async with c.ws_connect("/control") as ws:
            await ws.send_str('{"type": "auth", "token": "\\ud800"}')
            assert (await ws.receive_json())["error"]["code"] == "unauthorized"


def test_buckets_refill_and_forget_the_stalest_address() -> None:
    now = [0.0]
    b = TokenBuckets(rate=2.0, burst=2, max_keys=100, now=lambda: now[0])
    assert [b.take("a"), b.take("a")] == [0.0, 0.0]
    assert b.take("a") == pytest.approx(0.5)
    now[0] = 0.5
    assert b.take("a") == 0.0
    for i in range(1000):
        b.take(f"10.0.{i // 250}.{i % 250}")
    assert len(b) == 100 and b.take("a") == 0.0  # "a" was evicted: a fresh, full bucket
    cc = Concurrency(per_key=1, total=2)
    assert cc.acquire("a") is None and "per address" in (cc.acquire("a") or "")
    assert cc.acquire("b") is None and "maximum" in (cc.acquire("c") or "")
    cc.release("a")
    assert cc.acquire("c") is None and cc.count == 2


def test_redaction() -> None:
    url = "401, message='Invalid response status', url='http://h:1/control?token=abc&x=1'"
    assert "abc" not in redact(url) and "token=***&x=1" in redact(url)
    args = {"engine": "openai", "settings": {"api_key": "sk-1", "voice": "a"}, "token": "t"}
    assert redact_args(args) == {"engine": "openai", "token": "***",
                                 "settings": {"api_key": "***", "voice": "a"}}  # fmt: skip


@pytest.mark.timeout(120)
async def test_tokens_stay_out_of_logs_and_the_audit(tmp_path: Path, caplog) -> None:
    """Failed and successful auth on every token-guarded endpoint, with a redacting access log
    on: no token in any log record, nor in the audit table."""
    chat_token = "chat-relay-token-xyz"
    cfg = load_config().with_overrides(store={"data_dir": str(tmp_path / "data")},
                                       chat={"ws_token": chat_token})  # fmt: skip
    engine = Engine(cfg, virtual_clock=True, token=TOKEN)
    runner = web.AppRunner(build_app(engine), access_log_class=RedactingAccessLogger,
                           access_log=logging.getLogger("aiohttp.access"))  # fmt: skip
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    task = asyncio.create_task(engine.run(None))
    caplog.set_level(logging.DEBUG)
    try:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(url + "/chat?token=wrong-" + chat_token)
            async with http.ws_connect(url + f"/chat?token={chat_token}") as ws:
                await ws.send_json({"user": "ann", "text": "hello"})
                assert (await ws.receive_json())["ok"] is True
            async with http.ws_connect(url + "/control",
                                       headers={"Authorization": f"Bearer x{TOKEN}"}) as ws:  # fmt: skip
                await ws.send_json({"type": "auth", "token": TOKEN + "-wrong"})
                assert (await ws.receive_json())["error"]["code"] == "unauthorized"
                await ws.send_json({"type": "auth", "token": TOKEN})
                assert (await ws.receive_json())["authenticated"] is True
                await ws.send_json({"id": 1, "type": "say", "text": "hi", "token": TOKEN})
                assert (await ws.receive_json())["error"]["code"] == "bad_args"
                # A lone surrogate echoed in the error and written to the audit table.
                await ws.send_str('{"id": 2, "type": "emotion", "emotion": "\\ud800"}')
                assert (await ws.receive_json())["error"]["code"] == "bad_args"
            for bearer in (TOKEN + "-nope", TOKEN):
                r = await http.post(url + "/takeover", data="{}",
                                    headers={"Authorization": f"Bearer {bearer}"})  # fmt: skip
                assert r.status in (400, 401)
    finally:
        engine.request_stop()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 60)
        await runner.cleanup()
    logged = "\n".join(r.getMessage() + str(r.exc_info or "") for r in caplog.records)
    assert "/chat?token=***" in logged  # the access log ran, redacted
    for secret in (TOKEN, chat_token):
        assert secret not in logged
    store = Store(tmp_path / "data", "default")
    rows = store._db.execute("SELECT * FROM audit").fetchall()
    store.close()
    assert any("say" in map(str, row) for row in rows), rows
    assert any("\\ud800" in str(row) for row in rows), rows
    assert not any(TOKEN in str(v) for row in rows for v in row), rows


class FakeFleet:
    """What the front reads off a fleet: members (name -> status with its app's URL), status
    rows and each stream's token."""

    def __init__(self, url: str) -> None:
        self.members = {"s1": SimpleNamespace(status={"state": "running", "url": url})}

    def status(self) -> list[dict[str, Any]]:
        return [{"name": "s1", "state": "running", "restarts": 0, "cpus": 1, "gpus": 0}]

    def token_of(self, name: str) -> str:
        return "stream-token"


async def test_fleet_front_guard_origin_limits_and_headers() -> None:
    host = FakeHost()
    async with client(build_app(host)) as stream:
        fleet = FakeFleet(same_origin(stream))
        front = build_front(fleet, "front-token", lambda: None)  # type: ignore[arg-type]
        async with client(front) as c:
            for i in range(5):
                assert (
                    await c.get("/api/status", headers={"Authorization": f"Bearer w{i}"})
                ).status == 401
            r = await c.get("/?token=front-token")
            assert r.status == 429 and r.headers["Retry-After"]  # failed tries from this address
        front = build_front(fleet, "front-token", lambda: None)  # type: ignore[arg-type]
        async with client(front) as c:
            r = await c.get("/?token=front-token")
            assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
            assert "script-src" not in r.headers["Content-Security-Policy"]
            assert "style-src 'sha256-" in r.headers["Content-Security-Policy"]
            assert r.headers["X-Frame-Options"] == "DENY"
            # The stream's page keeps its own CSP through the proxy, nonce and all.
            r = await c.get("/s/s1/operator")
            text, csp = await r.text(), r.headers["Content-Security-Policy"]
            nonce = re.search(r"'nonce-([\w-]+)'", csp).group(1)
            assert f'<script nonce="{nonce}">' in text and "/s/s1/static/presence.js" in text
            # A page elsewhere cannot reach a stream's control socket or chat through the front.
            assert (await refused(c, "/s/s1/control", headers={"Origin": EVIL})).status == 403
            assert (await c.post("/s/s1/chat", json={}, headers={"Origin": EVIL})).status == 403
            async with c.ws_connect("/s/s1/control", headers={"Origin": same_origin(c)}) as ws:
                await ws.send_json({"type": "auth", "token": TOKEN})
                assert (await ws.receive_json())["authenticated"] is True
            assert (await c.post("/s/s1/chat", json={"user": "a", "text": "b"})).status == 200
            reader, writer = await asyncio.open_connection(c.server.host, c.server.port)
            writer.write(b"GET /s/s1/healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff"
                         b"\r\nConnection: close\r\n\r\n")  # fmt: skip
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")  # no 500 on the way
            writer.close()
    gone = build_front(FakeFleet("http://127.0.0.1:9"), "front-token", lambda: None)  # type: ignore[arg-type]
    async with client(gone) as c:  # a stream that went away: 502 naming it, not a 500
        r = await c.get("/s/s1/healthz")
        assert r.status == 502 and "s1" in (await r.json())["error"]["message"]
