"""The face contract: media time in, one full I420 canvas out, whatever draws it.

Every face family (the project's drawn puppet, Wav2Lip-contract packs, and later ones) is one
module plus one row in ``avatar/registry.py``; the engine calls only what is here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..frames import StreamFormat

MouthSource = Callable[[float], Any]


class Face(Protocol):
    """Called from the AV loop in frame order: ``before_frame(t)`` on the event-loop thread
    before the frame's audio is pulled, then ``picture(t)`` on the render thread, which
    returns the frame as I420 planar uint8 of shape (H * 3 // 2, W).

    ``needs_lookahead`` says whether the face reads audio ahead of the play position (its
    mouth is driven by the audio itself); ``mouth`` is the mouth source to restore after an
    operator takeover (None: the TTS visemes)."""

    needs_lookahead: bool

    def warmup(self) -> None: ...
    def before_frame(self, t: float) -> None: ...
    def picture(self, t: float) -> np.ndarray: ...
    @property
    def mouth(self) -> MouthSource | None: ...
    def close(self) -> None: ...


@dataclass
class FaceContext:
    """What the engine hands a family's builder: the stream format, the stages a face may
    drive or read (player, driver, compositor), and the render settings from ``[avatar]``."""

    fmt: StreamFormat
    player: Any
    driver: Any
    compositor: Any
    providers: list[str] = field(default_factory=lambda: ["CPUExecutionProvider"])
    threads: int = 1
    batch_max: int = 1
    batch_wait_s: float = 0.004
    mouth_lookahead_s: float = 0.08
    realtime: bool = False


class DrivenFace:
    """Shared plumbing of faces whose mouth follows the stream's face driver: the speech-audio
    mouth (``driver = "audio"`` packs) and the loudness-scaled jaw read the queued audio just
    before each frame's pull; warm-up is one picture. Subclasses set ``speech_mouth`` and
    ``jaw`` (either may be None) and implement ``picture``."""

    speech_mouth: Any = None
    jaw: Any = None

    @property
    def mouth(self) -> MouthSource | None:
        return self.speech_mouth.target_at if self.speech_mouth is not None else None

    def picture(self, t: float) -> np.ndarray:
        raise NotImplementedError

    def warmup(self) -> None:
        self.picture(0.0)

    def before_frame(self, t: float) -> None:
        sm = self.speech_mouth
        if sm is not None and not sm.player.live:
            sm.before_pull(t)
        if self.jaw is not None:
            self.jaw.before_frame(t)

    def close(self) -> None:
        return None
