"""MP4 recording of the shared encode (no re-encoding).

In: ``EncodedPacket``s (H.264 + AAC) from ``Encoder``. Out: an MP4 file, finalized on ``close``.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av

from streamhost.output.encoder import AUDIO, VIDEO, EncodedPacket, StreamInfo

if TYPE_CHECKING:
    from streamhost.output.encoder import Encoder

log = logging.getLogger(__name__)


class Mp4Recorder:
    """A sink that muxes the encoder's packets into an MP4 file.

    It muxes on the encoder thread: writes go to a local file through the OS page cache and cost
    microseconds per packet, so a second thread and queue would add nothing but latency.
    Recording starts at the first video keyframe (one is requested when attached mid-stream);
    audio before it is dropped so the file starts decodable. ``close`` writes the index (moov,
    moved to the front with ``+faststart``) so the file is playable; a crash before ``close``
    leaves an unplayable file, like any non-fragmented MP4 (use ``fragmented=True`` to trade
    seekability for crash safety).
    """

    kinds = frozenset({VIDEO, AUDIO})

    def __init__(self, path: str | os.PathLike[str], *, fragmented: bool = False) -> None:
        self.path = Path(path)
        self.fragmented = fragmented
        self.packets_written = 0
        self.bytes_written = 0
        self.errors = 0
        self._container: Any = None
        self._vs: Any = None
        self._as: Any = None
        self._started = False
        self._lock = threading.Lock()
        self._closed = False

    def attach(self, info: StreamInfo, encoder: Encoder) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = "+frag_keyframe+empty_moov+default_base_moof" if self.fragmented else "+faststart"
        self._container = av.open(str(self.path), "w", format="mp4", options={"movflags": flags})
        self._vs = self._container.add_stream_from_template(info.video_template)
        self._as = self._container.add_stream_from_template(info.audio_template)
        # an attach after the encoder started would otherwise wait up to a full GOP
        encoder.request_keyframe()

    def on_packet(self, packet: EncodedPacket) -> None:
        with self._lock:
            if self._closed or self._container is None:
                return
            if not self._started:
                if packet.kind != VIDEO or not packet.keyframe:
                    return
                self._started = True
            pkt = packet.to_av()
            pkt.stream = self._vs if packet.kind == VIDEO else self._as
            try:
                self._container.mux(pkt)
            except Exception:
                self.errors += 1
                if self.errors <= 3:
                    log.exception("mp4 mux failed (%s)", self.path)
                return
            self.packets_written += 1
            self.bytes_written += len(packet.data)

    def finish(self) -> None:
        """Sink hook called by ``Encoder.close``."""
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._container is not None:
                try:
                    self._container.close()
                except Exception:
                    log.exception("finalizing %s failed", self.path)
                self._container = None
