"""Talk from an OpenAI-compatible chat-completions server, streamed sentence by sentence.

Works with vLLM, llama.cpp server, Ollama (its /v1 compatibility API) and hosted APIs:
``POST {base_url}/v1/chat/completions`` with ``"stream": true``; the answer is Server-Sent
Events, one ``data: {json}`` line per chunk carrying ``choices[0].delta.content``, ended by
``data: [DONE]``. Sentences are yielded as soon as the SentenceCutter sees them end, so TTS
starts on the first sentence while the model writes the rest.

Failures (connect, HTTP status, malformed chunk, first-token/idle/total timeouts) raise
`LlmError`: the caller falls back to the template generator. An operator interrupt (the
`cancel` event) closes the HTTP connection at once, which is how OpenAI-compatible servers
learn to stop generating; the iterator then simply ends.

Prompts (talk/llm_prompt.py) keep chat as data: the system prompt holds persona, language
policy, rules and the catalog excerpt; a viewer's words only ever travel JSON-quoted inside a
user message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from ..frames import ChatEvent, Emotion, Sentence, Source
from .catalog import Catalog
from .guard import Guard
from .llm_prompt import DEFAULT_PERSONA, PriceNow, build_messages
from .retrieval import Retriever
from .sentences import SentenceCutter
from .templates import default_name_ok


class LlmError(RuntimeError):
    """The LLM could not deliver (connect, HTTP, SSE, timeout, guard): fall back to templates."""


class GuardRejected(LlmError):
    """A generated sentence failed the guard; `sentence` and `reason` say which and why."""

    def __init__(self, sentence: Sentence, reason: str) -> None:
        self.sentence = sentence
        self.reason = reason
        super().__init__(f"guard rejected LLM sentence ({reason}): {sentence.text!r}")


class LlmGenerator:
    """Streaming client for one OpenAI-compatible chat-completions endpoint.

    In: chat messages ([{"role": ..., "content": ...}]) and an optional cancel event.
    Out: `stream_sentences` yields complete sentences (str) as tokens arrive;
    `stream_text` yields the raw deltas. Raises `LlmError` on any failure; returns quietly
    after a cancel. Timeouts: `connect_timeout` (TCP/TLS), `first_token_timeout` (request
    sent -> first content delta), `idle_timeout` (between chunks once streaming; default the
    first-token timeout), `total_timeout` (whole request). Call `aclose()` when done.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        temperature: float = 0.7,
        max_tokens: int = 256,
        connect_timeout: float = 3.0,
        first_token_timeout: float = 5.0,
        idle_timeout: float | None = None,
        total_timeout: float = 30.0,
        max_sentence_chars: int = 200,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        # Ollama and hosted APIs are often given as ".../v1": accept both spellings.
        if base.endswith("/v1"):
            base = base[:-3]
        self.url = f"{base}/v1/chat/completions"
        self.model = model
        self.api_key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.connect_timeout = connect_timeout
        self.first_token_timeout = first_token_timeout
        self.idle_timeout = idle_timeout if idle_timeout is not None else first_token_timeout
        self.total_timeout = total_timeout
        self.max_sentence_chars = max_sentence_chars
        self.extra_body = dict(extra_body or {})
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=self.connect_timeout, sock_connect=self.connect_timeout
                ),
            )
        return self._session

    def request_body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        body.update(self.extra_body)
        return body

    async def stream_sentences(
        self, messages: list[dict[str, str]], *, cancel: asyncio.Event | None = None
    ) -> AsyncIterator[str]:
        """Complete sentences, each as soon as it ends. Use with `contextlib.aclosing` (or
        iterate to the end) so a consumer that stops early also closes the connection."""
        cutter = SentenceCutter(self.max_sentence_chars)
        async with contextlib.aclosing(self.stream_text(messages, cancel=cancel)) as deltas:
            async for delta in deltas:
                for s in cutter.feed(delta):
                    yield s
        if cancel is not None and cancel.is_set():
            return  # a half sentence after an interrupt must not be spoken
        for s in cutter.flush():
            yield s

    async def stream_text(
        self, messages: list[dict[str, str]], *, cancel: asyncio.Event | None = None
    ) -> AsyncIterator[str]:
        """The content deltas as the server sends them (see class doc for errors/cancel)."""
        if cancel is not None and cancel.is_set():
            return
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline_total = start + self.total_timeout
        # Timeouts wrap each await on the network only, never a `yield`: the consumer's own
        # awaits (a full TTS queue) run in the same task and must not be cancelled by ours.
        deadline = min(start + self.first_token_timeout, deadline_total)
        session = self._get_session()
        resp: aiohttp.ClientResponse | None = None
        watcher: asyncio.Task[None] | None = None
        stage = "connecting"
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    resp = await session.post(
                        self.url, json=self.request_body(messages), headers=headers
                    )
            except TimeoutError:
                raise  # (a subclass of OSError) reported below as a timeout
            except (aiohttp.ClientError, OSError) as e:
                raise LlmError(f"cannot reach LLM at {self.url}: {e}") from e
            if cancel is not None:
                watcher = asyncio.create_task(_close_on(cancel, resp))
            if resp.status != 200:
                async with asyncio.timeout_at(deadline):
                    text = (await resp.content.read(500)).decode("utf-8", "replace")
                raise LlmError(f"LLM HTTP {resp.status} from {self.url}: {text.strip()}")
            stage = "waiting for the first token"
            finished = False
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        raw = await resp.content.readline()
                except TimeoutError:
                    raise
                except (aiohttp.ClientError, OSError) as e:
                    if cancel is not None and cancel.is_set():
                        return
                    raise LlmError(f"LLM stream broke while {stage}: {e}") from e
                if cancel is not None and cancel.is_set():
                    return
                if not raw:
                    if finished:
                        return
                    raise LlmError(f"LLM stream ended without [DONE] while {stage}")
                line = raw.decode("utf-8", "replace").strip()
                if not line or line.startswith(":") or not line.startswith("data:"):
                    continue  # blank separators, keep-alive comments, "event:" lines
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                delta, done = _parse_chunk(data)
                finished = finished or done
                if stage != "streaming" and not delta:
                    continue  # role-only first chunk: still waiting for the first token
                stage = "streaming"
                if delta:
                    yield delta
                    if cancel is not None and cancel.is_set():
                        return
                deadline = min(loop.time() + self.idle_timeout, deadline_total)
        except TimeoutError:
            what = "total" if loop.time() >= deadline_total - 1e-3 else stage
            raise LlmError(
                f"LLM timed out ({what}) after {loop.time() - start:.2f} s at {self.url}"
            ) from None
        finally:
            if watcher is not None:
                watcher.cancel()
            if resp is not None:
                # close(), not release(): the connection must drop so the server stops
                # generating; a half-read stream cannot be reused anyway.
                resp.close()


async def _close_on(cancel: asyncio.Event, resp: aiohttp.ClientResponse) -> None:
    """Close the response the moment `cancel` is set, even while the reader is blocked."""
    await cancel.wait()
    resp.close()


def _parse_chunk(data: str) -> tuple[str, bool]:
    """(content delta, finished) of one SSE data payload; LlmError if it is not a chunk.

    A malformed chunk is an error, not skipped: a dropped chunk means a word missing from
    the middle of a sentence, and the guard cannot tell; falling back is safer.
    """
    try:
        obj = json.loads(data)
    except json.JSONDecodeError as e:
        raise LlmError(f"malformed SSE chunk from LLM ({e.msg}): {data[:120]!r}") from None
    if not isinstance(obj, dict):
        raise LlmError(f"malformed SSE chunk from LLM (not an object): {data[:120]!r}")
    if "error" in obj:
        err = obj["error"]
        msg = err.get("message") if isinstance(err, dict) else err
        raise LlmError(f"LLM reported an error mid-stream: {msg}")
    choices = obj.get("choices")
    if not isinstance(choices, list):
        raise LlmError(f"malformed SSE chunk from LLM (no choices): {data[:120]!r}")
    if not choices:
        return "", False  # usage-only chunks (stream_options.include_usage)
    c0 = choices[0]
    if not isinstance(c0, dict):
        raise LlmError(f"malformed SSE chunk from LLM (bad choice): {data[:120]!r}")
    delta = c0.get("delta") or {}
    content = delta.get("content") if isinstance(delta, dict) else None
    if content is not None and not isinstance(content, str):
        raise LlmError(f"malformed SSE chunk from LLM (content not text): {data[:120]!r}")
    return content or "", c0.get("finish_reason") is not None


# ---------------------------------------------------------------------------------------------
# the talk adapter


class LlmTalk:
    """TemplateGenerator's interface shape, async and streamed, backed by an LLM.

    In: an `LlmGenerator`, the catalog, the stream language; per call a product id or a
    `ChatEvent` and an optional cancel event. Out: `Sentence`s (source LLM, the stream
    language, product_id, reply_to) one by one as the model writes them. With a `guard`,
    every sentence is checked before it is yielded; the first rejection raises
    `GuardRejected` (an LlmError): sentences already yielded were fine, the rest of the
    reply is dropped and the caller continues with templates.
    """

    def __init__(
        self,
        llm: LlmGenerator,
        catalog: Catalog,
        lang: str = "en",
        *,
        persona: str = DEFAULT_PERSONA,
        guard: Guard | None = None,
        name_ok: Callable[[str], bool] | None = None,
    ) -> None:
        self.llm = llm
        self.catalog = catalog
        self.lang = lang
        self.persona = persona
        self.guard = guard
        self.name_ok = name_ok or default_name_ok
        self.retriever = Retriever(catalog)
        self.last_ttft: float | None = None
        # The price valid now (set by the engine: show flash sales, catalog sales, discounts).
        self.price_now: PriceNow | None = None  # seconds to the first sentence of the last call
        # The running flash sale's countdown line per product (set by the engine), or None.
        self.sale_countdown: Callable[[str, str], str | None] | None = None

    async def next_segment(
        self, product_id: str, cancel: asyncio.Event | None = None
    ) -> AsyncIterator[Sentence]:
        """Present one product."""
        msgs = build_messages("segment", self.catalog, product_id, self.lang,
                              persona=self.persona, name_ok=self.name_ok,
                              price_now=self.price_now, sale_note=self.sale_countdown)  # fmt: skip
        async for s in self._run(msgs, product_id, None, Emotion.NEUTRAL, cancel):
            yield s

    async def answer(
        self,
        event: ChatEvent,
        current_product_id: str | None,
        cancel: asyncio.Event | None = None,
    ) -> AsyncIterator[Sentence]:
        """Answer a viewer's question about the product it names (else the current one)."""
        pid = self._product_for(event.text or "", current_product_id)
        msgs = build_messages("answer", self.catalog, pid, self.lang, event,
                              persona=self.persona, name_ok=self.name_ok,
                              price_now=self.price_now, sale_note=self.sale_countdown)  # fmt: skip
        async for s in self._run(msgs, pid, event, Emotion.NEUTRAL, cancel):
            yield s

    async def thanks(
        self, event: ChatEvent, cancel: asyncio.Event | None = None
    ) -> AsyncIterator[Sentence]:
        """Thank a viewer for a follow, gift or purchase."""
        raw_pid = (event.raw or {}).get("product_id") if isinstance(event.raw, dict) else None
        pid = raw_pid if isinstance(raw_pid, str) and raw_pid in self.catalog else None
        msgs = build_messages("thanks", self.catalog, pid, self.lang, event,
                              persona=self.persona, name_ok=self.name_ok,
                              price_now=self.price_now, sale_note=self.sale_countdown)  # fmt: skip
        async for s in self._run(msgs, pid, event, Emotion.HAPPY, cancel):
            yield s

    def _product_for(self, text: str, current: str | None) -> str | None:
        named = self.retriever.find_product(text, self.lang, names_only=True)
        if named:
            return named[0]
        if current is not None and current in self.catalog:
            return current
        hit = self.retriever.find_product(text, self.lang)
        return hit[0] if hit else None

    async def _run(
        self,
        messages: list[dict[str, str]],
        pid: str | None,
        reply_to: ChatEvent | None,
        emotion: str,
        cancel: asyncio.Event | None,
    ) -> AsyncIterator[Sentence]:
        t0 = time.monotonic()
        self.last_ttft = None
        async with contextlib.aclosing(self.llm.stream_sentences(messages, cancel=cancel)) as it:
            async for text in it:
                s = Sentence(text=text, source=Source.LLM, lang=self.lang, product_id=pid,
                             emotion=emotion, reply_to=reply_to)  # fmt: skip
                if self.guard is not None:
                    r = self.guard.check(s)
                    if not r.ok:
                        raise GuardRejected(s, r.reason)
                if self.last_ttft is None:
                    self.last_ttft = time.monotonic() - t0
                yield s
