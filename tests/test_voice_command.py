"""The operator's ``voice`` command: it switches the voice of the next sentence without
stalling the stream, status shows the new voice, and the command and its outcome are audited;
bad engines or settings are refused naming the problem."""

from __future__ import annotations

import json
import sqlite3

from conftest import running_engine
from support import until


async def test_voice_command_switches_the_next_sentence_and_is_audited(tmp_path) -> None:
    async with running_engine(tmp_path, virtual=False, duration=None) as (engine, _url, _task):
        s = engine.primary
        assert s.snapshot()["voice"]["engine"] == "hibari"
        r = s.command({"id": 1, "type": "voice", "engine": "espeak", "settings": {"pitch": 70}},
                      "op")  # fmt: skip
        # the engine's configured table (configs/default.toml: the host's female variant),
        # then the command's settings
        assert r["ok"] and r["voice"] == {"engine": "espeak", "rate_wpm": 165, "variant": "f2",
                                          "pitch": 70, "lang": "en", "loading": True}, r  # fmt: skip
        await until(lambda: s.snapshot()["voice"]["engine"] == "espeak", 10, "the espeak voice")
        bad = s.command({"id": 2, "type": "voice", "engine": "espeak", "settings": {"speed": 2}},
                        "op")  # fmt: skip
        assert not bad["ok"] and "voice.speed: unknown key" in bad["error"]["message"]
        bad = s.command({"id": 3, "type": "voice", "engine": "nope"}, "op")
        assert not bad["ok"] and bad["error"]["code"] == "bad_args"
        # A voice file that does not load is reported; the voice in use goes on speaking.
        s.command({"id": 4, "type": "voice", "engine": "piper",
                   "settings": {"model": str(tmp_path / "missing.onnx")}}, "op")  # fmt: skip

        def audit() -> list[tuple]:
            return (
                sqlite3.connect(s.store.path)
                .execute("SELECT actor, command, args, ok, detail FROM audit ORDER BY rowid")
                .fetchall()
            )

        await until(lambda: sum(r[1] == "voice_loaded" for r in audit()) >= 2, 10, "audits")
        rows = audit()
        assert [r[1] for r in rows if r[0] == "op"] == ["voice"] * 4
        loaded = [r for r in rows if r[1] == "voice_loaded"]
        assert loaded[0][3] == 1 and json.loads(loaded[0][2])["engine"] == "espeak"
        assert loaded[1][3] == 0 and "missing.onnx" in loaded[1][4]
        assert s.snapshot()["voice"]["engine"] == "espeak"
