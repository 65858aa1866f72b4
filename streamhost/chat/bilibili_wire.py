"""Bilibili live danmaku's WebSocket binary packets: encode, and decode with bounds.

Wire format: every packet is a 16-byte big-endian header followed by a body::

    u32 packet length (header + body) | u16 header length (16) | u16 protocol version
    | u32 operation | u32 sequence

Versions: 0 raw JSON, 1 heartbeat / int32 popularity (also used for auth), 2 zlib-compressed
packets, 3 brotli-compressed packets. A compressed body holds one or more complete packets,
concatenated. Operations: 2 heartbeat, 3 heartbeat reply, 5 command (JSON message), 7 auth
(join room), 8 auth reply.

``decode_packets(data) -> list[Packet]`` gives the leaf packets with compressed bodies expanded
(bounded: total decompressed size, nesting depth and packet count); anything malformed raises
``ChatRejected`` and nothing else.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .intake import ChatRejected

try:  # brotli is optional at import time: without it we ask the server for zlib (protover 2).
    import brotli  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - exercised only where brotli is missing
    brotli = None

HEADER = struct.Struct(">IHHII")
HEADER_LEN = 16

VER_JSON = 0
VER_INT = 1
VER_ZLIB = 2
VER_BROTLI = 3

OP_HEARTBEAT = 2
OP_HEARTBEAT_REPLY = 3
OP_MESSAGE = 5
OP_AUTH = 7
OP_AUTH_REPLY = 8

# Real frames are a few KB; these bounds only stop hostile or broken input from costing memory.
MAX_DECOMPRESSED = 4 * 1024 * 1024
MAX_DEPTH = 2  # compressed body -> packets -> (one more level tolerated) -> leaves
MAX_PACKETS = 10_000


@dataclass(frozen=True, slots=True)
class Packet:
    """One decoded leaf packet: protocol version, operation, sequence and raw body bytes."""

    ver: int
    op: int
    seq: int
    body: bytes

    def popularity(self) -> int:
        """The int32 body of a heartbeat reply (room popularity); 0 if it is not 4 bytes."""
        return struct.unpack(">I", self.body)[0] if len(self.body) == 4 else 0


def encode_packet(op: int, body: bytes, ver: int = VER_INT, seq: int = 1) -> bytes:
    """Header + body. ``body`` is sent as is (callers compress it themselves for ver 2/3)."""
    return HEADER.pack(HEADER_LEN + len(body), HEADER_LEN, ver, op, seq) + body


def _decompress(ver: int, body: bytes, budget: int) -> bytes:
    """Decompress ``body`` producing at most ``budget`` bytes, or raise ChatRejected.

    Output is capped *while* decompressing, so a bomb (50 MB of zeros in 50 KB) costs at most
    ``budget`` bytes of memory, never its full expansion.
    """
    try:
        if ver == VER_ZLIB:
            d = zlib.decompressobj()
            out = d.decompress(body, budget + 1)
            if len(out) > budget or d.unconsumed_tail:
                raise ChatRejected("too_large", f"decompressed body exceeds {budget} bytes")
            if not d.eof:
                raise ChatRejected("truncated", "zlib body is truncated")
            return out
        if brotli is None:
            raise ChatRejected("unsupported", "brotli body but the brotli module is missing")
        b = brotli.Decompressor()
        out = b.process(body, output_buffer_limit=budget + 1)
        if len(out) > budget:
            raise ChatRejected("too_large", f"decompressed body exceeds {budget} bytes")
        if not b.is_finished():
            # Output still pending means the limit stopped it; otherwise the input ran out.
            if not b.can_accept_more_data():
                raise ChatRejected("too_large", f"decompressed body exceeds {budget} bytes")
            raise ChatRejected("truncated", "brotli body is truncated")
        return out
    except ChatRejected:
        raise
    except Exception as e:  # zlib.error, brotli.error: the body is not what its header says
        raise ChatRejected("bad_compression", f"cannot decompress ver {ver} body: {e}") from None


def decode_packets(data: bytes) -> list[Packet]:
    """Split a frame into leaf packets, expanding zlib/brotli bodies recursively.

    Raises ChatRejected (codes: empty, truncated, bad_header, too_large, too_deep,
    bad_compression, unsupported) for anything that is not a well-formed frame.
    """
    if not data:
        raise ChatRejected("empty", "empty frame")
    out: list[Packet] = []
    budget = [MAX_DECOMPRESSED]

    def walk(buf: bytes, depth: int) -> None:
        pos, n = 0, len(buf)
        if n == 0:
            raise ChatRejected("empty", "compressed body holds no packets")
        while pos < n:
            if n - pos < HEADER_LEN:
                raise ChatRejected("truncated", f"{n - pos} trailing bytes, a header needs 16")
            plen, hlen, ver, op, seq = HEADER.unpack_from(buf, pos)
            if hlen != HEADER_LEN:
                raise ChatRejected("bad_header", f"header length {hlen}, expected 16")
            if plen < HEADER_LEN:
                raise ChatRejected("bad_header", f"packet length {plen} is below 16")
            if plen > n - pos:
                raise ChatRejected("truncated", f"packet says {plen} bytes, {n - pos} remain")
            if ver not in (VER_JSON, VER_INT, VER_ZLIB, VER_BROTLI):
                raise ChatRejected("bad_header", f"unknown protocol version {ver}")
            body = buf[pos + HEADER_LEN : pos + plen]
            pos += plen
            if ver in (VER_ZLIB, VER_BROTLI):
                if depth >= MAX_DEPTH:
                    raise ChatRejected("too_deep", f"compressed packets nested over {MAX_DEPTH}")
                inner = _decompress(ver, body, budget[0])
                budget[0] -= len(inner)
                walk(inner, depth + 1)
            else:
                if len(out) >= MAX_PACKETS:
                    raise ChatRejected("too_large", f"frame holds over {MAX_PACKETS} packets")
                out.append(Packet(ver, op, seq, bytes(body)))

    walk(bytes(data), 0)
    return out
