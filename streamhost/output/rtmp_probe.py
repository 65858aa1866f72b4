"""Is an RTMP server answering? A cheap check the pusher runs while it waits to reconnect.

In: an ``rtmp://host[:port]/...`` URL. Out: True when the server completes the first step of
the RTMP handshake (it answers C0+C1 with S0) within the timeout.

Why a handshake and not a TCP connect: a frozen server (SIGSTOP, a hung process) still has its
listen socket, and the kernel completes TCP handshakes for it, so only an RTMP answer tells it
is back. The probe costs one short connection; the pusher runs it at most every
``RtmpPusher.probe_interval`` seconds, and only while the server was not answering.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from urllib.parse import urlsplit

RTMP_DEFAULT_PORT = 1935
RTMP_VERSION = 3


def rtmp_address(url: str) -> tuple[str, int] | None:
    """(host, port) of an rtmp:// URL; None for other schemes (rtmps: TLS, not probed)."""
    parts = urlsplit(url)
    if parts.scheme != "rtmp" or not parts.hostname:
        return None
    try:
        return parts.hostname, parts.port or RTMP_DEFAULT_PORT
    except ValueError:
        return None


def rtmp_answers(url: str, timeout: float = 0.5) -> bool | None:
    """True: the server answered the handshake; False: it did not within ``timeout``;
    None: the URL is not probed (not plain rtmp)."""
    addr = rtmp_address(url)
    if addr is None:
        return None
    # C0 (version) + C1: 4-byte time, 4 zero bytes, 1528 random bytes
    hello = bytes([RTMP_VERSION]) + struct.pack(">II", 0, 0) + os.urandom(1528)
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection(addr, timeout=timeout) as s:
            s.sendall(hello)
            s.settimeout(max(0.01, deadline - time.monotonic()))
            return s.recv(1)[:1] == bytes([RTMP_VERSION])
    except OSError:
        return False
