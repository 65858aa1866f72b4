"""The pusher's side of its RTMP child process (rtmp.py): NUT bytes buffered in memory in,
written to the child's stdin without blocking out; and the child killed with its process group.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import time

# The pusher's logger, so its messages keep the name they are filtered by.
log = logging.getLogger("streamhost.output.rtmp")


class _Bytes:
    """Write-only file object for PyAV: collects what the NUT muxer writes."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def write(self, data: bytes) -> int:
        self.buf += data
        return len(data)


def drain_to_child(fd: int, sink: _Bytes, deadline: float) -> None:
    """Write ``sink``'s bytes to the non-blocking ``fd`` until empty, ``deadline`` or an error."""
    while sink.buf and time.monotonic() < deadline:
        try:
            _, w, _ = select.select([], [fd], [], 0.05)
            if w:
                n = os.write(fd, sink.buf[:65536])
                del sink.buf[:n]
        except BlockingIOError:
            continue
        except OSError:
            return


def kill_child(child: subprocess.Popen[bytes]) -> None:
    """Kill ``child`` (its whole session), reap it and close its pipes."""
    if child.poll() is None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except OSError:
            child.kill()
    try:
        child.wait(timeout=2.0)
    except subprocess.TimeoutExpired:
        log.warning("rtmp child %d did not exit", child.pid)
    for f in (child.stdin, child.stdout):
        try:
            if f is not None:
                f.close()
        except OSError:
            pass
