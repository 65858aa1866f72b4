"""How fast does the host find its first words after a question, on the template and LLM paths?

Everything runs in this process, pinned to ONE core (``os.sched_setaffinity``), on the default
config: the demo catalog, the demo run of show (prices spoken "now", flash sales included, as
``Stream.price_spoken_now`` does) and the engine's moderation blocklists.

(a) Template path (``template_question_to_text_p50/p95/p99_ms``): for each question, wall time
(``time.perf_counter``) of exactly what the engine and the director do between a chat message and
the text of the first sentence: ``Moderator.check`` -> ``Triage.offer`` (the engine's classifier
over the TemplateGenerator's Retriever) -> ``Triage.pop`` (the director's answer order) ->
``TemplateGenerator.answer`` -> ``Guard.check`` of the first sentence. One stream per language
(en, de, it, zh), each asked questions in its own language: price, feature, FAQ (the catalog's
own questions and paraphrases) and unknown ("what colours...?"), about named products or "it"
(the product on screen, which rotates), with varied greetings/suffixes and a new user each time
(``chat.dedupe_window_s = 0`` so every question is answered, not merged). Questions triage
does not rank as answerable get no sentence, as in the director; they are counted, not timed.

(b) ``guard_us_per_sentence``: ``Guard.check`` per sentence over template sentences (segments
and answers, all languages) and LLM-like sentences (right prices, invented prices and numbers,
forbidden claims, wrong language).

(c) ``sentence_cutter_us_per_token``: ``SentenceCutter.feed`` over LLM-like answers in four
languages split into tokens the way tests/fake_llm.py does (CJK one char per token, Latin
pieces of <= 6 characters), plus ``flush``.

(d) LLM path, in REAL time, against tests/fake_llm.py's OpenAI-compatible SSE server on
127.0.0.1 with a time to first token of 300 ms and 100 tokens/s: question -> moderation ->
triage -> ``LlmTalk.answer`` (prompt building, HTTP streaming, SentenceCutter, Guard) -> the
first guarded sentence (``llm_question_to_first_sentence_p50/p95_ms``; the floor the server
imposes - TTFT plus the first sentence's tokens plus the one token the cutter must see after a
terminator - is reported beside it). Then cancel: once the first sentence of a long answer is
out, the cancel event is set (as ``Director.interrupt`` does) and the time until the server's
handler sees the client disconnect is ``llm_cancel_to_disconnect_p50/p95_ms`` (half the
requests with the consumer iterating, half with it busy elsewhere for 200 ms).

(e) ``templates_per_language_min``: the fewest templates any language has
(``TemplateGenerator.template_counts()``), with each language's count.

(f) ``language_foreign_found_pct`` / ``language_own_switched_pct``: the short questions of
tests/data/language_questions.json (en/de/it, most without a stopword) asked on an en, de and
it stream: the share of foreign-language cases detected as their language, and of
stream-language cases taken away from the stream's language.

(h) ``viewer_requests_as_labelled_pct``: tests/data/viewer_requests.json (929 chat messages
in four languages: "show me the lamp", "what if it breaks?", "how much for two?", small talk,
purchases, a detail only another product has, product questions in de/it/zh, live-chat
styles), each labelled with the outcome a viewer would expect; the misses are listed in the
JSON's config. Written in twelve sets over two sessions and mended after each (sets 3 to 12
written blind: 94 of 106, 62 of 71, 43 of 62, 82 of 85, 49 of 63, 67 of 68, 67 of 78, 48 of
60, 37 of 60 and 35 of 45 as expected before their fixes): a regression guard more than a
blind measure.

(g) ``shop_faq_answered_pct`` / ``shop_faq_wrong_pct``: the questions about shipping, returns
and payment of tests/data/shop_questions.json (four languages, chat's own words: "Lieferzeit?",
"refund policy?", 几天到货？) through moderation, triage and the generator: the share of those
with a right entry that get it, and of all that get a wrong answer (another entry, a price, a
feature) rather than the right one or the operator.

    python benchmarks/talk.py [--json PATH] [--quick] [--questions N] [--llm-requests N]
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import (  # noqa: E402
    Results,
    arg_parser,
    machine_info,
    mean,
    percentile,
    pin_one_core,
    print_table,
    write_json,
)
from _talk_bank import question_bank, vary  # noqa: E402
from _talk_llm import LANGS, TOKENS_PER_S, TTFT_S, measure_llm  # noqa: E402

NAME = "talk"
TARGETS = {
    "template_question_to_text_p95_ms": ("<=", 5.0),
    "faq_accuracy_pct": (">=", 100.0),
    "faq_paraphrase_accuracy_pct": (">=", 90.0),
    "spec_value_answered_pct": (">=", 90.0),
    "distinct_phrase_pct": (">=", 80.0),
    "questions_silently_dropped": ("<=", 0),
    "shop_faq_wrong_pct": ("<=", 0.0),
}

# -- the engine's talk objects, per stream language ----------------------------------------------


class Talk:
    """One stream language's moderator, triage, generator and guard, wired as in the engine."""

    def __init__(self, cfg: Any, catalog: Any, show: Any, lang: str) -> None:
        from datetime import datetime

        from streamhost.chat.moderation import Moderator, load_blocklists
        from streamhost.chat.triage import Triage, make_classifier
        from streamhost.talk.generator import TemplateGenerator
        from streamhost.talk.guard import Guard

        c = cfg.chat
        self.lang = lang
        self.catalog = catalog
        self.show = show
        self.wall_start = datetime.now().astimezone()
        self.media_t = 0.0
        self.moderator = Moderator(load_blocklists(c.blocklists), max_chars=cfg.talk.max_chat_chars)
        self.gen = TemplateGenerator(
            catalog, lang=lang, seed=cfg.talk.seed, name_ok=self.moderator.name_ok
        )
        self.gen.price_now = self.price_spoken_now
        extra: dict[str, list] = {}
        for fs in show.flash_sales if show is not None else []:
            extra.setdefault(fs.product_id, []).append(fs.price)
        self.guard = Guard(
            catalog,
            lang,
            extra_prices=extra,
            extra_numbers=show.numbers() if show is not None else (),
        )
        self.current: str | None = catalog.ids[0]
        self.triage = Triage(
            make_classifier(self.gen.retriever, catalog, current_product=lambda: self.current),
            max_queue=c.max_queue,
            max_age_s=cfg.talk.max_question_age_s,
            per_user_burst=c.per_user_burst,
            per_user_window_s=c.per_user_window_s,
            dedupe_window_s=0.0,  # every question is answered (not merged with an earlier one)
            lang=lang,
        )

    def price_spoken_now(self, product_id: str, lang: str) -> str:
        """As Stream.price_spoken_now: the show's price at this media time."""
        if self.show is not None:
            return self.show.price_spoken(product_id, lang, self.media_t, self.wall_start)
        return self.catalog.get(product_id).price_spoken(lang)


# -- (a) template path ---------------------------------------------------------------------------


def measure_template(res: Results, talks: dict[str, Talk], n: int, seed: int) -> dict[str, Any]:
    from streamhost.chat.triage import Priority
    from streamhost.frames import ChatEvent
    from streamhost.talk.director import _ANSWER_ORDER

    rng = random.Random(seed)
    banks = {lg: question_bank(t.catalog, lg) for lg, t in talks.items()}
    ids = next(iter(talks.values())).catalog.ids

    def run(count: int) -> dict[str, Any]:
        times: list[float] = []
        by_kind: dict[str, list[float]] = {}
        by_lang: dict[str, list[float]] = {}
        counts = {"asked": 0, "blocked": 0, "not_answered": 0, "guard_rejected": 0}
        texts: set[str] = set()
        skipped: dict[str, int] = {}
        for i in range(count):
            lang = LANGS[i % len(LANGS)]
            t = talks[lang]
            if i % 40 == 0:  # the product on screen rotates
                t.current = ids[(i // 40) % len(ids)]
            kind, text = rng.choice(banks[lang])
            text = vary(text, lang, rng)
            texts.add(text)
            now = i * 0.5
            ev = ChatEvent(user=f"viewer{i}", text=text, user_id=f"u{i}", received_at=now)
            counts["asked"] += 1
            t0 = time.perf_counter()
            v = t.moderator.check(ev)
            first = None
            ok = True
            if v.allowed:
                t.triage.offer(ev, now)
                item = t.triage.pop(now, order=_ANSWER_ORDER)
                if item is not None and item.priority in (Priority.QUESTION, Priority.GREETING):
                    out = t.gen.answer(item.event, t.current)
                    if out:
                        first = out[0]
                        ok = t.guard.check(first).ok
            t1 = time.perf_counter()
            if not v.allowed:
                counts["blocked"] += 1
                continue
            if first is None:
                counts["not_answered"] += 1
                skipped[kind] = skipped.get(kind, 0) + 1
                continue
            if not ok:
                counts["guard_rejected"] += 1
            ms = (t1 - t0) * 1000.0
            times.append(ms)
            by_kind.setdefault(kind, []).append(ms)
            by_lang.setdefault(lang, []).append(ms)
        return {
            "times": times,
            "by_kind": by_kind,
            "by_lang": by_lang,
            "counts": counts,
            "distinct": len(texts),
            "not_answered_by_kind": skipped,
        }

    run(min(400, n))  # warm-up: lazily compiled patterns, first imports
    r = run(n)
    times = r["times"]
    res.add("template_question_to_text_p50_ms", percentile(times, 50), "ms", 4)
    res.add("template_question_to_text_p95_ms", percentile(times, 95), "ms", 4)
    res.add("template_question_to_text_p99_ms", percentile(times, 99), "ms", 4)
    res.add("template_question_to_text_max_ms", max(times) if times else None, "ms", 4)
    for lg in LANGS:
        res.add(f"template_{lg}_p95_ms", percentile(r["by_lang"].get(lg, []), 95), "ms", 4)
    for kind in ("price", "feature", "faq", "unknown"):
        res.add(f"template_{kind}_p95_ms", percentile(r["by_kind"].get(kind, []), 95), "ms", 4)
    res.add("template_questions_timed", len(times), "questions", 0)
    res.add("template_questions_not_answered", r["counts"]["not_answered"], "questions", 0)
    res.add(
        "template_questions_not_answered_share",
        r["counts"]["not_answered"] / max(1, n - r["counts"]["blocked"]),
        "",
        3,
    )
    res.add("template_first_sentence_guard_rejections", r["counts"]["guard_rejected"], "", 0)
    return {
        **r["counts"],
        "distinct_texts": r["distinct"],
        "not_answered_by_kind": r["not_answered_by_kind"],
        "not_answered_means": "triage ranked the question Priority.OTHER (ignored as chatter)",
    }


# -- (b) guard -----------------------------------------------------------------------------------


def llm_like_answers(catalog: Any, lang: str, price_now: Any) -> list[tuple[str, str]]:
    """(product id, answer text) an instruction-following model would write, per product."""
    out = []
    for p in catalog:
        name = p.name(lang)
        price = price_now(p.id, lang)
        feats, _ = p.features_in(lang)
        f = feats[0] if feats else ""
        text = {
            "en": f"The {name} is just {price} right now. It has {f}. "
            "Honestly, it is one of my favourites tonight. Tap the cart below to get yours!",
            "de": f"{name} kostet gerade nur {price}. Das Beste daran: {f}. "
            "Ich finde es wirklich toll. Tippt unten auf den Warenkorb!",
            "it": f"{name} costa solo {price} adesso. Ha {f}. "
            "Secondo me è davvero bello. Tocca il carrello qui sotto!",
            "zh": f"{name}现在只要{price}。它有{f}。我真的很喜欢。点击下方购物车就可以下单！",
        }[lang]
        out.append((p.id, text))
    return out


BAD = {
    "en": ["The kettle costs 19 euros today.", "It cures headaches and is 100% safe.",
           "You get 50% off if you order in the next 3 minutes.",
           "Der Wasserkocher ist sehr gut und auch schön.",
           "It is clinically proven to last 12 years."],
    "de": ["Der Wasserkocher kostet heute nur 19 Euro.", "Er heilt Kopfschmerzen, garantiert.",
           "Ihr bekommt 50 Prozent Rabatt.", "The kettle is really great and also cheap."],
    "it": ["Il bollitore costa solo 19 euro oggi.", "Guarisce il mal di testa, garantito.",
           "Avete il 50% di sconto.", "The kettle is really great and also cheap."],
    "zh": ["电热水壶今天只要19欧元。", "它能治疗头痛，百分之百安全。", "下单立减50%。",
           "The kettle is really great and cheap."],
}  # fmt: skip


def measure_guard(res: Results, talks: dict[str, Talk], rounds: int) -> dict[str, Any]:
    from streamhost.frames import Sentence, Source
    from streamhost.talk.sentences import SentenceCutter

    items = []  # (talk, sentence, kind)
    for lg, t in talks.items():
        for pid in t.catalog.ids:
            for _ in range(4):
                items += [(t, s, "template") for s in t.gen.next_segment(pid)]
        for pid, text in llm_like_answers(t.catalog, lg, t.price_spoken_now):
            cut = SentenceCutter()
            for s in cut.feed(text) + cut.flush():
                items.append((t, Sentence(s, Source.LLM, lg, pid), "llm"))
        for text in BAD[lg]:
            items.append((t, Sentence(text, Source.LLM, lg, "kettle"), "llm"))
    samples: dict[str, list[float]] = {"template": [], "llm": []}
    rejected = {"template": 0, "llm": 0}
    for r in range(rounds + 1):
        for t, s, kind in items:
            t0 = time.perf_counter_ns()
            ok = t.guard.check(s).ok
            dt = (time.perf_counter_ns() - t0) / 1000.0
            if r == 0:  # warm-up round: count verdicts only
                rejected[kind] += not ok
                continue
            samples[kind].append(dt)
    allv = samples["template"] + samples["llm"]
    res.add("guard_us_per_sentence", mean(allv), "us", 2)
    res.add("guard_us_per_sentence_p50", percentile(allv, 50), "us", 2)
    res.add("guard_us_per_sentence_p95", percentile(allv, 95), "us", 2)
    res.add("guard_template_us_p50", percentile(samples["template"], 50), "us", 2)
    res.add("guard_llm_like_us_p50", percentile(samples["llm"], 50), "us", 2)
    res.add("guard_llm_like_us_p95", percentile(samples["llm"], 95), "us", 2)
    n_t = sum(1 for *_, k in items if k == "template")
    return {
        "sentences_template": n_t,
        "sentences_llm_like": len(items) - n_t,
        "rejected_template": rejected["template"],
        "rejected_llm_like": rejected["llm"],
        "rounds": rounds,
    }


# -- (c) sentence cutter -------------------------------------------------------------------------


def measure_cutter(res: Results, talks: dict[str, Talk], rounds: int) -> dict[str, Any]:
    from fake_llm import tokenize

    from streamhost.talk.sentences import SentenceCutter

    streams = []
    for lg, t in talks.items():
        text = " ".join(a for _, a in llm_like_answers(t.catalog, lg, t.price_spoken_now))
        text += {
            "en": " E.g. the lamp has 5 colour temperatures, i.e. warm to cool... and more!",
            "de": " Z.B. hat die Lampe 5 Farbtemperaturen, d.h. warm bis kalt... und mehr!",
            "it": " Ad es. la lampada ha 5 temperature di colore... e altro ancora!",
            "zh": "“台灯有5种色温。”还有更多！",
        }[lg]
        streams.append(tokenize(text))
    n_tokens = sum(len(s) for s in streams)
    per_round: list[float] = []
    sentences = 0
    for r in range(rounds + 1):
        t0 = time.perf_counter_ns()
        k = 0
        for toks in streams:
            c = SentenceCutter()
            for tok in toks:
                k += len(c.feed(tok))
            k += len(c.flush())
        dt = time.perf_counter_ns() - t0
        if r:
            per_round.append(dt / 1000.0 / n_tokens)
        sentences = k
    res.add("sentence_cutter_us_per_token", percentile(per_round, 50), "us", 3)
    return {"tokens": n_tokens, "sentences": sentences, "rounds": rounds}


# -- main ----------------------------------------------------------------------------------------


def main() -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--questions", type=int, default=None, help="template questions (4000)")
    ap.add_argument("--llm-requests", type=int, default=None, help="LLM requests (20)")
    args = ap.parse_args()
    n_q = args.questions or (600 if args.quick else 4000)
    n_llm = args.llm_requests or (6 if args.quick else 20)
    core = pin_one_core()
    machine = machine_info()

    from streamhost.config import load_config
    from streamhost.talk.catalog import load_catalog
    from streamhost.talk.show_parse import load_show

    cfg = load_config()
    catalog = load_catalog(cfg.talk.catalog)
    show = load_show(cfg.talk.show, catalog, default_lang="en") if cfg.talk.show else None
    talks = {lg: Talk(cfg, catalog, show, lg) for lg in LANGS}
    res = Results(
        NAME,
        config={
            "catalog": Path(cfg.talk.catalog).name,
            "show": Path(cfg.talk.show).name if cfg.talk.show else None,
            "languages": list(LANGS),
            "pinned_core": core,
            "template_questions": n_q,
            "llm_requests": n_llm,
            "llm_ttft_s": TTFT_S,
            "llm_tokens_per_s": TOKENS_PER_S,
            "quick": bool(args.quick),
            "timing": "wall time (perf_counter) in one thread pinned to one core",
            "targets": {k: f"{op} {v}" for k, (op, v) in TARGETS.items()},
        },
    )

    res.config["template"] = measure_template(res, talks, n_q, seed=7)
    res.config["guard"] = measure_guard(res, talks, rounds=3 if args.quick else 10)
    res.config["cutter"] = measure_cutter(res, talks, rounds=20 if args.quick else 200)
    counts = talks["en"].gen.template_counts()
    res.add("templates_per_language_min", min(counts.values()), "templates", 0)
    for lg in LANGS:
        res.add(f"templates_{lg}", counts[lg], "templates", 0)
    res.config["llm"] = measure_llm(res, talks, n_llm, llm_like_answers)
    from _talk_quality import measure_faq, measure_specs
    from _talk_questions import (
        measure_language,
        measure_questions,
        measure_shop,
        measure_viewer_requests,
    )
    from _talk_variety import measure_variety

    res.config["faq"] = measure_faq(res, catalog, LANGS)
    res.config["specs"] = measure_specs(res, catalog, LANGS)
    res.config["questions"] = measure_questions(res)
    res.config["viewer_requests"] = measure_viewer_requests(res)
    res.config["language"] = measure_language(res)
    res.config["shop"] = measure_shop(res)
    res.config["variety"] = measure_variety(res, cfg, question_bank, vary, minutes=60.0)

    print_table(res)
    print("\ntargets:")
    for name, (op, target) in TARGETS.items():
        v = res.get(name)
        ok = v is not None and (v <= target if op == "<=" else v >= target)
        print(f"  {name} = {v} (target {op} {target}): {'ok' if ok else 'MISSED'}")
    if args.json:
        write_json(args.json, res, machine)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
