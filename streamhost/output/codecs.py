"""The stream's codecs, opened once: H.264 (libx264) and AAC with broadcast settings.

Format and bitrates in; a "null" output container that owns the two codec contexts, the contexts
themselves and the ``StreamInfo`` that sinks build their muxers from, out. Once opened, the
null container's streams carry complete codec parameters (extradata included) that muxing sinks
copy with ``add_stream_from_template``; the null muxer itself writes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from av.codec.context import Flags as CodecFlags

from ..frames import StreamFormat
from .base import StreamInfo

log = logging.getLogger(__name__)

AAC_FRAME = 1024
OUT_RATE = 48000


@dataclass
class EncoderStats:
    frames_submitted: int = 0
    frames_encoded: int = 0
    frames_dropped: int = 0  # input queue overflow (oldest frame dropped)
    keyframes: int = 0
    keyframes_forced: int = 0
    keyframe_requests: int = 0
    video_packets: int = 0
    audio_packets: int = 0
    opus_packets: int = 0
    video_bytes: int = 0
    audio_gaps: int = 0  # index gaps filled with silence or re-anchored
    sink_errors: int = 0
    encode_ms_last: float = 0.0
    encode_ms_total: float = 0.0

    @property
    def encode_ms_mean(self) -> float:
        return self.encode_ms_total / self.frames_encoded if self.frames_encoded else 0.0

    def as_dict(self) -> dict[str, float]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["encode_ms_mean"] = self.encode_ms_mean
        return d


def nvenc_problem(fmt: StreamFormat) -> str | None:
    """Why ``h264_nvenc`` cannot encode this format here (no codec in PyAV's FFmpeg, no NVIDIA
    driver, a GPU without NVENC such as the H100/H200), or None when it opens."""
    if "h264_nvenc" not in av.codecs_available:
        return "this PyAV's FFmpeg has no h264_nvenc"
    try:
        ctx = av.CodecContext.create("h264_nvenc", "w")
        ctx.width, ctx.height, ctx.pix_fmt = fmt.width, fmt.height, "yuv420p"
        ctx.time_base = Fraction(1, fmt.fps)
        ctx.open()
    except Exception as e:  # noqa: BLE001 - the driver's own words say why
        return f"h264_nvenc did not open: {type(e).__name__}: {e}"
    return None


def _video_options(codec: str, video_bitrate: int, threads: int) -> dict[str, str]:
    kbps = f"{video_bitrate // 1000}k"
    vbv = {"maxrate": kbps, "bufsize": kbps}  # one second of VBV: CBR-ish without padding
    if codec == "h264_nvenc":
        # fastest preset, ultra-low-latency tuning, CBR, no B-frames: the same contract as x264
        return {"preset": "p1", "tune": "ull", "rc": "cbr", "zerolatency": "1", "bf": "0",
                "profile": "baseline", "forced-idr": "1", **vbv}  # fmt: skip
    return {
        "preset": "ultrafast",
        "tune": "zerolatency",
        "profile": "baseline",  # x264 emits constrained baseline: every browser decodes it
        "forced-idr": "1",  # pict_type=I must give an IDR, or a new viewer cannot start
        **vbv,
        "threads": str(threads),
        "x264-params": "scenecut=0",  # keep GOPs regular; we force IDRs ourselves
    }


def open_codecs(
    fmt: StreamFormat, video_bitrate: int, audio_bitrate: int, channels: int,
    gop_seconds: float, threads: int, video_encoder: str = "x264",
) -> tuple[Any, Any, Any, StreamInfo]:  # fmt: skip
    """(null container, video context, AAC context, StreamInfo), opened and ready to encode.
    ``video_encoder`` "nvenc" uses the GPU's H.264 encoder where it opens and x264 otherwise
    (``StreamInfo.video_codec`` and ``video_note`` say which, and why)."""
    fps = Fraction(fmt.fps)
    codec, note = "libx264", ""
    if video_encoder == "nvenc":
        problem = nvenc_problem(fmt)
        if problem is None:
            codec = "h264_nvenc"
        else:
            note = f"nvenc asked for, x264 used: {problem}"
            log.warning("stream video: %s", note)
    null = av.open("null", "w", format="null")
    vs = null.add_stream(codec, rate=fps)
    vs.width, vs.height, vs.pix_fmt = fmt.width, fmt.height, "yuv420p"
    vs.time_base = 1 / fps
    vctx = vs.codec_context
    vctx.time_base = 1 / fps
    vctx.bit_rate = video_bitrate
    vctx.gop_size = max(1, round(float(gop_seconds * fps)))
    vctx.flags |= CodecFlags.global_header
    vctx.options = _video_options(codec, video_bitrate, threads)
    aus = null.add_stream("aac", rate=OUT_RATE)
    actx = aus.codec_context
    actx.layout = "mono" if channels == 1 else "stereo"
    actx.format = "fltp"
    actx.bit_rate = audio_bitrate
    actx.time_base = Fraction(1, OUT_RATE)
    aus.time_base = Fraction(1, OUT_RATE)
    actx.flags |= CodecFlags.global_header
    # FFmpeg's default two-loop AAC search costs 0.43 ms per 40 ms frame of speech here, the
    # fast coder 0.23; at 128 kbit/s mono the fast one still decodes back at 45 dB SNR (the
    # two-loop one: 33 dB, its bits shaped to hearing, not needed at this rate).
    actx.options = {"aac_coder": "fast"}
    null.start_encoding()
    vtb, atb = Fraction(1, 1) / fps, Fraction(1, OUT_RATE)
    info = StreamInfo(
        width=fmt.width,
        height=fmt.height,
        fps=fps,
        sample_rate=OUT_RATE,
        channels=channels,
        video_time_base=vtb,
        audio_time_base=atb,
        video_extradata=bytes(vctx.extradata or b""),
        audio_extradata=bytes(actx.extradata or b""),
        video_bitrate=video_bitrate,
        audio_bitrate=audio_bitrate,
        video_template=vs,
        audio_template=aus,
        video_codec=codec,
        video_note=note,
    )
    return null, vctx, actx, info
