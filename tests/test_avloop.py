"""The AV loop's render-ahead: frames rendered one period before they are sent absorb a render
that runs late (a core shared by many streams), leave in order with their own audio, and leave
exactly that much later."""

from __future__ import annotations

import time

import numpy as np

from streamhost.avatar.driver import FaceDriver
from streamhost.avloop import AVLoop
from streamhost.clock import RealClock
from streamhost.frames import AVFrame, StreamFormat
from streamhost.player import SpeechPlayer

FMT = StreamFormat(64, 64, 25, 48000)
PERIOD_MS = 1000 / FMT.fps


async def _run(ahead: int, slow_every: int, seconds: float = 2.0) -> tuple[list, list[float]]:
    clock = RealClock()
    player = SpeechPlayer(FMT, FaceDriver(fps=FMT.fps))
    sent: list[tuple[AVFrame, float]] = []

    def picture(t: float) -> np.ndarray:
        i = int(round(t * FMT.fps))
        # a render that takes longer than a period now and then, as on a crowded core
        time.sleep(0.046 if slow_every and i % slow_every == slow_every - 1 else 0.001)
        return np.full((96, 64), i % 251, np.uint8)

    async def sink(frame: AVFrame) -> None:
        sent.append((frame, clock.now()))

    loop = AVLoop(clock, FMT, player, picture, sink)
    loop.render_ahead = ahead
    clock.restart()
    await loop.run(seconds)
    intervals = [(b - a) * 1000 for (_, a), (_, b) in zip(sent, sent[1:], strict=False)]
    return sent, intervals


async def test_render_ahead_absorbs_renders_longer_than_a_period() -> None:
    _, direct = await _run(0, slow_every=4)
    sent, ahead = await _run(1, slow_every=4)
    # sent at once, a 46 ms render makes a ~70 ms gap (and a short one after it)
    assert sum(iv > 55 for iv in direct) >= 8, direct
    assert sum(iv > 55 for iv in ahead) <= 1, ahead
    assert len(sent) == 50


async def test_render_ahead_keeps_order_and_pictures_and_costs_one_period() -> None:
    sent, _ = await _run(1, slow_every=0, seconds=1.0)
    assert [f.index for f, _ in sent] == list(range(25))
    for f, at in sent:
        assert f.video[0, 0] == f.index % 251  # each frame carries its own picture
        assert len(f.audio) == FMT.sample_rate // FMT.fps
        # sent one period plus the emit phase after its media time, not before
        assert (at - f.pts) * 1000 >= PERIOD_MS, (f.index, at, f.pts)
    direct, _ = await _run(0, slow_every=0, seconds=1.0)
    lag = np.median([(at - f.pts) * 1000 for f, at in sent])
    lag0 = np.median([(at - f.pts) * 1000 for f, at in direct])
    assert PERIOD_MS - 5 <= lag - lag0 <= PERIOD_MS + 5, (lag, lag0)
