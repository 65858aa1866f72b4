"""Operator voice -> transcript lines: energy VAD on the AV path, faster-whisper off it.

Live int16 mono PCM (the stream rate) in via ``OperatorAsr.feed`` (cheap: one RMS per block);
utterances cut by the VAD go to one worker thread that runs faster-whisper (the ``asr`` extra,
imported lazily) and hands ``(start, duration, text)`` back on the event loop. Without a model
folder, or when the worker is behind, an utterance is reported with ``text=None``
(untranscribed) at once: the operator's speech is still logged, just not as words.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .resample import resample_int16

log = logging.getLogger("streamhost.asr")
WHISPER_RATE = 16000
MAX_PENDING = 4  # utterances waiting for the worker; more are logged untranscribed


@dataclass(frozen=True, slots=True)
class Utterance:
    """One stretch of speech cut by the VAD: int16 PCM, its media start time and rate."""

    pcm: np.ndarray
    start: float
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.pcm) / self.sample_rate


class EnergyVad:
    """Blocks of int16 PCM with their media time in; finished ``Utterance``s out.

    Speech starts when a block is above ``threshold_db`` dBFS (RMS); it ends after ``hangover_s``
    below it. ``pre_roll_s`` of audio before the onset is kept (soft onsets); utterances shorter
    than ``min_speech_s`` of voiced audio are dropped (clicks); longer than ``max_s`` are cut.
    """

    def __init__(
        self,
        sample_rate: int,
        threshold_db: float = -40.0,
        hangover_s: float = 0.5,
        pre_roll_s: float = 0.2,
        min_speech_s: float = 0.2,
        max_s: float = 15.0,
    ) -> None:
        self.sample_rate = sample_rate
        self.threshold_db = threshold_db
        self.hangover_s = hangover_s
        self.pre_roll = int(pre_roll_s * sample_rate)
        self.min_speech_s = min_speech_s
        self.max_samples = int(max_s * sample_rate)
        self._pre: list[np.ndarray] = []
        self._pre_n = 0
        self._buf: list[np.ndarray] = []
        self._n = 0
        self._start = 0.0
        self._voiced = 0.0
        self._quiet = 0.0
        self.active = False

    def feed(self, pcm: np.ndarray, t: float) -> list[Utterance]:
        pcm = np.asarray(pcm, dtype=np.int16).reshape(-1)
        if pcm.size == 0:
            return []
        secs = pcm.size / self.sample_rate
        x = pcm.astype(np.float64) / 32768.0
        rms = math.sqrt(float(np.mean(x * x)))
        loud = 20.0 * math.log10(max(rms, 1e-9)) > self.threshold_db
        out: list[Utterance] = []
        if not self.active:
            if loud:
                self.active = True
                pre = np.concatenate(self._pre) if self._pre else np.zeros(0, np.int16)
                self._buf = [pre, pcm]
                self._n = pre.size + pcm.size
                self._start = t - pre.size / self.sample_rate
                self._voiced, self._quiet = secs, 0.0
                self._pre, self._pre_n = [], 0
            else:
                self._pre.append(pcm)
                self._pre_n += pcm.size
                while self._pre and self._pre_n - self._pre[0].size >= self.pre_roll:
                    self._pre_n -= self._pre.pop(0).size
            return out
        self._buf.append(pcm)
        self._n += pcm.size
        if loud:
            self._voiced += secs
            self._quiet = 0.0
        else:
            self._quiet += secs
        if self._quiet >= self.hangover_s or self._n >= self.max_samples:
            u = self.flush()
            if u is not None:
                out.append(u)
        return out

    def flush(self) -> Utterance | None:
        """End the current utterance now (takeover over); None if there is none worth keeping."""
        if not self.active:
            return None
        self.active = False
        pcm = np.concatenate(self._buf)
        voiced = self._voiced
        self._buf, self._n = [], 0
        if voiced < self.min_speech_s:
            return None
        return Utterance(pcm, self._start, self.sample_rate)


class WhisperTranscriber:
    """A faster-whisper model folder in; ``transcribe(utterance) -> text`` (blocking: call it
    from a worker thread). The model loads on first use."""

    def __init__(self, model_dir: str | Path, language: str = "en", threads: int = 1) -> None:
        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise ValueError(f"ASR model folder {str(self.model_dir)!r} does not exist")
        self.language = language
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            try:
                from faster_whisper import WhisperModel
            except ImportError as e:  # the optional extra is missing: say which
                raise RuntimeError(
                    "faster-whisper is not installed; pip install 'streamhost[asr]'"
                ) from e
            self._model = WhisperModel(
                str(self.model_dir), device="cpu", compute_type="float32",
                cpu_threads=self.threads,
            )  # fmt: skip

    def transcribe(self, u: Utterance) -> str:
        self.load()
        pcm = resample_int16(u.pcm, u.sample_rate, WHISPER_RATE)
        audio = pcm.astype(np.float32) / 32768.0
        segments, _ = self._model.transcribe(
            audio,
            language=self.language,
            beam_size=1,
            temperature=0.0,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=True,
            max_new_tokens=96,
        )
        return " ".join(s.text.strip() for s in segments).strip()


Report = Callable[[Utterance, str | None], None]


class OperatorAsr:
    """Live operator PCM in (``feed``, on the event loop); ``on_line(utterance, text)`` out on
    the event loop, ``text`` None when untranscribed (no model, model failure, worker behind).
    """

    def __init__(
        self,
        sample_rate: int,
        on_line: Report,
        transcriber: WhisperTranscriber | None = None,
        vad: EnergyVad | None = None,
    ) -> None:
        self.vad = vad or EnergyVad(sample_rate)
        self.on_line = on_line
        self.transcriber = transcriber
        self._executor = (
            ThreadPoolExecutor(1, thread_name_prefix="asr") if transcriber is not None else None
        )
        self._pending = 0
        self.transcribed = 0
        self.untranscribed = 0
        self.failures = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    def warm(self) -> None:
        """Start loading the model in the worker (a takeover began)."""
        if self._executor is not None and self.transcriber is not None:
            self._executor.submit(self._safe_load)

    def _safe_load(self) -> None:
        try:
            self.transcriber.load()  # type: ignore[union-attr]
        except Exception as e:  # noqa: BLE001 - reported per utterance when it is used
            log.error("ASR model failed to load: %s", e)

    def feed(self, pcm: np.ndarray, t: float) -> None:
        for u in self.vad.feed(pcm, t):
            self._submit(u)

    def flush(self) -> None:
        u = self.vad.flush()
        if u is not None:
            self._submit(u)

    def _submit(self, u: Utterance) -> None:
        if self._executor is None or self._pending >= MAX_PENDING:
            self.untranscribed += 1
            self.on_line(u, None)
            return
        self._loop = asyncio.get_running_loop()
        self._pending += 1
        fut = self._loop.run_in_executor(self._executor, self._run, u)
        fut.add_done_callback(lambda f: self._done(u, f))

    def _run(self, u: Utterance) -> str | None:
        try:
            return self.transcriber.transcribe(u)  # type: ignore[union-attr]
        except Exception as e:  # noqa: BLE001 - logged untranscribed; the stream goes on
            log.error("ASR failed on a %.1f s utterance: %s", u.duration, e)
            return None

    def _done(self, u: Utterance, fut: asyncio.Future[str | None]) -> None:
        self._pending -= 1
        text = None if fut.cancelled() or fut.exception() else fut.result()
        if text is None:
            self.failures += 1
            self.untranscribed += 1
        else:
            self.transcribed += 1
        self.on_line(u, text)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
