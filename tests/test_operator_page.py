"""End-to-end: the operator dashboard (`/operator`) in real headless Chromium against a real
engine on the real clock. The page authenticates over `/control`, renders metrics, and its
say / product / ban / stop controls change the engine. Skips without chromium locally, fails
under ``CI=true``."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest
from chromium import chromium_page, require_chromium
from conftest import running_engine
from support import until


@pytest.mark.timeout(90)
async def test_operator_page(tmp_path: Path) -> None:
    binary = require_chromium()
    line = "Operator here: the kettle sale ends at midnight."
    async with running_engine(tmp_path, False, None) as (eng, base, task):
        s = eng.primary
        async with chromium_page(binary, base + "/operator#token=test-token", tmp_path) as (cdp, _):
            # authenticated, subscribed, and a metrics event drawn
            await cdp.until(
                "!!window.operator && operator.authed && operator.metrics > 0"
                " && document.getElementById('v-fps').textContent !== '–'",
                20,
                "auth and a rendered metrics event",
            )
            assert await cdp.js("document.getElementById('conn').textContent") == "authenticated"
            # the product list came from the engine (more than the current product)
            opts = await cdp.until(
                "(() => { const o = [...document.getElementById('product').options]"
                ".map((x) => x.value); return o.length > 1 ? o : null; })()",
                5,
                "the product list",
            )
            assert set(opts) == set(s.catalog.ids), opts
            assert await cdp.js("document.getElementById('error').textContent") == ""

            # say now -> the operator line in the store's transcript, phrase by phrase
            # (a say-now line starts with its opening clause: talk/prefetch.operator_phrases)
            await cdp.js(
                f"document.getElementById('say-text').value = {json.dumps(line)};"
                "document.getElementById('say-now').click(); true"
            )

            def said() -> str:
                return " ".join(t.text for t in s.store.transcript() if t.source == "operator")

            await until(lambda: said() == line, 5, "the operator line in the transcript")
            for phrase in ("Operator here:", "the kettle sale ends at midnight."):
                await cdp.until(
                    "document.getElementById('transcript').innerText"
                    f".includes({json.dumps(phrase)})",
                    5,
                    "the operator line on the page",
                )

            # product switcher
            before = s.director.current_product
            target = next(p for p in opts if p != before)
            await cdp.js(
                "(() => { const sel = document.getElementById('product');"
                f" sel.value = {json.dumps(target)};"
                " sel.dispatchEvent(new Event('change')); return true; })()"
            )
            await until(lambda: s.director.current_product == target, 3, "the product switch")

            # a chat line appears with a ban button; banning blocks the user's next one
            user = "loud_larry"
            s.submit_chat({"user": user, "text": "hello host, love the stream"})
            sel = f"#chat div[data-user={json.dumps(user)}] button.ban"
            await cdp.until(f"!!document.querySelector({json.dumps(sel)})", 5, "the chat line")
            await cdp.js(f"document.querySelector({json.dumps(sel)}).click(); true")
            await until(lambda: bool(s.moderator.banned), 3, "the ban")
            ev, decision = s.submit_chat({"user": user, "text": "hello again"})
            assert decision == "blocked"
            rows = [r for r in s.store.chat_rows() if r[0] == ev.trace_id]
            assert rows and rows[0][3:] == ("blocked", "banned_user"), rows

            # stop: the player goes silent within a second
            await until(lambda: not s.player.idle, 8, "speech playing")
            await cdp.js("document.getElementById('stop').click(); true")
            await until(lambda: s.player.idle, 1.0, "the player to go idle")

            # the last error reply is shown: a bad product is named on the page
            await cdp.js("send({type: 'product', product: 'no-such-thing'}); true")
            err = await cdp.until(
                "document.getElementById('error').textContent",
                3,
                "the error shown",
            )
            assert "unknown_product" in err, err
            # the muted preview plays the stream; a few seconds of metrics charted
            await cdp.until(
                "(() => { const v = document.getElementById('video');"
                " return v.videoWidth > 0 && v.currentTime > 0 && v.muted; })()",
                30,  # WebRTC setup on a loaded 2-core CI machine
                "the preview playing",
            )
            await cdp.until("operator.metrics >= 4", 6, "four metrics events")
            await asyncio.sleep(0.3)
            shot = await cdp.call("Page.captureScreenshot", format="png")
            png = base64.b64decode(shot["data"])
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            Path("/tmp/operator.png").write_bytes(png)
        assert not task.done()
