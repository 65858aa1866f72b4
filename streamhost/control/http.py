"""The one HTTP port of a process: viewer page, chat ingest, WebRTC signaling, metrics, control.

Routes: ``/`` viewer page, ``/chat`` (WebSocket, or POST one JSON object), ``/offer`` (WebRTC
SDP offer -> answer), ``/healthz``, ``/metrics`` (Prometheus text), ``/control`` (operator
WebSocket, token required). The first stream of the process serves them.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from ..chat.intake import ChatRejected
from ..metrics import CONTENT_TYPE, exposition, make_registry

if TYPE_CHECKING:
    from ..engine import Engine

log = logging.getLogger("streamhost.http")
WEB_DIR = Path(__file__).resolve().parents[2] / "assets" / "web"
MAX_CONTROL_FRAME = 64 * 1024


def _error(code: str, message: str, id_: Any = None) -> dict[str, Any]:
    return {"id": id_, "ok": False, "error": {"code": code, "message": message}}


def build_app(engine: Engine) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    registry = make_registry(engine.snapshots)
    budget = [time.perf_counter()]  # when chat ingest last yielded to the loop

    async def index(_: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_DIR / "viewer.html")

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
        if need:
            given = request.query.get("token") or request.headers.get(
                "Authorization", ""
            ).removeprefix("Bearer ")
            if not _token_ok(given, need):
                return web.json_response(
                    _error("unauthorized", "chat ingest needs a token"), status=401
                )
        if request.method == "POST":
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                return web.json_response(_error("too_large", "message too large"), status=413)
            reply = ingest(body)
            return web.json_response(reply, status=200 if reply["ok"] else 400)
        # Frames up to 2 MiB are read and then rejected by size with a reply (the connection
        # stays up); only larger ones make aiohttp close it.
        ws = web.WebSocketResponse(max_msg_size=2 * 1024 * 1024, heartbeat=30)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                await ws.send_json(ingest(msg.data))
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

    async def offer(request: web.Request) -> web.Response:
        hub = engine.primary.webrtc
        if hub is None:
            return web.json_response(
                _error("disabled", "WebRTC output is off in this config"), status=404
            )
        try:
            body = await request.json()
            sdp, typ = body["sdp"], body["type"]
            if not isinstance(sdp, str) or typ != "offer":
                raise ValueError("need {sdp: string, type: 'offer'}")
        except (ValueError, KeyError, TypeError) as e:
            return web.json_response(_error("bad_offer", f"bad offer: {e}"), status=400)
        try:
            answer = await hub.handle_offer(sdp, typ)
        except Exception as e:  # noqa: BLE001 - a broken offer must not hurt the stream
            log.warning("WebRTC offer failed: %s", e)
            return web.json_response(_error("bad_offer", f"could not negotiate: {e}"), status=400)
        return web.json_response(answer)

    async def control(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=MAX_CONTROL_FRAME, heartbeat=30)
        await ws.prepare(request)
        authed = _token_ok(
            request.headers.get("Authorization", "").removeprefix("Bearer "), engine.token
        )
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                await ws.send_json(_error("bad_frame", "control frames are JSON text"))
                continue
            try:
                obj = json.loads(msg.data)
                if not isinstance(obj, dict):
                    raise ValueError("not an object")
            except ValueError:
                await ws.send_json(_error("bad_json", "a control message is one JSON object"))
                continue
            if not authed:
                if obj.get("type") == "auth" and _token_ok(obj.get("token"), engine.token):
                    authed = True
                    await ws.send_json({"id": obj.get("id"), "ok": True})
                else:
                    await ws.send_json(
                        _error("unauthorized", "send {type: auth, token} first", obj.get("id"))
                    )
                continue
            await ws.send_json(engine.primary.command(obj, actor="control"))
        return ws

    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_route("*", "/chat", chat)
    app.router.add_post("/offer", offer)
    app.router.add_get("/control", control)
    app.router.add_static("/static", WEB_DIR)
    return app


def _token_ok(given: Any, expected: str) -> bool:
    if not isinstance(given, str) or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
