"""Voice engines a config can name in ``[voice]`` (the main language) and ``[voice.<lang>]``.

One row per engine: ``engine`` -> the class and its checked parameters. ``build_voice`` turns
the checked tables into one ``Voice`` that speaks each sentence with its language's voice.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from ..frames import Sentence, Speech
from ..registry import (
    Param,
    Plugin,
    Registry,
    is_int_in,
    is_nonempty,
    is_num_in,
    is_str,
    is_url,
    one_of,
)
from .base import Voice, VoiceBase, VoiceInfo
from .espeak import VARIANTS as ESPEAK_VARIANTS
from .visemes import VisemeTrack

log = logging.getLogger("streamhost.voice")

VOICES = Registry(
    "voice",
    {
        "espeak": Plugin(
            "streamhost.voice.espeak:EspeakTTS",
            {
                "rate_wpm": Param(is_int_in(80, 450), "an integer 80..450 (words per minute)"),
                "pitch": Param(is_int_in(0, 100), "an integer 0..100"),
                "variant": Param(
                    one_of(*ESPEAK_VARIANTS),
                    '"" (the language\'s own, male), "f1".."f5" (female) or "m1".."m7" (male)',
                ),
            },
            "espeak-ng formant synthesis; every language, phoneme timings from its events",
        ),
        "hibari": Plugin(
            "streamhost.voice.hibari:HibariVoice",
            {
                "voice": Param(one_of("heart"), '"heart" (the voice bundled in hibari-tts)'),
                "speed": Param(is_num_in(0.5, 2.0), "a number 0.5..2.0 (1.0 = normal pace)"),
            },
            "hibari-tts neural English (US, female), bundled; the model's own phoneme durations",
        ),
        "piper": Plugin(
            "streamhost.voice.piper:PiperVoice",
            {
                "model": Param(
                    is_nonempty,
                    "a Piper voice .onnx path (its .onnx.json beside it)",
                    required=True,
                    path=True,
                ),  # fmt: skip
                "speaker": Param(
                    is_int_in(0, 10_000), "an integer speaker id (multi-speaker voices)"
                ),
                "length_scale": Param(is_num_in(0.25, 4.0), "a number 0.25..4.0 (>1 is slower)"),
                "noise_scale": Param(is_num_in(0.0, 2.0), "a number 0.0..2.0"),
                "noise_w": Param(is_num_in(0.0, 2.0), "a number 0.0..2.0"),
            },
            "Piper-format VITS voice file, phonemized by espeak-ng; the model's own durations",
        ),
        "kokoro": Plugin(
            "streamhost.voice.kokoro:KokoroVoice",
            {
                "model": Param(is_nonempty, "a Kokoro-82M .onnx path", required=True, path=True),
                "voice": Param(
                    is_nonempty,
                    "a Kokoro voice pack path (.npy or raw float32 .bin, [510, 1, 256])",
                    required=True,
                    path=True,
                ),
                "vocab": Param(
                    is_nonempty,
                    "a Kokoro config.json path (its vocab; default: Kokoro-82M's)",
                    path=True,
                ),
                "lang": Param(
                    is_nonempty,
                    'an espeak-ng voice such as "en-us" (default: from the voice pack\'s name)',
                ),
                "speed": Param(is_num_in(0.5, 2.0), "a number 0.5..2.0 (1.0 = normal pace)"),
            },
            "Kokoro-82M ONNX with a voice pack, phonemized by espeak-ng; the model's own durations",
        ),
        "openai": Plugin(
            "streamhost.voice.openai_tts:OpenAITTS",
            {
                "base_url": Param(
                    is_url("http", "https"),
                    "an http(s) URL (the server, /v1 optional)",
                    required=True,
                ),  # fmt: skip
                "model": Param(is_nonempty, "the server's TTS model name"),
                "voice": Param(is_nonempty, "the server's voice name"),
                "api_key": Param(is_str, "a string (STREAMHOST_TTS_API_KEY overrides)"),
                "response_format": Param(one_of("pcm", "wav"), '"pcm" (24 kHz s16le) or "wav"'),
                "speed": Param(is_num_in(0.25, 4.0), "a number 0.25..4.0"),
                "connect_timeout_s": Param(is_num_in(0.1, 60.0), "a number of seconds 0.1..60"),
                "total_timeout_s": Param(is_num_in(0.5, 300.0), "a number of seconds 0.5..300"),
            },
            "an OpenAI-compatible POST /v1/audio/speech server; no timings (audio-driven mouth)",
        ),
    },
)


def build_one(table: dict[str, Any], sample_rate: int, lang: str) -> Voice:
    """One checked ``[voice]`` table -> the voice it names, speaking ``lang`` at ``sample_rate``."""
    return VOICES.build(table, type_key="engine", sample_rate=sample_rate, default_lang=lang)


class VoiceSet(VoiceBase):
    """The stream's voice: each sentence is spoken by its language's voice (``[voice.<lang>]``,
    the main ``[voice]`` for the stream's language), and by espeak-ng for a language with
    none. A voice that fails to load is replaced by espeak-ng with a warning, so a broken voice
    file never keeps the stream off air. ``tables`` holds the checked table each language's
    voice was built from: with the sample rate it is the voice's identity (``identity``) for
    the speech cache. ``switch`` replaces one language's voice (the operator's ``voice``
    command); sentences already synthesized keep the voice they were spoken with."""

    def __init__(
        self,
        voices: dict[str, Voice],
        main_lang: str,
        fallback: Voice,
        tables: dict[str, dict[str, Any]] | None = None,
        fallback_table: dict[str, Any] | None = None,
    ) -> None:
        self.voices = voices
        self.main_lang = main_lang
        self.fallback = fallback
        self.sample_rate = fallback.sample_rate
        self.tables = dict(tables or {})
        self.fallback_table = fallback_table or {"engine": "espeak"}
        self._retired: list[Voice] = []

    def voice_for(self, lang: str | None) -> Voice:
        return self.voices.get(lang or self.main_lang, self.fallback)

    def identity(self, lang: str | None) -> str:
        """What makes this language's speech what it is: engine, settings, files, rate."""
        lang = lang or self.main_lang
        table = (
            self.tables.get(lang, self.fallback_table)
            if lang in self.voices
            else self.fallback_table
        )
        stamp = []
        for key in ("model", "voices", "voice", "vocab"):
            path = table.get(key)
            if isinstance(path, str) and os.path.isfile(path):
                st = os.stat(path)  # a replaced model file must not replay old speech
                stamp.append(f"{st.st_size}:{st.st_mtime_ns}")
        which = lang if table.get("engine") == "espeak" else ""  # espeak: one voice per language
        return json.dumps([table, stamp, which, self.sample_rate], sort_keys=True, default=str)

    def info(self) -> VoiceInfo:
        return self.voice_for(self.main_lang).info()

    def infos(self) -> dict[str, dict[str, object]]:
        """The voice in use per configured language, for ``status`` and the dashboard."""
        return {lang: self.voice_for(lang).info().as_dict() for lang in self.voices}

    def synthesize(self, sentence: Sentence) -> Speech:
        return self.voice_for(sentence.lang).synthesize(sentence)

    async def speak(self, sentence: Sentence) -> Speech:
        return await self.voice_for(sentence.lang).speak(sentence)

    def visemes(self, speech: Speech) -> VisemeTrack:
        return self.voice_for(speech.sentence.lang).visemes(speech)

    def switch(self, lang: str, voice: Voice, table: dict[str, Any]) -> None:
        """Speak ``lang`` with ``voice`` from the next sentence on. The old voice is closed
        with the set: a sentence being synthesized may still be using it."""
        old = self.voices.get(lang)
        self.voices[lang], self.tables[lang] = voice, dict(table)
        if old is not None and old is not self.fallback:
            self._retired.append(old)

    def close(self) -> None:
        every = (*self.voices.values(), self.fallback, *self._retired)
        for v in {id(v): v for v in every}.values():
            v.close()


def build_voice(cfg: Any, sample_rate: int, main_lang: str) -> VoiceSet:
    """``cfg`` is the checked ``[voice]`` section (config.VoiceConfig)."""
    espeak_table = cfg.engine_table("espeak")
    fallback = build_one(espeak_table, sample_rate, main_lang)
    voices: dict[str, Voice] = {}
    tables: dict[str, dict[str, Any]] = {}
    for lang in dict.fromkeys([main_lang, *cfg.langs]):
        table = cfg.table(lang)
        try:
            voices[lang] = build_one(table, sample_rate, lang)
            tables[lang] = table
        except Exception as exc:  # noqa: BLE001 - any broken voice: espeak-ng speaks instead
            where = f"voice.{lang}" if lang in cfg.langs else "voice"
            log.warning("%s (engine %s) failed to load: %s; espeak-ng speaks %s instead",
                        where, table.get("engine"), exc, lang)  # fmt: skip
    return VoiceSet(voices, main_lang, fallback, tables, espeak_table)


def voice_problems(cfg: Any, sample_rate: int, main_lang: str) -> list[str]:
    """``streamhost check``: load every configured voice once; each failure names its key
    (``voice`` or ``voice.<lang>``), the engine and the problem (the stream itself would fall
    back to espeak-ng for that language)."""
    problems: list[str] = []
    for lang in dict.fromkeys([main_lang, *cfg.langs]):
        table = cfg.table(lang)
        where = f"voice.{lang}" if lang in cfg.langs else "voice"
        try:
            build_one(table, sample_rate, lang).close()
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            problems.append(f"{where} (engine {table.get('engine')}): {exc}")
    return problems


def voice_status(voice: Any) -> dict[str, Any]:
    """``status``'s "voice": the main voice (engine, voice, rate, source), the voice per
    configured language and the speech cache's counters, where the voice has them."""
    out: dict[str, Any] = dict(voice.info().as_dict())
    if hasattr(voice, "infos"):
        out["languages"] = voice.infos()
    if hasattr(voice, "status"):
        out["cache"] = voice.status()
    return out


def voice_sex(table: dict[str, Any]) -> str | None:
    """ "female" or "male" where a checked engine table says whose voice it is: hibari heart is
    a woman's, espeak-ng's by its variant, a Kokoro pack by its name (``af_``, ``am_``, ...);
    None for a file or server that does not say (Piper, OpenAI-compatible)."""
    engine = table.get("engine")
    if engine == "hibari":
        return "female"
    if engine == "espeak":  # f1..f5 female; m1..m7 and the language's own ("") male
        return "female" if str(table.get("variant", "")).startswith("f") else "male"
    name = Path(str(table.get("voice", ""))).name
    if engine == "kokoro" and len(name) > 3 and name[2] == "_" and name[1] in "fm":
        return "female" if name[1] == "f" else "male"
    return None
