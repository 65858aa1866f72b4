"""The RTMP pusher's wait between sessions (issue #19): how soon a restarted server gets the
stream back, and that a server which answers yet refuses the stream is not hammered."""

from __future__ import annotations

import time

import pytest

from streamhost.output import rtmp


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What the probe says, one value per call; the last one repeats."""
    said: list[bool] = []

    def probe(url: str, timeout: float = 0.5) -> bool:
        return said.pop(0) if len(said) > 1 else said[0]

    monkeypatch.setattr(rtmp, "rtmp_answers", probe)
    return said


def _waited(pusher: rtmp.RtmpPusher, delay: float) -> float:
    t = time.monotonic()
    pusher._wait_to_reconnect(delay)
    return time.monotonic() - t


def test_server_back_while_the_failing_session_ran_is_retried_at_once(answers) -> None:
    # seen down before the session; the session failed; the server answers now (the CI case:
    # a 6.4 s wait after nginx came back, the backoff having grown to 4-8 s while it was down)
    p = rtmp.RtmpPusher("rtmp://127.0.0.1:1/live/x", probe_interval=0.05)
    answers[:] = [False]
    assert _waited(p, 0.2) >= 0.19  # down: waits, probing
    answers[:] = [True]
    assert _waited(p, 5.0) < 0.5


def test_down_server_is_probed_and_rejoined_within_a_probe_interval(answers) -> None:
    p = rtmp.RtmpPusher("rtmp://127.0.0.1:1/live/x", probe_interval=0.05)
    answers[:] = [False, False, False, True]
    assert _waited(p, 5.0) < 0.5


def test_answering_server_that_ended_the_session_keeps_the_backoff(answers) -> None:
    p = rtmp.RtmpPusher("rtmp://127.0.0.1:1/live/x", probe_interval=0.05)
    answers[:] = [True]
    assert _waited(p, 0.3) >= 0.29
    assert _waited(p, 0.3) >= 0.29  # still answering, still refusing: no quick retry
