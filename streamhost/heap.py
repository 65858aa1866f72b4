"""Process-wide glibc heap settings for a stream that runs all night.

Every frame allocates and frees buffers of 1-2.5 MB (the head tile, the picture, I420 planes,
the encoder's input). Left to glibc's defaults, blocks that size are mmapped and unmapped
each time while its adaptive threshold moves, and the heap grows and fragments once it has
moved (RSS grew 36 % per hour over a 30-minute soak). ``steady_malloc`` fixes both thresholds:

- mmap threshold at glibc's maximum (32 MiB): frame buffers come from the heap, and a freed
  block is reused by the next frame. Pinned at 256 KiB instead (this module's first setting),
  every frame buffer was a fresh mapping: ~1,800 page faults per frame, and one stream's CPU
  0.61-0.62 core against 0.46-0.47 with the buffers reused (pipeline.py, same machine, twice
  each, alternating).
- trim threshold at 64 MiB: free() no longer hands the heap top back to the kernel between two
  frames (only for the next frame to fault it in again).
- one arena for a one-stream process: glibc gives each thread that allocates a heap of its own
  (up to 8 per core), and a frame's buffers are made and freed on the render, encoder and loop
  threads, each heap keeping its own free blocks. With one heap for all, one stream took 0.45
  core against 0.50 and 41-47 page faults per frame against 49-54 (pipeline.py, the mean of
  six alternating pairs, lower in each, 2026-12-05): more of a frame's blocks are ones a recent
  frame touched. Most allocations there are made holding the GIL, so the arena's lock is rarely
  contended. Not for ``--copies``: there N streams' renders and encodes run at once on the
  pool's threads, and one arena made three copies late (10 and 19 late frames, p99 53-63 ms,
  against 0-1 and 48-52 ms with glibc's arenas; streams.py at N = 3, alternating).

What is freed stays mapped until ``trim``: memory freed inside the heap and the per-thread
arenas is kept until a free block reaches the top of its heap, and chat, speech and limb
sprites free blocks all over it (a virtual-clock night with simulated chat held ~50 MB/h more
after each minute than after ``malloc_trim(0)``, which hands whole free pages back).
``trim_forever`` trims every 10 s on a worker thread (under 2 ms with 390 MB free in four
arenas here; the render and encoder threads only wait for it while it holds their arena; the
frame after a trim faults its buffers in once). Once a minute let RSS swing by ±25 MiB between
trims, which hid a slope of a few MiB per hour in its noise.

Transparent huge pages for the heap, opt-in (``STREAMHOST_HUGE_PAGES=1``,
``reexec_with_huge_pages``): glibc 2.35+ backs the heap with 2 MiB pages where the tunable
``glibc.malloc.hugetlb=1`` is set, and reads tunables only at process start, so ``streamhost
run`` (and the benchmarks' engine processes) start themselves again with it. It cuts a
stream's page faults from 43 to 7 per frame, but not its CPU on this machine: over ten
alternating pipeline.py pairs (2026-12-05 evening) one stream took 0.448 core on huge pages
against 0.453 on small ones, lower in five pairs and higher in five (-0.075 to +0.052 core).
The first three pairs alone read -10 %, and the machine's noise between runs is larger than the
effect. Hence off by default. ``trim`` splits the huge pages it returns free pages from.

Where there is no glibc (musl, macOS) all of these are no-ops.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import os
import sys
from collections.abc import Mapping
from pathlib import Path

M_TRIM_THRESHOLD = -1  # glibc mallopt parameters
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: mallopt's limit
TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024
TRIM_EVERY_S = 10.0
ARENA_MAX = 1
HUGETLB_TUNABLE = "glibc.malloc.hugetlb"
HUGETLB_MIN_GLIBC = (2, 35)  # the first glibc with the tunable
THP_SETTING = Path("/sys/kernel/mm/transparent_hugepage/enabled")
OPT_IN = "STREAMHOST_HUGE_PAGES"


@functools.cache  # one lookup per process, not one per trim
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt  # noqa: B018 - probes for glibc
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def steady_malloc(one_arena: bool = True) -> bool:
    """Pin glibc's mmap and trim thresholds and, with ``one_arena``, make every thread that
    has no arena yet share the main one; False where there is no glibc mallopt."""
    libc = _libc()
    if libc is None:
        return False
    ok = [
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
    ]
    if one_arena:
        ok.append(libc.mallopt(M_ARENA_MAX, ARENA_MAX))
    return all(ok)


def trim() -> bool:
    """Hand free heap pages back to the OS now; True when glibc released any."""
    libc = _libc()
    return libc is not None and bool(libc.malloc_trim(0))


def glibc_version() -> tuple[int, int] | None:
    """(major, minor) of the C library when it is glibc; None otherwise."""
    libc = _libc()
    fn = getattr(libc, "gnu_get_libc_version", None) if libc is not None else None
    if fn is None:
        return None
    fn.restype = ctypes.c_char_p
    try:
        major, minor = fn().decode().split(".")[:2]
        return int(major), int(minor)
    except (ValueError, AttributeError):
        return None


def thp_mode(setting: Path = THP_SETTING) -> str:
    """The kernel's transparent-huge-page mode ("always", "madvise", "never"); "" if unknown."""
    try:
        text = setting.read_text()
    except OSError:
        return ""
    start, end = text.find("["), text.find("]")
    return text[start + 1 : end] if 0 <= start < end else ""


def huge_pages_env(environ: Mapping[str, str]) -> dict[str, str] | None:
    """``environ`` with glibc's huge-page tunable added to ``GLIBC_TUNABLES`` (other tunables
    kept), or None where there is nothing to do: not asked for (``OPT_IN`` = "1"), already set,
    no glibc 2.35+, or the kernel's THP mode is neither "always" nor "madvise"."""
    if environ.get(OPT_IN, "0") != "1" or _hugetlb_value(environ) is not None:
        return None
    version = glibc_version()
    if version is None or version < HUGETLB_MIN_GLIBC or thp_mode() not in ("always", "madvise"):
        return None
    tunables = environ.get("GLIBC_TUNABLES", "")
    return {**environ, "GLIBC_TUNABLES": ":".join(filter(None, (tunables, f"{HUGETLB_TUNABLE}=1")))}


def reexec_with_huge_pages() -> None:
    """Start this process again, same command line, with ``huge_pages_env``'s environment
    (glibc reads tunables only at start); returns only where there is nothing to do. Call it
    first, before any thread or file that must survive: ``execve`` replaces the process."""
    env = huge_pages_env(os.environ)
    if env is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, sys.orig_argv, env)


def _hugetlb_value(environ: Mapping[str, str]) -> str | None:
    """The value ``GLIBC_TUNABLES`` gives glibc's huge-page tunable; None where it is unset."""
    for item in environ.get("GLIBC_TUNABLES", "").split(":"):
        name, _, value = item.partition("=")
        if name == HUGETLB_TUNABLE:
            return value
    return None


def huge_pages_on() -> bool:
    """Whether this process started with glibc's huge-page tunable set."""
    return _hugetlb_value(os.environ) == "1"


def huge_pages_kib() -> int | None:
    """Anonymous memory of this process on transparent huge pages, KiB; None where the kernel
    does not say (no ``/proc/self/smaps_rollup``)."""
    try:
        text = Path("/proc/self/smaps_rollup").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("AnonHugePages:"):
            return int(line.split()[1])
    return None


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]  # fmt: skip


def breakdown() -> dict[str, int] | None:
    """Where the C heap's bytes are, summed over every arena: ``in_use`` (malloc'd, not yet
    freed: a leak grows this), ``free`` (freed but still mapped: fragmentation grows this),
    ``mmapped`` (blocks above the mmap threshold). None without glibc's ``mallinfo2``
    (glibc < 2.33, musl, macOS). RSS less these is what other mappings hold: model weights,
    thread stacks, libraries' own pools."""
    libc = _libc()
    fn = getattr(libc, "mallinfo2", None) if libc is not None else None
    if fn is None:
        return None
    fn.restype = _MallInfo2
    mi = fn()
    return {"in_use": mi.uordblks, "free": mi.fordblks, "mmapped": mi.hblkhd}


def arenas() -> int | None:
    """How many malloc arenas (heaps) the process has, from glibc's ``malloc_info``; None
    without it."""
    libc = _libc()
    info = getattr(libc, "malloc_info", None) if libc is not None else None
    if info is None:
        return None
    libc.open_memstream.restype = ctypes.c_void_p
    libc.fclose.argtypes = [ctypes.c_void_p]
    buf, size = ctypes.c_char_p(), ctypes.c_size_t()
    fp = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
    try:
        info.argtypes = [ctypes.c_int, ctypes.c_void_p]
        info(0, fp)
    finally:
        libc.fclose(fp)  # flushes: buf and size are valid only from here
    try:
        return (ctypes.string_at(buf, size.value) if buf else b"").count(b"<heap nr=")
    finally:
        libc.free(buf)


async def trim_forever(every_s: float = TRIM_EVERY_S) -> None:
    """``trim`` every ``every_s`` wall seconds until cancelled (one task per process)."""
    if _libc() is None:
        return
    while True:
        await asyncio.sleep(every_s)
        await asyncio.to_thread(trim)
