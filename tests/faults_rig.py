"""Fault-injection rig shared by tests/test_faults.py and benchmarks/faults.py.

What a fault does to a real peer (kill/restart/freeze an nginx-rtmp), what a receiver got back
(``RtmpReader``: every packet nginx-rtmp relayed, with its wall-clock arrival), and the checks
each fault is judged by: recovery time, monotonic timestamps, a recording with no gap and no
black or frozen picture. Imports nothing from pytest, so the benchmark loads it by path.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from streamhost.avatar.tag import IDLE, read_tag, tag_value

FROZEN_FRAMES = 25  # this many identical pictures in a row (1 s at 25 fps) is a frozen frame
FAULTS_BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "faults.py"
BLACK_LUMA = 16.0  # mean Y at or below video black: a black frame
FRESH_SLACK_S = 0.5  # a packet this far behind the media clock at recovery still counts as new


# -- the RTMP server as a fault target -----------------------------------------------------------


def kill_server(srv: Any) -> None:
    """SIGKILL nginx-rtmp (no clean close of any connection), keeping its port for restart."""
    proc = srv._proc
    proc.kill()
    proc.wait(timeout=5)
    srv._proc = None
    srv.stop()  # drops the temp prefix; start() makes a fresh one on the same port


def freeze(srv: Any, on: bool) -> None:
    """SIGSTOP / SIGCONT: the listen socket stays, TCP handshakes complete, nothing answers."""
    os.kill(srv._proc.pid, signal.SIGSTOP if on else signal.SIGCONT)


@dataclass
class RtmpReader:
    """A player of ``url`` on its own thread, reopened whenever the server drops it.

    Out: ``packets`` as (wall arrival, kind, pts seconds, keyframe). A short analyzeduration
    so that opening does not hold packets back for seconds (their arrival would read late)."""

    url: str
    rw_timeout_s: float = 60.0
    read_tags: bool = False  # decode video and collect the bench tags (trace ids) it carries
    tags: set[int] = field(default_factory=set)
    packets: list[tuple[float, str, float, bool]] = field(default_factory=list)
    opens: int = 0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> RtmpReader:
        self._thread = threading.Thread(target=self._run, name="rtmp-reader", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        opts = {"rw_timeout": str(int(self.rw_timeout_s * 1e6)), "analyzeduration": "100000",
                "fpsprobesize": "0"}  # fmt: skip
        while not self._stop.is_set():
            try:
                with av.open(self.url, options=opts, timeout=self.rw_timeout_s) as c:
                    self.opens += 1
                    if not c.streams.video:
                        # The short probe saw only audio (the first video packet came after
                        # it): this open would never show video. Open again.
                        self.errors.append("opened without a video stream")
                        self._stop.wait(0.1)
                        continue
                    for p in c.demux():
                        if (
                            p.dts is None
                            or p.pts is None
                            or p.stream.type not in ("video", "audio")
                        ):
                            continue
                        pts = float(p.pts * p.time_base)
                        self.packets.append((time.monotonic(), p.stream.type, pts, p.is_keyframe))
                        if self.read_tags and p.stream.type == "video":
                            for f in p.decode():
                                tag = read_tag(f.to_ndarray(format="gray"))
                                if tag is not None:
                                    self.tags.add(tag)
                        if self._stop.is_set():
                            return
            except (av.error.FFmpegError, OSError) as e:
                self.errors.append(f"{type(e).__name__}: {e}")
                self._stop.wait(0.05)

    def video(self) -> list[tuple[float, float]]:
        return [(t, pts) for t, kind, pts, _ in self.packets if kind == "video"]

    def recovery_s(self, t_up: float, media_up: float) -> float | None:
        """Seconds from ``t_up`` (the server answers again; the engine's media clock read
        ``media_up`` then) to the first new video packet on the server: one whose media time
        is not older than the outage (a backlog flushed by a thawed server is not recovery)."""
        for t, pts in self.video():
            if t >= t_up and pts >= media_up - FRESH_SLACK_S:
                return t - t_up
        return None

    def backwards(self) -> list[tuple[float, float]]:
        """(previous, next) pts pairs where a kind's timestamps went back, across reopenings."""
        last: dict[str, float] = {}
        bad = []
        for _, kind, pts, _ in self.packets:
            if kind in last and pts < last[kind] - 1e-6:
                bad.append((last[kind], pts))
            last[kind] = pts
        return bad


# -- the recording ---------------------------------------------------------------------------


@dataclass
class PictureCheck:
    """What a recording shows: frames, the longest pts gap, black frames, frozen runs."""

    frames: int = 0
    max_gap_s: float = 0.0
    black: int = 0
    frozen_runs: list[tuple[float, int]] = field(default_factory=list)  # (start pts, length)
    duration_s: float = 0.0
    error: str = ""

    @property
    def black_or_frozen(self) -> int:
        return self.black + sum(n for _, n in self.frozen_runs)


def check_pictures(paths: list[Path], frozen_frames: int = FROZEN_FRAMES) -> PictureCheck:
    """Decode every video frame of the recording (segments in order). A frame is black at mean
    luma <= BLACK_LUMA; a run of ``frozen_frames`` or more identical pictures is frozen (the
    idle host breathes and blinks, so a live picture changes within a second). A truncated
    fragmented file (a killed writer) is read up to its last whole fragment."""
    out = PictureCheck()
    prev_pts: float | None = None
    prev_sig: bytes | None = None
    run_start, run = 0.0, 0
    offset = 0.0
    for path in paths:
        last = 0.0
        try:
            with av.open(str(path)) as c:
                for f in c.decode(c.streams.video[0]):
                    pts = offset + float(f.pts * f.time_base)
                    last = pts
                    y = f.to_ndarray(format="gray")[::8, ::8]
                    out.frames += 1
                    if float(y.mean()) <= BLACK_LUMA:
                        out.black += 1
                    sig = y.tobytes()
                    if sig == prev_sig:
                        run += 1
                    else:
                        if run >= frozen_frames:
                            out.frozen_runs.append((run_start, run))
                        run_start, run = pts, 1
                    prev_sig = sig
                    if prev_pts is not None:
                        out.max_gap_s = max(out.max_gap_s, pts - prev_pts)
                    prev_pts = pts
        except (av.error.FFmpegError, OSError, IndexError) as e:
            out.error = f"{path.name}: {type(e).__name__}: {e}"
        offset = last + 0.04
    if run >= frozen_frames:
        out.frozen_runs.append((run_start, run))
    out.duration_s = round(prev_pts or 0.0, 3)
    out.max_gap_s = round(out.max_gap_s, 3)
    return out


def recording(base: Path) -> list[Path]:
    """The recording's segments in order (segment 1 is the configured path itself)."""
    rest = sorted(base.parent.glob(f"{base.stem}-*{base.suffix}"))
    return ([base] if base.exists() else []) + rest


class AlertLog:
    """Every event on a stream's ``alerts`` topic, from subscription on (``seen``)."""

    def __init__(self, events: Any) -> None:
        self._sub = events.add()
        self._sub.subscribe(["alerts"])
        self._seen: list[dict[str, Any]] = []

    @property
    def seen(self) -> list[dict[str, Any]]:
        self._seen.extend(self._sub.take())
        return self._seen

    def kinds(self, *only: str) -> list[str]:
        return [e["kind"] for e in self.seen if not only or e["kind"] in only]

    def has(self, kind: str) -> bool:
        return kind in self.kinds()


def gaps(arrivals: list[float], t0: float, t1: float) -> float:
    """The longest wall-clock gap between arrivals within [t0, t1] (edges included)."""
    ts = [t0] + [t for t in arrivals if t0 <= t <= t1] + [t1]
    return float(np.max(np.diff(ts))) if len(ts) > 1 else t1 - t0


# -- a full disk ------------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int) -> Iterator[Path]:
    """A tmpfs of ``size_mb`` mounted at ``path`` (root only): a disk that can be filled and
    given back. Unmounted on exit (lazily if something still holds a file open)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(path)],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill_disk(path: Path) -> Path:
    """Write a ballast file in ``path`` until the filesystem is full (ENOSPC); deleting it
    gives the space back."""
    ballast = path / "ballast"
    chunk = b"\0" * 65536
    with open(ballast, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
        with contextlib.suppress(OSError):
            while True:  # the last few kB a 64 kB chunk did not fit in
                f.write(b"\0" * 512)
    return ballast


def mount_works() -> bool:
    """Whether this process may mount a tmpfs (root, and not a confined container)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    probe = Path(tempfile.mkdtemp(prefix="mount-probe-"))
    try:
        with small_disk(probe, 1):
            return True
    except (subprocess.CalledProcessError, OSError):
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


# -- the network: a namespace of its own -----------------------------------------------------


def netns_impairments() -> tuple[bool, dict[str, str]]:
    """Whether a network namespace can be made here, and the impairments this kernel cannot
    give it, each with the reason (``tc`` answers "qdisc kind is unknown" without sch_netem)."""
    ns = f"shprobe{os.getpid()}"
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("tc") is None:
        return False, {"all": "needs root, ip and tc (iproute2)"}
    if subprocess.run(["ip", "netns", "add", ns], capture_output=True).returncode != 0:
        return False, {"all": "ip netns add failed"}
    missing: dict[str, str] = {}
    try:
        run = ["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "lo", "root"]
        for name, qdisc in (("loss_delay", ["netem", "delay", "50ms", "loss", "1%"]),
                            ("squeeze", ["tbf", "rate", "1mbit", "burst", "16kb",
                                         "latency", "100ms"])):  # fmt: skip
            r = subprocess.run(run + qdisc, capture_output=True, text=True)
            if r.returncode != 0:
                missing[name] = f"tc qdisc {qdisc[0]}: {r.stderr.strip()}"
            subprocess.run(run[:4] + ["del", "dev", "lo", "root"], capture_output=True)
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    return True, missing


@contextlib.contextmanager
def netns() -> Iterator[str]:
    """A fresh network namespace (deleted on exit): run a whole stream inside it with
    ``ip netns exec`` and impair its loopback without touching the host's."""
    ns = f"shfault{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
    try:
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def lo(*args: str) -> None:
    """Inside the namespace (the caller runs there): ``ip link set lo ...`` or, with "tc"
    first, ``tc qdisc ... dev lo ...``."""
    if args[0] == "tc":
        cmd = ["tc", "qdisc", args[1], "dev", "lo", *args[2:]]
    else:
        cmd = ["ip", "link", "set", "lo", *args]
    subprocess.run(cmd, check=True, capture_output=True)


def network_child(
    out: Path, squeeze_s: float, blackout_s: float, drop_idle_s: float = 0.0
) -> tuple[dict[str, Any], dict[str, str]]:
    """benchmarks/faults.py's network faults (``--impair-child``: nginx-rtmp, an engine and a
    player) in a child process inside a fresh namespace, so nothing on the host's own network
    is touched. Out: the child's figures ({} if it could not run), and what could not be run
    with the reason."""
    ok, missing = netns_impairments()
    if not ok:
        return {}, missing
    with netns() as ns:
        cmd = ["ip", "netns", "exec", ns, sys.executable, str(FAULTS_BENCH), "--impair-child",
               str(out), "--squeeze", str(0 if "squeeze" in missing else squeeze_s),
               "--blackout", str(blackout_s), "--drop-idle-publisher", str(drop_idle_s)]  # fmt: skip
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if not out.exists():
        return {}, {**missing, "network": f"child failed: {r.stderr[-500:]}"}
    return json.loads(out.read_text()), missing


# -- kill -9 ---------------------------------------------------------------------------------

KILL_CONFIG = """\
[stream]
bench_tag = true
[output]
webrtc = false
record_fragmented = true
"""


def kill9_trial(url: str, work: Path, after_live_s: float, python: str) -> dict[str, Any]:
    """``streamhost run`` pushing to ``url`` and recording, SIGKILLed ``after_live_s`` after the
    receiver's first packet. Out: the sentences a receiver saw on the wire (bench tags) that the
    store does not hold, whether the store opens and passes integrity_check, and what the
    fragmented recording still plays."""
    import sqlite3

    from streamhost.store import Store

    work.mkdir(parents=True, exist_ok=True)
    (work / "kill.toml").write_text(KILL_CONFIG)
    rec = work / "rec.mp4"
    env = {**os.environ, "STREAMHOST_DATA_DIR": str(work / "data")}
    reader = RtmpReader(url, rw_timeout_s=3.0, read_tags=True).start()
    proc = subprocess.Popen(
        [python, "-m", "streamhost.cli", "run", "--config", str(work / "kill.toml"), "--rtmp", url,
         "--record", str(rec), "--http", "127.0.0.1:0"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not reader.video() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(after_live_s)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        time.sleep(0.5)  # what nginx relayed before the kill reaches the reader
        reader.stop()
    out: dict[str, Any] = {
        "wire_sentences": len(reader.tags - {IDLE}),
        "went_live": bool(reader.video()),
    }
    try:
        db = sqlite3.connect(str(work / "data" / "default.sqlite"))
        out["integrity"] = db.execute("PRAGMA integrity_check").fetchone()[0]
        db.close()
        store = Store(work / "data", "default")
        said = {tag_value(ln.trace_id) for ln in store.transcript()}
        store.close()
        out["lost"] = len(reader.tags - said - {IDLE})
    except Exception as e:  # noqa: BLE001 - a store that does not open is the finding
        out["integrity"], out["lost"] = f"{type(e).__name__}: {e}", None
    pics = check_pictures(recording(rec))
    out["record_frames"], out["record_error"] = pics.frames, pics.error
    return out
