"""A real person in charge (issue 20, item 5): without an operator check-in for
control.presence_timeout_s the host goes to safe mode ("facts": no answers, questions held for
the operator; "break": silence and a break card), raises an alert, and comes back when an
operator checks in; every command of a checked-in session is audited under the operator's name;
the dashboard's check-in works in headless Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import running_engine
from support import until

from streamhost.compliance import compliance_problems, presence_limit_s
from streamhost.config import config_from_dict
from streamhost.control.commands import ControlSession
from streamhost.presence import HELD, Presence, break_card
from streamhost.store import Store

FAST = {"fps": 20}


class _Log:
    def __init__(self) -> None:
        self.t = 0.0
        self.alerts: list[tuple[str, dict[str, Any]]] = []
        self.audits: list[tuple[str, str]] = []

    def alert(self, kind: str, **fields: Any) -> None:
        self.alerts.append((kind, fields))

    def audit(self, actor: str, action: str, args: dict, ok: bool, detail: str) -> None:
        self.audits.append((actor, action))


def test_safe_mode_after_the_timeout_and_back_at_a_check_in() -> None:
    log = _Log()
    p = Presence(300, "facts", lambda: log.t, log.alert, log.audit)
    p.tick(299.9)
    assert p.mode() is None and p.due_at() == 300
    log.t = 300.0
    p.tick(300.0)
    assert p.mode() == "facts" and log.alerts[-1][0] == "presence_lost"
    assert ("system", "safe_mode_on") in log.audits
    log.t = 310.0
    assert p.check_in("  Ana ")["operator"] == "Ana"
    assert p.mode() is None and p.due_at() == 610.0 and log.alerts[-1][0] == "presence_back"
    # a named operator acting counts as present; a dashboard polling status does not
    log.t = 400.0
    p.seen("Ana", "status", True)
    assert p.due_at() == 610.0
    p.seen("Ana", "say", True)
    assert p.due_at() == 700.0
    p.seen("control", "say", True)  # an unnamed session proves nobody is there
    assert p.due_at() == 700.0
    off = Presence(0, "break", lambda: 1e9, log.alert, log.audit)
    off.tick(1e9)
    assert off.mode() is None and off.due_at() is None


def test_timeout_comes_from_the_profile_unless_set() -> None:
    assert presence_limit_s(config_from_dict({})) == 0  # generic: off
    douyin = config_from_dict({"stream": {"compliance": "douyin"}})
    assert presence_limit_s(douyin) == 300
    assert not [p for p in compliance_problems(douyin) if "presence_timeout_s" in p]
    off = config_from_dict(
        {"stream": {"compliance": "douyin"}, "control": {"presence_timeout_s": 0}}
    )
    assert any("control.presence_timeout_s" in p for p in compliance_problems(off))
    assert presence_limit_s(config_from_dict({"control": {"presence_timeout_s": 30}})) == 30
    assert break_card("zh") == break_card("en")  # no CJK glyphs on the frame: English card


def _store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data", "default")


@pytest.mark.timeout(240)
async def test_no_check_in_safe_mode_no_free_answers_check_in_back_to_normal(
    tmp_path: Path,
) -> None:
    async with running_engine(
        tmp_path, virtual=True, duration=None, stream=FAST, talk={"show": ""},
        output={"webrtc": False}, control={"presence_timeout_s": 5},
    ) as (engine, _, task):  # fmt: skip
        st = engine.primary
        alerts = st.events.add()
        alerts.subscribe(["alerts"])
        session = ControlSession(st.controls, lambda tok: "bad", authed=True, burst=10**9)
        await st.clock.sleep_until(5.5)
        status = session.handle({"id": 1, "type": "status"})["status"]["presence"]
        assert status["safe_mode"] == "facts" and status["required"], status
        lost = [e for e in alerts.take() if e.get("kind") == "presence_lost"]
        assert lost and lost[0]["safe_mode"] == "facts"
        # a question is stored as held and handed to the operator, not answered
        ev, decision = st.submit_chat({"user": "ben", "text": "how much is the kettle?"})
        assert decision == "held"
        assert [q.event.trace_id for q in st.talk.followups.pending()] == [ev.trace_id]
        await st.clock.sleep_until(8.0)
        st.store.flush()
        rows = [r for r in st.store.chat_rows() if r[0] == ev.trace_id]
        assert rows and rows[0][3:] == ("held", HELD), rows
        during = [ln for ln in st.store.transcript() if ln.media_time >= 5.5]
        assert not [ln for ln in during if ln.reply_to == ev.trace_id]
        assert {ln.source for ln in during} <= {"template", "show", "script"}, during
        # an operator checks in: back to normal, the session now acts under that name
        reply = session.handle({"id": 2, "type": "presence", "name": "Ana"})
        assert reply["ok"] and reply["presence"]["safe_mode"] is None, reply
        assert [e for e in alerts.take() if e.get("kind") == "presence_back"]
        assert session.handle({"id": 3, "type": "say", "text": "Ana here, back with you."})["ok"]
        ev2, decision = st.submit_chat({"user": "cleo", "text": "how much is the lamp?"})
        assert decision == "queued"
        t0 = st.clock.now()
        while not [ln for ln in st.store.transcript() if ln.reply_to == ev2.trace_id]:
            assert st.clock.now() - t0 < 4.0, "the question was not answered after the check-in"
            await st.clock.sleep(0.2)
        assert st.snapshot()["presence"]["operator"] == "Ana"
        engine.request_stop()
        await task
    store = _store(tmp_path)
    audit = store._db.execute("SELECT actor, command, ok FROM audit ORDER BY id").fetchall()
    store.close()
    assert ("system", "safe_mode_on", 1) in audit and ("system", "safe_mode_off", 1) in audit
    assert ("Ana", "presence", 1) in audit and ("Ana", "say", 1) in audit
    assert audit.index(("control", "status", 1)) < audit.index(("Ana", "presence", 1))


@pytest.mark.timeout(240)
async def test_break_mode_silences_the_host_and_shows_the_card(tmp_path: Path) -> None:
    async with running_engine(
        tmp_path, virtual=True, duration=None, stream=FAST, talk={"show": ""},
        output={"webrtc": False}, control={"presence_timeout_s": 5, "safe_mode": "break"},
    ) as (engine, _, task):  # fmt: skip
        st = engine.primary
        x0, y0, x1, y1 = st.compositor.panel_box
        product_panel = st.compositor.background_rgb[y0:y1, x0:x1].copy()
        await st.clock.sleep_until(7.0)
        assert st.presence.mode() == "break"
        card = st.compositor.background_rgb[y0:y1, x0:x1]
        assert np.abs(card.astype(int) - product_panel).mean() > 1.0, "the break card is drawn"
        await st.clock.sleep_until(10.0)
        said = [ln for ln in st.store.transcript() if ln.media_time >= 6.5]
        assert said == [], said  # nothing new starts on a break (the disclosure is not due)
        st.controls.check_in("Bo")
        await st.clock.sleep_until(12.0)
        assert st._shown_product == st.director.current_product  # the product panel is back
        assert [ln for ln in st.store.transcript() if ln.media_time >= 10.0]
        engine.request_stop()
        await task


@pytest.mark.timeout(120)
async def test_dashboard_check_in_ends_safe_mode_and_names_the_operator(tmp_path: Path) -> None:
    from chromium import chromium_page, require_chromium

    binary = require_chromium()
    async with running_engine(
        tmp_path, False, None, talk={"show": ""}, control={"presence_timeout_s": 5}
    ) as (eng, base, task):  # fmt: skip
        s = eng.primary
        async with chromium_page(binary, base + "/operator#token=test-token", tmp_path) as (cdp, _):
            await cdp.until("!!window.operator && operator.authed && !!window.presence"
                            " && !!presence.status", 20, "the presence panel")  # fmt: skip
            assert "next check-in due" in await cdp.js(
                "document.getElementById('presence-state').textContent"
            )
            await cdp.until("presence.status.safe_mode === 'facts'", 30, "safe mode shown")
            assert "SAFE MODE" in await cdp.js(
                "document.getElementById('presence-state').textContent"
            )
            await cdp.js(
                "document.getElementById('presence-name').value = 'Ana';"
                "document.getElementById('presence-checkin').click(); true"
            )
            await cdp.until("presence.checkins === 1 && !presence.status.safe_mode", 5, "check-in")
            assert s.presence.operator == "Ana" and s.presence.mode() is None
            assert "in charge: Ana" in await cdp.js(
                "document.getElementById('presence-state').textContent"
            )
            await cdp.js("document.getElementById('stop').click(); true")  # acts as Ana
            await until(
                lambda: ("Ana", "stop") in s.store._db.execute(
                    "SELECT actor, command FROM audit").fetchall(), 5, "stop audited as Ana",
            )  # fmt: skip
            sql = "SELECT args FROM audit WHERE command = 'presence'"
            assert json.loads(s.store._db.execute(sql).fetchone()[0]) == {"name": "Ana"}
        assert not task.done()
