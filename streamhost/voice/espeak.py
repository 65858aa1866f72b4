"""espeak-ng text-to-speech with phoneme and word timings, via ctypes.

The library and its data come from the ``espeakng-loader`` wheel (espeak-ng 1.52). Debian's
espeak-ng 1.51 is deliberately not used: its ``cmn`` voice is broken.

espeak-ng keeps all its state in process globals (current voice, parameters, the synth callback),
so every call into it is serialized by one process-wide lock, and the library is initialized at
most once per process.

One of those globals is never reset: the phase of wavegen's pitch flutter (a function-static
``Flutter_ix`` that advances every 64 samples for the life of the process). Left alone, the same
sentence comes out a few samples longer or shorter, with a different waveform, depending on what
was spoken before it, so a recording or a test made on the virtual clock is not reproducible.
It is zeroed before every synthesis, located through the library's symbol table
(``elf_symbols.py``); where the library is stripped the voice works as before, unreproducibly.
"""

from __future__ import annotations

import ctypes
import re
import threading
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from ..frames import Sentence, Speech, Timing
from .base import VoiceBase, VoiceInfo
from .elf_symbols import private_int
from .resample import resample_int16
from .visemes import Viseme, viseme_for

ESPEAK_RATE = 22050

# speak_lib.h constants.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_DONT_EXIT = 0x8000  # report init failures instead of calling exit()
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE = 1
_PARAM_PITCH = 3
_DEFAULT_PITCH = 50  # espeak's own default; set explicitly because parameters are global

_EV_LIST_TERMINATED = 0
_EV_WORD = 1
_EV_SENTENCE = 2
_EV_END = 5
_EV_MSG_TERMINATED = 6
_EV_PHONEME = 7

# Sentence.lang -> espeak voice name.
LANG_VOICES: dict[str, str] = {
    "en": "en",
    "en-us": "en-us",
    "en-gb": "en",
    "de": "de",
    "it": "it",
    "zh": "cmn",
    "cmn": "cmn",
    "zh-cn": "cmn",
}

# espeak-ng's voice variants a config may name (``[voice.espeak] variant``): its female and
# male timbres; "" is each language's own default (male).
VARIANTS: tuple[str, ...] = ("", "f1", "f2", "f3", "f4", "f5", *(f"m{i}" for i in range(1, 8)))
# The host's variant where the config names none: f2 speaks near hibari heart's ~196 Hz; the
# m variants sit at the language's own ~100 Hz, so a man keeps that (tests/test_voice_variant.py).
HOST_VARIANT: dict[str, str] = {"female": "f2", "male": ""}


# Amplitude below which a sample counts as silence when trimming (about -50 dBFS).
_SILENCE_LEVEL = 100
_MAX_LEAD_S = 0.030
_MAX_TAIL_S = 0.080
# Audio returned when espeak produces nothing audible for non-empty text, so callers can rely on
# "non-empty text -> non-empty audio".
_MIN_AUDIO_S = 0.050


class _EventId(ctypes.Union):
    _fields_ = [
        ("number", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("string", ctypes.c_char * 8),
    ]


class _Event(ctypes.Structure):
    """espeak_EVENT. On 64-bit Linux: 6 x 4-byte ints, then the pointer at offset 24, union at 32."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass
class _Collected:
    """What one espeak_Synth call produced; filled by the callback."""

    chunks: list[bytes] = field(default_factory=list)
    # (type, sample, text_position, length, id bytes)
    events: list[tuple[int, int, int, int, bytes]] = field(default_factory=list)


_LOCK = threading.Lock()
_lib: ctypes.CDLL | None = None
_callback_ref: object = None  # keep the ctypes thunk alive for as long as the library holds it
_current: _Collected | None = None
_flutter: ctypes.c_int | None = None  # wavegen's pitch-flutter phase (see the module docstring)


def _on_synth(wav: ctypes.Array, n_samples: int, events: ctypes.Array) -> int:
    # Runs on the thread that called espeak_Synth, which holds _LOCK, so _current is ours.
    col = _current
    if col is None:
        return 1  # abort: nobody is collecting
    if n_samples > 0 and wav:
        col.chunks.append(ctypes.string_at(wav, n_samples * 2))
    i = 0
    while events:
        ev = events[i]
        if ev.type in (_EV_LIST_TERMINATED, _EV_MSG_TERMINATED):
            break
        if ev.type in (_EV_WORD, _EV_PHONEME, _EV_SENTENCE, _EV_END):
            col.events.append(
                (ev.type, ev.sample, ev.text_position, ev.length, bytes(ev.id.string))
            )
        i += 1
    return 0


def _library() -> ctypes.CDLL:
    """Load and initialize espeak-ng once per process. Call with _LOCK held."""
    global _lib, _callback_ref, _flutter
    if _lib is not None:
        return _lib
    import espeakng_loader

    path = espeakng_loader.get_library_path()
    lib = ctypes.CDLL(path)
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = ctypes.c_int

    rate = lib.espeak_Initialize(
        _AUDIO_OUTPUT_SYNCHRONOUS,
        100,
        espeakng_loader.get_data_path().encode(),
        _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT,
    )
    if rate != ESPEAK_RATE:
        raise RuntimeError(f"espeak-ng initialization failed (returned {rate})")
    cb = _SynthCallback(_on_synth)
    lib.espeak_SetSynthCallback(cb)
    _callback_ref = cb
    _flutter = private_int(lib, path, "espeak_Synth", "Flutter_ix")
    _lib = lib
    return lib


def voice_for_lang(lang: str) -> str:
    """espeak voice name for a Sentence.lang such as "en", "de", "it", "zh" (or "zh-CN")."""
    key = lang.strip().lower().replace("_", "-")
    voice = LANG_VOICES.get(key) or LANG_VOICES.get(key.split("-")[0])
    if voice is None:
        supported = ", ".join(sorted({k.split("-")[0] for k in LANG_VOICES}))
        raise ValueError(f"espeak TTS does not support language {lang!r} (supported: {supported})")
    return voice


def _word_text(chars: str, pos: int, length: int, next_pos: int | None) -> str:
    """The input text of one WORD event.

    espeak's text_position is a 1-based index in code points (not UTF-8 bytes). Its length is
    right for space-separated languages but is 1 for multi-character Mandarin words, so take the
    text up to the next word, cut at whitespace, and drop trailing punctuation.
    """
    start = max(pos - 1, 0)
    stop = len(chars) if next_pos is None else max(next_pos - 1, start)
    span = chars[start:stop].split(maxsplit=1)
    text = span[0] if span else ""
    while text and unicodedata.category(text[-1]).startswith("P"):
        text = text[:-1]
    if len(text) < length or not text:
        text = chars[start : start + max(length, 1)].strip()
    return text


def _phoneme_symbol(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _trim_bounds(pcm: np.ndarray, rate: int) -> tuple[int, int]:
    """(start, stop) sample indices that keep <= 30 ms of lead and <= 80 ms of tail silence."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > _SILENCE_LEVEL)
    if len(loud) == 0:
        return 0, 0
    start = max(0, int(loud[0]) - int(_MAX_LEAD_S * rate))
    stop = min(len(pcm), int(loud[-1]) + 1 + int(_MAX_TAIL_S * rate))
    return start, stop


class EspeakTTS(VoiceBase):
    """espeak-ng voice: `Sentence` in, `Speech` out.

    In: a Sentence (its `text` and `lang`; "en", "de", "it" and "zh" are supported). Out: a Speech
    with int16 mono PCM at `sample_rate` (espeak's 22050 Hz resampled once), leading silence
    trimmed to <= 30 ms and trailing to <= 80 ms, and phoneme / word Timings in seconds from the
    start of that audio. Phoneme symbols are espeak mnemonics ("m", "'a", "_:", "ts." ...); word
    symbols are the words' input text. Empty text gives empty audio and no timings.
    """

    def __init__(
        self,
        sample_rate: int = 48000,
        default_lang: str = "en",
        rate_wpm: int = 165,
        pitch: int | None = None,
        variant: str = "",
    ) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if not 80 <= rate_wpm <= 450:
            raise ValueError(f"rate_wpm must be within 80..450, got {rate_wpm}")
        if pitch is not None and not 0 <= pitch <= 100:
            raise ValueError(f"pitch must be within 0..100, got {pitch}")
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(map(repr, VARIANTS))}")
        voice_for_lang(default_lang)  # fail at construction, not mid-stream
        self.variant = variant
        self.sample_rate = sample_rate
        self.default_lang = default_lang
        self.rate_wpm = rate_wpm
        self.pitch = pitch

    def info(self) -> VoiceInfo:
        return VoiceInfo("espeak", self._voice(self.default_lang), self.sample_rate,
                         "espeakng-loader (espeak-ng 1.52)")  # fmt: skip

    def _voice(self, lang: str) -> str:
        """The espeak voice name: the language's voice, with the variant ("de+f2")."""
        voice = voice_for_lang(lang)
        return f"{voice}+{self.variant}" if self.variant else voice

    def viseme_for(self, symbol: str) -> Viseme:
        return viseme_for(symbol)  # espeak mnemonics

    def synthesize(self, sentence: Sentence) -> Speech:
        """Synthesize one sentence (blocking; safe to call from several threads)."""
        lang = sentence.lang or self.default_lang
        voice = voice_for_lang(lang)
        text = sentence.text.replace("\0", " ")
        if sentence.continues and text.strip() and text.rstrip()[-1] not in _PHRASE_END:
            # A phrase cut from a longer sentence: a comma makes espeak end it on a rising,
            # unfinished tone instead of a full stop's fall (the text on record is unchanged).
            text = text.rstrip() + ","
        if not text.strip():
            return Speech(sentence, np.zeros(0, dtype=np.int16), self.sample_rate, [], [])
        if voice == LANG_VOICES["zh"]:
            # espeak's Mandarin drops a decimal point after a Chinese character ("满壶1.7升"
            # is read "yi qi"), and elsewhere reads the decimals as a number ("39.90" ->
            # "dian jiushi"): write them as they are said, 三十九点九零. One character for
            # one, so the word timings' offsets hold for the text as written.
            spoken = _DECIMALS.sub(lambda m: "点" + m.group(1).translate(_ZH_DIGITS), text)
        else:
            spoken = text

        pcm22, events = self._run_espeak(spoken, self._voice(lang))
        start, stop = _trim_bounds(pcm22, ESPEAK_RATE)
        if stop == start:
            # Nothing audible (e.g. text that is only punctuation): a short silence, so the
            # caller still gets audio for a non-empty sentence.
            pcm22 = np.zeros(int(_MIN_AUDIO_S * ESPEAK_RATE), dtype=np.int16)
        else:
            pcm22 = pcm22[start:stop]
        pcm = resample_int16(pcm22, ESPEAK_RATE, self.sample_rate)
        duration = len(pcm) / self.sample_rate
        phonemes, words = _timings(events, text, start, len(pcm22), duration)
        return Speech(sentence, pcm, self.sample_rate, phonemes, words)

    def _run_espeak(
        self, text: str, voice: str
    ) -> tuple[np.ndarray, list[tuple[int, int, int, int, bytes]]]:
        global _current
        data = text.encode("utf-8") + b"\0"
        with _LOCK:
            lib = _library()
            # Voice and parameters are global: set all of them on every call, since another
            # EspeakTTS instance may have changed them since.
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise RuntimeError(f"espeak-ng could not load voice {voice!r}")
            lib.espeak_SetParameter(_PARAM_RATE, self.rate_wpm, 0)
            lib.espeak_SetParameter(
                _PARAM_PITCH, _DEFAULT_PITCH if self.pitch is None else self.pitch, 0
            )
            if _flutter is not None:
                _flutter.value = 0  # every sentence starts at the same flutter phase
            col = _Collected()
            _current = col
            try:
                err = lib.espeak_Synth(
                    data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
                )
            finally:
                _current = None
        if err != 0:
            raise RuntimeError(f"espeak_Synth failed with error {err}")
        pcm = np.frombuffer(b"".join(col.chunks), dtype=np.int16).copy()
        return pcm, col.events


_DECIMALS = re.compile(r"(?<=\d)\.(\d+)")
_ZH_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")
_PHRASE_END = frozenset(",;:.!?…，；：、。！？")


def _timings(
    events: list[tuple[int, int, int, int, bytes]],
    text: str,
    offset: int,
    n_kept: int,
    duration: float,
) -> tuple[list[Timing], list[Timing]]:
    """Turn raw events into Timings in seconds from the start of the trimmed audio.

    Event positions are 22050 Hz sample counts; `offset` is the first kept sample and `n_kept`
    how many were kept. Zero-length phonemes are decided on whole samples, before the float
    conversion, so the result does not depend on resampling round-off.
    """

    def clamp(sample: int) -> int:
        return min(max(sample - offset, 0), n_kept)

    def sec(sample: int) -> float:
        return min(clamp(sample) / ESPEAK_RATE, duration)

    # Event sample counters are non-decreasing in practice; max() guards against a stray one.
    ph_raw: list[tuple[int, str]] = []
    last = 0
    for etype, sample, _pos, _len, raw in events:
        if etype == _EV_PHONEME:
            last = max(last, clamp(sample))
            ph_raw.append((last, _phoneme_symbol(raw)))
    phonemes: list[Timing] = []
    for i, (start, sym) in enumerate(ph_raw):
        end = ph_raw[i + 1][0] if i + 1 < len(ph_raw) else n_kept
        if end > start and sym:
            t0 = min(start / ESPEAK_RATE, duration)
            phonemes.append(Timing(t0, min(end / ESPEAK_RATE, duration), sym))

    # espeak sends one WORD event per *spoken* word: "125" gives three ("one hundred and
    # twenty-five"), the later ones pointing inside the first one's text. Merge those so each
    # Timing is one word of the input text.
    word_ev: list[tuple[float, int, int]] = []
    for etype, sample, pos, ln, _raw in events:
        if etype != _EV_WORD:
            continue
        if word_ev and word_ev[-1][1] <= pos < word_ev[-1][1] + word_ev[-1][2]:
            continue
        word_ev.append((sec(sample), pos, ln))
    # Clause/sentence ends bound a word too, so "map." does not swallow the pause after it.
    bounds = sorted(sec(s) for t, s, *_ in events if t in (_EV_SENTENCE, _EV_END))
    pauses = [p.start for p in phonemes if p.symbol.startswith("_")]
    words: list[Timing] = []
    prev_start = 0.0
    for i, (start, pos, ln) in enumerate(word_ev):
        start = max(start, prev_start)
        next_pos = word_ev[i + 1][1] if i + 1 < len(word_ev) else None
        end = word_ev[i + 1][0] if i + 1 < len(word_ev) else duration
        end = min([end] + [b for b in bounds if b > start] + [p for p in pauses if p > start])
        end = max(end, start)
        words.append(Timing(start, end, _word_text(text, pos, ln, next_pos)))
        prev_start = start
    return phonemes, words
