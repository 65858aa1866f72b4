"""Bench tag: a machine-readable block code in the top-left corner of an I420 frame.

In bench mode the engine draws, in every frame, which utterance's audio plays in it (its trace
id hashed to 24 bits, or "idle" when none does); a receiver decodes it from the decoded picture
to measure glass-to-glass latency without trusting the engine's own timestamps.

Layout: an 8 x 5 grid of 16 x 16 px luma cells (macroblock aligned, so H.264 at stream
bitrates and 4:2:0 chroma leave it intact) at (TAG_X, TAG_Y). Row 0 is a fixed sync pattern;
rows 1-4 hold 24 value bits and an 8-bit CRC, most significant first. White is Y=235, black
Y=16, chroma neutral. The decoder samples each cell's centre and rejects a frame whose sync row
does not match, whose cells are not clearly black or white, or whose CRC fails, so ordinary
pictures do not decode.
"""

from __future__ import annotations

import hashlib

import numpy as np

CELL = 16
COLS = 8
ROWS = 5
TAG_X = 16
TAG_Y = 16
WIDTH = COLS * CELL
HEIGHT = ROWS * CELL
SYNC = (1, 1, 0, 1, 0, 0, 1, 0)
IDLE = 0  # the value drawn when no utterance plays
WHITE, BLACK = 235, 16
_LOW, _HIGH = 90, 160  # a cell between these is neither black nor white: no tag


def tag_value(trace_id: str | None) -> int:
    """24-bit code of a trace id (never IDLE); IDLE for None."""
    if trace_id is None:
        return IDLE
    v = int.from_bytes(hashlib.blake2s(trace_id.encode(), digest_size=3).digest(), "big")
    return v or 1


def crc8(value: int) -> int:
    """CRC-8 (poly 0x07) of the 3 value bytes."""
    crc = 0
    for byte in value.to_bytes(3, "big"):
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _bits(value: int) -> np.ndarray:
    word = (value << 8) | crc8(value)
    data = [(word >> (31 - i)) & 1 for i in range(32)]
    return np.array(list(SYNC) + data, dtype=np.uint8).reshape(ROWS, COLS)


def _check_size(video: np.ndarray) -> tuple[int, int]:
    h = video.shape[0] * 2 // 3
    w = video.shape[1]
    if video.ndim != 2 or video.dtype != np.uint8 or h < TAG_Y + HEIGHT or w < TAG_X + WIDTH:
        raise ValueError(
            f"bench tag needs a uint8 I420 frame at least {TAG_X + WIDTH}x{TAG_Y + HEIGHT}, "
            f"got {video.dtype} {video.shape}"
        )
    return h, w


def draw_tag(video: np.ndarray, value: int) -> None:
    """Draw ``value`` (0..2**24-1) into an I420 frame (shape (H*3//2, W)) in place."""
    if not 0 <= value < 1 << 24:
        raise ValueError(f"tag value {value} is not a 24-bit number")
    h, w = _check_size(video)
    cells = np.where(_bits(value) == 1, WHITE, BLACK).astype(np.uint8)
    block = np.kron(cells, np.ones((CELL, CELL), dtype=np.uint8))
    video[TAG_Y : TAG_Y + HEIGHT, TAG_X : TAG_X + WIDTH] = block
    # Neutral chroma under the tag: coloured bleed from the picture would tint the cells.
    cw = w // 2
    for plane in range(2):
        start = h + plane * (h // 4)
        flat = video[start : start + h // 4].reshape(h // 2, cw)
        flat[TAG_Y // 2 : (TAG_Y + HEIGHT) // 2, TAG_X // 2 : (TAG_X + WIDTH) // 2] = 128


def read_tag(luma: np.ndarray) -> int | None:
    """The value in a decoded frame's luma plane (H x W, or a whole I420 array), or None when
    the frame carries no valid tag."""
    if luma.ndim != 2 or luma.shape[0] < TAG_Y + HEIGHT or luma.shape[1] < TAG_X + WIDTH:
        return None
    region = luma[TAG_Y : TAG_Y + HEIGHT, TAG_X : TAG_X + WIDTH].astype(np.float32)
    q = CELL // 4
    centres = region.reshape(ROWS, CELL, COLS, CELL)[:, q : CELL - q, :, q : CELL - q]
    means = centres.mean(axis=(1, 3))
    if ((means > _LOW) & (means < _HIGH)).any():
        return None
    bits = (means >= _HIGH).astype(np.uint8)
    if tuple(bits[0]) != SYNC:
        return None
    word = 0
    for b in bits[1:].reshape(-1):
        word = (word << 1) | int(b)
    value, crc = word >> 8, word & 0xFF
    if crc8(value) != crc:
        return None
    return value
