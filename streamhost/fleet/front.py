"""The fleet's one HTTP front: operator index, fleet API, one /metrics, per-stream proxy.

Routes: ``/`` operator index (every stream, its node and health, a link to its dashboard;
operator token), ``/api/status``, ``POST /api/streams`` (add), ``DELETE /api/streams/{name}``,
``POST /api/streams/{name}/restart``, ``POST /api/down`` (operator token, Bearer or
``?token=``), ``/metrics`` (every stream's families, labelled ``stream``, plus fleet families),
``/sd.json`` (Prometheus HTTP service discovery: each stream's own /metrics), ``/healthz``, and
``/s/{name}/...``: that stream's own HTTP app (dashboard, ``/control`` WebSocket, viewer, chat)
proxied, so one address reaches every stream. The proxy forwards the caller's Authorization:
each stream checks its own control token, handed out on the index page.

The front applies what a stream's own app does (``control/security.py``, ``control/limits.py``):
per-address limits, the ``Origin`` check on POSTs and WebSocket upgrades (here, since the proxy
does not pass ``Origin`` on), failed-token limits, and the security headers; a stream's pages
keep their own CSP (its nonce) through the proxy. The proxy tells the stream who the client is
in ``X-Forwarded-For`` (a stream whose ``http.trusted_proxies`` names the front counts it).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, WSMsgType, web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ..control.http import AuthLimiter
from ..control.limits import Limits, rate_middleware
from ..control.security import (
    STRICT_CSP,
    add_headers,
    client_address,
    json_error,
    origin_middleware,
    plain_bodies,
    redact,
    trusted_networks,
)
from ..metrics import CONTENT_TYPE, make_registry
from ..problems import ConfigError
from .config import parse_stream
from .manager import Fleet

FLEET: web.AppKey[Fleet] = web.AppKey("fleet", Fleet)
SESSION: web.AppKey[ClientSession] = web.AppKey("session", ClientSession)
ON_DOWN: web.AppKey[Callable[[], None]] = web.AppKey("on_down")
# Absolute paths in a stream's pages, re-rooted under /s/<name>/ when served through the front.
_ABS = re.compile(rb"""(['"])/(control|offer|takeover|chat|metrics|healthz|static)\b""")
HOP_HEADERS = ("authorization", "content-type", "accept")
# A stream's answer keeps these (its page's CSP names the nonce in that very page).
KEPT_HEADERS = ("Content-Security-Policy", "Permissions-Policy", "X-Frame-Options",
                "Cache-Control", "Retry-After")  # fmt: skip
TRUSTED = web.AppKey("trusted", tuple)
INDEX_STYLE = "body{font-family:sans-serif}td,th{padding:4px 10px;text-align:left}"
# The index runs no script; its one inline style is allowed by its hash.
INDEX_CSP = STRICT_CSP.replace("default-src 'none'", "default-src 'none'; style-src 'sha256-"
    + base64.b64encode(hashlib.sha256(INDEX_STYLE.encode()).digest()).decode() + "'")  # fmt: skip


class FleetCollector(Collector):
    """Status rows in (``Fleet.status()``); fleet families out: up, restarts, placement."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    def collect(self) -> Iterable[Any]:
        up = GaugeMetricFamily("streamhost_fleet_stream_up", "1 while the stream's actor runs",
                               labels=["stream", "node"])  # fmt: skip
        restarts = CounterMetricFamily("streamhost_fleet_restarts",
                                       "stream actor restarts seen by the fleet", labels=["stream"])  # fmt: skip
        cpus = GaugeMetricFamily("streamhost_fleet_cpus", "CPU share reserved", labels=["stream"])
        gpus = GaugeMetricFamily("streamhost_fleet_gpus", "GPU share reserved", labels=["stream"])
        for r in self._rows:
            up.add_metric(
                [r["name"], r.get("node_ip") or ""], 1.0 if r["state"] == "running" else 0.0
            )
            restarts.add_metric([r["name"]], float(r["restarts"]))
            cpus.add_metric([r["name"]], float(r["cpus"]))
            gpus.add_metric([r["name"]], float(r["gpus"]))
        yield from (up, restarts, cpus, gpus)


def _given(request: web.Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ") or request.query.get(
        "token", ""
    )


def build_front(
    fleet: Fleet,
    token: str,
    on_down: Callable[[], None],
    limits: Limits | None = None,
    allowed_origins: Iterable[str] = (),
    trusted_proxies: Iterable[str] = (),
) -> web.Application:
    """The front of ``fleet``; ``token`` guards the index and the API; ``on_down`` ends the
    ``fleet up`` process after ``POST /api/down``. ``limits``, ``allowed_origins`` and
    ``trusted_proxies`` mean what they mean for a stream's app."""
    allowed = frozenset(o.lower().rstrip("/") for o in allowed_origins)
    trusted = trusted_networks(trusted_proxies)
    app = web.Application(
        client_max_size=256 * 1024,
        middlewares=[
            plain_bodies,
            rate_middleware(limits or Limits(), trusted),
            origin_middleware(allowed, exempt=lambda path: path.endswith("/captions")),
        ],
    )
    app.on_response_prepare.append(add_headers)
    app[FLEET] = fleet
    app[ON_DOWN] = on_down
    app[TRUSTED] = trusted
    auth_limiter = AuthLimiter()

    async def session_ctx(app: web.Application) -> Any:
        app[SESSION] = ClientSession(timeout=ClientTimeout(total=None, sock_connect=5))
        yield
        await app[SESSION].close()

    app.cleanup_ctx.append(session_ctx)

    def guard(handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            verdict = auth_limiter.check(client_address(request, trusted), _given(request), token)
            if verdict == "rate_limited":
                return json_error(429, "rate_limited", "too many failed auth attempts; wait",
                                  headers={"Retry-After": "60"})  # fmt: skip
            if verdict != "ok":
                return json_error(401, "unauthorized", "the fleet operator token is needed")
            return await handler(request)

        return wrapped

    async def index(request: web.Request) -> web.Response:
        # no-store: the page holds every stream's control token.
        return web.Response(text=index_page(fleet.status(), fleet), content_type="text/html",
                            headers={"Content-Security-Policy": INDEX_CSP,
                                     "Cache-Control": "no-store"})  # fmt: skip

    async def api_status(_: web.Request) -> web.Response:
        return web.json_response({"ok": True, "streams": fleet.status()})

    async def api_add(request: web.Request) -> web.Response:
        try:
            table = await request.json()
        except ValueError:
            return web.json_response({"ok": False, "error": {"code": "bad_json"}}, status=400)
        problems: list[str] = []
        spec = parse_stream(table, "stream", None, problems)
        if spec is None or spec.name in fleet.members:
            problems = problems or [f"stream {spec.name!r} is already in the fleet"]  # type: ignore[union-attr]
            return web.json_response({"ok": False, "error": {"code": "bad_stream",
                                      "message": "; ".join(problems)}}, status=400)  # fmt: skip
        try:
            fleet.add(spec)
        except (ConfigError, ValueError) as e:
            return web.json_response({"ok": False, "error": {"code": "bad_stream",
                                      "message": str(e)}}, status=400)  # fmt: skip
        return web.json_response({"ok": True, "name": spec.name})

    def _member(request: web.Request) -> str | None:
        name = request.match_info["name"]
        return name if name in fleet.members else None

    async def api_remove(request: web.Request) -> web.Response:
        name = _member(request)
        if name is None:
            return web.json_response({"ok": False, "error": {"code": "no_stream"}}, status=404)
        return web.json_response({"ok": True, "final": await fleet.remove(name)})

    async def api_restart(request: web.Request) -> web.Response:
        name = _member(request)
        if name is None:
            return web.json_response({"ok": False, "error": {"code": "no_stream"}}, status=404)
        fleet.restart(name)
        return web.json_response({"ok": True, "name": name})

    async def api_down(_: web.Request) -> web.Response:
        asyncio.get_running_loop().call_soon(app[ON_DOWN])
        return web.json_response({"ok": True})

    async def metrics(_: web.Request) -> web.Response:
        snaps = await fleet.snapshots()
        reg = CollectorRegistry(auto_describe=False)
        reg.register(FleetCollector(fleet.status()))
        body = generate_latest(make_registry(lambda: snaps)) + generate_latest(reg)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    async def sd(_: web.Request) -> web.Response:
        groups = [{"targets": [r["url"].removeprefix("http://")],
                   "labels": {"stream": r["name"], "node": r.get("node_ip") or ""}}
                  for r in fleet.status() if r.get("url")]  # fmt: skip
        return web.json_response(groups)

    async def healthz(_: web.Request) -> web.Response:
        rows = fleet.status()
        return web.json_response({"ok": all(r["state"] == "running" for r in rows),
                                  "streams": {r["name"]: r["state"] for r in rows}})  # fmt: skip

    app.router.add_get("/", guard(index))
    app.router.add_get("/api/status", guard(api_status))
    app.router.add_post("/api/streams", guard(api_add))
    app.router.add_delete("/api/streams/{name}", guard(api_remove))
    app.router.add_post("/api/streams/{name}/restart", guard(api_restart))
    app.router.add_post("/api/down", guard(api_down))
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/sd.json", sd)
    app.router.add_get("/healthz", healthz)
    app.router.add_route("*", "/s/{name}/{tail:.*}", proxy)
    return app


async def proxy(request: web.Request) -> web.StreamResponse:
    """``/s/{name}/{tail}`` -> the stream's own app at ``{url}/{tail}`` (WebSocket or HTTP)."""
    fleet = request.app[FLEET]
    name, tail = request.match_info["name"], request.match_info["tail"]
    m = fleet.members.get(name)
    url = m.status.get("url") if m is not None and m.status.get("state") == "running" else None
    if url is None:
        return web.json_response({"ok": False, "error": {"code": "unavailable",
                                  "message": f"stream {name!r} is not running"}}, status=503)  # fmt: skip
    target = f"{url}/{tail}"
    headers = {k: v for k, v in request.headers.items() if k.lower() in HOP_HEADERS}
    # Replaced, not appended: what the client claims about itself is not passed on.
    headers["X-Forwarded-For"] = client_address(request, request.app[TRUSTED])
    session = request.app[SESSION]
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _proxy_ws(request, session, target.replace("http://", "ws://", 1), headers)
    body = await request.read()
    try:
        async with session.request(request.method, target, params=request.query,
                                   data=body or None, headers=headers,
                                   timeout=ClientTimeout(total=30)) as r:  # fmt: skip
            data = await r.read()
            kept = {k: r.headers[k] for k in KEPT_HEADERS if k in r.headers}
            status, content_type = r.status, r.content_type
    except (ClientError, TimeoutError, ValueError) as e:
        # The stream went away or timed out: a 502 that says so, never a 500 of the front.
        return json_error(502, "unavailable", redact(f"stream {name!r}: {type(e).__name__}: {e}"))
    if content_type == "text/html":
        data = _ABS.sub(rb"\1/s/" + name.encode() + rb"/\2", data)
    return web.Response(body=data, status=status, content_type=content_type, headers=kept)


async def _proxy_ws(request: web.Request, session: ClientSession, target: str,
                    headers: dict[str, str]) -> web.WebSocketResponse:  # fmt: skip
    ws = web.WebSocketResponse(max_msg_size=4 * 1024 * 1024, heartbeat=30)
    await ws.prepare(request)
    try:
        up = await session.ws_connect(target, headers=headers, params=request.query,
                                      max_msg_size=4 * 1024 * 1024)  # fmt: skip
    except Exception as e:  # noqa: BLE001 - the stream went away: tell the operator and close
        # A refused handshake's message carries the URL, query (a ?token=) and all: redacted.
        await ws.send_str(json.dumps({"ok": False, "error": {"code": "unavailable",
                                                             "message": redact(str(e))}}))  # fmt: skip
        await ws.close()
        return ws

    async def pump(src: Any, dst: Any) -> None:
        async for msg in src:
            if msg.type == WSMsgType.TEXT:
                await dst.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await dst.send_bytes(msg.data)
            else:
                break

    tasks = [asyncio.create_task(pump(ws, up)), asyncio.create_task(pump(up, ws))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await up.close()
        await ws.close()
    return ws


def index_page(rows: list[dict[str, Any]], fleet: Fleet) -> str:
    """The operator index: one row per stream, its dashboard link carrying its own token."""

    def cell(v: Any) -> str:
        return f"<td>{html.escape(str(v))}</td>"

    body = []
    for r in rows:
        n = r["name"]
        link = f"/s/{n}/operator#token={fleet.token_of(n)}"
        alerts = r.get("alerts") or []
        last = alerts[-1]["kind"] if alerts else ""
        body.append("<tr>" + f'<td><a href="{html.escape(link)}">{html.escape(n)}</a></td>'
                    + "".join(cell(r.get(k, "")) for k in ("state", "node_ip", "frames",
                                                           "media_time", "restarts"))
                    + cell(f"{len(alerts)} {last}".strip()) + "</tr>")  # fmt: skip
    return (
        "<!doctype html><html><head><meta charset=utf-8><meta http-equiv=refresh content=5>"
        f"<title>streamhost fleet</title><style>{INDEX_STYLE}</style></head><body><h1>streamhost fleet</h1><table><tr><th>stream</th>"
        "<th>state</th><th>node</th><th>frames</th><th>media s</th><th>restarts</th>"
        "<th>alerts</th></tr>" + "".join(body) + "</table></body></html>"
    )
