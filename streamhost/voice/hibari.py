"""hibari-tts: the bundled neural English voice ``heart``, with the model's own phoneme timings.

``hibari-tts`` (Apache-2.0, pinned to 0.2.1) ships one voice inside the wheel: ``heart``, US
English, female, an int8 ONNX model distilled from Kokoro-82M, 24 kHz. Its other voices download
from a hub on first use, so only ``heart`` is accepted: nothing is ever fetched at run time.

The package's own API returns audio only. This module uses its G2P (text -> misaki IPA tokens),
its vocabulary and its vocoder (``hibari.dsp``), but runs the ONNX graph itself with one extra
output, ``/Clip_output_0``: the frames each input token lasts (units of 600 samples; their sum
is the audio length), which become the Speech's phoneme timings.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..frames import Sentence, Speech
from ._onnx_tts import SILENCE, Rendered, session_with_durations, text_to_say, to_speech
from .base import VoiceBase, VoiceInfo
from .visemes import Viseme, ipa_viseme

HIBARI_RATE = 24000
SAMPLES_PER_UNIT = 600  # one duration unit = two 300-sample vocoder frames
DURATION_TENSOR = "/Clip_output_0"
VOICE = "heart"
# hibari splits sentences longer than this many phonemes at clause punctuation (the model's
# attention was trained on sentence-sized inputs).
MAX_PHONEMES = 400
_CLAUSE_PHONEMES = frozenset(",;:—")
_PUNCTUATION = frozenset(';:,.!?—…"()“”')
# The waveform runs ahead of the durations it was generated from by about two units (a trait of
# the distilled decoder): measured here as voicing onsets ~47 ms early against the phonemes'
# voiced/unvoiced classes (Piper, same method: ~15 ms), audio onset 40-100 ms before the first
# phoneme starts (even for a plosive), and pocketsphinx word boundaries ~20 ms further off than
# Piper's. Timings are moved earlier by one unit, not two: the rendered mouth also anticipates
# (the face driver's easing), and with two units the engine's pixel lip-sync test put the
# mouth a frame early (best offset -1, r(0) 0.60); with one, best offset 0, r(0) 0.65.
LEAD_SAMPLES = SAMPLES_PER_UNIT
_SEED = 0  # the vocoder's noise is seeded so the same text always gives the same audio


class _Noise:
    """The vocoder's noise source: what ``dsp.synth`` asks a numpy Generator for, cut from one
    table drawn once (seeded). Drawing 360k normals took ~4 ms of a ~30 ms phrase; a slice
    costs 0.1 ms. Each frame position keeps its own noise, so the same text still gives the
    same audio; a sentence longer than the table draws the rest fresh (seeded too)."""

    FRAMES = 800  # 10 s of audio at 80 frames/s: any phrase, most sentences

    def __init__(self) -> None:
        self._table: np.ndarray | None = None
        self._lock = threading.Lock()

    def standard_normal(self, shape: tuple[int, int], dtype: Any = np.float32) -> np.ndarray:
        bins, n = shape
        with self._lock:
            if self._table is None:
                rng = np.random.default_rng(_SEED)
                self._table = rng.standard_normal((bins, 2 * self.FRAMES), dtype=np.float32)
            table = self._table
        if table.shape[0] != bins or n > table.shape[1]:
            return np.random.default_rng(_SEED).standard_normal(shape, dtype=dtype)
        return table[:, :n].astype(dtype, copy=True)  # synth scales it in place


_NOISE = _Noise()


def _pick_clip(model: Any) -> str | None:
    names = {o for node in model.graph.node for o in node.output}
    return DURATION_TENSOR if DURATION_TENSOR in names else None


class _Frontend:
    """hibari's G2P and vocabulary, loaded once per process. The G2P is plain Python with
    lazily built parts (the OOV model), so calls into it are serialized."""

    def __init__(self) -> None:
        from hibari import tts
        from hibari.g2p import G2P
        from hibari.g2p.normalize import normalize

        with open(Path(tts.ASSETS) / "vocab.json", encoding="utf-8") as f:
            self.vocab: dict[str, int] = json.load(f)
        self.g2p = G2P(british=False)
        self.normalize = normalize
        self.split_sentences = tts.Hibari.split_sentences
        self.lock = threading.Lock()

    def chunks(self, text: str) -> tuple[list[tuple[list[str], list[int]]], list[str]]:
        """Model inputs for ``text``: per chunk, the phoneme characters (all in the vocabulary)
        and for each the index of the word it belongs to (-1 for spaces and punctuation); and
        the words' text."""
        out: list[tuple[list[str], list[int]]] = []
        words: list[str] = []
        with self.lock:
            sentences = [
                self.g2p.phonemize_tokens(self.g2p.tokenize(self.normalize(s)))
                for s in self.split_sentences(text)
            ]
        for tokens in sentences:
            chars: list[str] = []
            owner: list[int] = []
            cuts: list[int] = []  # positions after clause punctuation: where a long one may split
            for tk in tokens:
                ps = tk.phonemes or ""
                word = -1
                if any(c.isalpha() for c in ps):
                    word = len(words)
                    words.append(tk.text)
                for c in ps:
                    if c in self.vocab:
                        chars.append(c)
                        # Spaces inside one token ("9.99" reads as four words) stay in its word.
                        owner.append(-1 if c in _PUNCTUATION else word)
                if ps and ps[-1] in _CLAUSE_PHONEMES:
                    cuts.append(len(chars))
                if tk.whitespace and chars and chars[-1] != " ":
                    chars.append(" ")
                    owner.append(-1)
            while chars and chars[-1] == " ":
                chars.pop()
                owner.pop()
            out.extend(_split_long(chars, owner, cuts))
        return [(c, o) for c, o in out if any(ch.isalpha() for ch in c)], words


def _split_long(
    chars: list[str], owner: list[int], cuts: list[int]
) -> list[tuple[list[str], list[int]]]:
    """Cut a too-long phoneme sequence at clause punctuation, else at a space, else anywhere."""
    parts: list[tuple[list[str], list[int]]] = []
    begin = 0
    while len(chars) - begin > MAX_PHONEMES:
        limit = begin + MAX_PHONEMES
        at = max((c for c in cuts if begin < c <= limit), default=0)
        if not at:
            at = max((i for i in range(begin + 1, limit) if chars[i] == " "), default=limit)
        parts.append((chars[begin:at], owner[begin:at]))
        begin = at
        while begin < len(chars) and chars[begin] == " ":
            begin += 1
    parts.append((chars[begin:], owner[begin:]))
    return parts


_FRONTEND: _Frontend | None = None
_FRONTEND_LOCK = threading.Lock()


def _frontend() -> _Frontend:
    global _FRONTEND
    with _FRONTEND_LOCK:
        if _FRONTEND is None:
            _FRONTEND = _Frontend()
        return _FRONTEND


def model_path(voice: str = VOICE) -> Path:
    """The bundled model file of ``voice``; any other voice is refused (it would download)."""
    if voice != VOICE:
        raise ValueError(
            f"hibari voice {voice!r} is not available: only the bundled {VOICE!r} voice is used "
            "(hibari's other voices download from a hub on first use, which streamhost never does)"
        )
    from hibari.voices import voice_path

    return Path(voice_path(VOICE, download_missing=False))


class HibariVoice(VoiceBase):
    """The bundled hibari ``heart`` voice (US English, female, neural).

    In: a Sentence (English text; ``lang`` is not consulted, the voice speaks English only).
    Out: a Speech with int16 mono PCM at ``sample_rate`` (24 kHz resampled once), normalized to
    the project's speech level, leading silence trimmed to <= 30 ms and trailing to <= 80 ms;
    ``phonemes`` are the model's own per-token durations with misaki IPA symbols (one character
    each; "A I O W Y" are diphthongs, "T" the flap, "_" the model's edge pauses) tiling the
    audio; ``words`` are the input words (after hibari's text normalization). Empty text gives
    empty audio.
    """

    def __init__(
        self,
        sample_rate: int = 48000,
        default_lang: str = "en",
        voice: str = VOICE,
        speed: float = 1.0,
        threads: int = 1,
    ) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if not 0.5 <= speed <= 2.0:
            raise ValueError(f"speed must be within 0.5..2.0, got {speed}")
        self.path = model_path(voice)
        self.sample_rate = sample_rate
        self.default_lang = default_lang
        self.voice = voice
        self.speed = float(speed)
        self._sess, self._durations = session_with_durations(self.path, _pick_clip, threads)
        self._front = _frontend()
        # The first phonemization builds the G2P's lazy parts (~0.2 s): done here, at load,
        # so the show's first sentence is not late.
        self._front.chunks("Hello there.")
        from hibari import dsp

        _NOISE.standard_normal((dsp.N_FFT // 2 + 1, 2))  # draws the noise table, also at load

    def info(self) -> VoiceInfo:
        return VoiceInfo("hibari", self.voice, self.sample_rate, str(self.path))

    def viseme_for(self, symbol: str) -> Viseme:
        return ipa_viseme(symbol)

    def synthesize(self, sentence: Sentence) -> Speech:
        """Synthesize one sentence (blocking; safe to call from several threads)."""
        from hibari import dsp

        text = text_to_say(sentence)
        empty = Speech(sentence, np.zeros(0, dtype=np.int16), self.sample_rate, [], [])
        if not text:
            return empty
        front = self._front
        chunks, labels = front.chunks(text)
        waves: list[np.ndarray] = []
        samples: list[int] = []
        symbols: list[str] = []
        words: list[tuple[int, int, str]] = []
        for chars, owner in chunks:
            ids = [0, *(front.vocab[c] for c in chars), 0]
            outs = self._sess.run(  # type: ignore[attr-defined]
                None,
                {
                    "ids": np.asarray([ids], np.int64),
                    "speed": np.asarray([self.speed], np.float32),
                },
            )
            wav = dsp.synth(*(o[0] for o in outs[:6]), _NOISE)
            units = np.rint(outs[6].reshape(-1)).astype(np.int64)
            base = len(symbols)
            waves.append(wav)
            samples.extend(int(u) * SAMPLES_PER_UNIT for u in units)
            symbols.extend([SILENCE, *chars, SILENCE])
            words.extend(_word_spans(owner, labels, base + 1))
        if not waves:
            return empty  # punctuation only: nothing the model can say
        out = Rendered(np.concatenate(waves), HIBARI_RATE, samples, symbols, words, LEAD_SAMPLES)
        return to_speech(sentence, out, self.sample_rate)


def _word_spans(owner: list[int], labels: list[str], offset: int) -> list[tuple[int, int, str]]:
    """(first token, end token, text) per word from each phoneme's word index."""
    spans: list[list[int]] = []  # [first, end, word]
    for i, w in enumerate(owner):
        if w < 0:
            continue
        if spans and spans[-1][2] == w and spans[-1][1] == offset + i:
            spans[-1][1] += 1
        else:
            spans.append([offset + i, offset + i + 1, w])
    return [(a, b, labels[w]) for a, b, w in spans]
