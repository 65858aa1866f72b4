"""Small helpers the real-peer tests share: waiting on a condition, and a missing peer binary or
package that skips the test locally but fails it under ``CI=true`` (a CI image that lost a
package must not turn green by skipping)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import NoReturn

import pytest


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
