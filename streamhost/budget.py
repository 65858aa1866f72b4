"""Latency budget: per-stage p95 targets (``configs/budget.toml``) checked against live traces.

In: a budget TOML file and a ``TraceBook``. Out: ``latency_budget`` alerts through ``alert``
when a stage's p95 over the window exceeds its target, at most once per window per stage (a
stage that stays slow is re-announced once per window, never per frame or per second).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .problems import ConfigError
from .trace import STAGES, TraceBook, percentile, step_key, total_key

DEFAULT_BUDGET = Path(__file__).resolve().parent.parent / "configs" / "budget.toml"
_TOP = ("window_s", "min_samples", "step_ms", "from_received_ms")


@dataclass(frozen=True)
class Budget:
    """p95 targets in ms keyed by latency key (``trace.step_key`` / ``trace.total_key``)."""

    window_s: float = 60.0
    min_samples: int = 5
    targets_ms: dict[str, float] = field(default_factory=dict)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def parse_budget(data: dict[str, Any], source: str = "budget") -> Budget:
    """Validate a budget table; every problem is named in one ``ConfigError``."""
    problems: list[str] = []
    for key in data:
        if key not in _TOP:
            problems.append(f"{key}: unknown key; allowed: {', '.join(_TOP)}")
    window = data.get("window_s", 60.0)
    if not _number(window) or not 1.0 <= window <= 86400.0:
        problems.append(f"window_s = {window!r}: must be a number of seconds 1..86400")
    min_samples = data.get("min_samples", 5)
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
        problems.append(f"min_samples = {min_samples!r}: must be an integer >= 1")
    targets: dict[str, float] = {}
    tables = (("step_ms", STAGES[1:], step_key), ("from_received_ms", STAGES[2:], total_key))
    for table, allowed, keyf in tables:
        values = data.get(table, {})
        if not isinstance(values, dict):
            problems.append(f"[{table}]: must be a table of stage = milliseconds")
            continue
        for stage, ms in values.items():
            if stage not in allowed:
                problems.append(f"{table}.{stage}: unknown stage; allowed: {', '.join(allowed)}")
            elif not _number(ms) or ms <= 0:
                problems.append(f"{table}.{stage} = {ms!r}: must be a number of ms > 0")
            else:
                targets[keyf(stage)] = float(ms)
    if problems:
        raise ConfigError(problems, source)
    return Budget(float(window), int(min_samples), targets)


def load_budget(path: str | Path | None) -> Budget:
    """Load ``path`` (empty or None: the shipped ``configs/budget.toml``)."""
    p = Path(path) if path else DEFAULT_BUDGET
    if not p.is_file():
        raise ConfigError([f"budget file {str(p)!r} does not exist"], str(p))
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError([f"not valid TOML: {e}"], str(p)) from None
    return parse_budget(data, str(p))


def budget_problems(path: str | Path | None) -> list[str]:
    """Problems of a budget file as ``stream.budget: ...`` lines (empty when it is fine)."""
    try:
        load_budget(path)
    except ConfigError as e:
        return [f"stream.budget = {str(path or DEFAULT_BUDGET)!r}: {m}" for m in e.problems]
    return []


class BudgetWatch:
    """Call ``check()`` periodically (the engine does, once per media second)."""

    def __init__(self, budget: Budget, book: TraceBook, alert: Callable[..., None]) -> None:
        self.budget = budget
        self.book = book
        self._alert = alert
        self._last: dict[str, float] = {}  # key -> trace time of its last alert
        self.alerts = 0

    def check(self) -> list[str]:
        """Alert for each key over budget (not alerted within the window); returns them."""
        now = self.book.now()
        fired: list[str] = []
        b = self.budget
        for key, target in b.targets_ms.items():
            v = self.book.values(key)
            if len(v) < b.min_samples:
                continue
            p95 = percentile(v, 95)
            if p95 <= target:
                continue
            last = self._last.get(key)
            if last is not None and now - last < b.window_s:
                continue
            self._last[key] = now
            self.alerts += 1
            fired.append(key)
            self._alert(
                "latency_budget",
                stage=key,
                p95_ms=round(p95, 1),
                budget_ms=target,
                samples=len(v),
                window_s=b.window_s,
            )
        return fired
