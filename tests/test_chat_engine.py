"""Chat through the whole running engine: moderation + triage decisions are stored, the
adversarial corpus never leaks into what is spoken, and a network source (Twitch IRC on a real
ngircd) is wired in from config."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from conftest import running_engine
from ircd import IrcServer, require_ngircd
from test_chat_twitch import IrcClient, until
from test_injection import _check_sentences, load_corpus, world  # noqa: F401 - fixture

from streamhost.store import Store


def _store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data", "default")


_OWN_LANGUAGE = ("script", "answer", "thanks")


@pytest.mark.timeout(240)
async def test_adversarial_corpus_through_the_engine_leaks_nothing(tmp_path, world) -> None:  # noqa: F811
    corpus = load_corpus()
    replay = tmp_path / "corpus.jsonl"
    # Spread over 60 s of media time, from many users, as a replay source (virtual clock).
    with replay.open("w") as f:
        for i, m in enumerate(corpus):
            f.write(json.dumps({**m, "t": 0.5 + i * 60.0 / len(corpus)}) + "\n")
    async with running_engine(
        tmp_path,
        virtual=True,
        duration=75,
        chat={"sources": [{"type": "replay", "path": str(replay)}], "per_user_burst": 50},
    ) as (engine, url, task):
        st = engine.primary
        await task
    store = _store(tmp_path)
    chat = store.chat_rows()
    lines = store.transcript()
    store.close()
    # Each message is either stored with its decision or rejected by the source (too long...).
    assert len(chat) + st.sources[0].health.rejected == len(corpus)
    assert len(chat) > 0.9 * len(corpus)
    decisions = {c[3] for c in chat}
    assert "blocked" in decisions and ("queued" in decisions or "merged" in decisions)
    by_trace = {c[0]: c for c in chat}
    answered = [ln for ln in lines if ln.reply_to in by_trace]
    assert len(answered) >= 10, "the host should still answer the harmless questions"
    problems: list[str] = []
    texts = {c[0]: (c[1], c[2]) for c in chat}
    langs = st.talk.generator.answer_languages
    for ln in lines:
        # Every spoken line is checked against every message (any could try to leak).
        for user, text in texts.values():
            from streamhost.frames import Sentence

            problems += _check_sentences(
                # Advertiser script lines may switch language on purpose ([lang: de]), and a
                # question is answered in the language it was asked in (talk.answer_languages);
                # every other line is in the stream's language whatever chat asked for.
                [Sentence(ln.text, ln.source, lang=ln.lang)],
                text,
                user,
                ln.lang if ln.source in _OWN_LANGUAGE and ln.lang in langs else "en",
                world,
            )
            if problems:
                break
        if problems:
            break
    assert not problems, problems[:5]
    assert st.chat_blocked > 20
    # Abuse made the host sad for a while: some sentence was spoken with that emotion.
    db = _store(tmp_path)
    emotions = {r[0] for r in db._db.execute("SELECT emotion FROM transcript").fetchall()}
    db.close()
    assert "sad" in emotions


@pytest.mark.timeout(120)
async def test_moderation_and_dedupe_decisions_are_stored(tmp_path) -> None:
    async with running_engine(tmp_path, virtual=True, duration=15) as (engine, url, task):
        st = engine.primary
        await st.clock.sleep_until(0.5)
        for user in ("ann", "bob", "cat"):
            ev, decision = st.submit_chat({"user": user, "text": "how much is the kettle?"})
        _, spam = st.submit_chat({"user": "dan", "text": "great deals at www.spam-shop.example"})
        _, abuse = st.submit_chat({"user": "eve", "text": "you are an 1d10t"})
        _, chatter = st.submit_chat({"user": "fay", "text": "lol nice weather today"})
        await task
    assert (spam, abuse, chatter) == ("blocked", "blocked", "ignored")
    store = _store(tmp_path)
    rows = {r[1]: (r[3], r[4]) for r in store.chat_rows()}
    answers = [ln for ln in store.transcript() if ln.source == "answer"]
    store.close()
    assert rows["ann"][0] == "queued" and rows["bob"][0] == "merged" and rows["cat"][0] == "merged"
    assert rows["dan"] == ("blocked", "link") and rows["eve"][0] == "blocked"
    assert rows["eve"][1].startswith("blocklist:en:")
    kettle = st.price_spoken_now("kettle", "en")
    assert sum(kettle in a.text for a in answers) == 1, "three askers, one answer"


@pytest.mark.timeout(90)
async def test_twitch_source_in_config_feeds_the_host(tmp_path) -> None:
    require_ngircd()
    srv = IrcServer(tmp_path / "ircd").start()
    try:
        src = {
            "type": "twitch",
            "channel": "shop",
            "host": "127.0.0.1",
            "port": srv.port,
            "nick": "streamhost",
        }
        async with running_engine(
            tmp_path, virtual=False, duration=None, chat={"sources": [src]}
        ) as (
            engine,
            url,
            task,
        ):
            st = engine.primary
            await until(lambda: st.sources[0].health.state == "live", 15, "twitch source live")
            viewer = await IrcClient(srv.port, "ann").connect("#shop")
            viewer.send("PRIVMSG #shop :how much is the backpack?")
            price = st.price_spoken_now("backpack", "en")

            def answered() -> bool:
                st.store.flush()
                return any(
                    price in ln.text and ln.aired_at is not None for ln in st.store.transcript()
                )

            await until(answered, 20, "an aired answer with the backpack's price")
            await viewer.close()
            snap = st.snapshot()
            assert (
                snap["chat_sources"][0]["events"] >= 1
                and snap["chat_sources"][0]["state"] == "live"
            )
            async with __import__("aiohttp").ClientSession() as http:
                metrics = await (await http.get(url + "/metrics")).text()
            assert (
                'streamhost_chat_source_up{platform="twitch"' in metrics
                or "streamhost_chat_source_up{" in metrics
            )
            await asyncio.sleep(0)
    finally:
        srv.stop()
