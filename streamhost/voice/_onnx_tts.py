"""Shared plumbing for the neural (ONNX) voices: exposing a graph's duration tensor, one session
per model file per process, and turning (waveform, per-token durations) into a ``Speech``.

Neural TTS graphs (Kokoro-family, Piper/VITS) predict how many frames each input token lasts and
expand the encoder output by those counts. That tensor is internal, so at load time it is added
to the graph's outputs; the voice then knows exactly which samples each phoneme produced, and the
avatar's mouth follows the model itself rather than a guess.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..frames import Sentence, Speech, Timing
from .espeak import _trim_bounds
from .resample import resample_int16

# Loudness target: the active speech level the espeak-ng voice lands at (~ -19 dBFS measured
# on its sentences), so switching engines between languages does not jump in volume; peaks are
# capped at -1 dBFS so the resampler's small overshoot cannot clip.
TARGET_ACTIVE_DBFS = -19.0
PEAK_CAP = 10 ** (-1.0 / 20)
_FRAME_S = 0.020
_ACTIVE_RANGE_DB = 20.0  # frames this far below the loudest one count as pauses, not speech

# Symbol used for silence tokens (the models' begin/end pads); ipa_viseme reads it as REST.
SILENCE = "_"

# Characters that end a clause in the text. A phrase cut from a longer sentence
# (Sentence.continues) gets a comma instead of a full stop, so it ends on a rising, unfinished
# tone rather than a falling final one.
PHRASE_END = frozenset(",;:.!?…")


def text_to_say(sentence: Sentence) -> str:
    """The sentence's text as the engine should read it ("" for nothing to say)."""
    text = " ".join(sentence.text.replace("\0", " ").split())
    if sentence.continues and text and text[-1] not in PHRASE_END:
        text += ","
    return text


_SESSIONS: dict[tuple[str, str, int], object] = {}
_SESSIONS_LOCK = threading.Lock()


def session_with_durations(
    path: Path, pick: Callable[[object], str | None], threads: int = 1
) -> tuple[object, str]:
    """(onnxruntime.InferenceSession, duration tensor name) for the model at ``path``.

    The graph is loaded with ``onnx``, the tensor ``pick`` names is appended to its outputs, and
    the session is built from the modified bytes. Sessions are cached per (file, threads) for the
    whole process: ORT's ``run`` is thread-safe, so every voice instance shares one copy of the
    weights. Raises ValueError naming the file when it is missing or not a usable ONNX graph.
    """
    key = (str(Path(path).resolve()), getattr(pick, "__name__", ""), threads)
    with _SESSIONS_LOCK:
        cached = _SESSIONS.get(key)
        if cached is not None:
            return cached  # type: ignore[return-value]
        import onnx
        import onnxruntime as ort

        if not Path(path).is_file():
            raise ValueError(f"{path}: model file not found")
        try:
            model = onnx.load(str(path))
        except Exception as exc:  # onnx raises DecodeError and friends, not one base class
            raise ValueError(f"{path}: not a readable ONNX model ({exc})") from exc
        name = pick(model)
        if not name:
            raise ValueError(f"{path}: no per-phoneme duration tensor found in the ONNX graph")
        if name not in {o.name for o in model.graph.output}:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = threads
        opts.log_severity_level = 3
        # Every sentence is a new input length. ORT's memory pattern is cached per input shape
        # and its CPU arena never hands memory back: together they grew the process for as long
        # as new lengths came (+27.6 MB RSS over 450 sentences here; +2.1 MB without them, at
        # the same CPU per sentence). Buffers now come from malloc and go back to it.
        opts.enable_mem_pattern = False
        opts.enable_cpu_mem_arena = False
        try:
            sess = ort.InferenceSession(
                model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ORT raises its own exception types per failure
            raise ValueError(f"{path}: ONNX Runtime cannot load the model ({exc})") from exc
        _SESSIONS[key] = (sess, name)
        return sess, name


@dataclass(slots=True)
class Rendered:
    """What a neural voice produced for one sentence, before post-processing.

    ``wav``: float32 mono at ``rate``; ``samples[i]``: how many of its samples token ``i``
    produced (their sum is the length of ``wav``); ``symbols[i]``: the token's IPA symbol;
    ``words``: (first token, end token, text) per spoken word.
    """

    wav: np.ndarray
    rate: int
    samples: list[int]
    symbols: list[str]
    words: list[tuple[int, int, str]]
    lead: int = 0  # samples by which the waveform runs ahead of the duration timeline


def space_words(
    symbols: Sequence[str], labels: Sequence[str] | None = None
) -> list[tuple[int, int, str]]:
    """Words as (first token, end token, label): runs of letter tokens between spaces,
    punctuation and silence. Labelled with ``labels`` when there is one per run, else with the
    run's own phonemes."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, sym in enumerate([*symbols, " "]):
        letter = any(c.isalpha() for c in sym)
        if letter and start is None:
            start = i
        elif not letter and start is not None:
            runs.append((start, i))
            start = None
    if labels is not None and len(labels) == len(runs):
        return [(a, b, lab) for (a, b), lab in zip(runs, labels, strict=True)]
    return [(a, b, "".join(symbols[a:b])) for a, b in runs]


# Stress marks are tokens of their own in these models and get frames of their own, but they
# do not move the mouth: a stress mark joins the phoneme after it, a length or secondary
# articulation mark the one before, so a viseme never drops to REST inside a word.
_PREFIX_MARKS = frozenset("ˈˌ")
_SUFFIX_MARKS = frozenset("ːˑʰʲʷ˞ˤ")


def _phoneme_groups(symbols: Sequence[str]) -> list[tuple[int, int, str]]:
    """(first token, end token, symbol) with marks merged into their phoneme."""
    groups: list[list[Any]] = []
    pending = -1  # index of a prefix mark waiting for its phoneme
    for i, sym in enumerate(symbols):
        if sym in _PREFIX_MARKS:
            if pending < 0:
                pending = i
            continue
        suffix = sym in _SUFFIX_MARKS or unicodedata.category(sym[:1]) == "Mn"
        if suffix and groups and pending < 0 and groups[-1][1] == i:
            groups[-1][1] = i + 1
            groups[-1][2] += sym
            continue
        first = pending if pending >= 0 else i
        groups.append([first, i + 1, "".join(symbols[first : i + 1])])
        pending = -1
    if pending >= 0:  # a mark with nothing after it: keep its frames, as a pause
        groups.append([pending, len(symbols), SILENCE])
    return [(a, b, s) for a, b, s in groups]


def normalize(wav: np.ndarray, rate: int) -> np.ndarray:
    """float32 audio -> int16 at the target active speech level, peaks capped at -1 dBFS."""
    x = np.asarray(wav, dtype=np.float32)
    peak = float(np.abs(x).max()) if len(x) else 0.0
    if peak <= 1e-6:
        return np.zeros(len(x), dtype=np.int16)
    n = max(1, int(_FRAME_S * rate))
    usable = len(x) // n * n
    frames = x[:usable].reshape(-1, n) if usable else x[None, :]
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    active = rms[rms >= rms.max() * 10 ** (-_ACTIVE_RANGE_DB / 20)]
    level = float(np.sqrt(np.mean(active**2)))
    gain = min(10 ** (TARGET_ACTIVE_DBFS / 20) / level, PEAK_CAP / peak)
    return np.clip(np.rint(x * (gain * 32767.0)), -32768, 32767).astype(np.int16)


def to_speech(sentence: Sentence, out: Rendered, sample_rate: int) -> Speech:
    """Normalize, trim silence (<= 30 ms lead, <= 80 ms tail), resample once to ``sample_rate``
    and convert the token sample counts into phoneme and word Timings in seconds.

    Phonemes tile the kept audio exactly: the first starts at 0, each ends where the next
    begins, the last ends at the Speech's duration.
    """
    pcm_src = normalize(out.wav, out.rate)
    start, stop = _trim_bounds(pcm_src, out.rate)
    if stop <= start:
        return Speech(sentence, np.zeros(0, dtype=np.int16), sample_rate, [], [])
    pcm = resample_int16(pcm_src[start:stop], out.rate, sample_rate)
    duration = len(pcm) / sample_rate
    n_kept = stop - start
    edges = np.maximum(np.concatenate([[0], np.cumsum(out.samples)]) - out.lead, 0).astype(np.int64)

    def sec(sample: int) -> float:
        kept = min(max(int(sample) - start, 0), n_kept)
        return duration if kept == n_kept else min(kept / out.rate, duration)

    phonemes = [
        Timing(sec(edges[a]), sec(edges[b]), sym)
        for a, b, sym in _phoneme_groups(out.symbols)
        if sec(edges[b]) > sec(edges[a])
    ]
    if phonemes and phonemes[-1].end < duration:
        # The model's frames ended before the waveform did (never seen, but a tail of audio
        # with no phoneme would freeze the mouth): give it to a trailing pause.
        phonemes.append(Timing(phonemes[-1].end, duration, SILENCE))
    words = [
        Timing(sec(edges[a]), sec(edges[b]), label)
        for a, b, label in out.words
        if sec(edges[b]) > sec(edges[a])
    ]
    return Speech(sentence, pcm, sample_rate, phonemes, words)
