"""The OpenAI-compatible speech client against a local fake speaking the real wire format:
request body and auth, pcm and wav answers, loudness-driven mouth timings tiling the audio,
errors named, timeouts bounded, the config row and the fallback when the server is down."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from fake_tts import FakeTTS, start

from streamhost.config import ConfigError, load_config
from streamhost.frames import Sentence, Source
from streamhost.voice.openai_tts import OpenAITTS, OpenAITTSError
from streamhost.voice.registry import build_voice, voice_problems
from streamhost.voice.visemes import Viseme


async def _served(fake: FakeTTS):
    runner, url = await start(fake)
    return runner, url


@pytest.mark.parametrize("fmt", ["pcm", "wav"])
async def test_speech_over_the_wire_with_mouth_timings(fmt: str, monkeypatch) -> None:
    monkeypatch.setenv("STREAMHOST_TTS_API_KEY", "sekrit")
    fake = FakeTTS(key="sekrit")
    runner, url = await _served(fake)
    try:
        v = OpenAITTS(48000, base_url=url, model="kokoro", voice="af_heart", api_key="ignored",
                      response_format=fmt, speed=1.25)  # fmt: skip
        s = Sentence("Five temperature settings and a keep warm mode", Source.TEMPLATE)
        sp = await v.speak(s)
    finally:
        await runner.cleanup()
    body = fake.requests[0]
    assert body == {"model": "kokoro", "input": s.text, "voice": "af_heart",
                    "response_format": fmt, "speed": 1.25}  # fmt: skip
    assert fake.headers[0]["Authorization"] == "Bearer sekrit"  # the env key wins
    assert sp.sample_rate == 48000 and sp.pcm.dtype == np.int16
    assert 1.5 < sp.duration < 2.5  # 8 words of 0.2 s (speed 1.25) plus gaps, trimmed
    # Phonemes tile the audio, and the jaw opens once per word (8 bursts); the short gaps
    # between words narrow the mouth rather than shut it.
    ph = sp.phonemes
    assert ph[0].start == 0.0 and abs(ph[-1].end - sp.duration) < 1e-6
    assert all(abs(a.end - b.start) < 1e-9 for a, b in zip(ph, ph[1:], strict=False))
    track = v.visemes(sp)
    assert sum(1 for row in track if row[2] == Viseme.OPEN) == 8, track
    assert track[0][2] == Viseme.REST and track[-1][2] == Viseme.REST
    assert sp.words == []
    assert v.info().engine == "openai" and v.info().source.endswith("/v1/audio/speech")


async def test_errors_are_named_and_bounded() -> None:
    fake = FakeTTS(key="right")
    runner, url = await _served(fake)
    try:
        v = OpenAITTS(48000, base_url=url + "/v1", api_key="wrong")
        with pytest.raises(OpenAITTSError, match=r"HTTP 401: .*Incorrect API key"):
            await v.speak(Sentence("hello", Source.TEMPLATE))
        fake.key, fake.error = "", "stall"
        v = OpenAITTS(48000, base_url=url, connect_timeout_s=0.3, total_timeout_s=1.0)
        t0 = time.monotonic()
        with pytest.raises(OpenAITTSError):
            await v.speak(Sentence("hello", Source.TEMPLATE))
        assert time.monotonic() - t0 < 2.0
    finally:
        await runner.cleanup()
    down = OpenAITTS(48000, base_url=url, connect_timeout_s=0.3)
    with pytest.raises(OpenAITTSError, match=r"127\.0\.0\.1"):
        await asyncio.to_thread(down.synthesize, Sentence("hello", Source.TEMPLATE))
    empty = down.synthesize(Sentence("   ", Source.TEMPLATE))  # nothing to say: no request
    assert len(empty.pcm) == 0


def test_config_row_and_check() -> None:
    cfg = load_config().with_overrides(
        voice={"engine": "openai", "base_url": "http://127.0.0.1:9", "voice": "nova"}
    )
    assert cfg.voice.table() == {
        "engine": "openai",
        "base_url": "http://127.0.0.1:9",
        "voice": "nova",
    }
    assert cfg.voice.engine_table("hibari")["voice"] == "heart"  # other engines keep theirs
    with pytest.raises(ConfigError, match=r"voice\.response_format = \"mp3\""):
        cfg.with_overrides(voice={"response_format": "mp3"})
    with pytest.raises(ConfigError, match=r"voice\.base_url: missing"):
        load_config().with_overrides(voice={"engine": "openai"})
    # The client checks nothing at load (the server may come up later): check is clean, and a
    # sentence while the server is down fails without taking the voice set down.
    assert voice_problems(cfg.voice, 48000, "en") == []
    vs = build_voice(cfg.voice, 48000, "en")
    assert vs.info().engine == "openai"
    vs.close()
