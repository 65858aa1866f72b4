"""The voice contract: a sentence in, speech with phoneme timings out.

Every voice engine (espeak-ng, hibari, Piper-format, Kokoro-format, an OpenAI-compatible
server) is one module implementing ``Voice`` plus one row in ``voice/registry.py``. Each voice
maps its own phoneme alphabet (espeak mnemonics, IPA, ...) to the project's viseme classes,
so the avatar driver never needs to know which engine spoke.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..frames import Sentence, Speech
from .visemes import Viseme, VisemeTrack, track

__all__ = ["Viseme", "VisemeTrack", "Voice", "VoiceInfo", "VoiceBase"]


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """What a running voice is, for the start-up log line, ``status`` and the dashboard."""

    engine: str  # registry type: "espeak", "hibari", "piper", ...
    voice: str  # the engine's own voice name ("heart", "en_US-joe-medium", "en" ...)
    sample_rate: int  # rate of the Speech it returns (the stream's)
    source: str  # where the model came from: a file path, a package, a URL

    def as_dict(self) -> dict[str, object]:
        return {
            "engine": self.engine,
            "voice": self.voice,
            "sample_rate": self.sample_rate,
            "source": self.source,
        }


@runtime_checkable
class Voice(Protocol):
    """A sentence (text, language, ``continues``) in; a ``Speech`` (int16 mono PCM at
    ``sample_rate`` plus phoneme and word timings in seconds) out.

    ``synthesize`` blocks and must be safe to call from worker threads; ``speak`` runs it off
    the event loop. ``visemes`` turns the voice's own phoneme symbols into mouth classes.
    """

    sample_rate: int

    def info(self) -> VoiceInfo: ...
    def synthesize(self, sentence: Sentence) -> Speech: ...
    async def speak(self, sentence: Sentence) -> Speech: ...
    def visemes(self, speech: Speech) -> VisemeTrack: ...
    def close(self) -> None: ...


class VoiceBase:
    """Shared plumbing for voices: ``speak`` in a worker thread, ``visemes`` from the class's
    ``viseme_for`` (one phoneme symbol -> Viseme), nothing to close."""

    sample_rate: int = 48000

    def viseme_for(self, symbol: str) -> Viseme:
        raise NotImplementedError

    def info(self) -> VoiceInfo:
        raise NotImplementedError

    def synthesize(self, sentence: Sentence) -> Speech:
        raise NotImplementedError

    async def speak(self, sentence: Sentence) -> Speech:
        return await asyncio.to_thread(self.synthesize, sentence)

    def visemes(self, speech: Speech) -> VisemeTrack:
        return track(speech, self.viseme_for)

    def close(self) -> None:
        return None
