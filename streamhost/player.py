"""The speech player: queued Speech in, exactly one frame's audio (and lip-sync cues) out.

The AV loop pulls one frame of audio per video frame, so the audio sample count is the master
clock: a frame's picture is driven by the very samples that play with it, and sync cannot drift.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .frames import Sentence, Speech, StreamFormat


class MouthDriver:
    """What the player needs of the avatar driver (see ``avatar.driver.FaceDriver``)."""

    def start_speech(self, t0: float, visemes: list[tuple[float, float, int]]) -> None: ...
    def stop_speech(self, t: float) -> None: ...
    def set_emotion(self, name: str) -> None: ...


@dataclass(slots=True)
class _Queued:
    speech: Speech
    visemes: list[tuple[float, float, int]]
    gap: int  # samples of silence before it


class SpeechPlayer:
    """Speech (with its viseme track) in via ``enqueue``; ``pull(t)`` gives one frame of int16
    audio and the trace ids of sentences that start in that frame. ``flush`` is the interrupt:
    queued and current speech are dropped and the mouth closes."""

    def __init__(
        self,
        fmt: StreamFormat,
        driver: MouthDriver,
        on_start: Callable[[Speech, float], None] | None = None,
    ) -> None:
        self.fmt = fmt  # checked once: whole samples per frame (frames.StreamFormat)
        self.sample_rate = fmt.sample_rate
        self.spf = fmt.samples_per_frame
        self._driver = driver
        self._on_start = on_start
        self._queue: deque[_Queued] = deque()
        self._cur: _Queued | None = None
        self._pos = 0
        self._queued_samples = 0
        self._cut: tuple[int, int] | None = None  # (full length, cut sample) of the current
        self.speaking = False
        # The sentence whose samples the last pulled frame carries (the bench tag shows it).
        self.frame_sentence: Sentence | None = None
        # Live input (operator takeover): (n_samples, t) -> int16 PCM; while set it is what
        # plays, and queued speech waits.
        self._live: Callable[[int, float], np.ndarray] | None = None
        # An audio-driven face needs the samples just after each frame (Wav2Lip: ~210 ms). With
        # lookahead > 0, each pull leaves (t, frame audio + next `lookahead` samples) in
        # `last_pull`, taken on the loop thread so the render thread never walks the queue.
        self.lookahead = 0
        self.last_pull: tuple[float, np.ndarray] | None = None

    def set_live(self, feed: Callable[[int, float], np.ndarray] | None, t: float) -> None:
        """Play live audio instead of queued speech (None: back to the queue). Starting live
        mode closes the mouth on any sentence that was playing; the queue is kept."""
        if feed is not None and self.speaking:
            self._driver.stop_speech(t)
            self.speaking = False
        self._live = feed

    @property
    def live(self) -> bool:
        return self._live is not None

    def enqueue(
        self, speech: Speech, visemes: list[tuple[float, float, int]], gap_s: float = 0.0
    ) -> None:
        if speech.sample_rate != self.sample_rate:
            raise ValueError(f"speech at {speech.sample_rate} Hz, stream at {self.sample_rate} Hz")
        q = _Queued(speech, visemes, int(round(gap_s * self.sample_rate)))
        self._queue.append(q)
        self._queued_samples += q.gap + len(speech.pcm)

    def withdraw_queued(self, pred: Callable[[Speech], bool]) -> list[tuple[Speech, list]]:
        """Take back queued speech that has not started and matches ``pred`` (so an answer can
        go first); returns (speech, visemes) in play order. A sentence that has begun to play is
        never cut."""
        keep: deque[_Queued] = deque()
        taken: list[tuple[Speech, list]] = []
        cur = self._cur
        if cur is not None and self._pos < 0 and pred(cur.speech):
            # Still in the pause before its first sample: a sentence boundary, so it goes back
            # too (an answer asked in the pause need not wait out one more sentence).
            taken.append((cur.speech, cur.visemes))
            self._cur = None
            self._pos = 0
        for q in self._queue:
            if pred(q.speech):
                taken.append((q.speech, q.visemes))
                self._queued_samples -= q.gap + len(q.speech.pcm)
            else:
                keep.append(q)
        self._queue = keep
        return taken

    def cut_at_word(
        self, grace_s: float, pred: Callable[[Speech], bool]
    ) -> tuple[Speech, list] | None:
        """Break off the sentence playing now (if ``pred`` allows) at the first word boundary
        at least ``grace_s`` ahead: never inside a word, never inside a number (no boundary
        touching a word with a digit: "39 | euros | 90" stays whole). Returns the sentence's
        full (speech, visemes), so it can be said again from its start, or None when nothing
        was cut (nothing playing, no word timings, or no boundary before its end)."""
        cur = self._cur
        if cur is None or self._pos < 0 or not pred(cur.speech) or self._cut is not None:
            return None
        sp = cur.speech
        words = sp.words
        ahead = self._pos / self.sample_rate + grace_s
        for a, b in zip(words, words[1:], strict=False):
            if a.end < ahead:
                continue
            if _has_digit(b.symbol) or (_has_digit(a.symbol) and b.symbol.lower() in _UNITS):
                continue  # "39 | euros", "| 90": a number is said whole, with its unit
            end = int(round((a.end + b.start) / 2 * self.sample_rate))
            if end <= self._pos or end >= len(sp.pcm):
                return None
            self._cut = (len(sp.pcm), end)
            return sp, cur.visemes
        return None

    def buffered_s(self) -> float:
        """Seconds of audio (speech and gaps) not yet pulled."""
        cur = 0
        if self._cur is not None:
            cur = self._end() - self._pos
        return (cur + self._queued_samples) / self.sample_rate

    def _end(self) -> int:
        """Where the current sentence stops: its last sample, or the word boundary it was
        cut at."""
        return self._cut[1] if self._cut is not None else len(self._cur.speech.pcm)  # type: ignore[union-attr]

    @property
    def idle(self) -> bool:
        return self._cur is None and not self._queue

    def flush(self, t: float) -> int:
        """Drop everything not yet played; returns the number of sentences dropped."""
        n = len(self._queue) + (1 if self._cur is not None else 0)
        self._queue.clear()
        self._queued_samples = 0
        self._cur = None
        self._pos = 0
        self._cut = None
        if self.speaking:
            self._driver.stop_speech(t)
            self.speaking = False
        return n

    def pull(self, t: float) -> tuple[np.ndarray, tuple[str, ...]]:
        if self._live is not None:
            self.frame_sentence = None
            return self._ahead(t, self._pull_live(t)), ()
        out = np.zeros(self.spf, dtype=np.int16)
        started: list[str] = []
        filled = 0
        playing: Sentence | None = None
        while filled < self.spf:
            if self._cur is None:
                if not self._queue:
                    if self.speaking:
                        self.speaking = False
                    break
                self._cur = self._queue.popleft()
                self._queued_samples -= self._cur.gap + len(self._cur.speech.pcm)
                self._pos = -self._cur.gap
            cur = self._cur
            if self._pos < 0:
                n = min(-self._pos, self.spf - filled)
                filled += n
                self._pos += n
                continue
            if self._pos == 0:
                t0 = t + filled / self.sample_rate
                started.append(cur.speech.sentence.trace_id)
                self._driver.set_emotion(str(cur.speech.sentence.emotion))
                # The sentence picks the host's gesture; drivers without arms need not know it.
                cue = getattr(self._driver, "cue_sentence", None)
                if cue is not None:
                    cue(cur.speech.sentence)
                self._driver.start_speech(t0, cur.visemes)
                self.speaking = True
                if self._on_start is not None:
                    self._on_start(cur.speech, t0)
            pcm = cur.speech.pcm
            playing = cur.speech.sentence
            end = self._end()
            n = min(end - self._pos, self.spf - filled)
            out[filled : filled + n] = pcm[self._pos : self._pos + n]
            filled += n
            self._pos += n
            if self._pos >= end:
                if self._cut is not None:
                    # Broken off at a word boundary: the mouth closes with the audio.
                    _fade_out(out[:filled], self.sample_rate)
                    self._driver.stop_speech(t + filled / self.sample_rate)
                    self._cut = None
                self._cur = None
        self.frame_sentence = playing
        return self._ahead(t, out), tuple(started)

    def peek(self, n: int) -> np.ndarray:
        """The next ``n`` int16 samples ``pull`` would give, without consuming them: queued
        speech and gaps, silence past the queue (and in live mode, where nothing is known)."""
        out = np.zeros(max(0, n), dtype=np.int16)
        if self._live is not None:
            return out
        items = ([(self._cur, self._pos)] if self._cur is not None else []) + [
            (q, -q.gap) for q in self._queue
        ]
        filled = 0
        for q, pos in items:
            if filled >= n:
                break
            if pos < 0:
                filled += min(-pos, n - filled)
                pos = 0
            lim = self._end() if q is self._cur else len(q.speech.pcm)
            k = min(lim - pos, n - filled)
            if k > 0:
                out[filled : filled + k] = q.speech.pcm[pos : pos + k]
                filled += k
        return out

    def _ahead(self, t: float, out: np.ndarray) -> np.ndarray:
        if self.lookahead > 0:
            self.last_pull = (t, np.concatenate([out, self.peek(self.lookahead)]))
        return out

    def _pull_live(self, t: float) -> np.ndarray:
        """Exactly one frame of live audio, whatever the feed returns (silence if it fails)."""
        out = np.zeros(self.spf, dtype=np.int16)
        feed = self._live
        try:
            pcm = np.asarray(feed(self.spf, t), dtype=np.int16).reshape(-1)  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - a broken live feed plays silence, the stream goes on
            return out
        n = min(pcm.size, self.spf)
        out[:n] = pcm[:n]
        return out


# Words that belong to the number before them (currencies and units in the host's languages).
_UNITS = frozenset(
    "euro euros dollar dollars cent cents pound pounds percent prozent per cento minute minutes "
    "minuten minuti minuto hour hours stunden ore litre litres liter litri zoll inch inches "
    "元 块 欧元 美元 分钟 小时 升".split()
)


def _has_digit(word: str) -> bool:
    return any(c.isdigit() for c in word)


def _fade_out(pcm: np.ndarray, sample_rate: int) -> None:
    """The last 5 ms ramp down, so a cut between words does not click."""
    k = min(len(pcm), sample_rate // 200)
    if k > 1:
        pcm[-k:] = (pcm[-k:] * np.linspace(1.0, 0.0, k)).astype(np.int16)
