"""The RTMP push's child process: NUT on stdin, remuxed to FLV over RTMP (see rtmp.py).

Run as a script (``python rtmp_child.py --child URL [METADATA_JSON]``), so it imports nothing of
the package: stdlib and PyAV only. It prints "@live" once the publish is up, "@stat PACKETS
BYTES" as it goes, and on failure the exception on its stdout before exiting non-zero.
"""

from __future__ import annotations

import json
import sys
import time

import av

_VIDEO = "video"
_AUDIO = "audio"


def _child_main(url: str, metadata: dict[str, str]) -> int:
    """Remux NUT from stdin to FLV over RTMP until stdin ends; 0 when the publish closed."""
    av.logging.set_level(av.logging.ERROR)
    # the parent writes NUT version 4 (no syncpoints), which FFmpeg reads only when asked to
    inp = av.open(
        "pipe:0", "r", format="nut", options={"fpsprobesize": "0", "strict": "experimental"}
    )
    out = av.open(url, "w", format="flv", options={"flvflags": "no_duration_filesize"})
    out.metadata.update(metadata)  # written into onMetaData with the header
    smap = {}
    for s in inp.streams:
        if s.type in (_VIDEO, _AUDIO):
            smap[s.index] = out.add_stream_from_template(s)
    out.start_encoding()  # TCP connect, RTMP handshake, connect/publish
    print("@live", flush=True)
    packets = nbytes = 0
    last = time.monotonic()
    for pkt in inp.demux():
        if pkt.dts is None or pkt.stream.index not in smap:
            continue
        size = pkt.size
        pkt.stream = smap[pkt.stream.index]
        out.mux(pkt)
        packets += 1
        nbytes += size
        now = time.monotonic()
        if now - last >= 0.25:
            last = now
            print(f"@stat {packets} {nbytes}", flush=True)
    out.close()
    print(f"@stat {packets} {nbytes}", flush=True)
    return 0


if __name__ == "__main__" and len(sys.argv) in (3, 4) and sys.argv[1] == "--child":
    try:
        sys.exit(_child_main(sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) == 4 else {}))
    except Exception as e:  # reported to the parent on our stdout, then exit non-zero
        print(f"{type(e).__name__}: {e}", flush=True)
        sys.exit(1)
