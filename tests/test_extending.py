"""The plugin shape README's "Extending" promises: a voice, a face family, an output and a chat
source are each one class plus one registry row, and the engine, config and check take them
with no other change. The plugins here live in this test module and are registered for the
test only."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import running_engine

from streamhost.avatar import registry as faces
from streamhost.avatar.pack import Pack
from streamhost.chat.registry import SOURCES
from streamhost.chat.source import SourceHealth
from streamhost.config import ConfigError, load_config
from streamhost.frames import ChatEvent, Sentence, Speech, Timing
from streamhost.output.base import VIDEO, EncodedPacket
from streamhost.output.registry import SINKS
from streamhost.registry import Param, Plugin, is_nonempty, is_num_in
from streamhost.store import Store
from streamhost.voice.base import VoiceBase, VoiceInfo
from streamhost.voice.registry import VOICES
from streamhost.voice.visemes import Viseme, ipa_viseme


class BeepVoice(VoiceBase):
    """README's example voice: a tone as long as the text, one open-mouth phoneme."""

    def __init__(self, sample_rate: int, default_lang: str, pitch_hz: float = 440.0) -> None:
        self.sample_rate, self.pitch_hz = sample_rate, pitch_hz

    def info(self) -> VoiceInfo:
        return VoiceInfo("beep", f"{self.pitch_hz:g} Hz", self.sample_rate, "generated")

    def viseme_for(self, symbol: str) -> Viseme:
        return ipa_viseme(symbol)

    def synthesize(self, s: Sentence) -> Speech:
        n = int(0.02 * self.sample_rate * max(1, len(s.text)))
        t = np.arange(n) / self.sample_rate
        pcm = (3000 * np.sin(2 * np.pi * self.pitch_hz * t)).astype(np.int16)
        return Speech(s, pcm, self.sample_rate, [Timing(0.0, n / self.sample_rate, "a")], [])


class CountingSink:
    """An output that counts the video packets it is handed."""

    kinds = frozenset({VIDEO})
    seen: list[int] = []

    def __init__(self, label: str) -> None:
        self.label = label

    def attach(self, info: Any, encoder: Any) -> None:
        CountingSink.seen.clear()

    def on_packet(self, packet: EncodedPacket) -> None:
        CountingSink.seen.append(packet.pts)

    def finish(self) -> None:
        pass


class OneShotSource:
    """A chat source that says one thing and stays connected."""

    def __init__(self, name: str, emit: Any, clock_now: Any, text: str) -> None:
        self.name, self.emit, self.text = name, emit, text
        self.health = SourceHealth(name, "oneshot")
        self._stop = asyncio.Event()

    async def run(self) -> None:
        self.emit(ChatEvent(user="ext", text=self.text, platform="oneshot"))
        await self._stop.wait()

    def stop(self) -> None:
        self._stop.set()


class FlatFace:
    """A face family drawing a flat grey canvas with the studio overlays."""

    needs_lookahead = False
    mouth = None

    def __init__(self, pack: Pack, ctx: Any) -> None:
        f = ctx.fmt
        self.compositor = ctx.compositor
        self.frame = np.full((f.height * 3 // 2, f.width), 128, np.uint8)
        self.pictures = 0

    def warmup(self) -> None:
        pass

    def before_frame(self, t: float) -> None:
        pass

    def picture(self, t: float) -> np.ndarray:
        self.pictures += 1
        return self.compositor.overlay(self.frame.copy())

    def close(self) -> None:
        pass


def load_flat(root: Path, manifest: Path, data: dict, problems: list, driver: str, _c: bool):
    return Pack(root, "flat", root, driver, 16, 16, 0, 0, True, whole_canvas=True,
                canvas_width=720, canvas_height=1280, summary="flat grey")  # fmt: skip


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    here = Path(__file__).resolve().parent
    monkeypatch.syspath_prepend(str(here))
    mod = "test_extending"
    monkeypatch.setitem(VOICES.rows, "beep", Plugin(
        f"{mod}:BeepVoice", {"pitch_hz": Param(is_num_in(50, 2000), "a number of Hz 50..2000")}
    ))  # fmt: skip
    monkeypatch.setitem(SINKS.rows, "counting", Plugin(
        f"{mod}:CountingSink", {"label": Param(is_nonempty, "a label", required=True)}
    ))  # fmt: skip
    monkeypatch.setitem(SOURCES.rows, "oneshot", Plugin(
        f"{mod}:OneShotSource", {"text": Param(is_nonempty, "what to say", required=True)}
    ))  # fmt: skip
    monkeypatch.setitem(faces.FAMILIES, "flat", faces.FaceFamily(
        f"{mod}:load_flat", f"{mod}:FlatFace", ("phonemes",)
    ))  # fmt: skip


def test_a_plugin_row_is_checked_like_any_other(plugins: None, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[voice]\nengine = "beep"\npitch_hz = 5\n[[output.sinks]]\ntype = "counting"\n')
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    assert e.value.problems == [
        "voice.pitch_hz = 5: must be a number of Hz 50..2000",
        "output.sinks[0].label: missing; must be a label",
    ]


async def test_engine_runs_on_plugins_from_one_row_each(plugins: None, tmp_path: Path) -> None:
    pack = tmp_path / "flatpack"
    pack.mkdir()
    (pack / "pack.toml").write_text('family = "flat"\n')
    os.environ.pop("STREAMHOST_DATA_DIR", None)
    async with running_engine(
        tmp_path, virtual=True, duration=6.0,
        voice={"engine": "beep", "pitch_hz": 330.0},
        avatar={"pack": str(pack)},
        output={"webrtc": False, "sinks": [{"type": "counting", "label": "x"}]},
        chat={"sources": [{"type": "oneshot", "text": "how much is the kettle?"}]},
    ) as (engine, _url, task):  # fmt: skip
        st = engine.streams[0]
        await task
    store = Store(st.cfg.store.data_dir, st.name)
    rows = [(r.source, r.reply_to) for r in store.transcript()]
    store.close()
    assert st.tts.info().engine == "beep" and st.snapshot()["voice"]["voice"] == "330 Hz"
    assert isinstance(st.face, FlatFace) and st.face.pictures == 150
    assert len(CountingSink.seen) == 150  # every frame's video packet reached the new output
    assert any(src == "answer" and rep for src, rep in rows), rows  # the new source's question
