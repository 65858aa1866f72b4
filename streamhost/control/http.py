"""The one HTTP port of a process: viewer page, chat ingest, WebRTC signaling, metrics, control.

Routes: ``/`` viewer page, ``/operator`` dashboard, ``/chat`` (WebSocket, or POST one JSON object),
``/captions`` (read-only WebSocket for viewers: the host's lines as they air), ``/offer`` (WebRTC
SDP offer -> answer), ``/takeover`` (the operator's microphone: SDP offer -> answer, token
required), ``/healthz``, ``/metrics`` (Prometheus text), ``/control`` (operator
WebSocket, token required). The first stream of the process serves them.

Every endpoint sits behind per-address limits (``limits.py``: requests, WebRTC negotiations,
chat messages, open WebSockets) and, for WebSocket upgrades and POSTs, an ``Origin`` check: a page
on another site (unless in ``control.allowed_origins``) cannot drive ``/control``, ``/takeover``,
``/chat`` or ``/offer`` from a visitor's browser. ``/captions`` is open to every site (it only
repeats what is on air). Pages get a per-response CSP nonce and the security headers
(``security.py``).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from ..chat.intake import ChatRejected
from ..metrics import CONTENT_TYPE, exposition, make_registry
from .commands import COMMAND_BURST, MAX_FRAME, ControlSession, error_reply
from .facade import Host
from .limits import Concurrency, Limits, TokenBuckets, rate_middleware, too_many
from .security import (
    NO_DEVICES,
    Page,
    add_headers,
    client_address,
    frame_ancestors,
    json_error,
    origin_middleware,
    plain_bodies,
    trusted_networks,
)

log = logging.getLogger("streamhost.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WEB_DIR = Path(__file__).resolve().parents[2] / "assets" / "web"
MAX_CONTROL_FRAME = MAX_FRAME
# Frames up to these sizes are read (and answered too_large past the endpoint's own limit);
# larger ones make aiohttp close the socket with 1009 (message too big).
CHAT_WS_MAX = 2 * 1024 * 1024
CONTROL_WS_MAX = 2 * MAX_CONTROL_FRAME
CAPTIONS_WS_MAX = 4096
AUTH_FAILURES = 5  # failed control auth attempts per remote address ...
AUTH_WINDOW_S = 60.0  # ... within this many seconds; then rate_limited
AUTH_LIMITER: web.AppKey[AuthLimiter] = web.AppKey("auth_limiter")
CONTROL_BURST = web.AppKey("control_burst", int)  # commands per connection per second
LIMITS = web.AppKey("limits", Limits)
OPERATOR_DEVICES = NO_DEVICES.replace("microphone=()", "microphone=(self)")  # the takeover


def _error(code: str, message: str, id_: Any = None) -> dict[str, Any]:
    return {"id": id_, "ok": False, "error": {"code": code, "message": message}}


def build_app(engine: Host, limits: Limits | None = None) -> web.Application:
    """The app of ``engine``'s first stream; ``limits`` default to ``Limits()``."""
    cfg = engine.primary.cfg
    limits = limits or Limits()
    allowed = frozenset(o.lower().rstrip("/") for o in cfg.control.allowed_origins)
    trusted = trusted_networks(cfg.http.trusted_proxies)
    app = web.Application(
        client_max_size=64 * 1024,
        middlewares=[
            plain_bodies,
            rate_middleware(limits, trusted),
            origin_middleware(allowed, exempt=lambda path: path == "/captions"),
        ],
    )
    app.on_response_prepare.append(add_headers)
    registry = make_registry(engine.snapshots)
    budget = [time.perf_counter()]  # when chat ingest last yielded to the loop
    auth_limiter = AuthLimiter()
    app[AUTH_LIMITER] = auth_limiter
    app[CONTROL_BURST] = COMMAND_BURST
    app[LIMITS] = limits
    sockets = Concurrency(limits.ws_per_address, limits.ws_total)
    chat_buckets = TokenBuckets(limits.chat_rate, limits.chat_burst)
    # The viewer page may be framed by the allowed sites (an embedded player with chat); the
    # dashboard by none (its buttons must not be clickjacked).
    viewer_page = Page(
        WEB_DIR / "viewer.html", {"Permissions-Policy": NO_DEVICES, "X-Frame-Options": "SAMEORIGIN"},
        frame_ancestors=frame_ancestors(allowed),
    )  # fmt: skip
    operator_page = Page(
        WEB_DIR / "operator.html", {"Permissions-Policy": OPERATOR_DEVICES, "X-Frame-Options": "DENY"},
        style_attrs=True,
    )  # fmt: skip

    def peer_of(request: web.Request) -> str:
        return client_address(request, trusted)

    def counted(handler: Handler) -> Handler:
        """Hold one of the address's (and the server's) WebSocket places while ``handler``
        runs a socket; refuse the upgrade (429 / 503) when none is free."""

        async def wrapped(request: web.Request) -> web.StreamResponse:
            if request.method != "GET":
                return await handler(request)
            peer = peer_of(request)
            refused = sockets.acquire(peer)
            if refused is not None:
                full = sockets.count >= sockets.total
                return json_error(503 if full else 429, "rate_limited", refused,
                                  headers={"Retry-After": "5"})  # fmt: skip
            try:
                return await handler(request)
            finally:
                sockets.release(peer)

        return wrapped

    async def index(_: web.Request) -> web.Response:
        return viewer_page.response()

    async def operator(_: web.Request) -> web.Response:
        return operator_page.response()

    async def healthz(_: web.Request) -> web.Response:
        snaps = engine.snapshots()
        return web.json_response({"ok": engine.running, "streams": snaps})

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=exposition(registry), headers={"Content-Type": CONTENT_TYPE})

    def ingest(raw: bytes | str) -> dict[str, Any]:
        try:
            ev, decision = engine.primary.submit_chat(raw)
        except ChatRejected as e:
            return {"ok": False, "error": {"code": e.code, "message": str(e)}}
        return {"ok": True, "trace_id": ev.trace_id, "decision": decision}

    async def chat(request: web.Request) -> web.StreamResponse:
        need = engine.primary.cfg.chat.ws_token
        # Viewers' messages count against their address (the intake's per-user limits do not
        # stop one address posing as many users); a relay holding chat.ws_token speaks for
        # many viewers and is metered per user only.
        metered: str | None = peer_of(request)
        if need:
            given = request.query.get("token") or request.headers.get(
                "Authorization", ""
            ).removeprefix("Bearer ")
            if not _token_ok(given, need):
                return web.json_response(
                    _error("unauthorized", "chat ingest needs a token"), status=401
                )
            metered = None
        if request.method == "POST":
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                return web.json_response(_error("too_large", "message too large"), status=413)
            wait = chat_buckets.take(metered) if metered is not None else 0.0
            if wait:
                return too_many(wait, "chat messages")
            reply = ingest(body)
            return web.json_response(reply, status=200 if reply["ok"] else 400)
        # Frames up to 2 MiB are read and then rejected by size with a reply (the connection
        # stays up); only larger ones make aiohttp close it.
        ws = web.WebSocketResponse(max_msg_size=CHAT_WS_MAX, heartbeat=30)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                wait = chat_buckets.take(metered) if metered is not None else 0.0
                await ws.send_json(ingest(msg.data) if not wait else {"ok": False, "error": {
                    "code": "rate_limited",
                    "message": f"too many chat messages from your address; retry in {wait:.1f} s",
                }})  # fmt: skip
                # Buffered messages are read without suspending: after ~1 ms of chat work
                # (shared by all connections) yield, so a flood cannot hold the AV loop's
                # frame timer back by more than that.
                now = time.perf_counter()
                if now - budget[0] > 0.001:
                    await asyncio.sleep(0)
                    budget[0] = time.perf_counter()
            elif msg.type == WSMsgType.ERROR:
                break
        return ws

    async def captions(request: web.Request) -> web.StreamResponse:
        # No token: viewers get only topic ``caption`` (what the host says, as it airs); what
        # they send is ignored. A slow viewer loses its oldest captions, never slows the stream.
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=CAPTIONS_WS_MAX)
        await ws.prepare(request)
        sub = engine.primary.events.add(maxlen=64)
        sub.subscribe(["caption"])

        async def pump() -> None:
            while not ws.closed and not sub.closed:
                for ev in await sub.wait():
                    ev.pop("dropped", None)
                    await ws.send_str(json.dumps(ev, ensure_ascii=False))

        sender = asyncio.create_task(pump())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            sub.close()
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        return ws

    async def _negotiate(
        request: web.Request, handle: Callable[[str, str], Awaitable[dict]], what: str
    ) -> web.Response:
        """An SDP offer from the request body -> ``handle`` -> the answer, or 400 bad_offer."""
        try:
            # Bytes, not request.json(): a made-up charset in Content-Type must not matter.
            body = json.loads(await request.read())
            sdp, typ = body["sdp"], body["type"]
            if not isinstance(sdp, str) or typ != "offer":
                raise ValueError("need {sdp: string, type: 'offer'}")
        except web.HTTPRequestEntityTooLarge:
            return web.json_response(_error("too_large", "offer too large"), status=413)
        except (ValueError, KeyError, TypeError, RecursionError) as e:
            return web.json_response(_error("bad_offer", f"bad offer: {e}"[:300]), status=400)
        if len(sdp) > limits.max_sdp:
            return web.json_response(
                _error("too_large", f"SDP offers are at most {limits.max_sdp} characters"),
                status=413,
            )
        try:
            answer = await handle(sdp, typ)
        except Exception as e:  # noqa: BLE001 - a broken offer must not hurt the stream
            log.warning("%s failed: %s", what, e)
            return web.json_response(_error("bad_offer", f"could not negotiate: {e}"), status=400)
        return web.json_response(answer)

    async def offer(request: web.Request) -> web.Response:
        hub = engine.primary.webrtc
        if hub is None:
            return web.json_response(
                _error("disabled", "WebRTC output is off in this config"), status=404
            )
        return await _negotiate(request, hub.handle_offer, "WebRTC offer")

    async def takeover(request: web.Request) -> web.Response:
        # Same token and failed-auth limit as /control; checked before the body is read.
        given = request.headers.get("Authorization", "")
        verdict = auth_limiter.check(
            peer_of(request),
            given.removeprefix("Bearer ") if given.startswith("Bearer ") else None,
            engine.token,
        )
        if verdict == "rate_limited":
            return web.json_response(
                _error("rate_limited", "too many failed auth attempts; wait"), status=429
            )
        if verdict != "ok":
            return web.json_response(
                _error("unauthorized", "takeover needs Authorization: Bearer <control token>"),
                status=401,
            )
        return await _negotiate(request, engine.primary.takeover.offer, "takeover offer")

    async def control(request: web.Request) -> web.StreamResponse:
        # aiohttp closes the connection (1009) for frames over twice the limit; frames between
        # the limit and that are read and answered with too_large, the connection stays up.
        ws = web.WebSocketResponse(max_msg_size=CONTROL_WS_MAX, heartbeat=30)
        await ws.prepare(request)
        peer = peer_of(request)
        session = ControlSession(
            engine.primary.controls,
            lambda token: auth_limiter.check(peer, token, engine.token),
            burst=app[CONTROL_BURST],
        )
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            session.authed = (
                auth_limiter.check(peer, header.removeprefix("Bearer "), engine.token) == "ok"
            )
        sender: asyncio.Task[None] | None = None
        lock = asyncio.Lock()  # replies and events share the socket

        async def send(obj: dict[str, Any]) -> None:
            try:
                text = json.dumps(obj, ensure_ascii=False, allow_nan=False)
                text.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate echoed from the client's message
                text = json.dumps(obj, allow_nan=False)
            except (TypeError, ValueError) as e:  # a bug, not the client's: say so, go on
                log.error("control reply not JSON (%s): %r", e, obj)
                text = json.dumps(error_reply("internal", f"reply not JSON: {e}", obj.get("id")))
            async with lock:
                await ws.send_str(text)

        async def pump() -> None:
            sub = session.subscription
            assert sub is not None
            while not ws.closed and not sub.closed:
                for ev in await sub.wait():
                    await send(ev)

        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await send(session.handle_text(msg.data))
                    if sender is None and session.subscription is not None:
                        sender = asyncio.create_task(pump())
                elif msg.type == WSMsgType.BINARY:
                    code = "too_large" if len(msg.data) > MAX_CONTROL_FRAME else "bad_frame"
                    await send(error_reply(code, "control frames are JSON text"))
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            session.close()
            if sender is not None:
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
        return ws

    app.router.add_get("/", index)
    app.router.add_get("/operator", operator)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_route("*", "/chat", counted(chat))
    app.router.add_get("/captions", counted(captions))
    app.router.add_post("/offer", offer)
    app.router.add_post("/takeover", takeover)
    app.router.add_get("/control", counted(control))
    app.router.add_static("/static", WEB_DIR)
    return app


class AuthLimiter:
    """Failed control auth attempts per remote address: more than ``limit`` failures within
    ``window_s`` (wall time) and every attempt from there is refused (``rate_limited``, the
    token is not even compared) until the oldest failure leaves the window."""

    def __init__(self, limit: int = AUTH_FAILURES, window_s: float = AUTH_WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._fails: dict[str, deque[float]] = {}

    def check(self, peer: str, token: Any, expected: str) -> str:
        now = time.monotonic()
        q = self._fails.get(peer)
        if q is not None:
            while q and now - q[0] >= self.window_s:
                q.popleft()
            if not q:
                del self._fails[peer]
                q = None
        if q is not None and len(q) >= self.limit:
            return "rate_limited"
        if _token_ok(token, expected):
            return "ok"
        if len(self._fails) > 10_000:  # bounded: forget the oldest address
            self._fails.pop(next(iter(self._fails)))
        self._fails.setdefault(peer, deque()).append(now)
        return "bad"


def _token_ok(given: Any, expected: str) -> bool:
    if not isinstance(given, str) or not expected:
        return False
    # surrogatepass: a header's undecodable bytes (aiohttp keeps them as surrogate escapes) or a
    # JSON "\ud800" must compare unequal, not raise (that was a 500 on /takeover).
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
