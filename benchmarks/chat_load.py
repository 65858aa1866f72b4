"""How much chat can one core take, and does a chat flood hurt a running stream?

Part 1 (``chat_events_per_s_per_core``): the chat hot path on ONE core, single thread, CPU time
(``time.process_time``): ``intake.parse_chat`` of the JSON bytes exactly as they arrive on
``/chat``, then ``Moderator.check`` (the engine's blocklists), then ``Triage.offer`` with the
engine's real classifier (``make_classifier`` over the TemplateGenerator's Retriever and the
default catalog) and a ``pop`` every few offers, as the director would. Messages come from
``ChatSimulator.generate`` with its default mix (questions, greetings, chatter, spam, likes, gifts,
follows, joins, ...) in en/de/it/zh; events reach triage with no language set, as on ``/chat``.
Each part is also reported on its own (``parse_events_per_s``, ``moderation_events_per_s``,
``triage_events_per_s``; the last counts the events that passed moderation).

Part 2 (flood): the real Engine in this process (default config, but ``chat.dedupe_window_s = 0``
so the same question may be asked again; real clock), its HTTP app on 127.0.0.1. AV frames are
timed by wrapping ``stream.loop.sink``. A QUIET phase: an asker in this event loop asks a product
price question over the ``/chat`` WebSocket every ``--ask-every`` s (default 6) (rotating products, a new user each
time). Then a FLOOD phase of the same length: the same asker, plus a separate flooder PROCESS
sending ``--rate`` msgs/s over several ``/chat`` WebSockets in batches every 10 ms (and reading
every reply). The flood holds chatter, spam/links/abuse, greetings, likes and joins - no product
questions and no gifts, so the asker's questions never queue behind the flood's own questions or
thank-yous (greetings rank below questions in triage; what is measured is the flood's cost, not a
longer queue). Answer latency = the answer's ``aired_at`` - the question's ``received_at`` (media
seconds, from the store; the answer is the transcript line whose ``reply_to`` is the question's
trace id from the /chat reply).

    python benchmarks/chat_load.py [--json PATH] [--quick] [--seconds N] [--rate N]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _chat_flood import FLOOD_MIX, chat_simulator, measure_flood, wire_bytes  # noqa: E402
from _common import (  # noqa: E402
    Results,
    arg_parser,
    machine_info,
    ms,
    report,
)

NAME = "chat_load"
POP_EVERY = 4  # the director pops roughly once per few offers under load


# -- part 1: events per second on one core -----------------------------------------------------


def measure_hot_path(res: Results, n: int, rounds: int) -> dict[str, Any]:
    from streamhost.chat.intake import parse_chat
    from streamhost.chat.moderation import Moderator, load_blocklists
    from streamhost.chat.triage import Triage, _detect_language, make_classifier
    from streamhost.config import load_config
    from streamhost.talk.catalog import load_catalog
    from streamhost.talk.generator import TemplateGenerator

    cfg = load_config()
    c = cfg.chat
    catalog = load_catalog(cfg.talk.catalog)
    moderator = Moderator(load_blocklists(c.blocklists), max_chars=cfg.talk.max_chat_chars)
    gen = TemplateGenerator(
        catalog, lang=cfg.stream.language, seed=cfg.talk.seed, name_ok=moderator.name_ok
    )
    current = catalog.ids[0]
    classify = make_classifier(gen.retriever, catalog, current_product=lambda: current)

    def new_triage() -> Triage:
        return Triage(
            classify,
            max_queue=c.max_queue,
            max_age_s=cfg.talk.max_question_age_s,
            per_user_burst=c.per_user_burst,
            per_user_window_s=c.per_user_window_s,
            dedupe_window_s=c.dedupe_window_s,
            lang=cfg.stream.language,
        )

    sim = chat_simulator(catalog, seed=1)
    wire = [wire_bytes(sim.generate(0.0)) for _ in range(n)]
    max_chars = cfg.talk.max_chat_chars
    rate = 5000.0  # media time advances as if the messages came at 5,000/s

    def one_round(cold: bool = False) -> tuple[float, float, float, int, dict[str, int]]:
        nonlocal moderator, classify
        if cold:  # fresh caches: every distinct text is seen for the first time
            moderator = Moderator(load_blocklists(c.blocklists), max_chars=max_chars)
            classify = make_classifier(gen.retriever, catalog, current_product=lambda: current)
            _detect_language.cache_clear()
        t0 = time.process_time()
        evs = [parse_chat(raw, max_chars, i / rate) for i, raw in enumerate(wire)]
        t1 = time.process_time()
        verdicts = [moderator.check(ev) for ev in evs]
        t2 = time.process_time()
        tri = new_triage()
        k = 0
        for ev, v in zip(evs, verdicts, strict=True):
            if v.allowed:
                tri.offer(ev, ev.received_at)
                k += 1
                if k % POP_EVERY == 0:
                    tri.pop(ev.received_at)
        t3 = time.process_time()
        return t1 - t0, t2 - t1, t3 - t2, k, tri.stats["actions"]

    one_round()  # warm-up: lazily compiled patterns
    tp, tm, tt, k, _ = one_round(cold=True)
    res.add("chat_events_per_s_per_core_cold_caches", n / (tp + tm + tt), "events/s", 0)
    one_round()  # caches warm, as in a running stream
    best: tuple[float, float, float, int, dict[str, int]] | None = None
    for _ in range(rounds):
        r = one_round()
        if best is None or sum(r[:3]) < sum(best[:3]):
            best = r
    assert best is not None
    tp, tm, tt, k, actions = best
    res.add("chat_events_per_s_per_core", n / (tp + tm + tt), "events/s", 0)
    res.add("parse_events_per_s", n / tp, "events/s", 0)
    res.add("moderation_events_per_s", n / tm, "events/s", 0)
    res.add("triage_events_per_s", k / tt, "events/s", 0)
    res.add("chat_us_per_event", ms(tp + tm + tt) * 1000 / n, "us", 2)
    distinct = len({(ev.text, ev.kind) for ev in (parse_chat(w, max_chars, 0.0) for w in wire)})
    return {
        "distinct_texts": distinct,
        "messages": n,
        "rounds": rounds,
        "allowed": k,
        "triage_actions": actions,
    }


# -- main ---------------------------------------------------------------------------------------


def main() -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=None, help="each phase (default 60; 15)")
    ap.add_argument("--rate", type=float, default=5000.0, help="flood msgs/s (default 5000)")
    ap.add_argument(
        "--ask-every",
        type=float,
        default=6.0,
        help="seconds between the asker's questions (default 6: slower than the host "
        "answers, so the quiet baseline is not a queue)",
    )
    ap.add_argument("--conns", type=int, default=4, help="flood WebSockets (default 4)")
    ap.add_argument("--messages", type=int, default=None, help="part 1 messages (default 20000)")
    ap.add_argument("--no-flood", action="store_true", help="only part 1")
    args = ap.parse_args()
    phase_s = args.seconds or (15.0 if args.quick else 60.0)
    n = args.messages or (5000 if args.quick else 20000)
    rounds = 2 if args.quick else 5
    res = Results(
        NAME,
        config={
            "messages": n,
            "pop_every": POP_EVERY,
            "phase_seconds": 0 if args.no_flood else phase_s,
            "flood_rate_per_s": args.rate,
            "flood_connections": args.conns,
            "flood_mix": FLOOD_MIX,
            "ask_every_s": args.ask_every,
            "dedupe_window_s": 0.0,
            "quick": bool(args.quick),
            "cpu_time": "part 1: time.process_time, one thread, best of rounds",
        },
    )
    machine = machine_info(extra_modules=("aiohttp",))
    res.config["hot_path"] = measure_hot_path(res, n, rounds)
    if not args.no_flood:
        res.config["flood_run"] = measure_flood(res, phase_s, args.rate, args.conns, args.ask_every)
    report(res, args.json, machine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
