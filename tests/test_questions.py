"""No dodge without a follow-up (issue 16, item 3), end to end: an unanswerable question gets an
honest line and a ``question`` event; the operator's ``answer`` is spoken within one sentence
boundary, naming the viewer; a question nobody answers is closed after
``talk.followup_timeout_s`` with "the team will answer in the comments" and stored as
unanswered; ``streamhost transcript --unanswered`` lists it. The operator dashboard shows open
questions (from ``history`` when it opens, then live) with an answer box (headless Chromium).
And no question is silently dropped on a mixed set of 200 in four languages."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from chromium import chromium_page, require_chromium
from conftest import running_engine
from support import until

from streamhost.cli import main as cli_main
from streamhost.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _talk_questions import account_questions, load_questions  # noqa: E402

ANSWER = "Black, white and sage green."


@pytest.mark.timeout(240)
async def test_question_to_operator_answer_and_timeout_end_to_end(tmp_path, capsys) -> None:
    async with running_engine(
        tmp_path, virtual=True, duration=50, talk={"show": "", "followup_timeout_s": 20.0}
    ) as (engine, url, task):
        st = engine.primary
        sub = st.events.add()
        sub.subscribe(["question"])
        await st.clock.sleep_until(3.0)
        anna, _ = st.submit_chat({"user": "anna", "text": "what colours does the bottle come in?"})
        opened = []
        while not opened:
            await st.clock.sleep(0.04)
            opened = [e for e in sub.take() if e["trace_id"] == anna.trace_id]
        assert opened[0]["state"] == "open" and opened[0]["user"] == "anna"
        await st.clock.sleep(4.0)  # the host talks on meanwhile
        reply = st.command({"id": 1, "type": "answer", "question": opened[0]["question"],
                            "text": ANSWER}, "op")  # fmt: skip
        assert reply["ok"], reply
        answered_at = st.clock.now()
        ben, _ = st.submit_chat({"user": "ben", "text": "do you offer gift wrapping?"})
        await task
    store = Store(tmp_path / "data", "default")
    lines = sorted((ln for ln in store.transcript() if ln.aired_at is not None),
                   key=lambda ln: ln.aired_at)  # fmt: skip
    questions = store.questions()
    store.close()
    # Honest at once: the first reply to each says the host does not know (no guess). A reply
    # of two sentences is said (and stored) sentence by sentence.
    replies = [ln for ln in lines if ln.reply_to == anna.trace_id]
    assert replies[0].aired_at - anna.received_at < 3.0, replies[0]
    assert any("team" in ln.text for ln in replies[:2]), replies[:2]
    # The operator's answer: verbatim, after a lead-in naming the viewer, and nothing else first
    # but the line that was on air when it was given.
    said = next(ln for ln in lines if ln.text == ANSWER)
    assert said.source == "operator" and said.reply_to == anna.trace_id
    before = [ln for ln in lines if answered_at <= ln.aired_at < said.aired_at]
    assert len(before) == 1 and before[0].reply_to == anna.trace_id, before
    assert "anna" in before[0].text.lower(), before[0]  # as written, or capitalized first
    # Ben's question: nobody answered; closed after the time-out with the comments line.
    late = [ln for ln in lines if ln.reply_to == ben.trace_id and "comments" in ln.text]
    assert late and 20.0 <= late[0].aired_at - ben.received_at <= 30.0, late
    assert "ben" in late[0].text.lower()
    states = {q[3]: q[6] for q in questions}
    assert states == {"anna": "answered", "ben": "unanswered"}, questions
    # The morning report.
    capsys.readouterr()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\ndata_dir = "{tmp_path / "data"}"\n')
    assert cli_main(["transcript", "--config", str(cfg), "--unanswered"]) == 0
    out = capsys.readouterr().out
    assert "ben: do you offer gift wrapping?" in out and "anna" not in out, out
    assert cli_main(["transcript", "--config", str(cfg), "--unanswered", "--json"]) == 0
    rows = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert [(r["user"], r["text"], r["stream"]) for r in rows] == [
        ("ben", "do you offer gift wrapping?", "default")
    ], rows


@pytest.mark.timeout(120)
async def test_dashboard_lists_questions_and_sends_the_answer(tmp_path: Path) -> None:
    binary = require_chromium()
    async with running_engine(
        tmp_path, False, None, talk={"show": "", "followup_timeout_s": 600.0}
    ) as (eng, base, task):
        s = eng.primary
        # Before the dashboard opens: a chat row and an open question (the history shows both).
        s.submit_chat({"user": "early_bird", "text": "hello from before you opened"})
        s.submit_chat({"user": "carla", "text": "what colours does the bottle come in?"})
        await until(lambda: s.talk.followups.pending(), 10, "carla's question handed over")
        async with chromium_page(binary, base + "/operator#token=test-token", tmp_path) as (cdp, _):
            await cdp.until("window.operator && operator.history > 0", 20, "the history")
            chat = await cdp.js("document.getElementById('chat').innerText")
            assert "hello from before you opened" in chat
            assert await cdp.js("document.getElementById('transcript').children.length") > 0
            await cdp.until("window.questions && questions.open === 1", 5, "carla's question")
            assert "carla" in await cdp.js("document.getElementById('q-list').innerText")
            # A question asked while the dashboard is open comes in live.
            ev, _ = s.submit_chat({"user": "dino", "text": "is there a phone number for support?"})
            await cdp.until("questions.open === 2", 10, "dino's question")
            qid = next(q.id for q in s.talk.followups.pending() if q.event.user == "dino")
            sel = json.dumps(f'#q-list [data-question="{qid}"]')
            await cdp.js(
                f"(() => {{ const d = document.querySelector({sel});"
                f" d.querySelector('.q-answer').value = {json.dumps(ANSWER)};"
                " d.querySelector('form').requestSubmit(); return true; })()"
            )
            await until(
                lambda: any(t.text == ANSWER and t.source == "operator" and t.aired_at
                            for t in s.store.transcript()),
                15, "the answer on air",
            )  # fmt: skip
            await cdp.until(
                f"document.querySelector({sel}).dataset.state === 'answered'", 5, "state"
            )
            assert await cdp.js("questions.open") == 1
            assert await cdp.js("document.getElementById('error').textContent") == ""


def test_no_question_is_silently_dropped() -> None:
    """questions_silently_dropped = 0 on tests/data/questions_mixed.json (200 questions, en/de/
    it/zh: in-catalog, out-of-catalog, unanswerable, and some moderation must reject)."""
    items = load_questions()
    assert len(items) == 200 and {i["lang"] for i in items} == {"en", "de", "it", "zh"}
    out = account_questions(items)
    dropped = [r for r in out if r["outcome"] == "dropped"]
    assert dropped == [], dropped[:5]
    kinds = {r["outcome"] for r in out}
    assert kinds == {"answered", "operator", "moderation"}, kinds
    # Each kind lands where it should: the expected outcome is in the data set.
    wrong = [r for r in out if r["outcome"] != r["expect"]]
    # Not every one lands as labelled yet (see the README: Chinese out-of-catalog questions go
    # to the operator instead of "we do not carry it"); none is dropped.
    assert len(wrong) <= 0.15 * len(out), wrong[:10]
    assert all(r["reason"] for r in out if r["outcome"] == "moderation")
