"""Shared fixtures: an engine with its HTTP app on a free loopback port. Under ``CI=true`` every
skip is a failure (a CI image that lost a package or a peer must not turn green by skipping)."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

from streamhost.config import load_config  # noqa: E402
from streamhost.control.http import build_app  # noqa: E402
from streamhost.engine import Engine  # noqa: E402

_CI = os.environ.get("CI", "").lower() == "true"
_CI_SKIP = "skipped under CI=true, where a missing package or peer is a failure: "


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    rep = outcome.get_result()
    if _CI and rep.skipped and not hasattr(rep, "wasxfail"):
        rep.outcome, rep.longrepr = "failed", _CI_SKIP + str(rep.longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    outcome = yield
    rep = outcome.get_result()
    if _CI and rep.skipped:  # a module-level importorskip
        rep.outcome, rep.longrepr = "failed", _CI_SKIP + str(rep.longrepr)


@asynccontextmanager
async def running_engine(
    tmp_path: Path, virtual: bool, duration: float | None, **overrides: dict[str, Any]
) -> AsyncIterator[tuple[Engine, str, asyncio.Task]]:
    """Start an engine (default config + overrides, store in tmp_path) and its HTTP app."""
    overrides.setdefault("store", {})["data_dir"] = str(tmp_path / "data")
    cfg = load_config().with_overrides(**overrides)
    engine = Engine(cfg, virtual_clock=virtual, token="test-token")
    runner = web.AppRunner(build_app(engine))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    task = asyncio.create_task(engine.run(duration))
    try:
        yield engine, f"http://127.0.0.1:{port}", task
    finally:
        engine.request_stop()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 60)
        await runner.cleanup()


DEMO_CATALOG = Path(__file__).resolve().parents[1] / "assets" / "catalog" / "demo.json"


@pytest.fixture(scope="session")
def catalog():
    """The shipped demo catalog, loaded once (a test module's own ``catalog`` fixture wins)."""
    from streamhost.talk.catalog import load_catalog

    return load_catalog(DEMO_CATALOG)


@pytest.fixture
def data_env(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("STREAMHOST_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture(autouse=True)
def _thawed_gc():
    """An engine run freezes the process's objects out of the collector's walk
    (streamhost/gc_pauses.py), in the test process as on air: thawed after each test, so that
    later tests' cyclic garbage made of them is still collected."""
    yield
    if gc.get_freeze_count():
        gc.unfreeze()


@pytest.fixture(autouse=True)
def _fresh_aioice_mdns():
    """aioice keeps one module-level mDNS lock per thread; a test whose event loop closes while
    it is held would leave it locked and bound to a dead loop for every later test."""
    yield
    import aioice.ice

    for attr in ("lock", "protocol", "subscribers"):
        if hasattr(aioice.ice._mdns, attr):
            delattr(aioice.ice._mdns, attr)
