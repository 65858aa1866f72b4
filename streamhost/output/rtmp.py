"""RTMP push of the shared encode (FLV over RTMP, muxed by PyAV/FFmpeg).

In: ``EncodedPacket``s (H.264 + AAC) from ``Encoder``. Out: an RTMP publish to ``url``.

Why a child process: PyAV opens an output URL in ``OutputContainer.start_encoding`` with
``avio_open`` *while holding the GIL*, without the caller's options (so ``rw_timeout`` is ignored)
and without an interrupt callback. Against a server that accepts but never answers, that call
blocks forever and freezes every Python thread, the event loop included (measured: a 10 ms
heartbeat stopped completely). So the network side runs in a small child process
(``rtmp_child.py``, run as a script) that remuxes a NUT stream from its stdin into ``av.open(url, "w", format="flv")``.
The parent thread muxes packets into NUT in memory (microseconds), writes them to the pipe with
non-blocking I/O and watches the child: no "live" within ``connect_timeout``, or a pipe that does
not drain for ``stall_timeout``, and the child is killed and the push reconnects with
exponential backoff and jitter. Nothing here can block the event loop or the encoder thread.
"""

from __future__ import annotations

import collections
import fcntl
import json
import logging
import os
import random
import select
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import av

from streamhost.output.base import AUDIO as _AUDIO
from streamhost.output.base import VIDEO as _VIDEO
from streamhost.output.rtmp_pipe import _Bytes, drain_to_child, kill_child
from streamhost.output.rtmp_probe import rtmp_answers

if TYPE_CHECKING:
    from streamhost.output.encoder import EncodedPacket, Encoder, StreamInfo
    from streamhost.output.provenance import Provenance

log = logging.getLogger(__name__)

_PENDING_MAX = 256 * 1024  # bytes buffered for the pipe before we stop pulling packets
_NUT_OPTIONS = {"flush_packets": "1", "syncpoints": "none", "strict": "experimental"}
_CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rtmp_child.py")


class RtmpPusher:
    """A sink that publishes the encoder's packets to an RTMP server.

    ``on_packet`` (encoder thread) only appends to a bounded deque of ``queue_packets`` packets;
    when it is full the oldest packet is dropped (``packets_dropped``) and, because a hole in
    H.264 breaks decoding, the pusher then resumes at the next keyframe (and requests one).
    On every (re)connect the queue is cleared and sending starts at a fresh keyframe, so a
    player never receives a backlog burst or undecodable P-frames.

    ``state``: "idle" (not attached), "connecting", "live", "reconnecting", "closed".
    """

    kinds = frozenset({_VIDEO, _AUDIO})

    def __init__(
        self,
        url: str,
        *,
        queue_packets: int = 300,
        connect_timeout: float = 5.0,
        stall_timeout: float = 5.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        stable_after: float = 10.0,
        probe_interval: float = 0.5,
        probe_timeout: float = 0.5,
        provenance: Provenance | None = None,
    ) -> None:
        self.url = url
        # onMetaData keys (the AIGC implicit label); FLV carries strings, so JSON stays JSON
        self.metadata = provenance.metadata() if provenance is not None else {}
        self.connect_timeout = connect_timeout
        self.stall_timeout = stall_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.probe_interval = probe_interval  # 0: no probing, plain backoff
        self.probe_timeout = probe_timeout
        # what the last probe said (None: no probe since the last live session)
        self._last_probe: bool | None = None
        self.state = "idle"
        self.reconnects = 0
        self.connects = 0
        self.packets_dropped = 0
        self.packets_skipped = 0  # waiting for a keyframe after a (re)connect or a drop
        self.last_error = ""
        self._sent_done = [0, 0]  # packets, bytes of finished child processes
        self._sent_cur = [0, 0]
        self._queue: collections.deque[EncodedPacket] = collections.deque(maxlen=queue_packets)
        self._cond = threading.Condition()
        self._need_key = True
        self._closing = False
        self._info: StreamInfo | None = None
        self._encoder: Encoder | None = None
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen[bytes] | None = None

    # -- sink interface -------------------------------------------------------------------------

    def attach(self, info: StreamInfo, encoder: Encoder) -> None:
        self._info = info
        self._encoder = encoder
        self.state = "connecting"
        self._thread = threading.Thread(target=self._run, name="rtmp-push", daemon=True)
        self._thread.start()

    def on_packet(self, packet: EncodedPacket) -> None:
        with self._cond:
            if self._closing:
                return
            if len(self._queue) == self._queue.maxlen:
                self.packets_dropped += 1
                self._need_key = True
            self._queue.append(packet)
            self._cond.notify()

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued, end the publish cleanly, stop the thread (bounded by timeout)."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        self._kill_child()
        self.state = "closed"

    def finish(self) -> None:
        """Sink hook called by ``Encoder.close``."""
        self.close()

    # -- stats ----------------------------------------------------------------------------------

    @property
    def packets_sent(self) -> int:
        """Packets the child handed to the RTMP muxer."""
        return self._sent_done[0] + self._sent_cur[0]

    @property
    def bytes_sent(self) -> int:
        return self._sent_done[1] + self._sent_cur[1]

    def stats(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "packets_sent": self.packets_sent,
            "bytes_sent": self.bytes_sent,
            "packets_dropped": self.packets_dropped,
            "packets_skipped": self.packets_skipped,
            "reconnects": self.reconnects,
            "queue": len(self._queue),
            "last_error": self.last_error,
        }

    # -- pusher thread -------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.backoff_initial
        while not self._closing:
            started = time.monotonic()
            ok = self._session()
            if self._closing:
                break
            self.reconnects += 1
            self.state = "reconnecting"
            if ok and time.monotonic() - started >= self.stable_after:
                backoff = self.backoff_initial
            delay = backoff * random.uniform(0.5, 1.0)  # jitter: many pushers must not sync up
            backoff = min(self.backoff_max, backoff * 2)
            log.info("rtmp %s: reconnecting in %.2fs (%s)", self.url, delay, self.last_error)
            self._wait_to_reconnect(delay)
        self.state = "closed"

    def _wait_to_reconnect(self, delay: float) -> None:
        """Wait out the backoff, but end it as soon as a server that was not answering answers
        again: a restarted or thawed server gets the stream back within about one probe
        interval, not after a backoff that grew while it was down (before: 2.2 s after a 6 s
        outage, and the backoff is 8-16 s after 30 s down). A server that answers and still
        ended the session keeps the full backoff, so a refusing ingest is not hammered."""
        end = time.monotonic() + delay
        before = self._last_probe
        down = self.probe_interval > 0 and self._probe() is False
        if before is False and not down:
            # The session that just failed was started against a server that was not
            # answering, and it answers now: it came back while that session was failing
            # (a child takes ~1 s to give up). Waiting out the grown backoff here cost 6 s.
            return
        while not self._closing:
            left = end - time.monotonic()
            if left <= 0:
                return
            with self._cond:
                if self._cond.wait_for(
                    lambda: self._closing, timeout=min(left, self.probe_interval) if down else left
                ):
                    return
            if down and self._probe():
                return

    def _probe(self) -> bool | None:
        self._last_probe = rtmp_answers(self.url, self.probe_timeout)
        return self._last_probe

    def _session(self) -> bool:
        """One child process lifetime. Returns True if it went live."""
        assert self._info is not None
        went_live = False
        self._sent_cur = [0, 0]
        try:
            child = subprocess.Popen(
                [
                    sys.executable,
                    "-u",
                    _CHILD,
                    "--child",
                    self.url,
                    json.dumps(self.metadata),
                ],  # fmt: skip
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C to the host must not kill it mid-write
            )
        except OSError as e:
            self.last_error = f"spawn failed: {e}"
            return False
        self._child = child
        assert child.stdin is not None and child.stdout is not None
        in_fd, out_fd = child.stdin.fileno(), child.stdout.fileno()
        for fd in (in_fd, out_fd):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)

        sink = _Bytes()
        # No syncpoints: the muxer keeps every syncpoint it writes (an index for the trailer)
        # for the life of the session, ~4 MiB per hour of a 2.5 Mbit/s stream; a pipe read
        # from its start never seeks, which is what syncpoints are for.
        # (NUT version 4, which FFmpeg marks experimental: both ends opt in.)
        nut = av.open(sink, "w", format="nut", options=_NUT_OPTIONS)
        vs = nut.add_stream_from_template(self._info.video_template)
        aus = nut.add_stream_from_template(self._info.audio_template)
        nut.start_encoding()
        with self._cond:
            self._queue.clear()
            self._need_key = True
        if self._encoder is not None:
            self._encoder.request_keyframe()

        t_start = time.monotonic()
        last_progress = t_start
        out_line = bytearray()
        eof = False
        try:
            while True:
                now = time.monotonic()
                # -- read child status lines
                try:
                    while True:
                        chunk = os.read(out_fd, 4096)
                        if not chunk:
                            eof = True
                            break
                        out_line += chunk
                except BlockingIOError:
                    pass
                while b"\n" in out_line:
                    line, _, rest = bytes(out_line).partition(b"\n")
                    out_line = bytearray(rest)
                    text = line.decode(errors="replace").strip()
                    if text == "@live":
                        went_live = True
                        self._last_probe = None
                        self.connects += 1
                        self.state = "live"
                        last_progress = now
                    elif text.startswith("@stat "):
                        _, p, b = text.split()
                        self._sent_cur = [int(p), int(b)]
                    elif text:
                        self.last_error = text[-300:]
                if eof or child.poll() is not None:
                    if not self.last_error or went_live:
                        self.last_error = f"rtmp child exited ({child.poll()})"
                    return went_live
                if not went_live and now - t_start > self.connect_timeout:
                    self.last_error = f"connect timeout after {self.connect_timeout}s"
                    return False

                # -- pull packets into the NUT buffer (bounded)
                if self._closing and not self._queue:
                    nut.close()  # trailer -> child sees EOF, closes the FLV publish cleanly
                    drain_to_child(in_fd, sink, deadline=now + 2.0)
                    child.stdin.close()
                    try:
                        child.wait(timeout=2.0)
                    except subprocess.TimeoutExpired:
                        pass
                    self._read_stats(out_fd)
                    return went_live
                if len(sink.buf) < _PENDING_MAX:
                    with self._cond:
                        if not self._queue and not self._closing:
                            self._cond.wait(timeout=0.05)
                        batch = list(self._queue)
                        self._queue.clear()
                        need_key = self._need_key
                        drops_seen = self.packets_dropped
                    for pkt in batch:
                        if need_key:
                            if not (pkt.kind == _VIDEO and pkt.keyframe):
                                self.packets_skipped += 1
                                continue
                            need_key = False
                            with self._cond:
                                # a drop since we looked means another hole: keep waiting
                                if self.packets_dropped == drops_seen:
                                    self._need_key = False
                        av_pkt = pkt.to_av()
                        av_pkt.stream = vs if pkt.kind == _VIDEO else aus
                        nut.mux(av_pkt)
                    if need_key and batch and self._encoder is not None:
                        self._encoder.request_keyframe()
                else:
                    time.sleep(0.01)

                # -- feed the child without ever blocking
                if sink.buf:
                    try:
                        _, w, _ = select.select([], [in_fd], [], 0.02)
                        if w:
                            n = os.write(in_fd, sink.buf[:65536])
                            del sink.buf[:n]
                            last_progress = time.monotonic()
                    except BlockingIOError:
                        pass
                    except (BrokenPipeError, OSError) as e:
                        self.last_error = f"pipe to rtmp child: {e}"
                        return went_live
                    if went_live and time.monotonic() - last_progress > self.stall_timeout:
                        self.last_error = f"stalled for {self.stall_timeout}s (server not reading)"
                        return True
                else:
                    last_progress = time.monotonic()
        except Exception as e:
            log.exception("rtmp session failed")
            self.last_error = f"{type(e).__name__}: {e}"
            return went_live
        finally:
            try:
                nut.close()
            except Exception:
                pass
            self._kill_child()
            self._sent_done[0] += self._sent_cur[0]
            self._sent_done[1] += self._sent_cur[1]
            self._sent_cur = [0, 0]

    def _read_stats(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            return
        for line in data.decode(errors="replace").splitlines():
            if line.startswith("@stat "):
                _, p, b = line.split()
                self._sent_cur = [int(p), int(b)]

    def _kill_child(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            kill_child(child)
