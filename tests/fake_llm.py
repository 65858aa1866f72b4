"""A scripted OpenAI-compatible streaming chat-completions server on 127.0.0.1, for tests.

It speaks the real wire format: ``POST /v1/chat/completions`` answered with
``Content-Type: text/event-stream`` and ``data: {chat.completion.chunk json}\\n\\n`` events
(first a role-only delta, then one content delta per token, then a ``finish_reason`` chunk
and ``data: [DONE]``). A `Script` sets time to first token, token rate, the text (or a
function of the request body) and an error mode; every request is recorded (`Record`:
body, headers, when tokens went out, whether and when the client disconnected).

Timing runs on the `sleep` coroutine function given to the server (default `asyncio.sleep`,
real time). For deterministic tests pass a VirtualClock's ``clock.sleep``: the server
handler runs in the test's own event loop, so its sleeps wait on the virtual clock and the
test moves time with `drive_virtual_clock` (advance in small steps; between steps wait until
the clock is idle and give loopback I/O a real moment to be delivered, since bytes in a
socket are work the clock cannot see). Disconnect times are always real `time.monotonic()`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ERROR_MODES = (None, "http500", "malformed", "stall", "no_done", "error_event", "close")


@dataclass
class Script:
    """What the fake answers. `text` may be a function of the request body.

    error: None, "http500" (status 500 with a JSON error), "malformed" (a broken JSON chunk
    after `error_after` tokens), "stall" (stop sending after `error_after` tokens, keep the
    connection open), "no_done" (end the body without [DONE] or finish_reason),
    "error_event" (a ``data: {"error": ...}`` chunk), "close" (drop the connection).
    """

    text: str | Callable[[dict[str, Any]], str] = "Hello and welcome. This is a test."
    ttft: float = 0.02
    tokens_per_s: float = 200.0
    tokens: list[str] | None = None
    error: str | None = None
    error_after: int = 0

    def __post_init__(self) -> None:
        if self.error not in ERROR_MODES:
            raise ValueError(f"error must be one of {ERROR_MODES}, got {self.error!r}")


@dataclass
class Record:
    """One request as the server saw it (times are real monotonic seconds)."""

    body: dict[str, Any]
    headers: dict[str, str]
    started: float
    token_times: list[float] = field(default_factory=list)
    media_token_times: list[float] = field(default_factory=list)
    done: bool = False
    disconnected_at: float | None = None
    disconnected_media: float | None = None  # `now()` (e.g. media time) at the disconnect

    @property
    def tokens_sent(self) -> int:
        return len(self.token_times)


_TOKEN_RE = re.compile(
    r"\s*[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]|\s*[^\s\u3400-\u9fff\u3000-\u303f\uff00-\uffef]{1,6}"
)


def tokenize(text: str) -> list[str]:
    """Split like a BPE model roughly would: CJK one char per token, Latin pieces of <= 6
    chars with their leading space (so numbers like "39.90" arrive split across tokens)."""
    return _TOKEN_RE.findall(text)


class FakeLlmServer:
    """Start with ``async with FakeLlmServer(script) as srv`` -> srv.base_url.

    `script` may be changed between requests; `scripts` (a list) is consumed first, one per
    request. `records` lists every request. `sleep` paces the stream (see module doc);
    `now` gives the media time stored in `Record.media_token_times` (e.g. ``clock.now``).
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], float] = time.monotonic,
        model_name: str = "fake-model",
    ) -> None:
        self.script = script or Script()
        self.scripts: list[Script] = []
        self.sleep = sleep
        self.now = now
        self.model_name = model_name
        self.records: list[Record] = []
        self.disconnected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> FakeLlmServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        # handler_cancellation: aiohttp cancels the handler when the client's connection is
        # lost, which is exactly the moment we want to record.
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        obj = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model_name,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        rec = Record(body=body, headers=dict(request.headers), started=time.monotonic())
        self.records.append(rec)
        script = self.scripts.pop(0) if self.scripts else self.script
        if script.error == "http500":
            return web.json_response(
                {"error": {"message": "fake internal error", "type": "server_error"}}, status=500
            )
        text = script.text(body) if callable(script.text) else script.text
        tokens = script.tokens if script.tokens is not None else tokenize(text)
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        try:
            await resp.prepare(request)
            await resp.write(self._chunk({"role": "assistant", "content": ""}))
            await self.sleep(script.ttft)
            gap = 1.0 / script.tokens_per_s
            for i, tok in enumerate(tokens):
                if script.error and i == script.error_after:
                    if script.error == "malformed":
                        await resp.write(b'data: {"choices": [{"delta": {"content": "oops"\n\n')
                    elif script.error == "error_event":
                        await resp.write(b'data: {"error": {"message": "model overloaded"}}\n\n')
                    elif script.error == "stall":
                        await asyncio.Event().wait()  # until the client goes away
                    elif script.error == "close":
                        request.transport.close()  # type: ignore[union-attr]
                        return resp
                    elif script.error == "no_done":
                        return resp
                if i:
                    await self.sleep(gap)
                await resp.write(self._chunk({"content": tok}))
                rec.token_times.append(time.monotonic())
                rec.media_token_times.append(self.now())
            if script.error == "no_done":
                return resp
            await resp.write(self._chunk({}, "stop"))
            await resp.write(b"data: [DONE]\n\n")
            rec.done = True
            await resp.write_eof()
        except (asyncio.CancelledError, ConnectionResetError):
            rec.disconnected_at = time.monotonic()
            rec.disconnected_media = self.now()
            self.disconnected.set()
            raise
        return resp


async def drive_virtual_clock(
    clock: Any, until: Callable[[], bool], step: float = 0.005, settle: float = 0.002,
    limit: float = 30.0,
) -> None:  # fmt: skip
    """Advance `clock` (a VirtualClock) in steps of at most `step` (landing exactly on the
    next sleeper's deadline) until `until()` is true or `limit` media
    seconds passed. Before each step: wait until no clock work is pending, then sleep
    `settle` real seconds so bytes already written to a loopback socket reach the reader."""
    while not until() and clock.now() < limit:
        await clock.wait_idle()
        await asyncio.sleep(settle)
        if until():
            return
        target = clock.now() + step
        # Wake the next sleeper exactly on its deadline (no step rounding drift).
        heap = getattr(clock, "_sleepers", None)
        if heap:
            target = min(target, heap[0][0])
        clock.advance_to(target)
