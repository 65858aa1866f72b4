"""The director's synthesis of one sentence: the voice's speech, unless an interrupt (say now,
stop) comes first, and never longer than a deadline (a hung voice fails the stage, whose
supervisor restarts it). `Director` (talk/director.py) mixes it in.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from ..frames import Sentence, Speech

log = logging.getLogger("streamhost.director")
VOICE_TIMEOUT_S = 20.0  # one sentence's synthesis; a remote TTS's slowest answer stays well under


class Voice(Protocol):
    async def speak(self, sentence: Sentence) -> Speech: ...


class Synthesis:
    """Synthesis of `Director` (see there for the state it touches)."""

    # Set by Director.__init__; declared for type checkers.
    voice: Voice
    voice_timeout_s: float
    _interrupted: asyncio.Event

    async def _synthesize(self, s: Sentence) -> Speech | None:
        """The voice's speech for ``s``; None when an interrupt (say now, stop) came first.
        A "say now" must not wait behind a stale sentence's synthesis (a long LLM sentence
        takes 50-100 ms): that one finishes in its worker (filling the speech cache) unwaited.
        A hung voice would silence the host for good: past the deadline the stage fails, the
        supervisor restarts it (alert) and the next line speaks."""
        cut = self._interrupted
        job = asyncio.ensure_future(asyncio.wait_for(self.voice.speak(s), self.voice_timeout_s))
        stop = asyncio.ensure_future(cut.wait())
        try:
            await asyncio.wait((job, stop), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            job.cancel()
            raise
        finally:
            stop.cancel()
        if job.done():
            return job.result()  # the voice's error or the deadline's TimeoutError: raised
        job.add_done_callback(_unwaited)
        return None


def _unwaited(job: asyncio.Future[Any]) -> None:
    """Done callback of a synthesis nobody waits for any more: its error is logged, not left
    to asyncio's "exception was never retrieved"."""
    if not job.cancelled() and job.exception() is not None:
        log.warning("synthesis of dropped speech failed: %r", job.exception())
