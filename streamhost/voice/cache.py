"""Speech cache: a sentence the host said (or is likely to say) is synthesized once.

Keyed by (voice identity, text, language, ``continues``): the identity is the checked engine
table the language's voice was built from (engine, settings, model files with their size and
mtime) plus the stream's sample rate, so a changed setting, a switched voice or a replaced model
file never replays old audio. Emotion is not part of the key: no engine here voices it.

Memory: an LRU bounded in bytes of PCM (``[voice] cache_mb``). Disk (optional, ``[voice]
cache_disk_mb``): one ``<sha256>.npz`` per entry under ``<data_dir>/speech-cache``, written to a
temporary name and renamed (a crash leaves no half file), oldest-used files removed past the
bound; storage in ``voice/speech_store.py``). ``CachedVoice`` wraps the stream's voice and implements ``Voice`` itself, so the director
is unchanged; ``prefetch`` fills the cache from a worker thread at the lowest CPU priority.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..frames import Sentence, Speech
from .base import Voice, VoiceBase, VoiceInfo
from .speech_store import CacheStats, SpeechCache, cache_key
from .visemes import VisemeTrack

__all__ = ["CacheStats", "CachedVoice", "SpeechCache", "cache_key", "cached"]

log = logging.getLogger("streamhost.voice")

# Prefetch stops while the cache is this full, so it never evicts lines it fetched earlier
# (which are the nearest-needed ones) or lines already said (a repeat is likely).
PREFETCH_FILL = 0.8
# Prefetch pacing: after each synthesis the worker rests this many times as long as it worked,
# so it takes at most a third of one core even before the OS priority is considered.
PREFETCH_REST = 2.0
PREFETCH_YIELD_S = 0.005  # how often a yielding prefetcher looks again


class CachedVoice(VoiceBase):
    """A Voice that answers from a ``SpeechCache`` and synthesizes (with ``inner``) only on a
    miss. In: Sentences, as any Voice; out: Speech bound to the sentence asked for (its own
    trace id), identical for a hit and a miss. ``inner`` is the stream's VoiceSet (its
    ``identity(lang)`` keys the cache); ``switch``/``voice_for``/``infos`` pass through.

    A memory hit in ``speak`` returns without leaving the event loop; everything else runs in
    a worker thread. ``close`` stops the prefetch thread and waits for its current line.
    """

    def __init__(self, inner: Any, cache: SpeechCache) -> None:
        self.inner = inner
        self.cache = cache
        self.sample_rate = inner.sample_rate
        self.stats = CacheStats()  # this stream's lookups; cache.stats counts every user's
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- Voice ----
    def key(self, sentence: Sentence) -> str:
        ident = self.inner.identity(sentence.lang) if hasattr(self.inner, "identity") else (
            json.dumps(self.inner.info().as_dict(), sort_keys=True)
        )  # fmt: skip
        return cache_key(ident, sentence)

    def info(self) -> VoiceInfo:
        return self.inner.info()

    def visemes(self, speech: Speech) -> VisemeTrack:
        return self.inner.visemes(speech)

    async def speak(self, sentence: Sentence) -> Speech:
        e = self.cache.peek(self.key(sentence))
        if e is not None:
            self._count(sentence, hit=True)
            return e.speech(sentence)
        return await asyncio.to_thread(self.synthesize, sentence)

    def synthesize(self, sentence: Sentence) -> Speech:
        speech, hit = self._get_or_make(sentence)
        self._count(sentence, hit)
        return speech

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            # A daemon thread still inside ONNX Runtime at interpreter exit aborts the process.
            self._thread.join(timeout=10)
        self.inner.close()

    # ---- pass-through for the engine and the operator ----
    def voice_for(self, lang: str | None) -> Voice:
        return self.inner.voice_for(lang)

    def infos(self) -> dict[str, dict[str, object]]:
        return self.inner.infos()

    def switch(self, lang: str, voice: Voice, table: dict[str, Any]) -> None:
        self.inner.switch(lang, voice, table)

    def status(self) -> dict[str, Any]:
        """This stream's hits and misses; entries, size and evictions are the (shared) cache's."""
        mine = self.stats.as_dict()
        mine["evicted"] = self.cache.stats.evicted
        c = self.cache
        return {**mine, "entries": len(c), "mb": round(c.bytes / 1e6, 2),
                "once_mb": round(c.once_used / 1e6, 2)}  # fmt: skip

    # ---- prefetch ----
    def prefetch(
        self, sentences: Iterable[Sentence], stop: Callable[[], bool] = lambda: False
    ) -> int:
        """Synthesize ``sentences`` (nearest-needed first) into the cache; blocking, for a
        worker thread. Runs at the lowest OS priority, rests twice as long as it works, and
        stops when the cache is ``PREFETCH_FILL`` full or evicts, on ``stop()`` or ``close``. Returns
        how many lines it synthesized."""
        _lowest_priority()
        made = 0
        evicted = self.cache.stats.evicted
        for s in sentences:
            if stop() or self._stop.is_set() or self.cache.full(PREFETCH_FILL):
                break
            if self.cache.stats.evicted > evicted:
                break  # full: going on would push out lines needed sooner
            key = self.key(s)
            if self.cache.get(key) is not None:
                continue
            # A line the stream waits for (an operator's "say now", an LLM sentence) gets the
            # cores to itself: on two hyper-threads a prefetch beside it slowed it ~1.3x.
            while self.cache.on_air and not (stop() or self._stop.is_set()):
                self._stop.wait(PREFETCH_YIELD_S)
            t0 = time.perf_counter()
            try:
                _, hit = self._get_or_make(s, key, prefetching=True)
            except _Busy:
                continue
            except Exception as exc:  # noqa: BLE001 - a line that fails now is a miss later
                log.debug("prefetch of %r failed: %s", s.text, exc)
                continue
            if not hit:
                made += 1
                self.cache.stats.prefetched += 1
                self.stats.prefetched += 1
            self._stop.wait(PREFETCH_REST * (time.perf_counter() - t0))
        return made

    async def prefetch_in_background(
        self, lines: Callable[[], Iterable[Sentence]], name: str = "speech-prefetch"
    ) -> int:
        """``prefetch(lines())`` on a thread of its own (its low priority must not stick to a
        pooled thread the director later synthesizes on); cancelling stops it between lines."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        cancelled = threading.Event()

        def work() -> None:
            n, err = 0, None
            try:
                n = self.prefetch(lines(), stop=cancelled.is_set)
            except Exception as exc:  # noqa: BLE001 - handed to the awaiting task
                err = exc
            try:
                loop.call_soon_threadsafe(_settle, done, n, err)
            except RuntimeError:
                pass  # the stream's loop closed first: nobody is waiting

        self._thread = threading.Thread(target=work, name=name, daemon=True)
        self._thread.start()
        try:
            return await done
        finally:
            cancelled.set()

    # ---- internals ----
    def _get_or_make(
        self, sentence: Sentence, key: str | None = None, prefetching: bool = False
    ) -> tuple[Speech, bool]:
        """(speech, hit). The stream never waits for the prefetcher (a nice-19 thread would
        hold it up): it synthesizes a line in flight there itself; the prefetcher skips a line
        the stream is already synthesizing (raising ``_Busy``)."""
        key = key or self.key(sentence)
        e = self.cache.get(key)
        if e is not None:
            return e.speech(sentence), True
        c = self.cache
        with c.inflight_lock:
            if prefetching and key in c.inflight:
                raise _Busy
            c.inflight[key] = c.inflight.get(key, 0) + 1
            c.on_air += not prefetching
        try:
            speech = self.inner.synthesize(sentence)
            # What the prefetcher makes is likely by construction; a line the stream makes on
            # demand (a viewer's name, a countdown's seconds) is kept once until used again.
            c.put(key, speech, likely=prefetching)
            return speech, False
        finally:
            with c.inflight_lock:
                c.inflight[key] -= 1
                if not c.inflight[key]:
                    del c.inflight[key]
                c.on_air -= not prefetching

    def _count(self, sentence: Sentence, hit: bool) -> None:
        for st in (self.stats, self.cache.stats):
            if hit:
                st.hits += 1
            else:
                st.misses += 1
            st.by_source.setdefault(str(sentence.source), [0, 0])[0 if hit else 1] += 1


class _Busy(Exception):
    """The line is being synthesized for the stream right now."""


def _settle(fut: asyncio.Future[int], n: int, exc: BaseException | None) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(n)


def _lowest_priority() -> None:
    """Nice 19 for the calling thread only (Linux schedules threads by their own tid)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):
        pass


def cached(
    voice: Any,
    cfg: Any,
    data_dir: str | os.PathLike[str] | None,
    shared: dict[tuple[Any, ...], SpeechCache] | None = None,
) -> Any:
    """The stream's voice behind a speech cache as ``[voice]`` configures it (``cfg`` is
    config.VoiceConfig); ``voice`` itself when ``cache_mb`` is 0.

    ``shared``: the engine's caches by bounds and disk folder. Streams of one process with the
    same bounds use one cache: keys name the voice and its settings, so a stream only ever hits
    its own voice's audio, and N copies of a show hold its lines once (each copy prefetching
    the same ~400 MB of the demo's lines was most of a copy's memory)."""
    if cfg.cache_mb <= 0:
        return voice
    disk = Path(data_dir) / "speech-cache" if data_dir and cfg.cache_disk_mb > 0 else None
    bounds = (cfg.cache_mb * 1_000_000, disk, cfg.cache_disk_mb * 1_000_000)
    cache = shared.get(bounds) if shared is not None else None
    if cache is None:
        cache = SpeechCache(*bounds)
        if shared is not None:
            shared[bounds] = cache
    return CachedVoice(voice, cache)
