"""A voice served by an OpenAI-compatible ``POST /v1/audio/speech`` server (OpenAI, or a local
Kokoro/Piper/XTTS server speaking the same API).

Request: JSON ``{"model", "input", "voice", "response_format", "speed"}`` with an optional
``Authorization: Bearer`` key; response: the audio bytes, ``pcm`` (24 kHz mono s16le, no
header) or ``wav``. The API returns no timings, and guessing phonemes onto someone else's audio
would be a made-up alignment, so this voice says what it knows: the mouth follows the audio's
own loudness, in 20 ms steps classed as open / spread / narrow / rest (``_envelope_tokens``).
That drives any face, including ``driver = "phonemes"`` packs; word timings are left empty.
"""

from __future__ import annotations

import io
import json
import os
import time
import urllib.error
import urllib.request
import wave
from urllib.parse import urlparse

import numpy as np

from ..frames import Sentence, Speech
from ._onnx_tts import SILENCE, Rendered, text_to_say, to_speech
from .base import VoiceBase, VoiceInfo
from .visemes import Viseme, ipa_viseme

PCM_RATE = 24000  # the API's "pcm" format: 24 kHz mono signed 16-bit little-endian
_STEP_S = 0.020
# Loudness classes relative to the sentence's loudest 20 ms, as stand-in IPA symbols whose
# visemes are the mouth shapes: loud vowels open the jaw, medium ones spread the lips, the
# quiet voiced rest (consonants, fades) nearly closes it.
_CLASSES = ((-8.0, "a"), (-16.0, "ə"), (-30.0, "n"))
_MAX_BYTES = 64 * 1024 * 1024  # a sentence of speech is far below this; a runaway body is not


class OpenAITTSError(RuntimeError):
    """The server could not be reached, timed out, refused, or sent audio that does not parse."""


class OpenAITTS(VoiceBase):
    """A voice on an OpenAI-compatible speech server.

    In: a Sentence (its text; the server decides how it reads the language). Out: a Speech at
    ``sample_rate`` (resampled once, loudness-normalized and trimmed like the other neural
    voices), with loudness-class phonemes tiling it (see the module doc) and no words.
    Raises ``OpenAITTSError`` naming the URL and the problem; the director then says nothing
    for that sentence and the stream stays on air.
    """

    def __init__(
        self,
        sample_rate: int = 48000,
        default_lang: str = "en",
        base_url: str = "http://127.0.0.1:8880",
        model: str = "tts-1",
        voice: str = "alloy",
        api_key: str = "",
        response_format: str = "pcm",
        speed: float = 1.0,
        connect_timeout_s: float = 2.0,
        total_timeout_s: float = 20.0,
    ) -> None:
        if response_format not in ("pcm", "wav"):
            raise ValueError(f'response_format must be "pcm" or "wav", got {response_format!r}')
        if urlparse(base_url).scheme not in ("http", "https"):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.sample_rate = sample_rate
        self.default_lang = default_lang
        root = base_url.rstrip("/")
        self.url = root + ("/audio/speech" if root.endswith("/v1") else "/v1/audio/speech")
        self.model, self.voice, self.speed = model, voice, float(speed)
        self.response_format = response_format
        self.api_key = os.environ.get("STREAMHOST_TTS_API_KEY") or api_key
        self.connect_timeout_s, self.total_timeout_s = connect_timeout_s, total_timeout_s

    def info(self) -> VoiceInfo:
        return VoiceInfo("openai", f"{self.model}/{self.voice}", self.sample_rate, self.url)

    def viseme_for(self, symbol: str) -> Viseme:
        return ipa_viseme(symbol)

    def synthesize(self, sentence: Sentence) -> Speech:
        """One request per sentence (blocking; thread-safe: no shared state)."""
        text = text_to_say(sentence)
        if not text:
            return Speech(sentence, np.zeros(0, dtype=np.int16), self.sample_rate, [], [])
        wav, rate = self._fetch(text)
        samples, symbols = _envelope_tokens(wav, rate)
        return to_speech(sentence, Rendered(wav, rate, samples, symbols, []), self.sample_rate)

    def _fetch(self, text: str) -> tuple[np.ndarray, int]:
        body = json.dumps({
            "model": self.model, "input": text, "voice": self.voice,
            "response_format": self.response_format, "speed": self.speed,
        }).encode()  # fmt: skip
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        deadline = time.monotonic() + self.total_timeout_s
        try:
            # The socket timeout bounds connecting and each read; the loop bounds the total.
            with urllib.request.urlopen(req, timeout=self.connect_timeout_s) as resp:
                chunks: list[bytes] = []
                size = 0
                while chunk := resp.read(65536):
                    chunks.append(chunk)
                    size += len(chunk)
                    if time.monotonic() > deadline:
                        raise OpenAITTSError(f"{self.url}: no complete answer within "
                                             f"{self.total_timeout_s:g} s")  # fmt: skip
                    if size > _MAX_BYTES:
                        raise OpenAITTSError(f"{self.url}: answer over {_MAX_BYTES} bytes")
                data = b"".join(chunks)
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace")
            raise OpenAITTSError(f"{self.url}: HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise OpenAITTSError(f"{self.url}: {reason}") from None
        return _decode(data, self.response_format, self.url)


def _decode(data: bytes, fmt: str, url: str) -> tuple[np.ndarray, int]:
    """Response bytes -> (float32 mono in -1..1, sample rate)."""
    if fmt == "pcm":
        if len(data) % 2:
            raise OpenAITTSError(f"{url}: pcm answer has an odd byte count ({len(data)})")
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0, PCM_RATE
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getsampwidth() != 2:
                raise OpenAITTSError(f"{url}: wav answer is not 16-bit ({w.getsampwidth() * 8})")
            rate, channels = w.getframerate(), w.getnchannels()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    except (wave.Error, EOFError) as exc:
        raise OpenAITTSError(f"{url}: not a readable wav answer ({exc})") from None
    x = pcm.astype(np.float32).reshape(-1, channels).mean(axis=1) / 32768.0
    return x, rate


def _envelope_tokens(wav: np.ndarray, rate: int) -> tuple[list[int], list[str]]:
    """The audio cut into runs of 20 ms steps of one loudness class: (samples per run, its
    stand-in symbol). The runs tile the audio exactly."""
    step = max(1, int(rate * _STEP_S))
    n = len(wav)
    if n == 0:
        return [], []
    edges = list(range(0, n, step)) + [n]
    rms = np.array(
        [np.sqrt(np.mean(wav[a:b] ** 2)) for a, b in zip(edges, edges[1:], strict=False)]
    )
    peak = float(rms.max())
    db = 20 * np.log10(np.maximum(rms, 1e-9) / max(peak, 1e-9))
    symbols = [next((sym for floor, sym in _CLASSES if d >= floor), SILENCE) for d in db]
    if peak < 1e-4:
        symbols = [SILENCE] * len(symbols)
    samples: list[int] = []
    merged: list[str] = []
    for (a, b), sym in zip(zip(edges, edges[1:], strict=False), symbols, strict=True):
        if merged and merged[-1] == sym:
            samples[-1] += b - a
        else:
            samples.append(b - a)
            merged.append(sym)
    return samples, merged
