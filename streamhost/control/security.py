"""What every HTTP endpoint shares for safety: who the client is, where its page came from,
the security headers, the pages' Content-Security-Policy nonces, and keeping tokens out of logs.

In: requests (their peer, ``X-Forwarded-For`` from a trusted proxy, ``Origin``, ``Host``);
out: the client address the limits key on, a refusal reason (403) for a cross-site browser
request, headers on every response, and redacted text for anything that is logged or audited.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

log = logging.getLogger("streamhost.http")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# Pages carry no secrets in their URLs (tokens travel in the fragment), but links out of them
# must not tell other sites where the operator was.
BASE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
# Any HTML without a policy of its own (error pages, the fleet index) runs nothing.
STRICT_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
NO_DEVICES = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def json_error(status: int, code: str, message: str, **kw: Any) -> web.Response:
    return web.json_response(
        {"id": None, "ok": False, "error": {"code": code, "message": message}}, status=status, **kw
    )


# ---- who is asking ----
def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``http.trusted_proxies`` entries (addresses or CIDR ranges) as networks."""
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries)


def _in(addr: str, nets: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(addr.strip())
    except ValueError:
        return False
    return any(ip in n for n in nets)


def client_address(request: web.Request, trusted: Any = ()) -> str:
    """The address the limits key on: the peer, or, when the peer is a trusted reverse proxy,
    the nearest ``X-Forwarded-For`` hop that is not one (a client can prepend anything to that
    header, so only what our own proxies appended counts)."""
    peer = request.remote or "?"
    if not trusted or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop[:64]
    return hops[0][:64] if hops else peer


# ---- where the page came from ----
def _netloc(scheme: str, hostport: str) -> str:
    hostport = hostport.strip().lower()
    port = _DEFAULT_PORTS.get(scheme)
    if port and hostport.endswith(":" + port) and not hostport.endswith("]"):
        hostport = hostport[: -len(port) - 1]
    return hostport


def origin_refusal(request: web.Request, allowed: frozenset[str]) -> str | None:
    """Why a browser request may not act here, or None. No ``Origin`` (a non-browser client),
    the page's own site (``Origin`` host:port = ``Host``; the scheme is not compared, a TLS
    proxy in front changes it) and ``allowed`` origins pass."""
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    shown = origin[:100]
    o = origin.strip().lower().rstrip("/")
    if o in allowed:
        return None
    try:
        parts = urlsplit(o)
        host = request.host
    except ValueError:
        return f"Origin {shown!r} is not a site"
    if parts.scheme in _DEFAULT_PORTS and parts.netloc and not parts.path:
        if _netloc(parts.scheme, parts.netloc) == _netloc(parts.scheme, host):
            return None
    return (
        f"Origin {shown!r} is neither this site ({host[:100]!r}) nor in control.allowed_origins; "
        "a page on another site may not use this endpoint"
    )


def origin_middleware(
    allowed: frozenset[str], exempt: Callable[[str], bool] = lambda _: False
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """403 for a state-changing request (any method but GET/HEAD/OPTIONS) or a WebSocket upgrade
    that a page on another site sent; ``exempt(path)`` names endpoints open to every site."""

    @web.middleware
    async def check(request: web.Request, handler: Callable[..., Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:  # fmt: skip
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if (upgrade or request.method not in _SAFE_METHODS) and not exempt(request.path):
            why = origin_refusal(request, allowed)
            if why is not None:
                log.info("refused %s %r: %s", request.method, request.path[:100], why)
                return json_error(403, "forbidden_origin", why)
        return await handler(request)

    return check


@web.middleware
async def plain_bodies(
    request: web.Request, handler: Callable[..., Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """415 for a compressed request body (no endpoint takes one), then the connection closed.
    aiohttp drains an unread body after the answer and logs a body that fails to decompress as
    an unhandled exception; answering here and closing at once leaves nothing to drain."""
    if request.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        resp = json_error(415, "bad_encoding", "request bodies are not compressed here")
        resp.force_close()
        await resp.prepare(request)
        await resp.write_eof()
        request.protocol.force_close()  # the answer is written: close flushes it first
        return resp
    return await handler(request)


# ---- headers ----
async def add_headers(_: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the base headers on everything, and on HTML that did not bring a
    policy of its own the strict one (no scripts, no framing, no devices)."""
    for k, v in BASE_HEADERS.items():
        response.headers.setdefault(k, v)
    if response.content_type == "text/html":
        response.headers.setdefault("Content-Security-Policy", STRICT_CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Permissions-Policy", NO_DEVICES)


def page_policy(nonce: str, frame_ancestors: str = "'none'", style_attrs: bool = False) -> str:
    """The CSP of a page with nonce-marked inline ``<script>``/``<style>`` and its own scripts
    under /static. ``style_attrs``: the page's markup has ``style="..."`` attributes (CSS only,
    no script: the one inline thing a nonce cannot mark)."""
    return "; ".join([
        "default-src 'none'",
        f"script-src 'self' 'nonce-{nonce}'",
        f"style-src 'self' 'nonce-{nonce}'",
        *(["style-src-attr 'unsafe-inline'"] if style_attrs else []),
        "connect-src 'self'",  # fetch /offer, /takeover and the WebSockets (CSP3: ws: too)
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "base-uri 'none'",
        "form-action 'none'",  # every form is handled by script; none may post elsewhere
        f"frame-ancestors {frame_ancestors}",
    ])  # fmt: skip


class Page:
    """One HTML file served with a fresh nonce per response: ``<script>`` and ``<style>`` get
    ``nonce=``, the CSP names it. The file is re-read when it changes (edits show at once)."""

    def __init__(self, path: Path, headers: Mapping[str, str], style_attrs: bool = False,
                 frame_ancestors: str = "'none'") -> None:  # fmt: skip
        self.path = path
        self.headers = dict(headers)
        self.style_attrs = style_attrs
        self.frame_ancestors = frame_ancestors
        self._cached: tuple[float, str] | None = None

    def _text(self) -> str:
        mtime = self.path.stat().st_mtime
        if self._cached is None or self._cached[0] != mtime:
            self._cached = (mtime, self.path.read_text(encoding="utf-8"))
        return self._cached[1]

    def response(self) -> web.Response:
        nonce = secrets.token_urlsafe(18)
        text = self._text().replace("<script>", f'<script nonce="{nonce}">')
        text = text.replace("<style>", f'<style nonce="{nonce}">')
        csp = page_policy(nonce, self.frame_ancestors, self.style_attrs)
        return web.Response(
            text=text, content_type="text/html", charset="utf-8",
            headers={**self.headers, "Content-Security-Policy": csp, "Cache-Control": "no-cache"},
        )  # fmt: skip


def frame_ancestors(allowed: Iterable[str]) -> str:
    return " ".join(["'self'", *sorted(allowed)])


# ---- tokens out of logs ----
_QUERY_TOKEN = re.compile(r"((?:^|[?&;])(?:token|key|auth)=)[^&;#\s'\"]*", re.IGNORECASE)
SECRET_NAMES = ("token", "authorization", "key", "password", "secret")


def redact(text: str) -> str:
    """``text`` (a URL, an error message) with the values of token-like query parameters
    replaced by ``***``."""
    return _QUERY_TOKEN.sub(r"\1***", text)


def no_surrogates(text: str) -> str:
    """``text`` with lone surrogates (JSON ``"\\ud800"``, undecodable header bytes) written
    as ``\\ud800``: SQLite and UTF-8 sockets refuse them."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def redact_args(args: Any) -> Any:
    """Command arguments for the audit log: the values of secret-named fields (``token``, a
    voice's ``api_key``, at any depth) replaced by ``***``, lone surrogates escaped."""
    if isinstance(args, dict):
        return {
            no_surrogates(str(k)): "***"
            if any(n in str(k).lower() for n in SECRET_NAMES)
            else redact_args(v)
            for k, v in args.items()
        }
    if isinstance(args, list):
        return [redact_args(v) for v in args]
    return no_surrogates(args) if isinstance(args, str) else args


class RedactingAccessLogger(AbstractAccessLogger):
    """An access log without query strings' tokens or any ``Authorization``: pass it as
    ``web.AppRunner(app, access_log_class=RedactingAccessLogger)`` to log requests at all
    (the engine's own runners keep no access log)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %s %.3fs', request.remote, request.method,
            redact(request.path_qs)[:300], response.status, time,
        )  # fmt: skip
