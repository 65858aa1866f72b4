"""The night of faults (issue #19): an engine against real peers, faults injected one after
another, each with its recovery figure.

- RTMP server (nginx-rtmp) killed and restarted ``--restarts`` times (8 s down each), then frozen
  with SIGSTOP for ``--freeze`` seconds: recovery from the server answering again to the first
  new packet on it (``rtmp_recovery_p95_s``), timestamps that went back, alerts raised/cleared,
  and the recording through it all decoded frame by frame (``black_or_frozen_frames``).
- ``streamhost run`` killed with SIGKILL at random moments, ``--trials`` times: sentences a
  receiver saw on the wire that the transcript lacks (``transcript_lost_sentences``), stores
  failing integrity_check, recordings that do not play.
Faults not injected here are listed under ``config.not_run`` with the reason (the voice and the
renderer raising and hanging are in tests/test_faults.py).

    python benchmarks/faults.py [--quick] [--json PATH]
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, Results, arg_parser, machine_info, percentile, report  # noqa: E402

sys.path.insert(0, str(REPO / "tests"))
from conftest import running_engine  # noqa: E402
from faults_rig import (  # noqa: E402
    AlertLog,
    RtmpReader,
    check_pictures,
    freeze,
    kill9_trial,
    kill_server,
    recording,
)
from nginx_rtmp import NginxRtmp  # noqa: E402

DOWN_S = 8.0  # each kill: longer than the 5 s after which rtmp_down is raised
NOT_RUN = {
    "netem": "not implemented yet (ip netns add works in this sandbox as root)",
    "disk_full": "tests/test_faults.py::test_disk_full_keeps_stream_on_air_and_resumes (tmpfs)",
    "chat_drop_and_garbage": "tests/test_faults.py::test_chat_source_dropped_and_garbage_server",
    "show_file_edit": "not implemented yet",
    "voice_and_renderer": "tests/test_faults.py::test_voice_and_renderer_raise_and_hang",
}


async def _rtmp_night(tmp: Path, restarts: int, freeze_s: float) -> dict[str, Any]:
    rec = tmp / "rec.mp4"
    srv = NginxRtmp().start()
    url = srv.url(stream="night")
    reader = RtmpReader(url)
    recov: list[float | None] = []
    try:
        async with running_engine(
            tmp, False, None, output={"rtmp": [url], "record": str(rec), "webrtc": False}
        ) as (eng, _, task):
            s = eng.primary
            alerts = AlertLog(s.events)
            while s.rtmp[0].state != "live" and not task.done():
                await asyncio.sleep(0.05)
            reader.start()
            await asyncio.sleep(3.0)
            for k in range(restarts + 1):
                if k < restarts:
                    kill_server(srv)
                    await asyncio.sleep(DOWN_S)
                    srv.start()
                else:
                    freeze(srv, True)
                    await asyncio.sleep(freeze_s)
                    freeze(srv, False)
                t_up, media_up = time.monotonic(), eng.clock.now()
                deadline = t_up + 30
                while reader.recovery_s(t_up, media_up) is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                recov.append(reader.recovery_s(t_up, media_up))
                await asyncio.sleep(3.0)  # the monitor's once-a-second look sees it live
            frames = s.loop.stats.frames
            kinds = alerts.kinds("rtmp_down", "rtmp_up")
    finally:
        reader.stop()
        srv.stop()
    pics = check_pictures(recording(rec))
    return {"recovery": recov, "backwards": len(reader.backwards()), "kinds": kinds,
            "frames": frames, "pics": pics}  # fmt: skip


def main() -> None:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--restarts", type=int, default=None, help="kill/restart cycles (10)")
    ap.add_argument("--freeze", type=float, default=None, help="SIGSTOP seconds (30)")
    ap.add_argument("--trials", type=int, default=None, help="kill -9 trials (50)")
    args = ap.parse_args()
    restarts = args.restarts if args.restarts is not None else (2 if args.quick else 10)
    freeze_s = args.freeze if args.freeze is not None else (10.0 if args.quick else 30.0)
    trials = args.trials if args.trials is not None else (3 if args.quick else 50)
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    machine = machine_info()
    res = Results("faults", config={
        "quick": args.quick, "restarts": restarts, "down_s": DOWN_S, "freeze_s": freeze_s,
        "kill9_trials": trials, "loadavg_at_start": load_at_start, "not_run": NOT_RUN,
    })  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="faults-") as d:
        tmp = Path(d)
        night = asyncio.run(_rtmp_night(tmp / "rtmp", restarts, freeze_s))
        rng = random.Random(19)
        with NginxRtmp() as srv:
            runs = [
                kill9_trial(
                    srv.url(stream=f"k{i}"),
                    tmp / f"k{i}",
                    rng.uniform(0.5, 4.0 if args.quick else 20.0),
                    sys.executable,
                )  # fmt: skip
                for i in range(trials)
            ]
    rec = [r for r in night["recovery"] if r is not None]
    pics = night["pics"]
    res.add("rtmp_outages", len(night["recovery"]), "count")
    res.add("rtmp_unrecovered", len(night["recovery"]) - len(rec), "count")
    res.add("rtmp_recovery_p50_s", percentile(rec, 50) if rec else None, "s")
    res.add("rtmp_recovery_p95_s", percentile(rec, 95) if rec else None, "s")
    res.add("rtmp_recovery_after_freeze_s", night["recovery"][-1], "s")
    res.add("rtmp_timestamps_backwards", night["backwards"], "count")
    res.add("rtmp_down_alerts", night["kinds"].count("rtmp_down"), "count")
    res.add("rtmp_up_alerts", night["kinds"].count("rtmp_up"), "count")
    res.add("record_frames_missing", max(0, night["frames"] - pics.frames), "frames")
    res.add("record_max_gap_s", pics.max_gap_s, "s")
    res.add("black_or_frozen_frames", pics.black_or_frozen, "frames")
    res.add("kill9_trials", len(runs), "count")
    res.add("kill9_not_live", sum(not r["went_live"] for r in runs), "count")
    res.add("kill9_wire_sentences", sum(r["wire_sentences"] for r in runs), "count")
    lost = [r["lost"] for r in runs]
    res.add("transcript_lost_sentences", None if None in lost else sum(lost), "count")
    res.add("store_integrity_failures", sum(r["integrity"] != "ok" for r in runs), "count")
    res.add("recordings_unplayable", sum(r["record_frames"] == 0 for r in runs), "count")
    res.add("faults_unrecovered", len(night["recovery"]) - len(rec) + (pics.black_or_frozen > 0)
            + sum(r["lost"] != 0 or r["integrity"] != "ok" for r in runs), "count")  # fmt: skip
    report(res, args.json, machine)


if __name__ == "__main__":
    main()
