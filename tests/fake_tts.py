"""A fake OpenAI-compatible speech server on 127.0.0.1, for tests.

It speaks the real wire format: ``POST /v1/audio/speech`` with a JSON body ``{"model", "input",
"voice", "response_format", "speed"}`` answered with the raw audio bytes: ``pcm`` is 24 kHz mono
s16le with no header (``Content-Type: audio/pcm``), ``wav`` a RIFF file. Errors come as OpenAI
does them: a status code and ``{"error": {"message", "type", "code"}}``. The "speech" is one
voiced burst per word (a 150 Hz buzz under a vowel-ish envelope) with 80 ms gaps, so loudness
follows the words and tests can count them. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import io
import wave
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web

RATE = 24000
WORD_S = 0.25
GAP_S = 0.08


def speech_for(text: str, rate: int = RATE, speed: float = 1.0) -> np.ndarray:
    """int16 mono: one burst per word, quiet gaps between (what the fake says for ``text``)."""
    word = int(rate * WORD_S / speed)
    gap = int(rate * GAP_S / speed)
    t = np.arange(word) / rate
    env = np.sin(np.pi * np.arange(word) / word) ** 0.5
    burst = (0.5 * env * np.sign(np.sin(2 * np.pi * 150 * t)) * np.sin(2 * np.pi * 700 * t)).astype(
        np.float32
    )
    parts = []
    for _ in text.split():
        parts += [np.zeros(gap, np.float32), burst]
    parts.append(np.zeros(gap, np.float32))
    return np.clip(np.concatenate(parts) * 32767, -32768, 32767).astype(np.int16)


@dataclass
class FakeTTS:
    """What the server does: ``key`` required as a Bearer token when set; ``error`` "http500",
    "stall" (never answers) or None; ``delay_s`` before answering."""

    key: str = ""
    error: str | None = None
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    async def speech(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if self.key and request.headers.get("Authorization") != f"Bearer {self.key}":
            return _error(401, "Incorrect API key provided", "invalid_api_key")
        if self.error == "http500":
            return _error(500, "The server had an error", "server_error")
        if self.error == "stall":
            await asyncio.sleep(30)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        fmt = body.get("response_format", "mp3")
        if fmt not in ("pcm", "wav"):
            return _error(400, f"response_format {fmt!r} not supported here", "invalid_value")
        if not isinstance(body.get("input"), str) or not body["input"]:
            return _error(400, "input is required", "invalid_value")
        pcm = speech_for(body["input"], speed=float(body.get("speed", 1.0)))
        if fmt == "pcm":
            return web.Response(body=pcm.tobytes(), content_type="audio/pcm")
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(pcm.tobytes())
        return web.Response(body=buf.getvalue(), content_type="audio/wav")


def _error(status: int, message: str, code: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "invalid_request_error", "code": code}},
        status=status,
    )


async def start(fake: FakeTTS) -> tuple[web.AppRunner, str]:
    """Serve ``fake`` on a free loopback port; (runner to clean up, base URL)."""
    app = web.Application()
    app.router.add_post("/v1/audio/speech", fake.speech)
    runner = web.AppRunner(app, shutdown_timeout=1.0)  # a stalled answer must not hold cleanup
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"
