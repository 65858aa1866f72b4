"""The director's LLM turns: an answer or a product segment streamed sentence by sentence into
one of the director's queues, closed at once by an interrupt, and replaced by template
sentences when the LLM fails before its first sentence. `Director` (talk/director.py) mixes
it in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from ..frames import ChatEvent, Sentence

log = logging.getLogger("streamhost.director")


class StreamingTalk(Protocol):
    def answer(
        self, event: ChatEvent, current_pid: str | None, cancel: asyncio.Event | None
    ) -> AsyncIterator[Sentence]: ...
    def next_segment(
        self, product_id: str, cancel: asyncio.Event | None
    ) -> AsyncIterator[Sentence]: ...


class LlmTurns:
    """LLM streaming of `Director` (see there for the state it touches)."""

    # Set by Director.__init__; declared for type checkers.
    clock: Any
    wake: Any
    llm_failures: int
    _llm_error: type[BaseException]
    _llm_task: asyncio.Task[None] | None
    _cancel: asyncio.Event | None
    _epoch: int
    _consumed: int
    _pending: deque[Sentence]

    def _start_llm(
        self,
        make: Callable[[asyncio.Event], AsyncIterator[Sentence]],
        fallback: Callable[[], list[Sentence]],
        into: deque[Sentence] | None = None,
    ) -> None:
        self._cancel = asyncio.Event()
        self._llm_task = asyncio.get_running_loop().create_task(
            self._stream_llm(
                make, fallback, self._cancel, self._epoch, self._pending if into is None else into
            )
        )

    async def _stream_llm(
        self,
        make: Callable[[asyncio.Event], AsyncIterator[Sentence]],
        fallback: Callable[[], list[Sentence]],
        cancel: asyncio.Event,
        epoch: int,
        into: deque[Sentence],
    ) -> None:
        try:
            with self.clock.io():
                await self._consume(make(cancel), into, epoch)
        except Exception as e:  # noqa: BLE001 - the host must keep talking whatever the LLM does
            self.llm_failures += 1
            expected = isinstance(e, self._llm_error)
            (log.warning if expected else log.error)(
                "LLM failed after %d sentence(s): %s; falling back to templates", self._consumed, e
            )
            if epoch == self._epoch and self._consumed == 0:
                into.extend(fallback())
        finally:
            self._llm_task = None
            self.wake.set()

    async def _consume(
        self, it: AsyncIterator[Sentence], into: deque[Sentence], epoch: int
    ) -> None:
        self._consumed = 0
        async with contextlib.aclosing(it):  # type: ignore[type-var]
            async for s in it:
                if epoch != self._epoch:
                    break
                into.append(s)
                self._consumed += 1
                self.wake.set()

    async def close(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        if self._llm_task is not None:
            self._llm_task.cancel()
            await asyncio.gather(self._llm_task, return_exceptions=True)
