"""The encoder's audio timeline: each frame's int16 PCM in, AAC (and, while a sink wants it,
Opus) packets on one 48 kHz timeline out, kept in step with video; `Encoder` mixes it in.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
import numpy as np

from .base import AUDIO, OPUS, EncodedPacket, PacketSink
from .codecs import AAC_FRAME, OUT_RATE, EncoderStats

OPUS_FRAME = 960  # 20 ms at 48 kHz, what browsers expect


class EncoderAudio:
    """Audio half of `Encoder` (see there for the state it touches)."""

    # Set by Encoder.__init__; declared for type checkers.
    sample_rate: int
    channels: int
    opus_bitrate: int
    stats: EncoderStats
    _resampler: av.AudioResampler | None
    _out_per_frame: Fraction
    _max_gap_frames: int
    _last_pos: int | None
    _pcm: np.ndarray
    _aac_pts: int
    _opus_pcm: np.ndarray
    _opus_pts: int
    _opus_on: bool
    _octx: Any
    _actx: Any
    _atb: Fraction
    _sinks: tuple[PacketSink, ...]
    _wrap: Callable[[str, av.Packet, Fraction], EncodedPacket]

    def _audio(self, pcm: np.ndarray, pos: int, gap: int, out: list[EncodedPacket]) -> None:
        pcm = np.asarray(pcm, dtype=np.int16).reshape(-1)
        if self._resampler is not None:
            af = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            af.sample_rate = self.sample_rate
            pcm = np.concatenate(
                [f.to_ndarray().reshape(-1) for f in self._resampler.resample(af)]
                or [np.zeros(0, np.int16)]
            )
        start = round(pos * self._out_per_frame)  # where this frame's audio belongs
        end_pending = self._aac_pts + len(self._pcm)
        if self._last_pos is not None and gap > 0:
            self.stats.audio_gaps += 1
        if start > end_pending and start - end_pending <= self._max_gap_frames * float(
            self._out_per_frame
        ):
            # dropped frames: keep the AAC timeline continuous with silence
            silence = np.zeros(start - end_pending, np.int16)
            self._pcm = np.concatenate([self._pcm, silence])
            if self._octx is not None:
                self._opus_pcm = np.concatenate([self._opus_pcm, silence])
        elif start > end_pending:
            # a long hole (pipeline restart): re-anchor rather than encode seconds of silence
            self._pcm = np.zeros(0, np.int16)
            self._aac_pts = start
            self._opus_pcm = np.zeros(0, np.int16)
            self._opus_pts = start
        self._pcm = np.concatenate([self._pcm, pcm])
        self._drain_aac(out)

        if any(OPUS in s.kinds for s in self._sinks):
            if self._octx is None or not self._opus_on:
                # (re)start here after a spell without takers: a fresh context, so neither the
                # old timeline nor a packet still held in the old encoder reaches a new viewer
                self._open_opus(start)
            self._opus_on = True
            self._opus_pcm = np.concatenate([self._opus_pcm, pcm])
            while len(self._opus_pcm) >= OPUS_FRAME:
                chunk, self._opus_pcm = self._opus_pcm[:OPUS_FRAME], self._opus_pcm[OPUS_FRAME:]
                inter = np.repeat(chunk, self.channels) if self.channels == 2 else chunk
                self._encode_audio(
                    self._octx, OPUS, inter.reshape(1, -1), "s16", self._opus_pts, out
                )
                self._opus_pts += OPUS_FRAME
        else:
            self._opus_on = False

    def _drain_aac(self, out: list[EncodedPacket]) -> None:
        while len(self._pcm) >= AAC_FRAME:
            chunk, self._pcm = self._pcm[:AAC_FRAME], self._pcm[AAC_FRAME:]
            data = chunk.astype(np.float32) * (1.0 / 32768.0)
            planes = np.repeat(data[None, :], self.channels, axis=0)
            self._encode_audio(self._actx, AUDIO, planes, "fltp", self._aac_pts, out)
            self._aac_pts += AAC_FRAME

    def _encode_audio(
        self,
        ctx: av.AudioCodecContext,
        kind: str,
        samples: np.ndarray,
        fmt: str,
        pts: int,
        out: list[EncodedPacket],
    ) -> None:
        """One frame of ``samples`` (in ``fmt``, laid out as ``ctx`` wants) through ``ctx``."""
        af = av.AudioFrame.from_ndarray(samples, format=fmt, layout=ctx.layout.name)
        af.sample_rate = OUT_RATE
        af.pts = pts
        af.time_base = self._atb
        for p in ctx.encode(af):
            out.append(self._wrap(kind, p, self._atb))

    def _open_opus(self, start: int) -> None:
        ctx = av.CodecContext.create("libopus", "w")
        ctx.sample_rate = OUT_RATE
        ctx.layout = "mono" if self.channels == 1 else "stereo"
        ctx.format = "s16"
        ctx.bit_rate = self.opus_bitrate
        ctx.time_base = self._atb
        ctx.options = {"application": "lowdelay", "frame_duration": "20"}
        ctx.open()
        self._octx = ctx
        self._opus_pcm = np.zeros(0, np.int16)
        self._opus_pts = start
