"""Keeps Python's cyclic garbage collector from stopping a stream for a frame or more.

The collector's oldest generation holds nearly everything a stream keeps all night: the
catalog and its indexes, the language data and word lists, the models' Python objects, the
speech cache. A full collection walks all of it holding the GIL, and no Python runs meanwhile:
not the event loop that sends each frame at its phase, not the Python parts of the render and
encoder threads. Measured on the default stream (one process, 2 vCPUs, 2026-12-06): 140-190k
tracked objects, a full collection 46-141 ms, about one a minute or two on air, and 4 late
frames in 90 s with none otherwise late.

``settle`` collects once and then freezes what is left (``gc.freeze``): every object alive
then moves to a generation no collection walks again. The engine settles when its streams
are ready, before media time starts, and every ``SETTLE_EVERY_S`` on air, so a collection
only ever walks what was made since the last settle (0.5-9 ms a settle, every 30 s).

What it costs: an object frozen while alive that later becomes part of a reference cycle
nobody holds is never collected (plain garbage is still freed by its reference count). After
four minutes on air with settles every 30 s, unfreezing and collecting found 0 such objects;
``collect_frozen`` counts them for the soak benchmark.
"""

from __future__ import annotations

import asyncio
import gc
import time

SETTLE_EVERY_S = 30.0


def settle() -> float:
    """Collect every generation, then freeze what survives; the milliseconds it took."""
    t = time.perf_counter()
    gc.collect()
    gc.freeze()
    return (time.perf_counter() - t) * 1000.0


async def settle_forever(every_s: float | None = None) -> None:
    """``settle`` every ``every_s`` (default ``SETTLE_EVERY_S``) wall seconds until cancelled,
    one task per process. On the event loop's own thread: a collection holds the GIL wherever
    it runs."""
    while True:
        await asyncio.sleep(every_s or SETTLE_EVERY_S)
        settle()


def collect_frozen() -> int:
    """How many objects the freezes kept from being collected (cyclic garbage): collects,
    unfreezes, collects again. For measuring: it walks every object (a long pause) and leaves
    nothing frozen."""
    gc.collect()
    gc.unfreeze()
    return gc.collect()
