"""Small helpers the tests share: waiting on a condition, a missing peer binary or package that
skips the test locally but fails it under ``CI=true`` (a CI image that lost a package must not
turn green by skipping), and loading a benchmark script as a module."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def load_bench(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a module."""
    # by path and under its own name: a bare "report" on sys.path could shadow other modules
    spec = importlib.util.spec_from_file_location(f"streamhost_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def unavailable(what: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} unavailable in CI")
    pytest.skip(f"{what} unavailable")


async def until(cond: Callable[[], object], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(step)


def ask_host(catalog, lang: str, text: str, on_screen: str = "kettle") -> tuple[list, list]:
    """What the operator was handed and what the host said (texts) for a viewer's `text`,
    answered in the question's language with `on_screen` on screen."""
    from streamhost.frames import ChatEvent
    from streamhost.talk.generator import TemplateGenerator

    gen = TemplateGenerator(catalog, lang, answer_in_question_language=True)
    handed: list[str] = []
    gen.on_unanswered = lambda ev, lg: handed.append(ev.text)
    return handed, [s.text for s in gen.answer(ChatEvent("ann", text), on_screen)]
