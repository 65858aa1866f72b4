"""What signing recordings costs: CPU per hour of recording, peak memory, and the AV path.

    python benchmarks/provenance.py [--json PATH] [--quick]

A 900 s segment (the default ``output.record_segment_s``) at the default bitrates is built by
encoding 10 s once and remuxing it with shifted timestamps, then signed with a local test chain
in a child process (its CPU time, and its peak RSS (VmHWM) over its RSS before the sign). The hourly
figure scales the measured CPU seconds by the segments in an hour. The AV path: a 720p encoder
fed at 25 fps real time, the interval between its video packets with and without a segment
being signed by the recorder's worker thread.

Results: ``provenance_sign_s_per_hour`` (CPU seconds; target <= 72 = 2 % of a core),
``provenance_sign_peak_rss_mb`` (target <= 150), ``provenance_sign_mb_per_s``,
``av_frame_interval_p99_ms_idle`` and ``av_frame_interval_p99_ms_signing``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from _common import Results, arg_parser, machine_info, percentile, report

W, H, FPS, SR = 720, 1280, 25, 48000

_SIGN_CHILD = """
import json, sys, time
from pathlib import Path
from streamhost.output.provenance import Provenance, SegmentSigner
def rss(key="VmRSS:"):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
signer = SegmentSigner(sys.argv[2], sys.argv[3])
prov = Provenance("bench", "s", signer=signer)
src = Path(sys.argv[1])
import datetime as dt
now = dt.datetime.now(dt.UTC)
manifest = prov.manifest(src.name, 1, now, now, 0.0, 900.0)
base = rss()
c0, t0 = time.process_time(), time.monotonic()
signer.sign(src, src.with_name("signed.mp4"), manifest)
cpu, wall = time.process_time() - c0, time.monotonic() - t0
peak = rss("VmHWM:")  # not ru_maxrss: it keeps the forking parent's peak across exec
print(json.dumps({"cpu_s": cpu, "wall_s": wall, "base_kib": base, "peak_kib": peak}))
"""


def _frames(n: int) -> list:
    import numpy as np

    from streamhost.frames import AVFrame

    out = []
    rng = np.random.default_rng(0)
    for i in range(n):
        video = np.full((H * 3 // 2, W), 128, np.uint8)
        video[:H] = ((np.arange(W)[None, :] + 4 * i) % 256).astype(np.uint8)
        video[: H // 4, : W // 4] = rng.integers(0, 255, (H // 4, W // 4), np.uint8)  # detail
        t = np.arange(i * SR // FPS, (i + 1) * SR // FPS) / SR
        out.append(AVFrame(index=i, pts=i / FPS,
                           video=video, audio=(np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)))  # fmt: skip
    return out


def _segment(folder: Path, seconds: int) -> Path:
    """A fragmented MP4 of ``seconds``: 10 s encoded once, remuxed again and again."""
    import av

    from streamhost.frames import StreamFormat
    from streamhost.output.encoder import Encoder
    from streamhost.output.recorder import Mp4Recorder

    enc = Encoder(StreamFormat(W, H, FPS, SR))
    piece = folder / "piece.mp4"
    enc.add_sink(Mp4Recorder(piece, fragmented=True))
    enc.start()
    for f in _frames(10 * FPS):
        while enc.queue_depth >= 6:
            time.sleep(0.002)
        enc.submit(f)
    enc.close()
    out = folder / "segment.mp4"
    with av.open(str(piece)) as src:
        packets = [p for p in src.demux() if p.dts is not None]
        span = {s.index: round(10 / s.time_base) for s in src.streams}
        with av.open(str(out), "w", format="mp4",
                     options={"movflags": "+frag_keyframe+empty_moov+default_base_moof"}) as dst:  # fmt: skip
            smap = {s.index: dst.add_stream_from_template(s) for s in src.streams}
            for k in range(seconds // 10):
                for p in packets:
                    q = av.Packet(bytes(p))
                    q.pts, q.dts = (
                        p.pts + k * span[p.stream.index],
                        p.dts + k * span[p.stream.index],
                    )
                    q.duration, q.time_base, q.is_keyframe = p.duration, p.time_base, p.is_keyframe
                    q.stream = smap[p.stream.index]
                    dst.mux(q)
    return out


def _intervals(seconds: float, sign: Callable[[], None] | None) -> list[float]:
    """Video packet intervals (ms) of a real-time 720p encode; ``sign`` runs alongside."""
    from streamhost.frames import StreamFormat
    from streamhost.output.encoder import VIDEO, Encoder

    stamps: list[float] = []

    class Tap:
        kinds = frozenset({VIDEO})

        def attach(self, info, encoder):  # noqa: ANN001
            pass

        def on_packet(self, packet):  # noqa: ANN001
            stamps.append(time.monotonic())

        def finish(self):
            pass

    frames = _frames(2 * FPS)
    enc = Encoder(StreamFormat(W, H, FPS, SR))
    enc.add_sink(Tap())
    enc.start()
    signer = threading.Thread(target=sign) if sign else None
    t0 = time.monotonic()
    n = int(seconds * FPS)
    for i in range(n):
        if i == FPS and signer is not None:
            signer.start()
        delay = t0 + i / FPS - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        f = frames[i % len(frames)]
        enc.submit(type(f)(index=i, pts=i / FPS, video=f.video, audio=f.audio))
    enc.close()
    if signer is not None:
        signer.join()
    return [(b - a) * 1000 for a, b in zip(stamps[FPS:], stamps[FPS + 1 :], strict=False)]


def main() -> None:
    args = arg_parser(__doc__.splitlines()[0]).parse_args()
    from streamhost.output.provenance import make_test_chain

    seg_s = 120 if args.quick else 900
    res = Results("provenance", config={"segment_s": seg_s, "video_kbps": 2500, "size": f"{W}x{H}"})
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        keys = make_test_chain(folder / "keys")
        seg = _segment(folder, seg_s)
        mb = seg.stat().st_size / 1e6
        out = subprocess.run([sys.executable, "-c", _SIGN_CHILD, str(seg), str(keys["chain"]),
                              str(keys["key"])], capture_output=True, text=True, check=True)  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        per_hour = r["cpu_s"] * 3600 / seg_s
        res.add("provenance_segment_mb", mb, "MB")
        res.add("provenance_sign_cpu_s_per_segment", r["cpu_s"], "s")
        res.add("provenance_sign_s_per_hour", per_hour, "s")
        res.add("provenance_sign_core_share", per_hour / 3600 * 100, "%")
        res.add("provenance_sign_mb_per_s", mb / max(1e-9, r["wall_s"]), "MB/s")
        res.add("provenance_sign_peak_rss_mb", (r["peak_kib"] - r["base_kib"]) / 1024, "MB")

        def sign() -> None:
            """The recorder's own path: its worker thread in this process (niced)."""
            import datetime as dt

            from streamhost.output.provenance import Provenance, SegmentSigner
            from streamhost.output.segments import SignJob, SignWorker

            worker = SignWorker(Provenance("bench", "s", signer=SegmentSigner(keys["chain"],
                                                                              keys["key"])))  # fmt: skip
            now = dt.datetime.now(dt.UTC)
            worker.submit(SignJob(seg, 1, now, now, 0.0, float(seg_s)))
            worker.close(600)
            assert worker.stats.signed == 1, "the sign failed"

        run_s = 8 if args.quick else 20
        idle = _intervals(run_s, None)
        busy = _intervals(run_s, sign)
        res.add("av_frame_interval_p99_ms_idle", percentile(idle, 99), "ms")
        res.add("av_frame_interval_p99_ms_signing", percentile(busy, 99), "ms")
    report(res, args.json, machine_info(["c2pa"]))


if __name__ == "__main__":
    main()
