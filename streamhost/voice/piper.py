"""Piper-format voices (a VITS ``model.onnx`` plus its ``model.onnx.json``), run by the project.

``piper-tts`` itself is GPL-3.0, so nothing of it is used: the text is phonemized to IPA by the
project's own espeak-ng (``espeakng-loader``, through the same process-wide lock as the espeak
voice), mapped to ids with the json's ``phoneme_id_map`` in Piper's layout (``^``, then every
phoneme followed by the pad ``_``, then ``$``), and the graph runs in ONNX Runtime with one extra
output: the ceiled per-token frame counts in front of the length regulator (units of the hop
length, 256 samples), which become the phoneme timings.
"""

from __future__ import annotations

import ctypes
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from ..frames import Sentence, Speech
from . import espeak
from ._onnx_tts import (
    SILENCE,
    Rendered,
    session_with_durations,
    space_words,
    text_to_say,
    to_speech,
)
from .base import VoiceBase, VoiceInfo
from .visemes import Viseme, ipa_viseme

HOP_LENGTH = 256
BOS, EOS, PAD = "^", "$", "_"
_PHONEMES_IPA = 0x02  # espeak_TextToPhonemes phonememode: IPA output, no separator
# Clause ends that Piper voices have ids for; espeak_TextToPhonemes drops punctuation, so the
# text is cut at these and each clause's mark is put back after its phonemes.
_CLAUSE = re.compile(r"([^,;:.!?…]*(?:[,;:.!?…](?!\s|$)[^,;:.!?…]*)*)([,;:.!?…]*)(?:\s+|$)")


def _pick_ceil(model: Any) -> str | None:
    """The output of the ``Ceil`` whose result the length regulator sums (``w_ceil``)."""
    consumers: dict[str, set[str]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, set()).add(node.op_type)
    for node in model.graph.node:
        used_by = consumers.get(node.output[0], set())
        if node.op_type == "Ceil" and used_by & {"CumSum", "ReduceSum"}:
            return node.output[0]
    return None


def _load_config(path: Path) -> dict[str, Any]:
    """The voice's json, checked for what synthesis needs; ValueError naming the file."""
    if not path.is_file():
        raise ValueError(f"{path}: voice config not found (a Piper voice needs model.onnx.json)")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON voice config ({exc})") from exc
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: must hold a JSON object")
    id_map = cfg.get("phoneme_id_map")
    if not isinstance(id_map, dict) or not all(
        isinstance(v, list) and all(isinstance(i, int) for i in v) for v in id_map.values()
    ):
        raise ValueError(f"{path}: phoneme_id_map missing or not a map of phoneme -> [ids]")
    missing = [s for s in (BOS, EOS, PAD) if s not in id_map]
    if missing:
        raise ValueError(f"{path}: phoneme_id_map lacks {', '.join(missing)}")
    rate = cfg.get("audio", {}).get("sample_rate") if isinstance(cfg.get("audio"), dict) else None
    if not isinstance(rate, int) or rate <= 0:
        raise ValueError(f"{path}: audio.sample_rate missing or not a positive integer")
    if cfg.get("phoneme_type", "espeak") != "espeak":
        raise ValueError(f"{path}: phoneme_type {cfg['phoneme_type']!r} is not supported "
                         "(only espeak-phonemized voices)")  # fmt: skip
    return cfg


def _phonemize(text: str, voice: str) -> list[str]:
    """IPA phonemes of ``text`` from espeak-ng, one string per clause, each with its clause's
    closing punctuation."""
    clauses = [(m.group(1).strip(), m.group(2)) for m in _CLAUSE.finditer(text) if m.group(0)]
    out: list[str] = []
    with espeak._LOCK:
        lib = espeak._library()
        fn = lib.espeak_TextToPhonemes
        fn.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        fn.restype = ctypes.c_char_p
        # The voice is global state that the espeak voice changes too: set it on every call.
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"espeak-ng could not load voice {voice!r}")
        for words, punct in clauses:
            parts: list[str] = []
            if words:
                buf = ctypes.create_string_buffer(words.encode("utf-8"))
                ptr = ctypes.c_void_p(ctypes.addressof(buf))
                while ptr.value:  # espeak returns one clause per call and advances the pointer
                    raw = fn(ctypes.byref(ptr), espeak._CHARS_UTF8, _PHONEMES_IPA)
                    if raw:
                        parts.append(raw.decode("utf-8", "replace").strip())
            ph = " ".join(p for p in parts if p)
            if ph or punct:
                out.append(ph + punct[-1:])
    return out


class PiperVoice(VoiceBase):
    """A Piper-format voice file: ``model`` is the ``.onnx`` path, its ``.onnx.json`` beside it.

    In: a Sentence (text in the voice's language; espeak-ng phonemizes it with the voice named
    in the json). Out: a Speech with int16 mono PCM at ``sample_rate`` (the model's rate
    resampled once), normalized to the project's speech level, silence trimmed to <= 30 ms lead
    and <= 80 ms tail; ``phonemes`` are the model's own durations with IPA symbols (stress and
    length marks merged into their phoneme, "_" for the edge pauses) tiling the audio;
    ``words`` are the space-separated words. Empty text gives empty audio. A missing or broken
    model or json raises ValueError naming the file and the problem.
    """

    def __init__(
        self,
        model: str,
        sample_rate: int = 48000,
        default_lang: str = "en",
        speaker: int = 0,
        length_scale: float | None = None,
        noise_scale: float | None = None,
        noise_w: float | None = None,
        threads: int = 1,
    ) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        self.path = Path(model)
        cfg = _load_config(Path(f"{self.path}.json"))
        self.id_map: dict[str, list[int]] = cfg["phoneme_id_map"]
        self.model_rate: int = cfg["audio"]["sample_rate"]
        self.espeak_voice = str(cfg.get("espeak", {}).get("voice") or default_lang)
        n_speakers = int(cfg.get("num_speakers", 1) or 1)
        if not 0 <= speaker < n_speakers:
            raise ValueError(f"speaker must be within 0..{n_speakers - 1} for {self.path.name}, "
                             f"got {speaker}")  # fmt: skip
        inference = cfg.get("inference", {}) if isinstance(cfg.get("inference"), dict) else {}
        self.scales = np.asarray(
            [
                inference.get("noise_scale", 0.667) if noise_scale is None else noise_scale,
                inference.get("length_scale", 1.0) if length_scale is None else length_scale,
                inference.get("noise_w", 0.8) if noise_w is None else noise_w,
            ],
            dtype=np.float32,
        )
        self.speaker = speaker if n_speakers > 1 else None
        self.sample_rate = sample_rate
        self.default_lang = default_lang
        self._sess, self._durations = session_with_durations(self.path, _pick_ceil, threads)
        self._inputs = {i.name for i in self._sess.get_inputs()}  # type: ignore[attr-defined]
        if not {"input", "input_lengths", "scales"} <= self._inputs:
            raise ValueError(f"{self.path}: not a Piper voice (inputs are "
                             f"{', '.join(sorted(self._inputs))})")  # fmt: skip

    def info(self) -> VoiceInfo:
        name = self.path.name.removesuffix(".onnx")
        return VoiceInfo("piper", name, self.sample_rate, str(self.path))

    def viseme_for(self, symbol: str) -> Viseme:
        return ipa_viseme(symbol)

    def synthesize(self, sentence: Sentence) -> Speech:
        """Synthesize one sentence (blocking; safe to call from several threads)."""
        text = text_to_say(sentence)
        clauses = _phonemize(text, self.espeak_voice) if text else []
        # NFD, as Piper voices are trained on: a nasal vowel is the vowel plus U+0303.
        phonemes = [c for c in unicodedata.normalize("NFD", " ".join(clauses)) if c in self.id_map]
        if not any(c.isalpha() for c in phonemes):
            return Speech(sentence, np.zeros(0, dtype=np.int16), self.sample_rate, [], [])
        pad = self.id_map[PAD]
        ids = [*self.id_map[BOS], *pad]
        owner = [0] * len(ids)  # ids -> index into symbols (BOS + pad -> the leading pause)
        for k, c in enumerate(phonemes, start=1):
            ids += self.id_map[c] + pad
            owner += [k] * (len(self.id_map[c]) + len(pad))
        ids += self.id_map[EOS]
        owner += [len(phonemes) + 1] * len(self.id_map[EOS])
        feed = {
            "input": np.asarray([ids], np.int64),
            "input_lengths": np.asarray([len(ids)], np.int64),
            "scales": self.scales,
        }
        if self.speaker is not None and "sid" in self._inputs:
            feed["sid"] = np.asarray([self.speaker], np.int64)
        wav, frames = self._sess.run(["output", self._durations], feed)  # type: ignore[attr-defined]
        counts = np.bincount(
            owner, weights=np.rint(frames.reshape(-1)), minlength=len(phonemes) + 2
        )
        symbols = [SILENCE, *phonemes, SILENCE]
        out = Rendered(
            wav.reshape(-1),
            self.model_rate,
            [int(c) * HOP_LENGTH for c in counts],
            symbols,
            space_words(symbols, re.findall(r"[\w'’-]+", text)),
        )
        return to_speech(sentence, out, self.sample_rate)
