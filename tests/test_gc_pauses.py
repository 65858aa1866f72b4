"""The engine keeps the garbage collector's full walks short (streamhost/gc_pauses.py): what
start-up built is frozen out of every later collection before media time starts, and again
every SETTLE_EVERY_S on air; garbage made before a settle is still collected at it."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest
from conftest import running_engine

from streamhost import gc_pauses
from streamhost.gc_pauses import collect_frozen, settle


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> tuple[_Node, weakref.ref]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return a, weakref.ref(b)


def test_a_settle_takes_what_lives_out_of_every_later_walk() -> None:
    kept = [_Node() for _ in range(50_000)]  # the night's catalog, caches, models ...
    settle()
    assert gc.get_freeze_count() >= len(kept)
    # a collection now walks only what was made since: not the 50,000 objects
    assert len(gc.get_objects()) < 20_000
    fresh = [_Node() for _ in range(1_000)]
    assert all(gc.is_tracked(d) for d in fresh) and len(gc.get_objects()) >= len(fresh)
    gc.unfreeze()


def test_garbage_made_before_a_settle_is_collected_by_it() -> None:
    a, ref = _cycle()
    del a
    settle()
    assert ref() is None
    gc.unfreeze()


def test_collect_frozen_finds_the_cycles_a_freeze_kept() -> None:
    a, ref = _cycle()
    settle()  # alive now: frozen
    del a
    gc.collect()
    assert ref() is not None  # a cycle of frozen objects: no collection walks it
    assert collect_frozen() >= 2 and ref() is None and gc.get_freeze_count() == 0


@pytest.mark.timeout(120)
async def test_the_engine_settles_before_air_and_on_air(tmp_path, monkeypatch) -> None:
    import streamhost.engine as eng

    calls: list[int] = []  # the frame index at each settle

    monkeypatch.setattr(gc_pauses, "SETTLE_EVERY_S", 0.3)
    async with running_engine(tmp_path, False, None) as (engine, _, _task):
        real = eng.settle

        def counted() -> float:
            calls.append(engine.primary.loop.index)
            return real()

        monkeypatch.setattr(gc_pauses, "settle", counted)
        monkeypatch.setattr(eng, "settle", counted)
        for _ in range(400):
            if len(calls) >= 3:
                break
            await asyncio.sleep(0.05)
        assert gc.get_freeze_count() > 0
    # the first before frame 0 (start-up), the others on air
    assert len(calls) >= 3 and calls[0] == 0 and calls[-1] > 0, calls
