"""Voice engines a config can name in ``[voice]`` (the main language) and ``[voice.<lang>]``.

One row per engine: ``engine`` -> the class and its checked parameters. ``build_voice`` turns
the checked tables into one ``Voice`` that speaks each sentence with its language's voice.
"""

from __future__ import annotations

import logging
from typing import Any

from ..frames import Sentence, Speech
from ..registry import Param, Plugin, Registry, is_int_in, is_nonempty, is_num_in, one_of
from .base import Voice, VoiceBase, VoiceInfo
from .espeak import EspeakTTS
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
                "model": Param(is_nonempty, "a Piper voice .onnx path (its .onnx.json beside it)",
                               required=True, path=True),  # fmt: skip
                "speaker": Param(is_int_in(0, 10_000), "an integer speaker id (multi-speaker voices)"),
                "length_scale": Param(is_num_in(0.25, 4.0), "a number 0.25..4.0 (>1 is slower)"),
                "noise_scale": Param(is_num_in(0.0, 2.0), "a number 0.0..2.0"),
                "noise_w": Param(is_num_in(0.0, 2.0), "a number 0.0..2.0"),
            },
            "Piper-format VITS voice file, phonemized by espeak-ng; the model's own durations",
        ),
    },
)


def build_one(table: dict[str, Any], sample_rate: int, lang: str) -> Voice:
    """One checked ``[voice]`` table -> the voice it names, speaking ``lang`` at ``sample_rate``."""
    return VOICES.build(
        table, type_key="engine", sample_rate=sample_rate, default_lang=lang
    )


class VoiceSet(VoiceBase):
    """The stream's voice: each sentence is spoken by its language's voice (``[voice.<lang>]``,
    the main ``[voice]`` for the stream's language), and by espeak-ng for a language with
    none. A voice that fails to load is replaced by espeak-ng with a warning, so a broken voice
    file never keeps the stream off air."""

    def __init__(self, voices: dict[str, Voice], main_lang: str, fallback: Voice) -> None:
        self.voices = voices
        self.main_lang = main_lang
        self.fallback = fallback
        self.sample_rate = fallback.sample_rate

    def voice_for(self, lang: str | None) -> Voice:
        return self.voices.get(lang or self.main_lang, self.fallback)

    def info(self) -> VoiceInfo:
        return self.voice_for(self.main_lang).info()

    def synthesize(self, sentence: Sentence) -> Speech:
        return self.voice_for(sentence.lang).synthesize(sentence)

    async def speak(self, sentence: Sentence) -> Speech:
        return await self.voice_for(sentence.lang).speak(sentence)

    def visemes(self, speech: Speech) -> VisemeTrack:
        return self.voice_for(speech.sentence.lang).visemes(speech)

    def close(self) -> None:
        for v in {id(v): v for v in (*self.voices.values(), self.fallback)}.values():
            v.close()


def build_voice(cfg: Any, sample_rate: int, main_lang: str) -> VoiceSet:
    """``cfg`` is the checked ``[voice]`` section (config.VoiceConfig)."""
    fallback = EspeakTTS(sample_rate=sample_rate, default_lang=main_lang)
    voices: dict[str, Voice] = {}
    for lang in dict.fromkeys([main_lang, *cfg.langs]):
        table = cfg.table(lang)
        try:
            voices[lang] = build_one(table, sample_rate, lang)
        except Exception as exc:  # noqa: BLE001 - any broken voice: espeak-ng speaks instead
            where = f"voice.{lang}" if lang in cfg.langs else "voice"
            log.warning("%s (engine %s) failed to load: %s; espeak-ng speaks %s instead",
                        where, table.get("engine"), exc, lang)  # fmt: skip
    return VoiceSet(voices, main_lang, fallback)
