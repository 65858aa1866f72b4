"""The messages that flow through one stream's pipeline.

chat source -> ChatEvent -> director -> Sentence -> TTS -> Speech -> AV loop -> AVFrame -> outputs.
Interrupts (operator stop / say now) are not messages: they are calls on the control plane that
flush queued speech where it waits, never items in a data queue.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

_trace_counter = itertools.count(1)
_trace_prefix = os.urandom(2).hex()


def new_trace_id() -> str:
    """Short unique id (per process) that follows a chat event or utterance through every stage."""
    return f"{_trace_prefix}{next(_trace_counter):06x}"


class Source(StrEnum):
    """Why a sentence was said; stored with every transcript line."""

    SCRIPT = "script"
    ANSWER = "answer"
    THANKS = "thanks"
    OPERATOR = "operator"
    FILLER = "filler"
    LLM = "llm"
    TEMPLATE = "template"
    SHOW = "show"  # run-of-show lines: AI disclosure, calls to action, flash-sale countdowns
    OPERATOR_VOICE = "operator_voice"  # the operator's own voice on air (takeover), via ASR


class Emotion(StrEnum):
    NEUTRAL = "neutral"
    HAPPY = "happy"
    SAD = "sad"
    SURPRISED = "surprised"


EVENT_KINDS = ("comment", "gift", "like", "follow", "join", "share", "purchase")


@dataclass(slots=True)
class ChatEvent:
    """One thing that happened in chat, from any platform.

    ``received_at`` is media-clock seconds; ``sent_at`` the platform's own unix timestamp when
    it gives one. ``kind`` is one of EVENT_KINDS. Gifts and purchases carry ``amount`` in
    ``currency`` (a platform unit such as "bits" or "coins" where there is no money value),
    ``count`` repeats (likes, gift combos, gifted subs) and ``streak_end`` (a gift combo is
    finished: thank once per streak). ``raw`` keeps the platform payload as received.
    """

    user: str
    text: str
    platform: str = "ws"
    kind: str = "comment"
    user_id: str = ""
    received_at: float = 0.0
    trace_id: str = field(default_factory=new_trace_id)
    raw: dict | None = None
    sent_at: float | None = None
    amount: float = 0.0
    currency: str = ""
    count: int = 1
    streak_end: bool = True
    item: str = ""
    lang: str = ""


@dataclass(slots=True)
class Sentence:
    """One sentence the host will say. Flows director -> store -> TTS."""

    text: str
    source: str
    lang: str = "en"
    product_id: str | None = None
    emotion: str = Emotion.NEUTRAL
    trace_id: str = field(default_factory=new_trace_id)
    reply_to: ChatEvent | None = None
    # More of the same sentence follows (it was cut into phrases so chat can break in sooner):
    # the voice keeps a rising, unfinished intonation at the end.
    continues: bool = False
    # A viewer asked to see this product ("show me the lamp"): the panel shows it as it is said,
    # as a segment's product is shown (an answer about another product leaves the panel be).
    show: bool = False


@dataclass(frozen=True, slots=True)
class Timing:
    """A phoneme or word: seconds from the start of its Speech, and its symbol."""

    start: float
    end: float
    symbol: str


@dataclass(slots=True)
class Speech:
    """Synthesized audio of one sentence (int16 mono at `sample_rate`) with its timings."""

    sentence: Sentence
    pcm: np.ndarray
    sample_rate: int
    phonemes: list[Timing]
    words: list[Timing]

    @property
    def duration(self) -> float:
        return len(self.pcm) / self.sample_rate


@dataclass(slots=True)
class AVFrame:
    """One video frame plus exactly the audio that plays during it.

    video: I420 planar uint8, shape (H * 3 // 2, W) (Y plane, then U, then V, as PyAV's
    ``VideoFrame.from_ndarray(..., format="yuv420p")`` expects).
    audio: int16 mono, exactly sample_rate / fps samples.
    started: trace ids of sentences whose first audio is in this frame.
    """

    index: int
    pts: float
    video: np.ndarray
    audio: np.ndarray
    started: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamFormat:
    """The picture and sound of one stream, built and checked once and handed to every stage:
    ``width`` x ``height`` pixels at ``fps`` frames per second, ``sample_rate`` Hz mono audio.

    One AV frame carries exactly ``samples_per_frame`` samples, so the rate must divide by the
    frame rate; 4:2:0 chroma needs even sizes (the encoder wants multiples of 16)."""

    width: int = 720
    height: int = 1280
    fps: int = 25
    sample_rate: int = 48000

    def __post_init__(self) -> None:
        problems = format_problems(self.width, self.height, self.fps, self.sample_rate)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def samples_per_frame(self) -> int:
        return self.sample_rate // self.fps

    @property
    def frame_s(self) -> float:
        return 1.0 / self.fps


def format_problems(width: int, height: int, fps: int, sample_rate: int) -> list[str]:
    """Cross-field problems of a stream format, phrased as config problems (key = value)."""
    out: list[str] = []
    for key, v in (("width", width), ("height", height)):
        if v <= 0 or v % 16:
            out.append(f"stream.{key} = {v}: must be a positive multiple of 16")
    if fps <= 0:
        out.append(f"stream.fps = {fps}: must be positive")
    elif sample_rate <= 0 or sample_rate % fps:
        out.append(
            f"stream.sample_rate = {sample_rate}: must be a multiple of stream.fps ({fps}), "
            "so every video frame carries a whole number of audio samples"
        )
    return out
