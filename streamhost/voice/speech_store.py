"""The speech cache's storage: key -> synthesized speech, an LRU in memory bounded in bytes,
optionally mirrored on disk (one ``<sha256>.npz`` per line, written to a temporary name and
renamed, oldest-used removed past the bound). ``voice/cache.py`` puts a Voice in front of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..frames import Sentence, Speech, Timing
from .resample import resample_int16

log = logging.getLogger("streamhost.voice")

_TIMING_BYTES = 64  # rough memory of one Timing, so timings count against the cap too


# Speech at this rate or above is kept at half the rate. Every voice here renders at 24 kHz or
# less and reaches the stream through a resampler that cuts at 0.95 of the voice's Nyquist, so a
# 48 kHz line holds nothing above ~11.4 kHz and every other sample keeps all of it. Half the
# bytes: the demo's ~1,500 likely lines (four languages) fit in the default cache; at 48 kHz the
# prefetch stopped at its fill mark before the last languages' answers.
COMPACT_FROM_HZ = 48000


@dataclass(frozen=True, slots=True)
class _Entry:
    pcm: np.ndarray
    sample_rate: int  # of ``pcm`` as kept
    phonemes: tuple[Timing, ...]
    words: tuple[Timing, ...]
    out_rate: int = 0  # the rate it is handed out at (0: as kept)
    out_len: int = 0  # samples at ``out_rate``

    @property
    def nbytes(self) -> int:
        return int(self.pcm.nbytes) + _TIMING_BYTES * (len(self.phonemes) + len(self.words))

    def speech(self, sentence: Sentence) -> Speech:
        pcm, rate = self.pcm, self.sample_rate
        if self.out_rate and self.out_rate != rate:
            # ~1 ms for a 3 s phrase (two short correlations), on the event loop for a hit
            pcm = resample_int16(pcm, rate, self.out_rate)[: self.out_len]
            pcm = np.pad(pcm, (0, self.out_len - len(pcm))) if len(pcm) < self.out_len else pcm
            rate = self.out_rate
        # The PCM array is shared between hits: nothing downstream writes into Speech.pcm.
        return Speech(sentence, pcm, rate, list(self.phonemes), list(self.words))


def _entry(speech: Speech) -> _Entry:
    pcm, rate = speech.pcm, speech.sample_rate
    ph, words = tuple(speech.phonemes), tuple(speech.words)
    if rate >= COMPACT_FROM_HZ and rate % 2 == 0 and len(pcm) >= 2:
        return _Entry(np.ascontiguousarray(pcm[::2]), rate // 2, ph, words, rate, len(pcm))
    return _Entry(pcm, rate, ph, words)


@dataclass
class CacheStats:
    """Counters since start: lookups that hit (memory or disk) or missed, lines prefetched."""

    hits: int = 0
    misses: int = 0
    disk_hits: int = 0
    prefetched: int = 0
    evicted: int = 0
    by_source: dict[str, list[int]] = field(default_factory=dict)  # source -> [hits, misses]

    def as_dict(self) -> dict[str, Any]:
        n = self.hits + self.misses
        return {
            "hits": self.hits, "misses": self.misses, "disk_hits": self.disk_hits,
            "prefetched": self.prefetched, "evicted": self.evicted,
            "hit_pct": round(100.0 * self.hits / n, 1) if n else None,
        }  # fmt: skip


def cache_key(identity: str, sentence: Sentence) -> str:
    text = " ".join(sentence.text.split())
    raw = json.dumps([identity, text, sentence.lang, bool(sentence.continues)], ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class SpeechCache:
    """key -> synthesized speech. Memory LRU capped at ``max_bytes``; optionally mirrored on
    disk in ``disk_dir`` capped at ``disk_bytes``. Thread-safe.

    Two segments share the memory cap (the 2Q idea): lines put as ``likely`` (the prefetcher's
    show and answer lines) and lines used twice live in the main LRU; a line made on demand
    and not yet used again (an answer naming a viewer, a countdown with its seconds) waits in a
    small "once" LRU of ``once_bytes`` (default 1/256 of the cap: 2 MB, ~40 s of speech, at the
    default 512 MB). Such lines are rarely said again, and a repeat comes soon (a sentence said
    again after a break-in) or not at all; kept with the show's lines they filled the cap over a
    night (+8.6 MB an hour in the 8-hour soak), growing the process all night for nothing.
    """

    def __init__(
        self,
        max_bytes: int,
        disk_dir: Path | None = None,
        disk_bytes: int = 0,
        once_bytes: int | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.once_bytes = max_bytes // 256 if once_bytes is None else min(once_bytes, max_bytes)
        self.bytes = 0  # both segments
        self.once_used = 0  # of which the once segment
        self._mem: OrderedDict[str, _Entry] = OrderedDict()
        self._once: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.disk_dir = disk_dir if disk_dir is not None and disk_bytes > 0 else None
        self.disk_bytes = disk_bytes
        self._disk: OrderedDict[str, int] = OrderedDict()  # key -> file size, oldest first
        self.stats = CacheStats()
        # Lines being synthesized right now, by any voice using this cache (streams of one
        # engine share it): a prefetcher skips them rather than making them twice.
        self.inflight: dict[str, int] = {}
        self.inflight_lock = threading.Lock()
        # Of those, lines a stream is waiting for: a prefetcher starts nothing new meanwhile.
        self.on_air = 0
        if self.disk_dir is not None:
            self._scan_disk()

    def __len__(self) -> int:
        return len(self._mem) + len(self._once)

    def peek(self, key: str) -> _Entry | None:
        """A memory hit (marked recently used; a once line moves to the main LRU), or None;
        never touches the disk."""
        with self._lock:
            e = self._mem.get(key)
            if e is not None:
                self._mem.move_to_end(key)
                return e
            e = self._once.pop(key, None)
            if e is not None:
                self.once_used -= e.nbytes
                self._mem[key] = e  # its bytes stay counted in self.bytes
                self._evict()
            return e

    def get(self, key: str) -> _Entry | None:
        """Memory, then disk (a disk hit is kept in memory)."""
        e = self.peek(key)
        if e is None and self.disk_dir is not None and key in self._disk:
            e = self._read(key)
            if e is not None:
                self.stats.disk_hits += 1
                self._remember(key, e, likely=True)  # used before: it was said or prefetched
        return e

    def put(self, key: str, speech: Speech, likely: bool = True) -> None:
        """Keep ``speech``: in the main LRU when ``likely`` to be said again, else in the once
        segment until a second use."""
        e = _entry(speech)
        self._remember(key, e, likely)
        if self.disk_dir is not None and key not in self._disk:
            self._write(key, e)

    def full(self, share: float = 1.0) -> bool:
        return self.bytes >= self.max_bytes * share

    def _remember(self, key: str, e: _Entry, likely: bool = True) -> None:
        if e.nbytes > (self.max_bytes if likely else self.once_bytes):
            return
        with self._lock:
            for seg in (self._mem, self._once):
                old = seg.pop(key, None)
                if old is not None:
                    self.bytes -= old.nbytes
                    self.once_used -= old.nbytes if seg is self._once else 0
            (self._mem if likely else self._once)[key] = e
            self.bytes += e.nbytes
            self.once_used += 0 if likely else e.nbytes
            self._evict()

    def _evict(self) -> None:
        """Under the lock: the once segment within its share, both within the cap (once lines
        go first: a line used twice outranks one used once)."""
        while self._once and (self.once_used > self.once_bytes or self.bytes > self.max_bytes):
            _, gone = self._once.popitem(last=False)
            self.bytes -= gone.nbytes
            self.once_used -= gone.nbytes
            self.stats.evicted += 1
        while self.bytes > self.max_bytes and self._mem:
            _, gone = self._mem.popitem(last=False)
            self.bytes -= gone.nbytes
            self.stats.evicted += 1

    # ---- disk ----
    def _path(self, key: str) -> Path:
        assert self.disk_dir is not None
        return self.disk_dir / f"{key}.npz"

    def _scan_disk(self) -> None:
        assert self.disk_dir is not None
        self.disk_dir.mkdir(parents=True, exist_ok=True)
        files = []
        for p in self.disk_dir.glob("*.npz"):
            try:
                st = p.stat()
            except OSError:
                continue
            files.append((st.st_mtime, p.stem, st.st_size))
        for _, key, size in sorted(files):
            self._disk[key] = size
        for p in self.disk_dir.glob("*.tmp*"):
            p.unlink(missing_ok=True)  # left by a crash mid-write
        self._trim_disk()

    def _write(self, key: str, e: _Entry) -> None:
        path = self._path(key)
        tmp = path.with_name(f"{key}.tmp{threading.get_ident()}.npz")
        meta = json.dumps({
            "rate": e.sample_rate, "out_rate": e.out_rate, "out_len": e.out_len,
            "phonemes": [[t.start, t.end, t.symbol] for t in e.phonemes],
            "words": [[t.start, t.end, t.symbol] for t in e.words],
        }, ensure_ascii=False)  # fmt: skip
        try:
            with open(tmp, "wb") as f:
                np.savez(f, pcm=e.pcm, meta=np.array(meta))
            os.replace(tmp, path)
            size = path.stat().st_size
        except OSError as exc:  # a full or read-only disk costs the disk copy, nothing else
            tmp.unlink(missing_ok=True)
            log.warning("speech cache: cannot write %s: %s", path, exc)
            return
        with self._lock:
            self._disk[key] = size
        self._trim_disk()

    def _read(self, key: str) -> _Entry | None:
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as z:
                pcm = z["pcm"].astype(np.int16, copy=False)
                meta = json.loads(str(z["meta"]))
            os.utime(path)  # recently used: trimmed last
        except (OSError, ValueError, KeyError) as exc:
            log.warning("speech cache: dropping unreadable %s: %s", path, exc)
            with self._lock:
                self._disk.pop(key, None)
            path.unlink(missing_ok=True)
            return None
        with self._lock:
            if key in self._disk:
                self._disk.move_to_end(key)

        def timings(rows: list[list[Any]]) -> tuple[Timing, ...]:
            return tuple(Timing(float(a), float(b), str(s)) for a, b, s in rows)

        return _Entry(pcm, int(meta["rate"]), timings(meta["phonemes"]), timings(meta["words"]),
                      int(meta.get("out_rate", 0)), int(meta.get("out_len", 0)))  # fmt: skip

    def _trim_disk(self) -> None:
        with self._lock:
            gone = []
            total = sum(self._disk.values())
            while total > self.disk_bytes and self._disk:
                key, size = self._disk.popitem(last=False)
                total -= size
                gone.append(key)
        for key in gone:
            self._path(key).unlink(missing_ok=True)
