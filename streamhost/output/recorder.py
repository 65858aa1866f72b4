"""MP4 recording of the shared encode (no re-encoding), in segments.

In: ``EncodedPacket``s (H.264 + AAC) from ``Encoder``. Out: MP4 files, each finalized when it
closes: one file, or with ``segment_s`` a new segment every ``segment_s`` seconds of media
(named by ``segments.segment_path``). With a ``Provenance`` every segment carries the implicit
AIGC label in its metadata, and with its signer each closed segment is signed by a worker.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av

from streamhost.output.encoder import AUDIO, VIDEO, EncodedPacket, StreamInfo
from streamhost.output.segments import SignJob, SignWorker, segment_path, write_sidecar

if TYPE_CHECKING:
    from streamhost.output.encoder import Encoder
    from streamhost.output.provenance import Provenance

log = logging.getLogger(__name__)
RETRY_S = 1.0  # media seconds between attempts at a new segment after a failed write
RESUMED_S = 2.0  # media written to a new segment without error before it counts as resumed
# After a rotation the closing segment still takes the audio that ends at its last frame: the
# AAC encoder hands it over after the keyframe that opens the next segment (measured: the
# last ~3 AAC frames, 61 ms, were lost at every rotation). Past this much media it closes anyway.
TAIL_S = 1.0


@dataclass
class _Tail:
    """The segment rotated out at ``t_end``, open for its last audio packets."""

    container: Any
    astream: Any
    t0: Fraction
    t_end: Fraction
    index: int
    wall0: dt.datetime


class Mp4Recorder:
    """A sink that muxes the encoder's packets into MP4 segments.

    It muxes on the encoder thread: writes go to a local file through the OS page cache and cost
    microseconds per packet, so a second thread and queue would add nothing but latency.
    Recording starts at the first video keyframe (one is requested when attached mid-stream);
    audio before it is dropped so the file starts decodable. A segment rotates at the first
    keyframe after ``segment_s`` seconds (one is requested then), and its timestamps start at 0
    so every segment plays on its own; the segment it ends stays open for the audio up to that
    keyframe (which the AAC encoder hands over after it), so both its tracks end together. ``close`` writes the index of a plain MP4 (moved to the
    front with ``+faststart``); a crash before it leaves a plain MP4 unplayable, a fragmented
    one (``fragmented=True``) playable up to its last fragment.

    A write that fails (a full disk) ends the segment where it stands: its muxer keeps a sticky
    I/O error, so writing on would only corrupt it. A fragmented segment plays up to its last
    whole fragment, a plain one has no index and is lost. Every RETRY_S of media a keyframe is
    requested and a new segment tried, so recording resumes in a new file when space returns.
    Out: ``write_failed`` and ``write_resumed`` alerts (what="recording", the media seconds
    not recorded) through the provenance's ``alert``.
    """

    kinds = frozenset({VIDEO, AUDIO})

    def __init__(self, path: str | os.PathLike[str], *, fragmented: bool = False,
                 segment_s: float = 0, provenance: Provenance | None = None) -> None:  # fmt: skip
        self.path = Path(path)
        self.fragmented = fragmented
        self.segment_s = segment_s
        self.provenance = provenance
        self.segments: list[Path] = []  # every segment opened so far, in order
        self.packets_written = 0
        self.bytes_written = 0
        self.errors = 0
        self._signer = (
            SignWorker(provenance) if provenance is not None and provenance.signer else None
        )
        self._info: StreamInfo | None = None
        self._encoder: Encoder | None = None
        self._container: Any = None
        self._vs: Any = None
        self._as: Any = None
        self._t0 = Fraction(0)  # media time (s) where the open segment starts
        self._t_last = 0.0
        self._wall0 = dt.datetime.now(dt.UTC)
        self._asked_key = False
        self._lock = threading.Lock()
        self._closed = False
        self.alert = provenance.alert if provenance is not None else (lambda kind, **f: None)
        self._seg_packets = 0  # packets muxed into the open segment
        self._failed_at: float | None = None  # media time of the failed write not yet resumed
        self._retry_at = 0.0
        self._tail: _Tail | None = None

    @property
    def sign_stats(self) -> Any:
        return self._signer.stats if self._signer is not None else None

    def attach(self, info: StreamInfo, encoder: Encoder) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._info, self._encoder = info, encoder
        # an attach after the encoder started would otherwise wait up to a full GOP
        encoder.request_keyframe()

    def on_packet(self, packet: EncodedPacket) -> None:
        with self._lock:
            if self._closed or self._info is None:
                return
            tf = packet.pts * packet.time_base
            t = float(tf)
            if packet.kind == VIDEO and packet.keyframe:
                if self._container is None:
                    if t >= self._retry_at:
                        self._open(tf)
                elif self.segment_s and t - self._t0 >= self.segment_s:
                    self._close_tail()
                    self._tail = _Tail(self._container, self._as, self._t0, tf,
                                       len(self.segments), self._wall0)  # fmt: skip
                    self._container = None
                    self._open(tf)
            if self._tail is not None:
                if packet.kind == AUDIO and tf < self._tail.t_end:
                    self._mux_tail(packet)
                    return
                if packet.kind == AUDIO or t - float(self._tail.t_end) >= TAIL_S:
                    self._close_tail()
            if self._container is None:
                if self._failed_at is not None and not self._asked_key and t >= self._retry_at:
                    self._asked_key = True  # retry within a frame, not at the next GOP's end
                    if self._encoder is not None:
                        self._encoder.request_keyframe()
                return
            if self.segment_s and not self._asked_key and t - self._t0 >= self.segment_s:
                self._asked_key = True  # rotate within a frame, not at the next GOP's end
                if self._encoder is not None:
                    self._encoder.request_keyframe()
            shift = round(self._t0 / packet.time_base)
            pkt = packet.to_av()
            pkt.pts, pkt.dts = packet.pts - shift, packet.dts - shift
            if pkt.dts < 0:
                return  # audio from just before this segment's first keyframe
            pkt.stream = self._vs if packet.kind == VIDEO else self._as
            try:
                self._container.mux(pkt)
            except Exception as e:
                self.errors += 1
                if self.errors <= 3:
                    log.exception("mp4 mux failed (%s)", self.segments[-1])
                self._abandon(t, e)
                return
            self._t_last = max(self._t_last, t + float(packet.duration * packet.time_base))
            self.packets_written += 1
            self._seg_packets += 1
            self.bytes_written += len(packet.data)
            if self._failed_at is not None and t - float(self._t0) >= RESUMED_S:
                self.alert("write_resumed", what="recording", segment=str(self.segments[-1]),
                           lost_s=round(float(self._t0) - self._failed_at, 3))  # fmt: skip
                self._failed_at = None

    def _abandon(self, t: float, e: BaseException) -> None:
        """End the segment whose write failed (see the class) and schedule a retry; one that
        holds no packet is removed, so a retry on a still-full disk leaves no empty files."""
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(Exception):
                container.close()  # the trailer may fail too: what was written stays
        if self._seg_packets == 0 and self.segments:
            with contextlib.suppress(OSError):
                self.segments.pop().unlink()
        if self._failed_at is None:
            self._failed_at = t
            self.alert("write_failed", what="recording", lost=f"recording from media {t:.1f} s",
                       error=f"{type(e).__name__}: {e}")  # fmt: skip
        self._retry_at, self._asked_key = t + RETRY_S, False

    def _open(self, t: Fraction) -> None:
        assert self._info is not None
        self._t0, self._t_last, self._asked_key = t, float(t), False
        self._seg_packets = 0
        self._wall0 = dt.datetime.now(dt.UTC)
        path = segment_path(self.path, len(self.segments) + 1, self._wall0)
        self.segments.append(path)
        flags = "+frag_keyframe+empty_moov+default_base_moof" if self.fragmented else "+faststart"
        if self.provenance is not None:
            flags += "+use_metadata_tags"  # keeps the AIGC key as it is (an mdta tag)
        if self._signer is not None:
            write_sidecar(path, "recording", "open: not signed until it closes",
                          index=len(self.segments), start=self._wall0.isoformat())  # fmt: skip
        try:
            opts = {"movflags": flags}
            if self.fragmented:
                # a fragment at least every second, flushed as it is cut: a kill loses <= 1 s,
                # not the GOP and the 32 kB write buffer (a short last segment would be empty)
                opts |= {"frag_duration": "1000000", "flush_packets": "1"}
            self._container = av.open(str(path), "w", format="mp4", options=opts)
            if self.provenance is not None:
                self._container.metadata.update(self.provenance.metadata())
            self._vs = self._container.add_stream_from_template(self._info.video_template)
            self._as = self._container.add_stream_from_template(self._info.audio_template)
        except Exception as e:
            self.errors += 1
            log.exception("cannot open recording segment %s", path)
            self._abandon(float(t), e)

    def _mux_tail(self, packet: EncodedPacket) -> None:
        tail = self._tail
        assert tail is not None
        shift = round(tail.t0 / packet.time_base)
        pkt = packet.to_av()
        pkt.pts, pkt.dts, pkt.stream = packet.pts - shift, packet.dts - shift, tail.astream
        try:
            tail.container.mux(pkt)
        except Exception:  # its video is whole: close it as it stands
            self.errors += 1
            log.exception("mp4 mux failed (%s)", self.segments[tail.index - 1])
            self._close_tail()
            return
        self.packets_written += 1
        self.bytes_written += len(packet.data)

    def _close_tail(self) -> None:
        tail, self._tail = self._tail, None
        if tail is not None:
            self._finalize(tail.container, tail.index, tail.wall0, tail.t0, float(tail.t_end))

    def _close_segment(self, t_end: float) -> None:
        container, self._container = self._container, None
        if container is not None:
            self._finalize(container, len(self.segments), self._wall0, self._t0, t_end)

    def _finalize(self, container: Any, index: int, wall0: dt.datetime, t0: Fraction,
                  t_end: float) -> None:  # fmt: skip
        path = self.segments[index - 1]
        try:
            container.close()
        except Exception:
            log.exception("finalizing %s failed", path)
            return
        if self._signer is not None:
            self._signer.submit(SignJob(path, index, wall0, dt.datetime.now(dt.UTC), float(t0),
                                        t_end))  # fmt: skip

    def finish(self) -> None:
        """Sink hook called by ``Encoder.close``."""
        self.close()

    def close(self) -> None:
        """Close the open segment and wait for the signer to finish what is queued."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._close_tail()
            self._close_segment(self._t_last)
        if self._signer is not None:
            self._signer.close()
