"""An aiortc peer of the engine's WebRTC endpoints: the offer/answer exchange over HTTP, and a
receive-only viewer that records (or hands to a callback) every frame it decodes.

Usage::

    v = Viewer()
    async with aiohttp.ClientSession() as http:
        answer = await v.connect(http, base + "/offer")
    ...
    frames, audio_s = v.window(t0, 3.0)
    await v.close()

Signaling is non-trickle: aiortc gathers every ICE candidate in ``setLocalDescription``, so the
offer is complete when posted. The benchmarks load this file by path (``benchmarks/_receive.py``),
so it imports nothing from the tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription


async def local_offer(pc: RTCPeerConnection) -> dict[str, str]:
    """Create the offer, set it locally and return it as the JSON body the engine takes."""
    await pc.setLocalDescription(await pc.createOffer())
    assert pc.iceGatheringState == "complete"  # non-trickle: candidates are in the SDP
    desc = pc.localDescription
    return {"sdp": desc.sdp, "type": desc.type}


async def exchange(
    pc: RTCPeerConnection,
    http: aiohttp.ClientSession,
    url: str,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """POST ``pc``'s offer to ``url``, apply the answer and return it; a refusal raises."""
    async with http.post(url, json=await local_offer(pc), headers=headers) as r:
        body = await r.json(content_type=None)
        if r.status != 200:
            raise AssertionError(f"{url} refused the offer: {r.status} {body}")
    await pc.setRemoteDescription(RTCSessionDescription(body["sdp"], body["type"]))
    return body


FrameHook = Callable[[MediaStreamTrack, Any], None]


class Viewer:
    """A receive-only viewer (one video and one audio transceiver) that decodes everything.

    By default every decoded frame is recorded with its arrival on the loop's clock:
    ``video`` as (arrival, width, height), ``audio`` as (arrival, samples, sample_rate). A
    caller with other needs passes ``on_frame(track, frame)``, which then replaces that.
    """

    def __init__(self, on_frame: FrameHook | None = None) -> None:
        self.pc = RTCPeerConnection()
        self.pc.addTransceiver("video", direction="recvonly")
        self.pc.addTransceiver("audio", direction="recvonly")
        self.video: list[tuple[float, int, int]] = []
        self.audio: list[tuple[float, int, int]] = []
        self._on_frame = on_frame or self._record
        self._tasks: list[asyncio.Task[None]] = []

        @self.pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                self._on_frame(track, await track.recv())
        except Exception:  # noqa: BLE001 - the track ended (engine stopped or we closed)
            pass

    def _record(self, track: MediaStreamTrack, frame: Any) -> None:
        now = asyncio.get_running_loop().time()
        if track.kind == "video":
            self.video.append((now, frame.width, frame.height))
        else:
            self.audio.append((now, frame.samples, frame.sample_rate))

    async def offer(self) -> dict[str, str]:
        return await local_offer(self.pc)

    async def answer(self, ans: Mapping[str, str]) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(ans["sdp"], ans["type"]))

    async def connect(self, http: aiohttp.ClientSession, offer_url: str) -> dict[str, Any]:
        """Negotiate through the engine's signaling endpoint; returns the answer."""
        return await exchange(self.pc, http, offer_url)

    def window(self, t0: float, seconds: float) -> tuple[int, float]:
        """(video frames, audio seconds) that arrived in [t0, t0 + seconds)."""
        frames = sum(1 for t, *_ in self.video if t0 <= t < t0 + seconds)
        audio = sum(n / sr for t, n, sr in self.audio if t0 <= t < t0 + seconds)
        return frames, audio

    def max_audio_gap(self, since: float = float("-inf")) -> float:
        """The longest time between two audio frames' arrivals (from loop time ``since``)."""
        arrivals = [t for t, *_ in self.audio if t >= since]
        return max((b - a for a, b in zip(arrivals, arrivals[1:], strict=False)), default=0.0)

    async def close(self) -> None:
        await self.pc.close()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
