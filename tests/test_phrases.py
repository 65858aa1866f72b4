"""Talk said in phrases so chat breaks in sooner: the splitter, the voice's continuation tone,
and the director answering between two phrases of one sentence (virtual clock)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import running_engine
from hypothesis import given, settings
from hypothesis import strategies as st

from streamhost.frames import Sentence
from streamhost.store import Store
from streamhost.talk.phrases import split_phrases
from streamhost.talk.prefetch import operator_phrases
from streamhost.voice.espeak import EspeakTTS


@pytest.mark.parametrize(
    ("text", "lang", "parts"),
    [
        (
            "A small thing that makes a big difference: a keep-warm mode for 30 minutes.",
            "en",
            ["A small thing", "that makes a big difference:", "a keep-warm mode for 30 minutes."],
        ),
        (
            "The price for the electric kettle is 31 euros 92.",
            "en",
            ["The price for the electric kettle", "is 31 euros 92."],
        ),
        ("Short and sweet.", "en", ["Short and sweet."]),
        (
            "这款电水壶有五档温度设置，还有三十分钟保温功能，非常适合泡绿茶和咖啡。",
            "zh",
            ["这款电水壶有五档温度设置，", "还有三十分钟保温功能，", "非常适合泡绿茶和咖啡。"],
        ),
    ],
)
def test_split_phrases(text: str, lang: str, parts: list[str]) -> None:
    assert split_phrases(text, lang, 40) == parts


def test_numbers_stay_with_their_words_and_zero_is_off() -> None:
    text = "You can take the whole set home today for just 129 euros 99 and free shipping."
    parts = split_phrases(text, "en", 40)
    assert len(parts) > 1
    for a, b in zip(parts, parts[1:], strict=False):
        # never cut right next to a number
        assert not a.split()[-1][0].isdigit() and not b.split()[0][0].isdigit(), parts
    assert any("129 euros 99" in p for p in parts)
    assert split_phrases(text, "en", 0) == [text]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["and", "that", "with", "kettle", "31", "euros,", "the", "lamp:", "is"]),
        min_size=0,
        max_size=40,
    ),
    st.integers(min_value=20, max_value=80),
)
def test_split_is_verbatim_and_never_leaves_tiny_parts(words: list[str], limit: int) -> None:
    text = " ".join(words)
    parts = split_phrases(text, "en", limit)
    assert " ".join(parts) == text.strip()
    if len(parts) > 1:
        assert min(len(p) for p in parts) >= 12 or len(text) < 24


def test_operator_lines_are_phrased_and_say_now_starts_with_a_short_phrase() -> None:
    line = "Quick update, the kettle is back in stock and the lamp is half price tonight!"
    said = [p.text for p in operator_phrases(Sentence(line, "operator"), 40, urgent=False)]
    now = operator_phrases(Sentence(line, "operator"), 40, urgent=True)
    assert " ".join(said) == line and max(map(len, said)) <= 40 and len(said) > 1
    # "say now": the first phrase at half the limit, the rest as usual, verbatim.
    assert now[0].text == "Quick update," and " ".join(p.text for p in now) == line
    assert max(len(p.text) for p in now[1:]) <= 40
    assert [p.continues for p in now] == [True] * (len(now) - 1) + [False]
    assert {p.source for p in now} == {"operator"}

    # A short opening clause is a phrase of its own when it must start at once, never a
    # number's part; with no natural place early on the line starts whole, not with a fragment.
    def first(line: str) -> str:
        return operator_phrases(Sentence(line, "operator"), 40, urgent=True)[0].text

    assert first("Big news, we restocked!") == "Big news,"
    assert first("大家好，现在开始限时抢购！") == "大家好，"
    assert first("Only 3, then 2 left!") == "Only 3, then 2 left!"
    line = "Attention everyone the flash sale starts right now"
    assert first(line) == line
    assert first("Hi, all!") == "Hi, all!"  # "Hi," is too short to stand alone


def test_a_phrase_that_continues_ends_on_an_unfinished_tone() -> None:
    tts = EspeakTTS()
    text = "a keep-warm mode"
    whole = tts.synthesize(Sentence(text, "script"))
    cont = tts.synthesize(Sentence(text, "script", continues=True))
    # Same words (a comma adds no phoneme), a different ending.
    assert [p.symbol for p in whole.phonemes if not p.symbol.startswith("_")] == [
        p.symbol for p in cont.phonemes if not p.symbol.startswith("_")
    ]
    n = min(len(whole.pcm), len(cont.pcm))
    assert not np.array_equal(whole.pcm[:n], cont.pcm[:n])


@pytest.mark.timeout(180)
async def test_questions_mid_talk_are_answered_between_phrases(tmp_path) -> None:
    """Questions asked while the host talks: each answer airs after at most one phrase."""
    asked = []
    async with running_engine(
        tmp_path, virtual=True, duration=40, talk={"show": ""}, chat={"dedupe_window_s": 0}
    ) as (engine, url, task):
        s = engine.primary
        for k, at in enumerate((6.3, 13.7, 21.1, 28.9)):
            await s.clock.sleep_until(at)
            while not s.player.speaking:
                await s.clock.sleep(0.04)
            ev, _ = s.submit_chat({"user": f"viewer{k}", "text": "how much is the kettle?"})
            asked.append(ev)
        await task
    store = Store(tmp_path / "data", "default")
    lines = [ln for ln in store.transcript() if ln.aired_at is not None]
    store.close()
    talk = [ln for ln in lines if ln.source == "template"]
    # Talk came in phrases: lines that do not end a sentence.
    assert any(not re.search(r"[.!?]$", ln.text) for ln in talk)
    for ev in asked:
        answer = min((ln for ln in lines if ln.reply_to == ev.trace_id), key=lambda ln: ln.aired_at)
        wait = answer.aired_at - ev.received_at
        assert wait < 3.0, (wait, ev.text)
        between = [ln for ln in lines if ev.received_at < ln.aired_at < answer.aired_at]
        assert between == [], between
