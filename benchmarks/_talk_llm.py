"""benchmarks/talk.py (d): the LLM path in real time against tests/fake_llm.py (question ->
first guarded sentence, cancel -> the server sees the disconnect). See talk.py's docstring."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from _common import Results, percentile  # noqa: E402

LANGS = ("en", "de", "it", "zh")
TTFT_S = 0.300  # the fake server's time to first token
TOKENS_PER_S = 100.0
# -- (d) LLM path in real time -------------------------------------------------------------------


async def _llm_path(talks: dict[str, Any], n: int, llm_like_answers: Any) -> dict[str, Any]:
    from fake_llm import FakeLlmServer, Script, tokenize

    from streamhost.chat.triage import Priority
    from streamhost.frames import ChatEvent
    from streamhost.talk.director import _ANSWER_ORDER
    from streamhost.talk.llm import GuardRejected, LlmGenerator, LlmTalk
    from streamhost.talk.sentences import SentenceCutter

    first_ms: list[float] = []
    floor_ms: list[float] = []
    cancel_ms: list[float] = []
    sent_after_cancel: list[int] = []
    errors: list[str] = []
    long_text = " ".join(f"This is sentence number {i} of a very long answer." for i in range(300))
    async with FakeLlmServer(Script(ttft=TTFT_S, tokens_per_s=TOKENS_PER_S)) as srv:
        llms = {lg: LlmGenerator(srv.base_url, "fake-model") for lg in talks}
        adapters = {
            lg: LlmTalk(llms[lg], t.catalog, lg, guard=t.guard, name_ok=t.moderator.name_ok)
            for lg, t in talks.items()
        }
        for lg, a in adapters.items():
            a.price_now = talks[lg].price_spoken_now
        try:
            for i in range(n):
                lang = LANGS[i % len(LANGS)]
                t, talk = talks[lang], adapters[lang]
                pid = t.catalog.ids[i % len(t.catalog.ids)]
                answers = dict(llm_like_answers(t.catalog, lang, t.price_spoken_now))
                text = answers[pid]
                c = SentenceCutter()
                cut = c.feed(text) + c.flush()
                toks = tokenize(text)
                # tokens up to the end of the first sentence, plus one the cutter must see
                k, acc = 0, ""
                while k < len(toks) and len(acc.strip()) < len(cut[0]):
                    acc += toks[k]
                    k += 1
                q = {"en": "how much is the {p}?", "de": "Was kostet {p}?",
                     "it": "quanto costa {p}?", "zh": "{p}多少钱？"}[lang]  # fmt: skip
                now = 100_000.0 + i  # after phase (a)'s media times
                ev = ChatEvent(user=f"llmviewer{i}", text=q.format(p=t.catalog.get(pid).name(lang)),
                               user_id=f"l{i}", received_at=now)  # fmt: skip
                t.current = pid
                t0 = time.perf_counter()
                if not t.moderator.check(ev).allowed:
                    errors.append(f"blocked: {ev.text}")
                    continue
                t.triage.offer(ev, now)
                item = t.triage.pop(now, order=_ANSWER_ORDER)
                if item is None or item.priority is not Priority.QUESTION:
                    errors.append(f"not a question: {ev.text}")
                    continue
                # the server's answer for this request (queued only once a request will follow)
                srv.scripts.append(Script(text, ttft=TTFT_S, tokens_per_s=TOKENS_PER_S))
                floor = (TTFT_S + min(k, len(toks) - 1) / TOKENS_PER_S) * 1000.0
                got = 0
                try:
                    async with contextlib.aclosing(talk.answer(item.event, t.current)) as it:
                        async for _s in it:
                            if got == 0:
                                first_ms.append((time.perf_counter() - t0) * 1000.0)
                                floor_ms.append(floor)
                            got += 1
                except GuardRejected as e:
                    errors.append(f"guard: {e.reason}: {e.sentence.text}")

            # cancel -> the server sees the disconnect
            for i in range(n):
                idx = len(srv.records)
                srv.scripts.append(Script(long_text, ttft=TTFT_S, tokens_per_s=TOKENS_PER_S))
                llm = llms["en"]
                cancel = asyncio.Event()
                t_cancel = 0.0
                got = 0
                busy = i % 2 == 1
                async with contextlib.aclosing(
                    llm.stream_sentences([{"role": "user", "content": "x"}], cancel=cancel)
                ) as it:
                    async for _s in it:
                        got += 1
                        if got == 1:
                            t_cancel = time.monotonic()
                            cancel.set()  # as Director.interrupt does
                            if busy:  # the consumer is busy elsewhere (TTS)
                                await asyncio.sleep(0.2)
                rec = srv.records[idx]  # this request's record (the server writes it)
                deadline = time.monotonic() + 2.0
                while rec.disconnected_at is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.001)
                if rec.disconnected_at is None:
                    errors.append("cancel: the server never saw a disconnect")
                    continue
                cancel_ms.append((rec.disconnected_at - t_cancel) * 1000.0)
                sent_after_cancel.append(sum(1 for x in rec.token_times if x > t_cancel + 0.001))
        finally:
            for llm in llms.values():
                await llm.aclose()
    return {
        "first_ms": first_ms,
        "floor_ms": floor_ms,
        "cancel_ms": cancel_ms,
        "sent_after_cancel": sent_after_cancel,
        "errors": errors,
    }


def measure_llm(
    res: Results, talks: dict[str, Any], n: int, llm_like_answers: Any
) -> dict[str, Any]:
    """``llm_like_answers(catalog, lang, price_now)``: (product, answer text) pairs the fake
    server streams."""
    r = asyncio.run(_llm_path(talks, n, llm_like_answers))
    first, floor, cancel = r["first_ms"], r["floor_ms"], r["cancel_ms"]
    res.add("llm_question_to_first_sentence_p50_ms", percentile(first, 50), "ms", 1)
    res.add("llm_question_to_first_sentence_p95_ms", percentile(first, 95), "ms", 1)
    res.add("llm_first_sentence_floor_p50_ms", percentile(floor, 50), "ms", 1)
    over = [a - b for a, b in zip(first, floor, strict=False)]
    res.add("llm_first_sentence_overhead_p95_ms", percentile(over, 95), "ms", 1)
    res.add("llm_cancel_to_disconnect_p50_ms", percentile(cancel, 50), "ms", 2)
    res.add("llm_cancel_to_disconnect_p95_ms", percentile(cancel, 95), "ms", 2)
    res.add("llm_cancel_to_disconnect_max_ms", max(cancel) if cancel else None, "ms", 2)
    res.add("llm_tokens_sent_after_cancel_max", max(r["sent_after_cancel"], default=None), "", 0)
    res.add("llm_errors", len(r["errors"]), "", 0)
    return {
        "requests": n,
        "ttft_s": TTFT_S,
        "tokens_per_s": TOKENS_PER_S,
        "errors": r["errors"][:10],
    }
