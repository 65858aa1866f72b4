"""A private headless Chromium on one of the engine's pages, driven over the DevTools protocol.

Usage::

    binary = require_chromium()          # before starting an engine: skip / fail early
    async with chromium_page(binary, base + "/operator#token=t", tmp_path) as (cdp, browser):
        await cdp.until("!!window.operator && operator.authed", 20, "auth")

Each browser gets its own profile under the test's tmp_path, autoplays without a user gesture
and offers real loopback ICE candidates. Its stdout/stderr go to ``chromium.log`` in the
profile; ``browser.tail()`` puts the end of it in an assertion message.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from nginx_rtmp import free_port
from support import unavailable

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--autoplay-policy=no-user-gesture-required",
    # Real loopback candidates instead of mDNS .local names: nothing to resolve.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1100,900",
)


def fake_microphone(wav: Path) -> tuple[str, ...]:
    """Flags for a fake microphone that plays ``wav`` (looped), its permission prompt accepted."""
    return (
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
    )


def find_chromium() -> str | None:
    for cand in CHROMIUM_CANDIDATES:
        if os.access(cand, os.X_OK):
            return cand
    return shutil.which("chromium")


def require_chromium() -> str:
    """The Chromium binary; skips the test without one (fails it under ``CI=true``)."""
    binary = find_chromium()
    if binary is None:
        unavailable("chromium")
    return binary


class Chromium:
    """A private headless Chromium with the DevTools protocol on a free loopback port."""

    def __init__(self, binary: str, profile: Path, extra_flags: Sequence[str] = ()) -> None:
        self.binary = binary
        self.profile = profile
        self.extra_flags = tuple(extra_flags)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = profile / "chromium.log"

    def start(self, url: str) -> None:
        self.profile.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    *FLAGS,
                    *self.extra_flags,
                    f"--user-data-dir={self.profile}",
                    f"--remote-debugging-port={self.port}",
                    url,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def page_ws_url(self, http: aiohttp.ClientSession, url: str, timeout: float) -> str:
        """The DevTools WebSocket of the page whose URL starts with ``url``."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None and self.proc.poll() is None, self.tail()
            try:
                async with http.get(f"http://127.0.0.1:{self.port}/json") as r:
                    for t in await r.json(content_type=None):
                        if t.get("type") == "page" and t.get("url", "").startswith(url):
                            return t["webSocketDebuggerUrl"]
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"no DevTools page for {url}: {self.tail()}")
            await asyncio.sleep(0.1)

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


class Cdp:
    """Minimal DevTools protocol client: one request at a time, events ignored."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        mid = self.next_id
        await self.ws.send_json({"id": mid, "method": method, "params": params})
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), 20)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"DevTools socket closed: {msg}")
            data = json.loads(msg.data)
            if data.get("id") == mid:
                if "error" in data:
                    raise AssertionError(f"{method}: {data['error']}")
                return data["result"]

    async def js(self, expression: str) -> Any:
        res = await self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in res:
            raise AssertionError(f"JS failed: {expression[:80]}: {res['exceptionDetails']}")
        return res["result"].get("value")

    async def until(self, expr: str, timeout: float, what: str) -> Any:
        """Evaluate ``expr`` until it is truthy; returns that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.js(expr)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def chromium_page(
    binary: str, url: str, tmp_path: Path, extra_flags: Sequence[str] = (), timeout: float = 20
) -> AsyncIterator[tuple[Cdp, Chromium]]:
    """Open ``url`` in a fresh browser and yield a DevTools client on that page (Runtime
    enabled) with the browser; the browser is stopped on exit."""
    browser = Chromium(
        binary, Path(tempfile.mkdtemp(prefix="chromium-", dir=tmp_path)), extra_flags
    )
    browser.start(url)
    try:
        async with aiohttp.ClientSession() as http:
            # the fragment (e.g. #token=...) is the page's own business, not part of the match
            ws_url = await browser.page_ws_url(http, url.split("#", 1)[0], timeout)
            async with http.ws_connect(ws_url, max_msg_size=0) as ws:
                cdp = Cdp(ws)
                await cdp.call("Runtime.enable")
                yield cdp, browser
    finally:
        browser.stop()
