"""Human takeover: the operator's microphone over WebRTC goes on air in place of the AI host.

In: an SDP offer (``POST /takeover``, control token as ``Authorization: Bearer``) carrying one
audio track. aiortc decodes it; the PCM is resampled to the stream rate and fed to a jitter
buffer. While the takeover is live the director is paused and queued speech flushed; each AV
frame the player pulls one frame from the buffer (silence on underrun) through the audio mouth
driver (delayed by its look-ahead), so the avatar lip-syncs to the voice it plays; an energy VAD
cuts utterances for faster-whisper (a worker thread) and each becomes a transcript line with
source ``operator_voice``. Out: the answer SDP; ``end()`` (track ended, connection lost, the
``takeover`` command) hands the show back to the director.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

import numpy as np

from ..avatar.audio_driver import AudioMouth
from ..voice.asr import OperatorAsr, Utterance, WhisperTranscriber
from .facade import Controls

log = logging.getLogger("streamhost.takeover")
UNTRANSCRIBED = "[untranscribed]"  # transcript text of an operator utterance with no ASR text
FIRST_AUDIO_TIMEOUT_S = 15.0  # a negotiated takeover that sends no audio this long is ended


class JitterBuffer:
    """Decoded int16 PCM in (``push``, whatever sizes arrive); exactly ``n`` samples out
    (``pull``). Playback starts once ``prefill_s`` is buffered and, after an underrun (silence
    out), waits for it again; above ``max_s`` the oldest audio is dropped so latency stays
    bounded."""

    def __init__(self, sample_rate: int, prefill_s: float = 0.06, max_s: float = 0.3) -> None:
        self.prefill = int(prefill_s * sample_rate)
        self.max = int(max_s * sample_rate)
        self._chunks: deque[np.ndarray] = deque()
        self._n = 0
        self._playing = False
        self.underruns = 0
        self.dropped_samples = 0

    @property
    def buffered(self) -> int:
        return self._n

    def push(self, pcm: np.ndarray) -> None:
        pcm = np.asarray(pcm, dtype=np.int16).reshape(-1)
        if pcm.size == 0:
            return
        self._chunks.append(pcm)
        self._n += pcm.size
        while self._n > self.max:
            extra = self._n - self.max
            head = self._chunks[0]
            if head.size <= extra:
                self._chunks.popleft()
                self._n -= head.size
                self.dropped_samples += head.size
            else:
                self._chunks[0] = head[extra:]
                self._n -= extra
                self.dropped_samples += extra

    def pull(self, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.int16)
        if not self._playing:
            if self._n < self.prefill:
                return out
            self._playing = True
        filled = 0
        while filled < n and self._chunks:
            head = self._chunks[0]
            k = min(head.size, n - filled)
            out[filled : filled + k] = head[:k]
            filled += k
            if k == head.size:
                self._chunks.popleft()
            else:
                self._chunks[0] = head[k:]
        self._n -= filled
        if filled < n:
            self.underruns += 1
            self._playing = False
        return out

    def clear(self) -> None:
        self._chunks.clear()
        self._n = 0
        self._playing = False


class Takeover:
    """One stream's takeover state: ``offer(sdp)`` starts one (ending any other), ``end(reason)``
    stops it; ``status()`` is what the ``status`` command shows."""

    def __init__(self, ctl: Controls) -> None:
        self.ctl = ctl
        self.sample_rate = ctl.sample_rate
        self.mouth = AudioMouth(self.sample_rate, ctl.mouth_lookahead_s)
        self.jitter = JitterBuffer(self.sample_rate)
        transcriber = (
            WhisperTranscriber(ctl.asr_model, language=ctl.language) if ctl.asr_model else None
        )
        self.asr = OperatorAsr(self.sample_rate, self._on_utterance, transcriber)
        self.state = "off"  # off | connecting | live
        self.since: float | None = None
        self.takeovers = 0
        self.lines = 0
        self._pc: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._was_paused = False
        self._frames_in = 0

    # ---- signaling ----
    async def offer(self, sdp: str, typ: str = "offer") -> dict[str, str]:
        """The operator's SDP offer (one audio track) in; the answer out."""
        from aiortc import RTCPeerConnection, RTCSessionDescription

        await self.end("replaced by a new takeover")
        pc = RTCPeerConnection()
        self._pc = pc
        self.state, self.since = "connecting", self.ctl.now()

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "audio" and self._pc is pc and self._reader is None:
                self._reader = asyncio.ensure_future(self._read(pc, track))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and self._pc is pc:
                self.end_now(f"connection {pc.connectionState}")

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=typ))
            if not any(t.kind == "audio" for t in pc.getTransceivers()):
                raise ValueError("the offer carries no audio track")
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception:
            await self.end("negotiation failed")
            raise
        self.takeovers += 1
        self._alert("connecting")
        asyncio.get_running_loop().call_later(FIRST_AUDIO_TIMEOUT_S, self._check_started, pc)
        return {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}

    def _check_started(self, pc: Any) -> None:
        if self._pc is pc and self.state == "connecting":
            self.end_now("no audio arrived")

    async def _read(self, pc: Any, track: Any) -> None:
        import av
        from aiortc.mediastreams import MediaStreamError

        resampler = av.AudioResampler(format="s16", layout="mono", rate=self.sample_rate)
        reason = "track ended"
        try:
            while True:
                frame = await track.recv()
                for out in resampler.resample(frame):
                    self.jitter.push(out.to_ndarray().reshape(-1))
                self._frames_in += 1
                if self.state == "connecting" and self._pc is pc:
                    self._go_live()
        except MediaStreamError:
            pass
        except asyncio.CancelledError:
            return
        except Exception as e:  # noqa: BLE001 - a bad remote stream ends the takeover only
            log.warning("takeover audio failed: %s", e)
            reason = f"audio error: {e}"
        if self._pc is pc:
            self._reader = None  # finished on its own: end() must not cancel this task
            await self.end(reason)

    # ---- on air ----
    def _go_live(self) -> None:
        now = self.ctl.now()
        self.mouth.reset()
        self._was_paused = self.ctl.go_live(self._feed, self.mouth.target_at)
        self.asr.warm()
        self.state, self.since = "live", now
        self.ctl.audit("takeover", "takeover_start", {}, True, "")
        self._alert("live")
        log.info("takeover live")

    def _feed(self, n: int, t: float) -> np.ndarray:
        """The player's live feed: one frame from the jitter buffer, delayed by the mouth's
        look-ahead; the undelayed audio goes to the VAD stamped with when it will be heard."""
        pcm = self.jitter.pull(n)
        self.asr.feed(pcm, t + self.mouth.lookahead_s)
        return self.mouth.process(pcm, t)

    def _on_utterance(self, u: Utterance, text: str | None) -> None:
        self.ctl.operator_line(text, u.start, u.duration)
        self.lines += 1

    async def end(self, reason: str) -> bool:
        """Stop the takeover (if any) and close its connection; see ``end_now``."""
        pc, reader = self._pc, self._reader
        if not self.end_now(reason, close=False):
            return False
        await self._close(pc, reader)
        return True

    def end_now(self, reason: str, close: bool = True) -> bool:
        """Stop the takeover (if any) at once: the director resumes (unless the operator had
        paused it before), the mouth goes back to visemes; the connection closes in the
        background. Returns whether one was running."""
        pc, self._pc = self._pc, None
        reader, self._reader = self._reader, None
        was = self.state
        if was == "off" and pc is None:
            return False
        if was == "live":
            self.ctl.end_live(resume=not self._was_paused)
            self.asr.flush()
            self.ctl.audit("takeover", "takeover_end", {"reason": reason}, True, "")
        self.state, self.since = "off", None
        self.jitter.clear()
        self._alert("off", reason=reason)
        log.info("takeover ended: %s", reason)
        if close:
            asyncio.get_running_loop().create_task(self._close(pc, reader))
        return True

    async def _close(self, pc: Any, reader: asyncio.Task[None] | None) -> None:
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        if pc is not None:
            with contextlib.suppress(Exception):
                await pc.close()

    def _alert(self, state: str, **fields: Any) -> None:
        self.ctl.alert("takeover", state=state, **fields)

    def status(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "since": None if self.since is None else round(self.since, 3),
            "lookahead_ms": round(self.mouth.lookahead_s * 1000),
            "jitter_ms": round(self.jitter.buffered * 1000 / self.sample_rate),
            "underruns": self.jitter.underruns,
            "frames_in": self._frames_in,
            "lines": self.lines,
            "transcribed": self.asr.transcribed,
            "untranscribed": self.asr.untranscribed,
            "asr": self.asr.transcriber is not None,
        }

    async def close(self) -> None:
        await self.end("stream closing")
        self.asr.close()
