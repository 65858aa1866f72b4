"""The heap housekeeping of a night-long engine (streamhost/heap.py), on this machine's glibc:
freed memory that stays mapped is handed back by ``trim``, and the engine trims on its own."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from streamhost import heap

# Blocks under the pinned mmap threshold come from the heap; a small block kept after each
# one stops free() from shrinking the heap top, as live objects do in a running engine.
_FRAGMENT = """
import sys
from streamhost import heap
assert heap.steady_malloc()
def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
big, pins = [], []
for _ in range(2000):
    big.append(bytearray(100_000))
    pins.append(bytearray(1024))  # over pymalloc's 512 bytes: from the C heap, between the big ones
del big
before = rss_mb()
released = heap.trim()
print(before, rss_mb(), released)
"""


def test_trim_hands_freed_heap_pages_back() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _FRAGMENT], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    before, after, released = float(out[0]), float(out[1]), out[2] == "True"
    assert released
    assert before - after > 150, (before, after)  # ~190 MB freed but still mapped before


async def test_trim_forever_trims_until_cancelled(monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(heap, "trim", lambda: calls.append(1) or True)
    task = asyncio.create_task(heap.trim_forever(every_s=0.01))
    while len(calls) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    n = len(calls)
    await asyncio.sleep(0.05)
    assert len(calls) == n  # stopped with its task


_REUSE = """
import resource
from streamhost import heap
assert heap.steady_malloc()
import numpy as np
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):  # warm: the heap grows to hold a frame's buffers once
    a = np.ones((1280, 720, 3), np.uint8); b = np.ones((4, 400, 368), np.float32); del a, b
f0 = faults()
for _ in range(100):  # what a frame does: big buffers allocated, written and freed
    a = np.ones((1280, 720, 3), np.uint8); b = np.ones((4, 400, 368), np.float32); del a, b
print((faults() - f0) / 100)
"""


def test_frame_sized_buffers_are_reused_not_mapped_afresh() -> None:
    """A frame's 2-3 MB buffers come back from the heap: no page faults per frame (the 256 KiB
    threshold this module pinned before cost ~1,100 faults for these two buffers)."""
    per_frame = float(
        subprocess.run(
            [sys.executable, "-c", _REUSE], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    )
    assert per_frame < 20, per_frame


_BREAKDOWN = """
import ctypes
from streamhost import heap
assert heap.steady_malloc()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
b0 = heap.breakdown()
blocks = [libc.malloc(1 << 20) for _ in range(100)]
b1 = heap.breakdown()
for p in blocks[:-1:2]:  # every other block, the top one kept: holes, not a shorter heap
    libc.free(p)
b2 = heap.breakdown()
print(*(b[k] >> 20 for b in (b0, b1, b2) for k in ("in_use", "free", "mmapped")))
"""


def test_breakdown_tells_a_leak_from_fragmentation() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _BREAKDOWN], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    (u0, f0, m0), (u1, f1, m1), (u2, f2, m2) = (tuple(map(int, out[i : i + 3])) for i in (0, 3, 6))
    assert 95 <= u1 - u0 <= 110, (u0, u1)  # 100 MiB held: in use, from the heap, not mmapped
    assert m1 - m0 < 5, (m0, m1)
    assert 45 <= u1 - u2 <= 55 and 45 <= f2 - f1 <= 60, (u1, u2, f1, f2)  # freed, still mapped


_ARENAS = """
import sys, threading
from streamhost import heap
if sys.argv[1] != "default":
    assert heap.steady_malloc(one_arena=sys.argv[1] == "steady")
def frame_work():  # what the render and encoder threads do: frame-sized blocks, made and freed
    for _ in range(20):
        block = bytearray(300_000)
        del block
threads = [threading.Thread(target=frame_work) for _ in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(heap.arenas())
"""


@pytest.mark.parametrize("mode", ["default", "steady", "copies"])
def test_threads_share_one_arena_after_steady_malloc(mode: str) -> None:
    """glibc gives threads heaps of their own; the engine's setting keeps one, so a buffer
    freed on the encoder thread is the render thread's next one (heap.py)."""
    n = int(
        subprocess.run(
            [sys.executable, "-c", _ARENAS, mode],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout
    )  # fmt: skip
    if mode == "steady":
        assert n == 1
    else:  # glibc's default, which --copies keeps; without it the test above proves nothing
        assert n > 1


# -- transparent huge pages (heap.reexec_with_huge_pages) ---------------------------------------


@pytest.fixture
def thp_here(monkeypatch):
    """A glibc with the tunable and a kernel in madvise mode, whatever this machine has."""
    monkeypatch.setattr(heap, "glibc_version", lambda: (2, 36))
    monkeypatch.setattr(heap, "thp_mode", lambda: "madvise")


def test_huge_pages_env_adds_the_tunable_and_keeps_the_others(thp_here) -> None:
    asked = {"STREAMHOST_HUGE_PAGES": "1"}
    env = heap.huge_pages_env({**asked, "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"})
    assert env == {**asked,
                   "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1"}  # fmt: skip
    assert heap.huge_pages_env(asked)["GLIBC_TUNABLES"] == "glibc.malloc.hugetlb=1"


@pytest.mark.parametrize("environ", [
    {"STREAMHOST_HUGE_PAGES": "1", "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"},  # re-exec'd
    {"STREAMHOST_HUGE_PAGES": "1", "GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"},  # user's choice
    {"STREAMHOST_HUGE_PAGES": "0"},
    {},  # off unless asked for: measured no cheaper per stream here (heap.py)
])  # fmt: skip
def test_huge_pages_env_leaves_a_set_or_refused_tunable(thp_here, environ) -> None:
    assert heap.huge_pages_env(environ) is None


@pytest.mark.parametrize(("version", "mode"), [
    ((2, 34), "madvise"), (None, "madvise"), ((2, 36), "never"), ((2, 36), ""),
])  # fmt: skip
def test_huge_pages_env_needs_glibc_2_35_and_thp(monkeypatch, version, mode) -> None:
    monkeypatch.setattr(heap, "glibc_version", lambda: version)
    monkeypatch.setattr(heap, "thp_mode", lambda: mode)
    assert heap.huge_pages_env({"STREAMHOST_HUGE_PAGES": "1"}) is None


def test_thp_mode_reads_the_kernels_bracketed_choice(tmp_path) -> None:
    setting = tmp_path / "enabled"
    setting.write_text("always [madvise] never\n")
    assert heap.thp_mode(setting) == "madvise"
    assert heap.thp_mode(tmp_path / "missing") == ""


# Prints "start" once per process image: twice when it started itself again. A 64 MiB block
# from the C heap (under the pinned mmap threshold), written, is on huge pages only if glibc
# madvised the heap.
_HUGE = """
import ctypes
from streamhost import heap
print("start", flush=True)
heap.reexec_with_huge_pages()
heap.steady_malloc()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
block = libc.malloc(64 << 20)
ctypes.memset(block, 1, 64 << 20)
print(heap.huge_pages_on(), heap.huge_pages_kib() // 1024)
"""


@pytest.mark.parametrize("asked", [True, False])
def test_a_process_starts_itself_again_with_its_heap_on_huge_pages(asked: bool) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "STREAMHOST_HUGE_PAGES")
    }
    if asked:
        env["STREAMHOST_HUGE_PAGES"] = "1"
    lines = subprocess.run([sys.executable, "-c", _HUGE], capture_output=True, text=True,
                           timeout=60, check=True, env=env).stdout.split()  # fmt: skip
    on, mib = lines[-2] == "True", int(lines[-1])
    supported = heap.huge_pages_env({"STREAMHOST_HUGE_PAGES": "1"}) is not None
    if not asked or not supported:
        assert lines.count("start") == 1 and not on
        if heap.thp_mode() == "madvise":  # "always" would give huge pages without us
            assert mib < 16
    else:
        assert lines.count("start") == 2 and on
        assert mib >= 32, f"only {mib} MiB on huge pages"


def test_only_a_command_line_that_runs_streams_starts_itself_again(monkeypatch, tmp_path) -> None:
    """`streamhost run` from a shell re-execs (before any engine thread); an in-process call
    such as the tests' never does, nor does a short command like `check`."""
    from streamhost import cli

    calls: list[list[str]] = []

    class Execd(Exception):
        pass

    def fake_reexec() -> None:
        calls.append(list(sys.argv))
        raise Execd

    monkeypatch.setattr(cli, "reexec_with_huge_pages", fake_reexec)
    missing = str(tmp_path / "none.toml")
    monkeypatch.setattr(sys, "argv", ["streamhost", "run", "--config", missing])
    with pytest.raises(Execd):
        cli.main()
    assert calls == [["streamhost", "run", "--config", missing]]
    with pytest.raises(SystemExit) as exited:  # in-process: the config error, no exec
        cli.main(["run", "--config", missing])
    assert exited.value.code == 2
    monkeypatch.setattr(sys, "argv", ["streamhost", "check", "--config", missing])
    assert cli.main() == 2
    assert len(calls) == 1
