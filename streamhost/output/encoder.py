"""Encode once: one H.264 + one AAC (+ optional Opus) encode per stream, fanned out to sinks.

AVFrame (I420 video + int16 mono audio) -> Encoder (worker thread) -> EncodedPacket -> sinks
(Mp4Recorder, RtmpPusher, WebRtcHub, ...).

Timestamps come from the frame index and sample counts, never from the wall clock, so audio and
video cannot drift apart however long the stream runs. The audio side of that timeline is in
output/encoder_audio.py.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import av
import numpy as np
from av.video.frame import PictureType

from ..avpool import lower_priority
from ..frames import AVFrame, StreamFormat
from .base import AUDIO, OPUS, VIDEO, EncodedPacket, PacketSink, StreamInfo
from .codecs import AAC_FRAME, OUT_RATE, EncoderStats, open_codecs
from .encoder_audio import EncoderAudio

__all__ = ["AUDIO", "OPUS", "VIDEO", "EncodedPacket", "Encoder", "PacketSink", "StreamInfo"]

log = logging.getLogger(__name__)

_STOP = object()


class Encoder(EncoderAudio):
    """One H.264 (libx264) + AAC encode per stream, run on a worker thread.

    In: ``submit(AVFrame)`` from the event loop (non-blocking). Out: ``EncodedPacket``s to every
    sink added with ``add_sink``.

    Overflow policy: the input queue holds ``queue_frames`` frames (default 8 = 320 ms at 25 fps).
    When it is full the *oldest* queued frame is dropped (a live output prefers fresh frames and
    bounded latency) and ``stats.frames_dropped`` counts it. Timestamps follow ``AVFrame.index``,
    so a dropped frame leaves a hole in video and the AAC timeline is padded with silence:
    audio and video stay in sync.
    """

    def __init__(
        self,
        fmt: StreamFormat,
        video_bitrate: int = 2_500_000,
        audio_bitrate: int = 128_000,
        *,
        channels: int = 1,
        gop_seconds: float = 2.0,
        threads: int = 1,
        queue_frames: int = 8,
        min_keyframe_interval: float = 0.5,
        opus_bitrate: int = 64_000,
        max_gap_seconds: float = 2.0,
        video_encoder: str = "x264",
    ) -> None:
        if channels not in (1, 2):
            raise ValueError(f"channels must be 1 or 2, got {channels}")
        self.fmt = fmt  # checked once (even sizes, whole samples per frame): see frames.py
        self.width, self.height, self.sample_rate = fmt.width, fmt.height, fmt.sample_rate
        self.fps = Fraction(fmt.fps)
        self.channels = channels
        self.video_bitrate = video_bitrate
        self.audio_bitrate = audio_bitrate
        self.opus_bitrate = opus_bitrate
        self.stats = EncoderStats()
        self._samples_per_frame = fmt.sample_rate / self.fps
        self._out_per_frame = OUT_RATE / self.fps
        self._min_kf_gap = max(1, round(float(min_keyframe_interval * self.fps)))
        self._max_gap_frames = max(1, round(float(max_gap_seconds * self.fps)))
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_frames)
        self._sinks: tuple[PacketSink, ...] = ()
        self._sinks_lock = threading.Lock()
        self._kf_requested = False
        self._thread: threading.Thread | None = None
        self._lane: Any = None  # a DeadlinePool lane instead of the thread (use_lane)
        self._closed = False
        # Called on the encoder thread after the packets of a frame that starts sentences
        # (``AVFrame.started``) went to the sinks: the traces' "first packet out" stamp.
        self.on_frame_out: Callable[[AVFrame], None] | None = None

        self._null, self._vctx, self._actx, self.info = open_codecs(
            fmt, video_bitrate, audio_bitrate, channels, gop_seconds, threads, video_encoder
        )
        self._octx: Any = None  # libopus context, created lazily
        self._vtb = self.info.video_time_base
        self._atb = self.info.audio_time_base
        self._resampler: av.AudioResampler | None = None
        if fmt.sample_rate != OUT_RATE:
            self._resampler = av.AudioResampler(format="s16", layout="mono", rate=OUT_RATE)
        # audio timeline, in 48 kHz samples
        self._pcm = np.zeros(0, dtype=np.int16)  # pending for AAC
        self._aac_pts = 0  # pts of the first sample in self._pcm
        self._opus_pcm = np.zeros(0, dtype=np.int16)
        self._opus_pts = 0
        self._last_pos: int | None = None
        self._pos_offset = 0
        self._last_forced = -(10**9)
        self._opus_on = False  # a sink wanted Opus for the previous frame

    # -- public API -------------------------------------------------------------------------

    def use_lane(self, lane: Any) -> None:
        """Encode on a lane of a shared ``DeadlinePool`` (avpool.py), each frame due at its
        media time, instead of a thread of its own. Before ``start``."""
        self._lane = lane

    def start(self) -> None:
        if self._thread is not None or self._lane is not None:
            return
        self._thread = threading.Thread(target=self._run, name="encoder", daemon=True)
        self._thread.start()

    def submit(self, frame: AVFrame) -> bool:
        """Queue a frame for encoding; never blocks. Returns False when an old frame was dropped."""
        if self._closed:
            return False
        expected = (self.height * 3 // 2, self.width)
        if frame.video.shape != expected or frame.video.dtype != np.uint8:
            raise ValueError(
                f"AVFrame.video must be uint8 {expected} (I420), got {frame.video.dtype} "
                f"{frame.video.shape}"
            )
        self.stats.frames_submitted += 1
        ok = True
        while True:
            try:
                self._queue.put_nowait(frame)
                if self._lane is not None:
                    self._lane.submit_by(frame.pts, self._encode_next)
                return ok
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.stats.frames_dropped += 1
                    ok = False
                except queue.Empty:
                    pass

    def request_keyframe(self) -> None:
        """Make an upcoming frame an IDR (at most one forced IDR per ``min_keyframe_interval``,
        so a crowd of viewers sending PLIs cannot turn the stream into all-intra). Thread-safe."""
        self.stats.keyframe_requests += 1
        self._kf_requested = True

    def add_sink(self, sink: PacketSink) -> None:
        sink.attach(self.info, self)
        with self._sinks_lock:
            self._sinks = (*self._sinks, sink)

    def remove_sink(self, sink: PacketSink) -> None:
        with self._sinks_lock:
            self._sinks = tuple(s for s in self._sinks if s is not sink)

    @property
    def sinks(self) -> tuple[PacketSink, ...]:
        return self._sinks

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    @property
    def av_offset_ms(self) -> float:
        """Where the audio timeline ends minus where the video timeline ends, in ms, after the
        last encoded frame (positive: its audio is stamped later than its picture). Exact when
        read on the encoder thread (from a sink's ``on_packet``), else up to a frame stale."""
        if self._last_pos is None:
            return 0.0
        audio_end = self._aac_pts + len(self._pcm)
        video_end = (self._last_pos + 1) * self._out_per_frame
        return float(audio_end - video_end) * 1000.0 / OUT_RATE

    def close(self, timeout: float = 10.0) -> None:
        """Encode what is queued, flush the encoders, close every sink. Blocking: from the event
        loop use ``await asyncio.to_thread(encoder.close)`` (or ``aclose``)."""
        if self._closed:
            return
        self._closed = True
        if self._lane is not None:
            if not self._lane.join(timeout):
                log.warning("encoder lane %s still busy after %.0fs", self._lane.name, timeout)
            self._flush()
        elif self._thread is not None:
            while True:
                try:
                    self._queue.put(_STOP, timeout=0.1)
                    break
                except queue.Full:
                    if not self._thread.is_alive():
                        break
            self._thread.join(timeout)
        else:
            self._flush()
        for sink in self._sinks:
            try:
                sink.finish()
            except Exception:
                log.exception("finishing sink %r failed", sink)
        self._sinks = ()
        try:
            self._null.close()
        except Exception:  # the null muxer never wrote a header worth keeping
            log.debug("closing null container", exc_info=True)

    async def aclose(self) -> None:
        import asyncio

        await asyncio.to_thread(self.close)

    # -- worker ------------------------------------------------------------------------------

    def _run(self) -> None:
        lower_priority()  # the event loop, which sends the frames, outranks their encoding
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                try:
                    self._encode(item)
                except Exception:
                    log.exception("encoding frame %s failed", getattr(item, "index", "?"))
        finally:
            try:
                self._flush()
            except Exception:
                log.exception("flushing encoders failed")

    def _encode_next(self) -> None:
        """A lane job: the oldest queued frame (one a drop already took leaves nothing)."""
        try:
            item = self._queue.get_nowait()
        except queue.Empty:
            return
        try:
            self._encode(item)
        except Exception:
            log.exception("encoding frame %s failed", getattr(item, "index", "?"))

    def _position(self, index: int) -> int:
        """Monotonic frame position from AVFrame.index (re-based if the index goes backwards)."""
        pos = index + self._pos_offset
        if self._last_pos is not None and pos <= self._last_pos:
            self._pos_offset += self._last_pos + 1 - pos
            pos = self._last_pos + 1
        return pos

    def _encode(self, frame: AVFrame) -> None:
        t0 = time.perf_counter()
        pos = self._position(frame.index)
        gap = 0 if self._last_pos is None else pos - self._last_pos - 1
        self._last_pos = pos

        # The frame's own memory, not a copy (x264 and NVENC copy the picture inside encode):
        # from_ndarray's fresh 1.4 MB copy cost 0.3-0.4 ms a frame, paced, in cold memory.
        vf = av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(frame.video), format="yuv420p")
        vf.pts = pos
        vf.time_base = self._vtb
        if self._kf_requested and pos - self._last_forced >= self._min_kf_gap:
            self._kf_requested = False
            self._last_forced = pos
            vf.pict_type = PictureType.I
            self.stats.keyframes_forced += 1
        packets: list[EncodedPacket] = []
        for p in self._vctx.encode(vf):
            packets.append(self._wrap(VIDEO, p, self._vtb))

        self._audio(frame.audio, pos, gap, packets)
        dt = (time.perf_counter() - t0) * 1000.0
        self.stats.frames_encoded += 1
        self.stats.encode_ms_last = dt
        self.stats.encode_ms_total += dt
        self._emit(packets)
        if frame.started and self.on_frame_out is not None:
            self.on_frame_out(frame)

    def _wrap(self, kind: str, p: av.Packet, tb: Fraction) -> EncodedPacket:
        data = bytes(p)
        pts = p.pts if p.pts is not None else 0
        dts = p.dts if p.dts is not None else pts
        if kind == VIDEO:
            self.stats.video_packets += 1
            self.stats.video_bytes += len(data)
            if p.is_keyframe:
                self.stats.keyframes += 1
        elif kind == AUDIO:
            self.stats.audio_packets += 1
        else:
            self.stats.opus_packets += 1
        duration = p.duration or (1 if kind == VIDEO else AAC_FRAME if kind == AUDIO else 960)
        return EncodedPacket(kind, data, pts, dts, duration, tb, bool(p.is_keyframe))

    def _emit(self, packets: list[EncodedPacket]) -> None:
        if not packets:
            return
        for sink in self._sinks:
            for pkt in packets:
                if pkt.kind not in sink.kinds:
                    continue
                try:
                    sink.on_packet(pkt)
                except Exception:
                    # one broken sink must not take the others down with it
                    self.stats.sink_errors += 1
                    log.exception("sink %r failed; removing it", sink)
                    self.remove_sink(sink)
                    break

    def _flush(self) -> None:
        packets: list[EncodedPacket] = []
        if self._vctx.is_open:
            for p in self._vctx.encode(None):
                packets.append(self._wrap(VIDEO, p, self._vtb))
        if self._actx.is_open:
            if len(self._pcm):
                # pad the last partial AAC frame so the tail of the audio is not lost
                pad = np.zeros(AAC_FRAME - len(self._pcm), np.int16)
                self._pcm = np.concatenate([self._pcm, pad])
                self._drain_aac(packets)
            for p in self._actx.encode(None):
                packets.append(self._wrap(AUDIO, p, self._atb))
        if self._octx is not None:
            for p in self._octx.encode(None):
                packets.append(self._wrap(OPUS, p, self._atb))
        self._emit(packets)
