"""Triage: priority order, dedupe, rate limits, flood eviction, bounded memory, staleness,
gift streaks, language tagging, properties, and speed (printed, not asserted)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamhost.chat.triage import Priority, Triage, make_classifier
from streamhost.frames import ChatEvent
from streamhost.talk.catalog import load_catalog
from streamhost.talk.retrieval import Retriever

ROOT = Path(__file__).resolve().parents[1]


def by_prefix(ev: ChatEvent) -> Priority:
    """Test classifier: the text starts with the priority name ("QUESTION how much")."""
    if ev.kind in ("gift", "purchase", "follow"):
        return Priority.THANKS
    head = ev.text.split(" ", 1)[0]
    return Priority[head] if head in Priority.__members__ else Priority.OTHER


def ev(text: str, user: str = "anna", **kw) -> ChatEvent:
    return ChatEvent(user=user, text=text, **kw)


@pytest.fixture(scope="module")
def classifier():
    catalog = load_catalog(ROOT / "assets" / "catalog" / "demo.json")
    return make_classifier(Retriever(catalog), catalog, current_product=lambda: "kettle")


def test_priority_then_age_order() -> None:
    t = Triage(by_prefix, per_user_burst=100)
    for i, text in enumerate(
        ["GREETING hi", "QUESTION a", "THANKS x", "QUESTION b", "OPERATOR say"]
    ):
        assert t.offer(ev(text, user=f"u{i}"), float(i)).action == "queued"
    got = [t.pop(10.0).event.text for _ in range(5)]
    assert got == ["OPERATOR say", "THANKS x", "QUESTION a", "QUESTION b", "GREETING hi"]
    assert t.pop(10.0) is None and len(t) == 0


def test_dedupe_merges_same_question_and_counts_askers() -> None:
    t = Triage(by_prefix, max_users_listed=3)
    first = t.offer(ev("QUESTION How much?", "a"), 0.0)
    assert first.action == "queued"
    for i, name in enumerate(["b", "c", "d", "e"]):
        d = t.offer(ev("QUESTION  how MUCH?", name), 1.0 + i)
        assert d.action == "merged" and d.item is first.item
    item = t.pop(5.0)
    assert item.count == 5 and item.users == ["a", "b", "c"]
    # Answered: asking again inside the window is merged (not answered twice) ...
    assert t.offer(ev("QUESTION how much?", "f"), 20.0).reason == "answered_recently"
    # ... and after the window it is a new question.
    assert t.offer(ev("QUESTION how much?", "g"), 40.0).action == "queued"


def test_default_classifier_dedupes_by_intent_and_product(classifier) -> None:
    t = Triage(classifier)
    d1 = t.offer(ev("how much is the kettle?", "a"), 0.0)
    d2 = t.offer(ev("Wie viel kostet der Wasserkocher?", "b"), 0.5)
    d3 = t.offer(ev("price?", "c"), 0.6)
    # The German asker is answered in German: same product, another language, another key.
    assert d1.action == "queued" and d2.action == "queued" and d3.action == "merged"
    assert d1.item.key == "price:kettle:en" and d1.item.count == 2
    assert d2.item.key == "price:kettle:de"
    # Stock questions worded differently are one question per product and language.
    s1 = t.offer(ev("is the kettle in stock?", "s"), 0.7)
    s2 = t.offer(ev("any kettles left?", "t"), 0.8)
    assert s1.action == "queued" and s2.action == "merged" and s1.item.key == "stock:kettle:en"
    assert t.offer(ev("hello!", "d"), 1.0).item.priority is Priority.GREETING
    assert t.offer(ev("lol", "e"), 1.0).action == "ignored"
    assert t.offer(ev("", "f", kind="purchase"), 1.0).item.priority is Priority.THANKS
    assert (
        t.offer(ev("say this", "op", platform="operator"), 1.0).item.priority is Priority.OPERATOR
    )


def test_rate_limit_per_user_refills() -> None:
    t = Triage(by_prefix, per_user_burst=3, per_user_window_s=10.0)
    acts = [t.offer(ev(f"QUESTION q{i}", "spammer"), 0.0).action for i in range(5)]
    assert acts == ["queued"] * 3 + ["rate_limited"] * 2
    assert t.offer(ev("QUESTION other", "someone"), 0.0).action == "queued"
    assert t.offer(ev("QUESTION later", "spammer"), 3.4).action == "queued"  # 1 token back
    # user_id wins over the display name (renaming does not reset the bucket)
    t2 = Triage(by_prefix, per_user_burst=1)
    assert t2.offer(ev("QUESTION a", "n1", user_id="42"), 0.0).action == "queued"
    assert t2.offer(ev("QUESTION b", "n2", user_id="42"), 0.0).action == "rate_limited"
    # operator messages are never rate limited
    assert all(t2.offer(ev(f"OPERATOR {i}", "op"), 0.0).action == "queued" for i in range(5))


def test_flood_evicts_lowest_priority_oldest_then_drops_newcomers() -> None:
    evicted = []

    def keyed(e: ChatEvent) -> tuple[Priority, str]:
        return by_prefix(e), e.text  # own key per text: greetings do not merge here

    t = Triage(keyed, max_queue=4, on_evict=evicted.append, per_user_burst=100)
    for i in range(2):
        t.offer(ev(f"GREETING g{i}", f"g{i}"), float(i))
        t.offer(ev(f"QUESTION q{i}", f"q{i}"), float(i))
    assert len(t) == 4
    d = t.offer(ev("THANKS t", "t"), 3.0)
    assert d.action == "queued" and d.evicted.event.text == "GREETING g0"
    assert [e.event.text for e in evicted] == ["GREETING g0"]
    d = t.offer(ev("QUESTION q2", "q2"), 3.0)
    assert d.evicted.event.text == "GREETING g1"
    d = t.offer(ev("GREETING late", "late"), 3.0)
    assert d.action == "dropped_flood" and len(t) == 4
    d = t.offer(ev("QUESTION q3", "q3"), 3.0)  # equal priority: the oldest question goes
    assert d.evicted.event.text == "QUESTION q0"
    assert t.stats["dropped"] == 4 and t.stats["evicted"] == 3


def test_greetings_merge_while_queued() -> None:
    t = Triage(by_prefix)
    assert t.offer(ev("GREETING hi", "a"), 0.0).action == "queued"
    assert t.offer(ev("GREETING hallo", "b"), 0.1).action == "merged"
    assert t.pop(1.0).users == ["a", "b"]
    assert t.offer(ev("GREETING ciao", "c"), 2.0).action == "queued"  # no "answered" memory


def test_stale_items_are_skipped_and_counted() -> None:
    t = Triage(by_prefix, max_age_s=20.0)
    t.offer(ev("QUESTION old", "a"), 0.0)
    t.offer(ev("QUESTION new", "b"), 15.0)
    assert t.pop(25.0).event.text == "QUESTION new"
    assert t.stats["stale"] == 1 and t.pop(25.0) is None


def test_gifts_thanked_once_per_streak_likes_counted() -> None:
    t = Triage(by_prefix)
    for i in range(5):
        d = t.offer(ev("", "fan", kind="gift", count=i + 1, streak_end=False), float(i))
        assert d.action == "ignored" and d.reason == "gift_streak"
    assert t.offer(ev("", "fan", kind="gift", count=6, streak_end=True), 5.0).action == "queued"
    assert t.offer(ev("", "x", kind="like", count=30), 5.0).action == "ignored"
    assert t.offer(ev("", "y", kind="join"), 5.0).action == "ignored"
    s = t.stats
    assert s["likes"] == 30 and s["kinds"]["gift"] == 6 and s["reasons"]["gift_streak"] == 5
    assert len(t) == 1


def test_language_is_set() -> None:
    t = Triage(by_prefix, lang="de")
    e1, e2, e3 = (
        ev("QUESTION 多少钱"),
        ev("QUESTION wie viel kostet der"),
        ev("QUESTION x", lang="it"),
    )
    for e in (e1, e2, e3):
        t.offer(e, 0.0)
    assert (e1.lang, e2.lang, e3.lang) == ("zh", "de", "it")
    assert t.stats["langs"]["zh"] == 1


def test_memory_bounded_under_100k_unique_users() -> None:
    t = Triage(by_prefix, max_queue=256, max_tracked_users=5_000, max_recent_keys=1_000)
    for i in range(100_000):
        now = i * 0.0001  # all inside one rate window: only the cap bounds buckets
        t.offer(ev(f"QUESTION unique question {i}", f"user{i}", lang="en"), now)
        if i % 3 == 0:
            t.pop(now)
    s = t.stats
    assert len(t) <= 256
    assert s["tracked_users"] <= 5_000 and s["tracked_keys"] <= 256 + 1_000
    assert sys.getsizeof(t._buckets) < 2_000_000
    assert s["received"] == 100_000


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(list(Priority)),
            st.integers(0, 30),  # user
            st.integers(0, 8),  # text variant (dedupe)
            st.booleans(),  # pop after?
            st.floats(0, 3),  # time step
        ),
        max_size=200,
    ),
    st.integers(1, 12),
)
def test_properties_queue_bound_and_pop_order(steps, max_queue) -> None:
    t = Triage(by_prefix, max_queue=max_queue, max_age_s=1e9)
    now = 0.0
    for prio, user, variant, do_pop, dt in steps:
        now += dt
        t.offer(ev(f"{prio.name} text {variant}", f"u{user}"), now)
        assert len(t) <= max_queue
        if do_pop:
            t.pop(now)
    # Draining pops in priority order, oldest first within a priority.
    got = []
    while (item := t.pop(now)) is not None:
        got.append((item.priority, item.seq))
    assert got == sorted(got)


def test_speed_printed(classifier) -> None:
    msgs = ["how much is the kettle?", "hi everyone!", "does it have a keep-warm mode?",
            "Wie viel kostet der Wasserkocher?", "quanto costa il bollitore?", "这个水壶多少钱？",
            "love this stream", "what colours do you have", "is it dishwasher safe?", "hello"]  # fmt: skip

    def cheap(e: ChatEvent) -> Priority:
        return Priority.QUESTION if "?" in e.text else Priority.GREETING

    def run(cl, n: int, preset_lang: bool) -> float:
        t = Triage(cl)
        evs = [
            ChatEvent(
                user=f"u{i % 5000}", text=f"{msgs[i % 10]} {i}", lang="en" if preset_lang else ""
            )
            for i in range(n)
        ]
        start = time.perf_counter()
        for i, e in enumerate(evs):
            t.offer(e, i * 0.001)
            if i % 2:
                t.pop(i * 0.001)
        return n / (time.perf_counter() - start)

    core = run(cheap, 50_000, True)
    with_lang = run(cheap, 20_000, False)
    full = run(classifier, 5_000, False)
    print(
        f"\ntriage offer(+pop every 2nd): {core:,.0f}/s core (lang preset, trivial classifier), "
        f"{with_lang:,.0f}/s with detect_language on unique texts, "
        f"{full:,.0f}/s with make_classifier (retrieval)"
    )


def test_product_questions_the_keyword_tables_miss_are_still_questions() -> None:
    from pathlib import Path

    from streamhost.chat.triage import make_classifier
    from streamhost.talk.catalog import load_catalog
    from streamhost.talk.retrieval import Retriever

    cat = load_catalog(Path(__file__).resolve().parents[1] / "assets" / "catalog" / "demo.json")
    classify = make_classifier(Retriever(cat), cat, current_product=lambda: "kettle")
    for text, lang in [
        ("does the kettle have a keep warm mode?", "en"),
        ("Can I use them with a cable?", "en"),
        ("what is special about the kettle?", "en"),
        ("电热水壶怎么卖？", "zh"),
        ("is it good for tea?", "en"),
    ]:
        assert classify(ChatEvent("a", text, lang=lang))[0] is Priority.QUESTION, text
    for text in ("anyone here?", "lol", "nice stream", "who else is up this late?",
                 "where is everyone?"):  # fmt: skip
        assert classify(ChatEvent("a", text, lang="en"))[0] is Priority.OTHER, text
    # Questions to the host with no product in them are questions (answered honestly, or
    # handed to the operator), in every language.
    for text, lang in [
        ("do you ship to Austria?", "en"),
        ("Liefert ihr auch nach Österreich?", "de"),
        ("Spedite anche in Svizzera?", "it"),
        ("你们包邮吗？", "zh"),
        ("Funktioniert er auch in den USA?", "de"),  # how it is used ([intent] use_it)
        ("does it work in the US?", "en"),
        ("Lieferzeit?", "de"),  # the shop's FAQ through [words] synonyms
        ("几天到货？", "zh"),
        ("can I pick it up?", "en"),  # where, when and pickup ([intent] ask_host)
        ("will I get it before the weekend?", "en"),
        ("Woher kommt das Produkt?", "de"),
        ("da dove viene?", "it"),
        ("可以自提吗？", "zh"),
        ("gibts das in blau?", "de"),  # gibt's: gibt es
    ]:
        assert classify(ChatEvent("a", text, lang=lang))[0] is Priority.QUESTION, text


def test_the_simulators_chatter_is_never_a_question() -> None:
    """A flood of "Will ich haben" ("I want it") once queued a how-to-buy answer per message
    (chat_load.py: flood answers 5 s late); chatter in any language stays chatter."""
    from pathlib import Path

    from streamhost.chat.simulator import CHATTER
    from streamhost.talk.catalog import load_catalog
    from streamhost.talk.retrieval import Retriever

    cat = load_catalog(Path(__file__).resolve().parents[1] / "assets" / "catalog" / "demo.json")
    classify = make_classifier(Retriever(cat), cat, current_product=lambda: "kettle")
    for lang, texts in CHATTER.items():
        for text in texts:
            got = classify(ChatEvent("a", text, lang=lang))[0]
            assert got is not Priority.QUESTION, (lang, text)


@pytest.mark.parametrize(
    ("text", "question"),
    [("whats the warranty on the headphones", True),  # typed without "?": still a question
     ("Whats the battery life of the headphones", True),
     ("wie lange hält der akku der kopfhörer", True),
     ("hat die lampe einen usb anschluss", True),  # a German yes-no question opens with its verb
     ("ist die lampe dimmbar", True),
     ("si puo decalcificare il bollitore", True),
     ("does the bottle come in blue", True),
     ("is anyone here", False),  # opens like a question, names no product: chatter
     ("whats up", False),  # no product, nobody addressed: chatter
     ("what a great show", False)],
)  # fmt: skip
def test_a_message_starting_with_a_question_word_is_a_question(classifier, text, question) -> None:
    prio, _ = classifier(ChatEvent("a", text))
    assert (prio is Priority.QUESTION) is question, prio


@pytest.mark.parametrize(
    ("lang", "text"),
    [("de", "Kann man 80 Grad einstellen?"), ("it", "Si può impostare a 80 gradi?"),
     ("zh", "能调到80度吗？")],
)  # fmt: skip
def test_a_question_about_using_the_product_is_no_chatter(classifier, lang, text) -> None:
    """No product named, but "kann man", "si può", 能…吗 ask how the one on screen is used."""
    assert classifier(ChatEvent("a", text, lang=lang))[0] is Priority.QUESTION
