"""The output contract: encoded packets in, delivered somewhere (a file, an RTMP server, viewers).

The encoder encodes once per stream and fans every packet out to its sinks; a new output is
one module implementing ``PacketSink`` plus one row in ``output/registry.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

import av

VIDEO = "video"
AUDIO = "audio"  # AAC, for RTMP and MP4
OPUS = "opus"  # Opus, for WebRTC; only encoded while a sink asks for it


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    """One encoded access unit, immutable so every sink can share it across threads.

    ``pts``/``dts``/``duration`` are in ``time_base`` (1/fps for video, 1/48000 for audio).
    Video ``data`` is H.264 Annex-B *without* SPS/PPS (they live in ``StreamInfo.video_extradata``
    because the encoder uses global headers).
    """

    kind: str
    data: bytes
    pts: int
    dts: int
    duration: int
    time_base: Fraction
    keyframe: bool

    def to_av(self, prefix: bytes = b"") -> av.Packet:
        """A fresh ``av.Packet`` (muxers mutate packets, so never share one between sinks)."""
        pkt = av.Packet(prefix + self.data if prefix else self.data)
        pkt.pts = self.pts
        pkt.dts = self.dts
        pkt.duration = self.duration
        pkt.time_base = self.time_base
        pkt.is_keyframe = self.keyframe
        return pkt


@dataclass(frozen=True)
class StreamInfo:
    """What a sink needs to know about the encoded streams before the first packet.

    ``video_template``/``audio_template`` are PyAV streams holding complete codec parameters
    (extradata included); muxing sinks pass them to ``OutputContainer.add_stream_from_template``.
    """

    width: int
    height: int
    fps: Fraction
    sample_rate: int
    channels: int
    video_time_base: Fraction
    audio_time_base: Fraction
    video_extradata: bytes  # Annex-B SPS + PPS
    audio_extradata: bytes  # AAC AudioSpecificConfig
    video_bitrate: int
    audio_bitrate: int
    video_template: Any = field(repr=False, compare=False)
    audio_template: Any = field(repr=False, compare=False)
    video_codec: str = "libx264"  # or h264_nvenc (output.video_encoder = "nvenc", where it opens)
    video_note: str = ""  # why the asked-for video encoder was not used ("" when it was)


@runtime_checkable
class PacketSink(Protocol):
    """Receives every encoded packet of the kinds it lists in ``kinds``.

    ``attach`` is called once from ``Encoder.add_sink`` (caller's thread) before any packet;
    ``on_packet`` is called on the encoder thread and must not block (queue and return);
    ``finish`` is called once by ``Encoder.close`` on the closing thread after the encoders are
    flushed (a sink removed with ``remove_sink`` is the caller's to finish). It is not named
    ``close`` so a sink is free to have an async ``close`` of its own (``WebRtcHub``).
    """

    kinds: frozenset[str]

    def attach(self, info: StreamInfo, encoder: Any) -> None: ...

    def on_packet(self, packet: EncodedPacket) -> None: ...

    def finish(self) -> None: ...
