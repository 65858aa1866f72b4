"""WebRTC viewers (aiortc) that share the stream's single encode.

In: ``EncodedPacket``s from ``Encoder`` (H.264 video, Opus audio). Out: RTP to each viewer.
A viewer costs RTP packetization (aiortc's ``Encoder.pack``) plus SRTP, never an encode:
our tracks' ``recv()`` return ``av.Packet``s, and ``RTCRtpSender`` packs packets instead of
encoding frames. Signaling: ``WebRtcHub.handle_offer`` / ``offer_handler`` (POST /offer).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import av
from aiohttp import web
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from streamhost.output.encoder import OPUS, VIDEO, EncodedPacket, StreamInfo

if TYPE_CHECKING:
    from streamhost.output.encoder import Encoder

log = logging.getLogger(__name__)


class _PacketTrack(MediaStreamTrack):
    """A track whose ``recv()`` yields pre-encoded ``av.Packet``s from a small bounded queue."""

    def __init__(self, kind: str, viewer: _Viewer, maxsize: int) -> None:
        super().__init__()
        self.kind = kind
        self._viewer = viewer
        self._queue: asyncio.Queue[av.Packet | None] = asyncio.Queue(maxsize)
        self.started = False  # the RTP sender is pulling (transport is up)
        self.sent = 0
        self.dropped = 0

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        if not self.started:
            self.started = True
            self._on_start()
        pkt = await self._queue.get()
        if pkt is None:
            raise MediaStreamError
        self.sent += 1
        return pkt

    def _on_start(self) -> None:
        pass

    def stop(self) -> None:
        super().stop()
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            self._queue.get_nowait()
            self._queue.put_nowait(None)


class _VideoTrack(_PacketTrack):
    """H.264 track. Overflow policy: drop the whole queued GOP, skip until the next keyframe and
    request one, so a slow viewer loses a moment of video but never stalls the others."""

    def __init__(self, viewer: _Viewer, maxsize: int, extradata: bytes) -> None:
        super().__init__("video", viewer, maxsize)
        self._extradata = extradata
        self._waiting_key = True

    def _on_start(self) -> None:
        # the viewer can decode nothing until an IDR: ask for one the moment RTP starts
        if self._waiting_key:
            self._viewer.hub._request_keyframe()

    def push(self, ep: EncodedPacket) -> None:
        if self.readyState != "live":
            return
        if self._waiting_key:
            if not ep.keyframe:
                self.dropped += 1
                return
            self._waiting_key = False
        if self._queue.full():
            self.dropped += self._queue.qsize()
            while not self._queue.empty():
                self._queue.get_nowait()
            if not ep.keyframe:
                self._waiting_key = True
                self.dropped += 1
                if self.started:
                    self._viewer.hub._request_keyframe()
                return
        # global headers keep SPS/PPS out of the packets; RTP viewers need them in-band
        self._queue.put_nowait(ep.to_av(self._extradata if ep.keyframe else b""))


class _AudioTrack(_PacketTrack):
    """Opus track. Overflow policy: drop the oldest packet (a 20 ms click, nothing more)."""

    def __init__(self, viewer: _Viewer, maxsize: int) -> None:
        super().__init__("audio", viewer, maxsize)

    def push(self, ep: EncodedPacket) -> None:
        if self.readyState != "live" or not self.started:
            return  # not connected yet: old audio would only add latency
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(ep.to_av())


class _Viewer:
    def __init__(self, hub: WebRtcHub, pc: RTCPeerConnection, info: StreamInfo) -> None:
        self.hub = hub
        self.pc = pc
        fps = max(1, round(float(info.fps)))
        self.video = _VideoTrack(self, maxsize=max(4, fps // 2), extradata=info.video_extradata)
        self.audio = _AudioTrack(self, maxsize=25)
        self.plis = 0


class WebRtcHub:
    """A sink that serves the shared encode to WebRTC viewers.

    In: H.264 + Opus ``EncodedPacket``s on the encoder thread (handed to the event loop with one
    ``call_soon_threadsafe`` per packet, then copied into each viewer's bounded queues).
    Out: one ``RTCPeerConnection`` per viewer created by ``handle_offer``. Keyframe requests
    (viewer start, PLI/FIR from the browser, a slow viewer's dropped GOP) go to the shared
    ``Encoder.request_keyframe``. Create it inside the running event loop.
    """

    _KINDS = frozenset({VIDEO, OPUS})
    _NONE: frozenset[str] = frozenset()

    @property
    def kinds(self) -> frozenset[str]:  # type: ignore[override]
        # Nobody watching: ask for nothing, so the encoder skips the Opus encode (~0.3 ms a
        # frame) and the per-packet hand-off to the event loop.
        return self._KINDS if self._viewers else self._NONE

    def __init__(
        self,
        encoder: Encoder | None = None,
        *,
        max_viewers: int = 50,
        ice_servers: list[str] | None = None,
    ) -> None:
        self.max_viewers = max_viewers
        self._ice = [RTCIceServer(urls=u) for u in (ice_servers or [])]
        self._viewers: set[_Viewer] = set()
        self._info: StreamInfo | None = None
        self._encoder: Encoder | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            pass
        self._closed = False
        self.keyframe_requests = 0
        self.plis = 0
        if encoder is not None:
            encoder.add_sink(self)

    @property
    def viewer_count(self) -> int:
        return len(self._viewers)

    # -- sink interface (encoder thread) ------------------------------------------------------

    def attach(self, info: StreamInfo, encoder: Encoder) -> None:
        self._info = info
        self._encoder = encoder

    def on_packet(self, packet: EncodedPacket) -> None:
        loop = self._loop
        if not self._viewers or loop is None or self._closed:
            return
        try:
            loop.call_soon_threadsafe(self._dispatch, packet)
        except RuntimeError:  # loop closed
            pass

    def finish(self) -> None:
        """Sink hook called by ``Encoder.close``: the stream ended, so end every viewer."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            if asyncio.get_running_loop() is loop:
                loop.create_task(self.close())
                return
        except RuntimeError:
            pass
        asyncio.run_coroutine_threadsafe(self.close(), loop)

    # -- event loop side ------------------------------------------------------------------------

    def _dispatch(self, packet: EncodedPacket) -> None:
        for v in self._viewers:
            if packet.kind == VIDEO:
                v.video.push(packet)
            else:
                v.audio.push(packet)

    def _request_keyframe(self) -> None:
        self.keyframe_requests += 1
        if self._encoder is not None:
            self._encoder.request_keyframe()

    async def handle_offer(self, sdp: str, type: str = "offer") -> dict[str, str]:
        """Answer a viewer's SDP offer (it must offer to receive H.264 video; audio optional).

        Returns ``{"sdp", "type"}`` with all ICE candidates included (gathering is complete).
        Raises ``ValueError`` for a bad offer and ``RuntimeError`` when full or not attached.
        """
        if type != "offer":
            raise ValueError(f"expected an SDP offer, got type {type!r}")
        if self._info is None:
            raise RuntimeError("WebRtcHub is not attached to an encoder")
        if self._closed:
            raise RuntimeError("WebRtcHub is closed")
        if len(self._viewers) >= self.max_viewers:
            raise RuntimeError(f"viewer limit reached ({self.max_viewers})")
        self._loop = asyncio.get_running_loop()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice) if self._ice else None)
        viewer = _Viewer(self, pc, self._info)
        try:
            # Transceivers made before setRemoteDescription are matched to the offer's m-lines,
            # and only then do codec preferences shape the answer (aiortc filters codecs while
            # applying the remote offer), so H.264 is forced here rather than after.
            video_t = pc.addTransceiver(viewer.video, direction="sendonly")
            video_t.setCodecPreferences(
                [
                    c
                    for c in RTCRtpSender.getCapabilities("video").codecs
                    if c.mimeType in ("video/H264", "video/rtx")
                ]
            )
            self._hook_pli(video_t.sender, viewer)
            audio_t = pc.addTransceiver(viewer.audio, direction="sendonly")
            audio_t.setCodecPreferences(
                [
                    c
                    for c in RTCRtpSender.getCapabilities("audio").codecs
                    if c.mimeType == "audio/opus"
                ]
            )
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=type))
            if video_t.mid is None:
                raise ValueError("offer has no video m-line")

            @pc.on("connectionstatechange")
            async def _on_state() -> None:
                if pc.connectionState in ("failed", "closed"):
                    await self._drop(viewer)

            answer = await pc.createAnswer()
            if "H264" not in answer.sdp:
                raise ValueError("offer does not accept H.264 video")
            await pc.setLocalDescription(answer)  # aiortc gathers all candidates here
        except Exception:
            await pc.close()
            raise
        self._viewers.add(viewer)
        log.info("webrtc viewer joined (%d now)", len(self._viewers))
        return {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}

    def _hook_pli(self, sender: RTCRtpSender, viewer: _Viewer) -> None:
        # aiortc 1.16 handles RTCP PLI/FIR in RTCRtpSender._handle_rtcp_packet by calling
        # self._send_keyframe(), which only flags *its own* encoder -- unused with packets. An
        # instance attribute shadows the method, so the request reaches the shared encoder.
        original = sender._send_keyframe

        def _send_keyframe() -> None:
            original()
            viewer.plis += 1
            self.plis += 1
            self._request_keyframe()

        sender._send_keyframe = _send_keyframe  # type: ignore[method-assign]

    async def _drop(self, viewer: _Viewer) -> None:
        if viewer in self._viewers:
            self._viewers.discard(viewer)
            log.info("webrtc viewer left (%d now)", len(self._viewers))
        viewer.video.stop()
        viewer.audio.stop()
        await viewer.pc.close()

    def stats(self) -> dict[str, Any]:
        return {
            "viewers": len(self._viewers),
            "keyframe_requests": self.keyframe_requests,
            "plis": self.plis,
            "video_dropped": sum(v.video.dropped for v in self._viewers),
            "audio_dropped": sum(v.audio.dropped for v in self._viewers),
        }

    async def close(self) -> None:
        """Close every viewer's peer connection; further offers are refused."""
        self._closed = True
        viewers = list(self._viewers)
        await asyncio.gather(*(self._drop(v) for v in viewers), return_exceptions=True)
        if self._encoder is not None:
            self._encoder.remove_sink(self)


def offer_handler(hub: WebRtcHub) -> Any:
    """aiohttp handler for ``POST /offer`` with JSON ``{"sdp": ..., "type": "offer"}``.

    Answers ``{"sdp", "type"}``; 400 for a malformed or unusable offer, 503 when the hub is full
    or closed.
    """

    async def handle(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            sdp, typ = body["sdp"], body.get("type", "offer")
            if not isinstance(sdp, str) or not isinstance(typ, str):
                raise TypeError("sdp and type must be strings")
        except (ValueError, KeyError, TypeError) as e:
            return web.json_response({"error": f"bad offer body: {e}"}, status=400)
        try:
            answer = await hub.handle_offer(sdp, typ)
        except ValueError as e:
            return web.json_response({"error": str(e)}, status=400)
        except RuntimeError as e:
            return web.json_response({"error": str(e)}, status=503)
        return web.json_response(answer)

    return handle
