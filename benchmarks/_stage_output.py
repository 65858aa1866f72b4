"""pipeline.py's output stages, each measured alone on the frames the picture stages made: the
project's Encoder (H.264 + AAC + Opus), muxing (FLV, MP4, NUT) and one WebRTC viewer's
packetization and SRTP.

Figures are CPU ms per AV frame (thread CPU time), added to a ``Results``.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Results, ms, percentile, thread_cpu_clock  # noqa: E402


class _Collect:
    """An encoder sink that keeps every packet (video, AAC, Opus) grouped by input frame."""

    def __init__(self) -> None:
        from streamhost.output.encoder import AUDIO, OPUS, VIDEO

        self.kinds = frozenset({VIDEO, AUDIO, OPUS})
        self.video_kind = VIDEO
        self.current: list[Any] = []
        self.per_frame: list[list[Any]] = []
        self.got_video = threading.Event()

    def attach(self, info: Any, encoder: Any) -> None:
        self.info = info

    def on_packet(self, packet: Any) -> None:
        self.current.append(packet)
        if packet.kind == self.video_kind:
            self.got_video.set()

    def finish(self) -> None:
        pass


def measure_encode(
    res: Results, cfg: Any, frames: list[Any], audio: list[Any], warm: int
) -> tuple[list[list[Any]], Any]:
    """The project's Encoder on its own worker thread, one frame at a time; CPU time of that
    thread per frame (H.264 + AAC + Opus, as with RTMP out and one WebRTC viewer)."""
    from streamhost.frames import AVFrame
    from streamhost.output.encoder import Encoder

    s, o = cfg.stream, cfg.output
    enc = Encoder(
        cfg.format,
        video_bitrate=o.video_bitrate_kbps * 1000,
        audio_bitrate=o.audio_bitrate_kbps * 1000,
    )
    sink = _Collect()
    enc.add_sink(sink)
    enc.start()
    assert enc._thread is not None and enc._thread.ident is not None
    clk = thread_cpu_clock(enc._thread.ident)
    cpu_ms, wall_ms = [], []
    p0 = time.process_time()
    m0 = time.thread_time()
    for i, (video, pcm) in enumerate(zip(frames, audio, strict=True)):
        sink.got_video.clear()
        c0, w0 = time.clock_gettime(clk), time.perf_counter()
        enc.submit(AVFrame(i, i / s.fps, video, pcm))
        if not sink.got_video.wait(5.0):
            raise RuntimeError(f"encoder produced no video packet for frame {i}")
        c1, w1 = time.clock_gettime(clk), time.perf_counter()
        sink.per_frame.append(sink.current)
        sink.current = []
        if i >= warm:
            cpu_ms.append(ms(c1 - c0))
            wall_ms.append(ms(w1 - w0))
    proc_other = (time.process_time() - p0) - (time.thread_time() - m0)
    enc.close()
    res.add_stage("encode", cpu_ms)
    res.add("encode_p99_ms", percentile(cpu_ms, 99), "ms", 4)
    res.add("encode_process_cpu_ms_per_frame", ms(proc_other) / len(frames), "ms", 4)
    vbytes = sum(len(p.data) for f in sink.per_frame for p in f if p.kind == sink.video_kind)
    res.add("encode_video_kbps", vbytes * 8 / (len(frames) / s.fps) / 1000, "kbit/s", 1)
    return sink.per_frame, enc.info


def measure_mux(res: Results, per_frame: list[list[Any]], info: Any, warm: int) -> None:
    """Muxing the pre-encoded packets: FLV (RTMP), MP4 (recorder), NUT (RtmpPusher's pipe)."""
    import av

    from streamhost.output.encoder import AUDIO, VIDEO

    for fmt, name, opts in (
        ("flv", "mux", {"flvflags": "no_duration_filesize"}),
        ("mp4", "mux_mp4", {}),  # +faststart only rewrites at close (needs a path)
        ("nut", "mux_nut", {"flush_packets": "1"}),
    ):
        buf = io.BytesIO()
        out = av.open(buf, "w", format=fmt, options=opts)
        vs = out.add_stream_from_template(info.video_template)
        aus = out.add_stream_from_template(info.audio_template)
        out.start_encoding()
        took = []
        for i, pkts in enumerate(per_frame):
            c0 = time.thread_time()
            for ep in pkts:
                if ep.kind not in (VIDEO, AUDIO):
                    continue
                pkt = ep.to_av()
                pkt.stream = vs if ep.kind == VIDEO else aus
                out.mux(pkt)
            if i >= warm:
                took.append(ms(time.thread_time() - c0))
        out.close()
        res.add_stage(name, took)


def measure_webrtc(res: Results, per_frame: list[list[Any]], info: Any, warm: int) -> None:
    """One viewer's per-frame work in the engine: to_av (SPS/PPS prefixed on keyframes), aiortc's
    H264 ``pack()`` / Opus ``pack()``, RtpPacket with header extensions + ``serialize``; SRTP
    ``protect`` (AES128_CM_SHA1_80) reported separately."""
    import pylibsrtp
    from aiortc import clock as rtc_clock
    from aiortc.codecs.h264 import H264Encoder
    from aiortc.codecs.opus import OpusEncoder
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtp import HeaderExtensionsMap, RtpPacket

    from streamhost.output.encoder import OPUS, VIDEO

    ext = HeaderExtensionsMap()
    ext.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=1, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
                RTCRtpHeaderExtensionParameters(
                    id=2, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
                ),
            ]
        )
    )
    srtp = pylibsrtp.Session(
        pylibsrtp.Policy(
            key=os.urandom(30),
            ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
            srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
        )
    )
    h264, opus = H264Encoder(), OpusEncoder()
    seq = {VIDEO: 0, OPUS: 0}
    pack_ms, srtp_ms, n_rtp = [], [], 0
    for i, pkts in enumerate(per_frame):
        wire: list[bytes] = []
        c0 = time.thread_time()
        for ep in pkts:
            if ep.kind == VIDEO:
                payloads, ts = h264.pack(ep.to_av(info.video_extradata if ep.keyframe else b""))
                pt, ssrc = 102, 1111
            elif ep.kind == OPUS:
                payloads, ts = opus.pack(ep.to_av())
                pt, ssrc = 111, 2222
            else:
                continue
            for j, payload in enumerate(payloads):
                rtp = RtpPacket(
                    payload_type=pt,
                    sequence_number=seq[ep.kind],
                    timestamp=(0x12345678 + ts) & 0xFFFFFFFF,  # random origin, as aiortc
                )
                rtp.ssrc = ssrc
                rtp.payload = payload
                rtp.marker = 1 if j == len(payloads) - 1 else 0
                rtp.extensions.abs_send_time = (rtc_clock.current_ntp_time() >> 14) & 0xFFFFFF
                rtp.extensions.mid = "0"
                wire.append(rtp.serialize(ext))
                seq[ep.kind] = (seq[ep.kind] + 1) & 0xFFFF
        c1 = time.thread_time()
        for b in wire:
            srtp.protect(b)
        c2 = time.thread_time()
        if i >= warm:
            pack_ms.append(ms(c1 - c0))
            srtp_ms.append(ms(c2 - c1))
            n_rtp += len(wire)
    res.add_stage("webrtc_packetization", pack_ms)
    res.add_stage("webrtc_srtp", srtp_ms)
    res.add("webrtc_rtp_packets_per_frame", n_rtp / max(1, len(pack_ms)), "packets", 2)
