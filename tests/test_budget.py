"""Latency budget: the budget file's validation, and ``latency_budget`` alerts on the virtual
clock (a slowed TTS raises exactly one alert for its stage; a normal run raises none)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import running_engine

from streamhost.budget import DEFAULT_BUDGET, Budget, BudgetWatch, load_budget, parse_budget
from streamhost.config import ConfigError, load_config
from streamhost.frames import Sentence, Source, Speech
from streamhost.trace import TraceBook


def test_shipped_budget_loads() -> None:
    b = load_budget(DEFAULT_BUDGET)
    assert b.window_s == 60.0 and b.min_samples >= 1
    assert b.targets_ms["first_audio"] > 0
    assert "received_to_first_packet_out" in b.targets_ms


def test_bad_budget_names_every_problem() -> None:
    with pytest.raises(ConfigError) as e:
        parse_budget(
            {
                "window": 3,
                "window_s": -1,
                "min_samples": 0,
                "step_ms": {"tts": 5, "first_audio": "fast"},
                "from_received_ms": {"triaged": 10},
            }
        )
    text = "\n".join(e.value.problems)
    assert "window: unknown key" in text
    assert "window_s = -1: must be a number of seconds" in text
    assert "min_samples = 0" in text
    assert "step_ms.tts: unknown stage; allowed: triaged, text_ready" in text
    assert "step_ms.first_audio = 'fast': must be a number of ms > 0" in text
    assert "from_received_ms.triaged: unknown stage" in text


def test_config_points_at_the_budget_file_and_validates_it(tmp_path: Path) -> None:
    bad = tmp_path / "budget.toml"
    bad.write_text("[step_ms]\nfirst_audio = 0\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[stream]\nbudget = "{bad.name}"\n')
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    assert e.value.problems == [
        f"stream.budget = '{bad}': step_ms.first_audio = 0: must be a number of ms > 0"
    ]
    bad.write_text("not = [toml")
    with pytest.raises(ConfigError, match="stream.budget .*not valid TOML"):
        load_config(cfg)


def test_alerts_once_per_window_per_stage() -> None:
    now = [0.0]
    book = TraceBook(virtual=True, media_now=lambda: now[0], window_s=10.0)
    fired: list[dict[str, Any]] = []
    watch = BudgetWatch(
        Budget(10.0, 3, {"first_audio": 100.0}), book, lambda kind, **f: fired.append(f)
    )

    def utterance(tts_s: float) -> None:
        s = Sentence("x", Source.SCRIPT)
        book.on_stage(s, "text_ready")
        now[0] += tts_s
        book.on_stage(s, "first_audio")
        book.packet_out([s.trace_id], now[0])

    for _ in range(2):
        utterance(0.5)
    assert watch.check() == []  # fewer than min_samples
    utterance(0.5)
    assert watch.check() == ["first_audio"]
    assert fired[0]["p95_ms"] == pytest.approx(500.0) and fired[0]["samples"] == 3
    for _ in range(5):
        utterance(0.5)
        assert watch.check() == []  # still slow, but alerted within this window
    now[0] += 8.0
    utterance(0.5)
    assert watch.check() == ["first_audio"]  # a new window: announced again


class _SlowVoice:
    """The real TTS, taking ``delay`` seconds of (virtual) clock time per sentence."""

    def __init__(self, tts: Any, clock: Any, delay: float) -> None:
        self.tts, self.clock, self.delay = tts, clock, delay

    async def speak(self, s: Sentence) -> Speech:
        # The director holds the virtual clock while it works; a TTS that takes clock time
        # must hand that hold back while it waits, as real network TTS would (clock.io).
        self.clock.release()
        try:
            await self.clock.sleep(self.delay)
        finally:
            self.clock.hold()
        return await self.tts.speak(s)


async def _alerts(tmp_path: Path, tts_delay: float) -> list[dict[str, Any]]:
    async with running_engine(
        tmp_path, virtual=True, duration=25, talk={"show": "", "segment_pause_s": 0.5}
    ) as (engine, _url, task):
        st = engine.primary
        sub = st.events.add()
        sub.subscribe(["alerts"])
        if tts_delay:
            st.director.voice = _SlowVoice(st.tts, st.clock, tts_delay)
        await task
    assert st.trace.finished >= 5, st.trace.finished  # enough samples to judge
    return [a for a in sub.take() if a["kind"] == "latency_budget"]


@pytest.mark.timeout(120)
async def test_slow_tts_raises_exactly_one_first_audio_alert(tmp_path: Path) -> None:
    alerts = await _alerts(tmp_path, tts_delay=0.6)
    assert len(alerts) == 1, alerts
    (a,) = alerts
    assert a["stage"] == "first_audio" and a["budget_ms"] == 250.0
    assert a["p95_ms"] == pytest.approx(600.0) and a["window_s"] == 60.0


@pytest.mark.timeout(120)
async def test_normal_run_raises_no_budget_alert(tmp_path: Path) -> None:
    assert await _alerts(tmp_path, tts_delay=0.0) == []
