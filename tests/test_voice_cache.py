"""The speech cache: a hit costs no synthesis and is the same speech; keys follow the voice and
its settings; memory and disk stay bounded; disk files survive a restart and are written
atomically; prefetch fills it with what the director will ask for, at low priority, and a line
being prefetched is not synthesized twice. Synthesis never delays the AV loop's frames."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from streamhost.config import load_config
from streamhost.frames import ChatEvent, Sentence, Source, Speech, Timing
from streamhost.gc_pauses import settle
from streamhost.talk.assemble import build_talk
from streamhost.talk.prefetch import as_said, likely_lines
from streamhost.voice.base import VoiceBase, VoiceInfo
from streamhost.voice.cache import CachedVoice, SpeechCache, cached
from streamhost.voice.registry import build_voice, voice_status
from streamhost.voice.visemes import ipa_viseme


class CountingVoice(VoiceBase):
    """0.1 s of a tone per character; counts calls; optionally slow."""

    def __init__(self, rate: int = 8000, delay: float = 0.0, name: str = "v") -> None:
        self.sample_rate, self.delay, self.name = rate, delay, name
        self.calls: list[str] = []
        self.nice: list[int] = []

    def info(self) -> VoiceInfo:
        return VoiceInfo("test", self.name, self.sample_rate, "memory")

    def viseme_for(self, symbol: str):  # type: ignore[no-untyped-def]
        return ipa_viseme(symbol)

    def identity(self, lang: str | None) -> str:
        return f"{self.name}/{lang}"

    def synthesize(self, sentence: Sentence) -> Speech:
        self.calls.append(sentence.text)
        self.nice.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        if self.delay:
            time.sleep(self.delay)
        n = int(0.1 * self.sample_rate) * len(sentence.text)
        pcm = (np.arange(n) % 50).astype(np.int16)
        return Speech(sentence, pcm, self.sample_rate, [Timing(0, n / self.sample_rate, "a")], [])


def _s(text: str, lang: str = "en", continues: bool = False) -> Sentence:
    return Sentence(text, Source.TEMPLATE, lang, continues=continues)


async def test_a_hit_costs_no_synthesis_and_is_the_same_speech() -> None:
    inner = CountingVoice()
    v = CachedVoice(inner, SpeechCache(10_000_000))
    a = await v.speak(_s("hello there"))
    b_sentence = _s("hello  there")  # the same words: the same key
    b = await v.speak(b_sentence)
    assert inner.calls == ["hello there"]
    assert b.sentence is b_sentence and np.array_equal(a.pcm, b.pcm) and a.phonemes == b.phonemes
    # Language, continuation and the voice's identity are part of the key.
    await v.speak(_s("hello there", lang="de"))
    await v.speak(_s("hello there", continues=True))
    inner.name = "other"
    await v.speak(_s("hello there"))
    assert len(inner.calls) == 4
    assert v.cache.stats.hits == 1 and v.cache.stats.misses == 4
    assert v.status()["hit_pct"] == 20.0


def test_memory_is_an_lru_bounded_in_bytes() -> None:
    inner = CountingVoice()
    one = 800 * 2 * 4 + 64  # "abcd": 4 chars x 0.1 s x 8 kHz x 2 bytes, plus one timing
    v = CachedVoice(inner, SpeechCache(3 * one, once_bytes=3 * one))
    for t in ("aaaa", "bbbb", "cccc"):
        v.synthesize(_s(t))
    v.synthesize(_s("aaaa"))  # used again: now the newest
    v.synthesize(_s("dddd"))  # evicts bbbb, the least recently used
    assert v.cache.bytes <= 3 * one and v.cache.stats.evicted == 1
    v.synthesize(_s("aaaa"))
    v.synthesize(_s("bbbb"))
    assert inner.calls == ["aaaa", "bbbb", "cccc", "dddd", "bbbb"]
    v.synthesize(_s("x" * 1000))  # larger than the whole cache: spoken, never stored
    assert v.cache.bytes <= 3 * one


def test_lines_made_on_demand_wait_in_a_small_segment_until_used_again() -> None:
    """The prefetcher's lines stay however many one-off lines (a viewer's name, a countdown)
    the night brings: those share a small LRU of their own, and one used twice joins the main
    one. This is what kept a night's memory growing while the cache filled toward its cap."""
    inner = CountingVoice()
    one = 800 * 2 * 4 + 64
    cache = SpeechCache(20 * one, once_bytes=2 * one)
    v = CachedVoice(inner, cache)
    show = [_s(t * 4) for t in "abcde"]
    assert v.prefetch(show) == 5
    for i in range(30):  # a night of answers, each said once
        v.synthesize(_s(f"{i:04d}"))
    assert cache.bytes == 7 * one and cache.once_used == 2 * one and len(cache) == 7
    calls = len(inner.calls)
    for s in show:
        v.synthesize(s)
    assert len(inner.calls) == calls  # every show line still a hit
    v.synthesize(_s("0028"))  # a one-off line said again: kept with the show's now
    for i in range(100, 110):
        v.synthesize(_s(f"{i:04d}"))
    calls = len(inner.calls)
    v.synthesize(_s("0028"))
    assert len(inner.calls) == calls and cache.bytes == 8 * one
    v.synthesize(_s("0000"))  # long gone from the once segment: made again
    assert len(inner.calls) == calls + 1


def test_disk_cache_survives_a_restart_atomically_and_bounded(tmp_path: Path) -> None:
    d = tmp_path / "speech-cache"
    v = CachedVoice(CountingVoice(), SpeechCache(10_000_000, d, 40_000))
    first = v.synthesize(_s("persist me"))
    files = list(d.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"
    (d / "deadbeef.tmp123.npz").write_bytes(b"half a file")  # a crash mid-write
    inner = CountingVoice()
    again = CachedVoice(inner, SpeechCache(10_000_000, d, 40_000))
    assert not list(d.glob("*.tmp*"))
    got = again.synthesize(_s("persist me"))
    assert inner.calls == [] and again.cache.stats.disk_hits == 1
    assert np.array_equal(got.pcm, first.pcm) and got.phonemes == first.phonemes
    for i in range(12):  # 16 kB each: the folder stays under 40 kB
        again.synthesize(_s(f"{i:09d}"))
    assert sum(f.stat().st_size for f in d.iterdir()) <= 40_000
    files[0].write_bytes(b"garbage") if files[0].exists() else None
    broken = CachedVoice(CountingVoice(), SpeechCache(10_000_000, d, 40_000))
    broken.synthesize(_s("persist me"))  # unreadable file: dropped and synthesized again


def test_prefetch_covers_what_the_director_says() -> None:
    cfg = load_config()
    talk = build_talk(cfg, lambda: 0.0, lambda name: False)
    inner = CountingVoice(rate=1000)
    v = CachedVoice(inner, SpeechCache(500_000_000))
    made: list[int] = []
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    # On a thread of its own, as the engine runs it: the low priority sticks to that thread.
    t = threading.Thread(target=lambda: made.append(v.prefetch(likely_lines(talk, 40))))
    t.start()
    t.join()
    assert made[0] == len(inner.calls) > 100 and set(inner.nice) == {19}
    # (this thread keeps its own priority; a suite already run at nice 19 cannot tell them apart)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
    # Talk the template generator makes for every product, phrased as the director says it,
    # and anonymous viewers' questions: all hits.
    gen = talk.generator
    inner.calls.clear()
    for _ in range(3):
        for pid in talk.catalog.ids:
            for s in gen.next_segment(pid):
                for p in as_said(s, cfg.talk.phrase_chars):
                    v.synthesize(p)
    assert inner.calls == [], inner.calls[:5]
    # A spec only the catalog's spec list states ("power": "2200 W"), whether there is a
    # deal, the stock, shipping, what fits a budget, the lineup, the deals and everything's
    # total, a product shown on request, asked anonymously: the lead-in and the answers are all in the cache.
    for q in (
        "What's the power of the kettle?",
        "is the kettle on sale?",
        "any deal on the bottle?",
        "is the kettle in stock?",
        "any headphones left?",
        "how long does shipping take?",
        "anything under 30 euros?",
        "anything under 100 euros?",
        "what do you sell tonight?",
        "what's on sale tonight?",
        "how much is everything together?",
        "show me the lamp",
        "can you show the backpack again?",
    ):
        for s in gen.answer(ChatEvent("x", q, lang="en"), "kettle"):
            for p in as_said(s, cfg.talk.phrase_chars):
                v.synthesize(p)
    assert inner.calls == [], inner.calls
    # A named viewer's unanswerable question: only the sentence with the name is made.
    named = build_talk(cfg, lambda: 0.0, lambda name: True).generator
    for i in range(12):
        ask = ChatEvent(f"Anna{'x' * i}", "what is the meaning of life?", lang="en")
        for s in named.answer(ask, "kettle"):
            for p in as_said(s, cfg.talk.phrase_chars):
                v.synthesize(p)
    assert inner.calls and all("Anna" in c for c in inner.calls), inner.calls
    assert not any("xqz" in s.text.lower() for s in likely_lines(talk, 40))


def test_prefetch_stops_when_nearly_full_and_skips_lines_in_flight() -> None:
    inner = CountingVoice(delay=0.3)
    v = CachedVoice(inner, SpeechCache(10_000_000))
    said = threading.Thread(target=v.synthesize, args=(_s("shared line"),))
    said.start()  # the stream is saying it: the prefetcher does not do it again
    time.sleep(0.05)
    made: list[int] = []
    t = threading.Thread(target=lambda: made.append(v.prefetch([_s("shared line")])))
    t.start()
    t.join()
    said.join()
    assert inner.calls == ["shared line"] and made == [0]
    small = CachedVoice(CountingVoice(), SpeechCache(4 * 800 * 2 * 5))
    made.clear()
    lines = [_s(f"{i:05d}") for i in range(10)]
    t = threading.Thread(target=lambda: made.append(small.prefetch(lines)))
    t.start()
    t.join()
    assert made == [4]  # stops at 80 % full


def test_prefetch_starts_nothing_while_the_stream_waits_for_a_line() -> None:
    """A line the stream waits for (say now, an LLM sentence) has the cores to itself: the
    prefetcher's next line starts only after it is done."""
    inner = CountingVoice(delay=0.3)
    spans: dict[str, tuple[float, float]] = {}
    make = inner.synthesize

    def timed(sentence: Sentence) -> Speech:
        t0 = time.monotonic()
        out = make(sentence)
        spans[sentence.text] = (t0, time.monotonic())
        return out

    inner.synthesize = timed  # type: ignore[method-assign]
    v = CachedVoice(inner, SpeechCache(10_000_000))
    said = threading.Thread(target=v.synthesize, args=(_s("say it now"),))
    said.start()
    time.sleep(0.05)
    t = threading.Thread(target=v.prefetch, args=([_s("later one")],))
    t.start()
    said.join()
    t.join()
    assert spans["later one"][0] >= spans["say it now"][1]
    assert v.cache.on_air == 0


def test_engine_voice_is_cached_and_reported(tmp_path: Path) -> None:
    cfg = load_config().with_overrides(voice={"cache_disk_mb": 5})
    v = cached(build_voice(cfg.voice, 48000, "en"), cfg.voice, tmp_path)
    assert isinstance(v, CachedVoice) and v.cache.disk_dir == tmp_path / "speech-cache"
    st = voice_status(v)
    assert st["engine"] == "hibari" and st["voice"] == "heart" and st["sample_rate"] == 48000
    assert st["languages"]["en"]["engine"] == "hibari" and st["cache"]["entries"] == 0
    off = cached(build_voice(cfg.voice, 48000, "en"), load_config().with_overrides(
        voice={"cache_mb": 0}).voice, tmp_path)  # fmt: skip
    assert not isinstance(off, CachedVoice)
    v.close()
    off.close()


@pytest.mark.timeout(120)
async def test_synthesis_at_full_speed_does_not_delay_frames() -> None:
    """While the default voice synthesizes back to back (as the director would), the AV loop's
    thread does no more work per frame than when idle: p99 of its CPU time per frame interval
    within 2 ms of an idle run (CPU time, so other processes on a shared CI machine cannot
    move it). The real-clock p99 lateness of the frame ticks is compared too, best of three
    alternating runs, within half a frame period, when the machine has a core to spare (on a
    saturated one it is noise)."""
    from streamhost.avatar.driver import FaceDriver
    from streamhost.avloop import AVLoop
    from streamhost.clock import RealClock
    from streamhost.frames import StreamFormat
    from streamhost.player import SpeechPlayer

    fmt = StreamFormat(64, 64, 50, 48000)
    picture = np.zeros((96, 64), np.uint8)
    voice = build_voice(load_config().voice, fmt.sample_rate, "en")
    voice.synthesize(_s("Warm up the model and its phonemizer."))
    # As the engine does before air: a full collection over this test process's objects
    # (those of every earlier test) stopped the loop for ~120 ms (streamhost/gc_pauses.py).
    settle()

    async def run(busy: bool) -> tuple[float, float]:
        clock = RealClock()
        player = SpeechPlayer(fmt, FaceDriver(fps=fmt.fps))
        late: list[float] = []
        cpu: list[float] = []

        def tick() -> None:
            late.append(clock.now() - loop.index / fmt.fps)
            cpu.append(time.thread_time())

        loop = AVLoop(clock, fmt, player, lambda t: picture, _sink, on_tick=tick)
        stop = asyncio.Event()

        async def synthesize_forever() -> None:
            i = 0
            while not stop.is_set():
                i += 1
                await voice.speak(_s(f"Sentence number {i}: a kettle for {i} euros 90, today."))

        task = asyncio.create_task(synthesize_forever()) if busy else None
        clock.restart()
        await loop.run(2.0)
        stop.set()
        if task is not None:
            await task
        per_frame = np.diff(cpu[5:]) * 1000
        return float(np.percentile(late[5:], 99)) * 1000, float(np.percentile(per_frame, 99))

    runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(3):
        for busy in (False, True):
            runs[busy].append(await run(busy))
    voice.close()
    cpu_idle, cpu_busy = (min(c for _, c in runs[b]) for b in (False, True))
    assert cpu_busy <= cpu_idle + 2.0, runs
    if os.getloadavg()[0] < (os.cpu_count() or 1) - 1:
        # Half a frame period: a synthesis that held the loop would cost a frame. The former
        # bound, 2 ms, failed 2 of 3 runs of this file in one hour on this shared 2-vCPU
        # machine, with session 37's code and session 38's alike (3.9-6.1 ms, ~1.1 idle).
        late_idle, late_busy = (min(w for w, _ in runs[b]) for b in (False, True))
        assert late_busy <= late_idle + 500.0 / fmt.fps, runs


async def _sink(frame) -> None:  # type: ignore[no-untyped-def]
    return None


async def test_streams_of_one_engine_share_one_cache_and_count_their_own() -> None:
    """--copies N: N streams saying the same show hold its lines once; each stream's status
    still counts its own lookups; another voice's audio is never a hit."""
    cfg = load_config().voice
    shared: dict = {}
    a_inner, b_inner = CountingVoice(), CountingVoice()
    a = cached(a_inner, cfg, None, shared)
    b = cached(b_inner, cfg, None, shared)
    assert a.cache is b.cache and len(shared) == 1
    await a.speak(_s("the kettle is on sale"))
    await b.speak(_s("the kettle is on sale"))
    assert a_inner.calls == ["the kettle is on sale"] and b_inner.calls == []
    assert (a.status()["hits"], a.status()["misses"]) == (0, 1)
    assert (b.status()["hits"], b.status()["misses"]) == (1, 0)
    other = cached(CountingVoice(name="other"), cfg, None, shared)
    await other.speak(_s("the kettle is on sale"))
    assert other.status()["misses"] == 1  # same text, another voice: its own audio
    # A prefetcher skips a line another stream is synthesizing (no double work).
    a.cache.inflight["k"] = 1
    from streamhost.voice.cache import _Busy

    with pytest.raises(_Busy):
        b._get_or_make(_s("x"), key="k", prefetching=True)
    # Without the engine's dict each voice gets its own cache, as before.
    assert cached(CountingVoice(), cfg, None).cache is not a.cache


def test_48k_speech_is_kept_at_half_the_bytes_and_comes_back_the_same(tmp_path: Path) -> None:
    """A voice's audio (rendered at <= 24 kHz, resampled to the stream's 48 kHz) is kept at
    24 kHz: a hit is the same length with the same timings, unchanged below 10 kHz (error
    < -50 dB there; the round trip only trims the top of a voice's band, above ~11 kHz), from
    memory and from disk, and costs half the memory."""
    from streamhost.voice.resample import resample_int16

    rng = np.random.default_rng(5)
    spec = np.fft.rfft(rng.standard_normal(24000 * 3))
    spec[np.fft.rfftfreq(24000 * 3, 1 / 24000) > 10500] = 0  # speech-like: little up there
    src = (np.fft.irfft(spec) / np.std(np.fft.irfft(spec)) * 3000).astype(np.int16)
    pcm = resample_int16(src, 24000, 48000)[:-1]  # an odd length, as trimming leaves it
    timing = [Timing(0.0, len(pcm) / 48000, "a")]
    said = Speech(_s("three seconds"), pcm, 48000, timing, [])
    cache = SpeechCache(10_000_000, tmp_path / "sc", 10_000_000)
    cache.put("k", said)
    assert cache.bytes < pcm.nbytes * 0.55
    f = np.fft.rfftfreq(len(pcm), 1 / 48000)
    for e in (cache.get("k"), SpeechCache(10_000_000, tmp_path / "sc", 10_000_000).get("k")):
        assert e is not None
        back = e.speech(_s("three seconds"))
        assert back.sample_rate == 48000 and len(back.pcm) == len(pcm)
        assert back.phonemes == timing
        err = np.abs(np.fft.rfft(back.pcm.astype(float) - pcm)) ** 2
        sig = np.abs(np.fft.rfft(pcm.astype(float))) ** 2
        low = f < 10000
        assert 10 * np.log10(err[low].sum() / sig[low].sum()) < -50
