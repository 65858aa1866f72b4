"""The shared AV pool: earliest deadline first across lanes, each lane in order and one job at a
time, results and errors through futures; and N engine copies running their frames on it."""

from __future__ import annotations

import threading
import time

import pytest

from streamhost.avpool import DeadlinePool


def test_free_worker_takes_the_job_due_first_and_lanes_stay_serial() -> None:
    pool = DeadlinePool(threads=1)
    gate = threading.Event()
    done: list[str] = []
    lanes = [pool.lane(f"l{i}") for i in range(3)]
    lanes[0].submit_by(0.0, gate.wait, 5)  # holds the only worker while the rest queue up
    futs = [
        lanes[1].submit_by(3.0, done.append, "b3"),
        lanes[2].submit_by(1.0, done.append, "c1"),
        lanes[1].submit_by(0.5, done.append, "b0.5"),  # due earlier, but behind b3 in its lane
        lanes[2].submit_by(2.0, done.append, "c2"),
    ]
    gate.set()
    for f in futs:
        f.result(5)
    assert done == ["c1", "c2", "b3", "b0.5"]
    pool.close()


def test_a_lane_never_runs_two_jobs_at_once_on_many_workers() -> None:
    pool = DeadlinePool(threads=4)
    lane = pool.lane()
    inside = {"now": 0, "max": 0}
    lock = threading.Lock()

    def job() -> None:
        with lock:
            inside["now"] += 1
            inside["max"] = max(inside["max"], inside["now"])
        time.sleep(0.002)
        with lock:
            inside["now"] -= 1

    futs = [lane.submit_by(float(i), job) for i in range(40)]
    for f in futs:
        f.result(5)
    assert inside["max"] == 1
    assert lane.join(1) and lane.pending == 0
    pool.close()


def test_errors_reach_the_caller_and_the_lane_goes_on() -> None:
    pool = DeadlinePool(threads=2)
    lane = pool.lane()
    bad = lane.submit_by(0.0, lambda: 1 / 0)
    good = lane.submit_by(1.0, lambda: 42)
    with pytest.raises(ZeroDivisionError):
        bad.result(5)
    assert good.result(5) == 42
    pool.close()


@pytest.mark.timeout(300)
async def test_copies_render_and_encode_on_one_pool(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from streamhost.config import load_config
    from streamhost.engine import Engine

    monkeypatch.setenv("STREAMHOST_DATA_DIR", str(tmp_path))
    cfg = load_config().with_overrides(
        output={"record": str(tmp_path / "rec.mp4"), "rtmp": []}, http={"port": 0}
    )
    import streamhost.engine as engine_mod

    settings: list[bool] = []
    monkeypatch.setattr(engine_mod, "steady_malloc", lambda one_arena: settings.append(one_arena))
    engine = Engine(cfg, virtual_clock=True, copies=2)
    assert settings == [False]  # the pool's threads keep glibc's arenas (heap.py)
    assert engine.pool is not None and engine.pool.threads >= 1
    names = set()
    for s in engine.streams:
        orig = s.face.picture

        def picture(t: float, orig=orig) -> object:  # type: ignore[no-untyped-def]
            names.add(threading.current_thread().name)
            return orig(t)

        s.face.picture = picture
    await engine.run(2.0)
    for s in engine.streams:
        assert s.loop.stats.frames == 50
        assert s.encoder.stats.frames_encoded == 50 and s.encoder.stats.frames_dropped == 0
    assert names and all(n.startswith("av_") for n in names), names
    import av

    for path in (tmp_path / "rec.mp4", tmp_path / "rec-1.mp4"):
        with av.open(str(path)) as c:
            assert sum(1 for _ in c.decode(video=0)) >= 45  # both copies recorded their frames


def _nice(tid: int | None = None) -> int:
    import os

    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id() if tid is None else tid)


def test_av_workers_run_nicer_than_the_event_loop() -> None:
    # The loop that sends the frames must preempt the threads that make them when the cores
    # are full: the pool's workers, a stream's render thread and its encoder thread are niced,
    # each thread on its own (the calling thread keeps its priority).
    from streamhost.avloop import AVLoop
    from streamhost.avpool import WORKER_NICE
    from streamhost.frames import StreamFormat
    from streamhost.output.encoder import Encoder

    main = _nice()
    want = min(19, main + WORKER_NICE)
    pool = DeadlinePool(threads=1)
    try:
        assert pool.lane().submit(_nice).result(timeout=5) == want
    finally:
        pool.close()
    fmt = StreamFormat(64, 64, 25, 48000)
    loop = AVLoop(None, fmt, None, lambda t: None, None)  # type: ignore[arg-type]
    try:
        assert loop._executor.submit(_nice).result(timeout=5) == want
    finally:
        loop._executor.shutdown()
    enc = Encoder(fmt)
    enc.start()
    try:
        deadline = time.monotonic() + 5
        while _nice(enc._thread.native_id) != want and time.monotonic() < deadline:
            time.sleep(0.01)  # the thread lowers itself as it starts
        assert _nice(enc._thread.native_id) == want
    finally:
        enc.close()
    assert _nice() == main
