"""Run of show (slots, rotation, flash sales, CTA, disclosure) and advertiser scripts."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamhost.frames import Emotion, Source
from streamhost.talk.catalog import load_catalog
from streamhost.talk.script import ScriptError, load_script, parse_script, split_sentences
from streamhost.talk.show import Show, ShowError
from streamhost.talk.show_parse import load_show, parse_show

ROOT = Path(__file__).resolve().parents[1]
WS = datetime(2025, 11, 28, 20, 0)  # the stream starts at 20:00 local
MIN = 60.0


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(ROOT / "assets" / "catalog" / "demo.json")


@pytest.fixture
def demo(catalog) -> Show:
    return load_show(ROOT / "assets" / "show" / "demo.toml", catalog)


def show(catalog, **data) -> Show:
    return parse_show(data, catalog, base_dir=ROOT / "assets" / "show")


# -- slots and rotation ------------------------------------------------------------------------


def test_demo_show_offset_slots_and_rotation(demo):
    assert [s.name for s in demo.slots] == ["warm-up", "travel hour", "all night"]
    seq = [demo.plan(t * MIN, WS).product_id for t in (0, 7.9, 8, 16, 25, 28.5)]
    assert seq == ["kettle", "kettle", "lamp", "headphones", "headphones", "kettle"]
    st_ = demo.plan(9 * MIN, WS)
    assert st_.slot_index == 0 and st_.product_until == 16 * MIN
    assert st_.script is not None and st_.script is demo.slots[0].script
    assert demo.plan(61 * MIN, WS).product_id == "backpack"
    assert demo.plan(71 * MIN, WS).slot.name == "travel hour"
    after = demo.plan(700 * MIN, WS)  # past every slot: the whole catalog rotates
    assert after.slot is None and after.script is None and after.product_id in after.show.catalog


def test_time_of_day_slots_wrap_midnight_and_start_mid_slot(catalog):
    s = show(
        catalog,
        slot=[
            {"start": "21:00", "end": "01:30", "products": ["lamp", "bottle"]},
            {"start": "01:30", "end": "21:00", "products": ["backpack"]},
        ],
        disclosure={"enabled": False},
    )
    ws = datetime(2025, 11, 28, 22, 5)  # starts inside the 21:00 slot
    # The rotation begins with the first product when this stream joins the slot.
    assert s.plan(0, ws).product_id == "lamp" and s.plan(0, ws).slot_index == 0
    assert s.plan(10 * MIN, ws).product_id == "bottle"
    assert s.plan(200 * MIN, ws).slot_index == 0  # 01:25 next day, still the wrapped slot
    later = s.plan(206 * MIN, ws)  # 01:31
    assert later.slot_index == 1 and later.product_id == "backpack"
    # The clock slot recurs the next evening, its rotation restarting at 21:00.
    nxt = s.plan((22 * 60 + 55) * MIN, ws)  # 21:00 the next day
    assert nxt.slot_index == 0 and nxt.product_id == "lamp"
    # Aware start times are read on their own wall clock.
    aware = ws.replace(tzinfo=timezone(timedelta(hours=9)))
    assert s.plan(206 * MIN, aware).slot_index == 1


def test_offset_slot_minutes_per_product_override(catalog):
    s = show(catalog, slot=[{"start": 0, "end": 30, "products": ["kettle", {"id": "lamp", "minutes": 2}], "minutes_per_product": 3}])  # fmt: skip
    assert [s.plan(t * MIN, WS).product_id for t in (0, 2.9, 3, 4.9, 5, 8)] == [
        "kettle",
        "kettle",
        "lamp",
        "lamp",
        "kettle",
        "lamp",
    ]
    assert s.plan(29.5 * MIN, WS).product_until == 30 * MIN  # capped by the slot's end


# -- flash sales -------------------------------------------------------------------------------

COUNTDOWN = {
    "en": "Only 5 minutes left on the electric kettle deal, now just 27 euros 90!",
    "de": "Nur noch 5 Minuten für das Angebot: Wasserkocher für nur 27 Euro 90!",
    "it": "Mancano solo 5 minuti all'offerta: bollitore elettrico a soli 27 euro e 90!",
    "zh": "电热水壶限时特价只剩5分钟，现在只要27.90欧元！",
}


@pytest.mark.parametrize("lang", list(COUNTDOWN))
def test_flash_sale_countdown_per_language(demo, lang):
    st_ = demo.plan(40 * MIN, WS)  # the kettle sale runs 30..45
    fs = st_.flash_sale
    assert fs is not None and fs.product_id == "kettle" and fs.price == Decimal("27.9")
    assert fs.seconds_left == 5 * MIN
    assert st_.countdown_text(lang) == COUNTDOWN[lang]
    s = st_.countdown_sentence(lang)
    assert s.lang == lang and s.product_id == "kettle" and s.emotion == Emotion.SURPRISED
    last = demo.plan(44.5 * MIN, WS).countdown_text(lang)
    assert "5" not in last and ("Last minute" in last or lang != "en")


def test_flash_sale_price_featured_product_and_percent(demo):
    assert demo.plan(29.9 * MIN, WS).flash_sale is None
    assert demo.plan(45 * MIN, WS).flash_sale is None  # end exclusive
    during = demo.plan(35 * MIN, WS)
    assert during.product_id == "kettle"  # feature = true overrides the rotation
    assert demo.price_at("kettle", 35 * MIN, WS) == Decimal("27.9")
    assert demo.price_spoken("kettle", "en", 35 * MIN, WS) == "27 euros 90"
    # Outside the show's sale the catalog decides: naive 20:50 against the catalog's aware
    # window is read as UTC (21:50 CET, inside 20:00-02:00 CET) -> 29.90; in June, only the
    # 20 % standing discount applies.
    assert demo.price_at("kettle", 50 * MIN, WS) == Decimal("29.9")
    assert demo.price_at("kettle", 50 * MIN, datetime(2025, 6, 1, 20, 0)) == Decimal("31.92")
    bottle = demo.plan(95 * MIN, WS).flash_sale
    assert bottle.product_id == "bottle" and bottle.price == Decimal("17.43")  # 24.90 - 30 %
    assert {"27", "17", "43", "30"} <= demo.numbers()


def test_daily_flash_sale_by_time_of_day(catalog):
    s = show(catalog, flash_sale=[{"product": "lamp", "percent": 10, "start": "23:50", "minutes": 20}])  # fmt: skip
    ws = datetime(2025, 1, 1, 23, 0)
    assert s.plan(49 * MIN, ws).flash_sale is None
    fs = s.plan(65 * MIN, ws).flash_sale  # 00:05, inside the wrapped window
    assert fs is not None and fs.seconds_left == 5 * MIN
    assert s.plan((24 * 60 + 55) * MIN, ws).flash_sale is not None  # next night again


def test_countdown_due_at_start_every_n_and_last_minute(demo):
    assert "countdown" not in demo.plan(29 * MIN, WS).due
    assert demo.plan(30 * MIN, WS).countdown_due
    demo.mark_done("countdown", 30 * MIN)
    assert not demo.plan(34.9 * MIN, WS).countdown_due
    assert demo.plan(35 * MIN, WS).countdown_due
    demo.mark_done("countdown", 40 * MIN)
    assert not demo.plan(43.9 * MIN, WS).countdown_due
    assert demo.plan(44.1 * MIN, WS).countdown_due  # the final minute gets its own call
    demo.mark_done("countdown", 44.1 * MIN)
    assert not demo.plan(44.5 * MIN, WS).countdown_due
    assert demo.plan(90 * MIN, WS).countdown_due  # a new sale starts its own countdown


# -- periodic: CTA and disclosure --------------------------------------------------------------


def test_cta_and_disclosure_due_every_n_minutes_not_before(demo):
    assert demo.plan(0, WS).due == {"disclosure"}  # disclosure at_start, CTA not
    demo.mark_done("disclosure", 0)
    assert not demo.plan(9.9 * MIN, WS).due
    assert demo.plan(10 * MIN, WS).due == {"cta"}
    demo.mark_done("cta", 10 * MIN)
    assert not demo.plan(14.9 * MIN, WS).due
    assert demo.plan(15 * MIN, WS).due == {"disclosure"}
    demo.mark_done("disclosure", 15.5 * MIN)
    assert not demo.plan(19.9 * MIN, WS).cta_due
    assert demo.plan(20 * MIN, WS).cta_due
    assert not demo.plan(30.4 * MIN, WS).disclosure_due
    assert demo.plan(30.5 * MIN, WS).disclosure_due
    with pytest.raises(ValueError, match="kind must be one of"):
        demo.mark_done("nap", 1)


def test_cta_and_disclosure_sentences(demo):
    st_ = demo.plan(35 * MIN, WS)
    cta = st_.cta_sentence("en")
    assert cta.text == "Tap the cart below to get the electric kettle for 27 euros 90!"
    assert cta.product_id == "kettle" and cta.source == Source.TEMPLATE
    demo.mark_done("cta", 35 * MIN)
    assert demo.plan(36 * MIN, WS).cta_sentence("en").text.startswith("Questions about")
    assert (
        demo.plan(36 * MIN, WS).cta_sentence("zh").text == "点击下方购物车，电热水壶只要27.90欧元！"
    )
    for lang, word in (("en", "AI host"), ("de", "KI"), ("it", "intelligenza"), ("zh", "AI")):
        d = st_.disclosure_sentence(lang)
        assert word in d.text and d.lang == lang


def test_disclosure_on_by_default_and_can_be_tuned(catalog):
    s = show(catalog)
    assert s.disclosure.enabled and s.disclosure.every_minutes == 15
    assert s.plan(0, WS).disclosure_due and not s.plan(0, WS).cta_due
    s.mark_done("disclosure", 0)
    assert not s.plan(14.99 * MIN, WS).disclosure_due and s.plan(15 * MIN, WS).disclosure_due
    assert s.plan(0, WS).disclosure_sentence("de").text.startswith("Nur damit")
    off = show(catalog, disclosure={"enabled": False})
    assert not off.plan(10_000, WS).due


# -- validation --------------------------------------------------------------------------------


def test_bad_show_reports_every_problem(catalog, tmp_path):
    (tmp_path / "bad.txt").write_text("[product: teapot] hi\n[mood: x]\n", encoding="utf-8")
    (tmp_path / "bad.toml").write_text(
        """
extra = 1
[show]
lang = "fr"
[[slot]]
start = "25:00"
end = 60
products = ["kettle", "teapot"]
[[slot]]
start = 30
end = 20
products = []
script = "bad.txt"
[[slot]]
start = 0
end = 45
products = ["lamp"]
minutes_per_product = -1
[[flash_sale]]
product = "kettle"
price = 99
start = "noon"
minutes = 0
[[flash_sale]]
product = "ghost"
price = 1
percent = 5
start = 1
minutes = 5
[cta]
every_minutes = "often"
texts = { en = ["Buy {product}!"], xx = ["?"] }
[disclosure]
enabled = "yes"
text = { en = "" }
""",
        encoding="utf-8",
    )
    with pytest.raises(ShowError) as ei:
        load_show(tmp_path / "bad.toml", catalog)
    msg = str(ei.value)
    print(msg)
    expected = [
        "extra: unknown key (allowed: show, slot, flash_sale, cta, disclosure)",
        "show.lang: 'fr' is not allowed (allowed: en, de, it, zh)",
        "slot[0].start: '25:00' is not allowed (allowed: \"HH:MM\"",
        "slot[0].products[1]: 'teapot' is not in the catalog (allowed: kettle,",
        "slot[1].end: +20 min must be after start (+30 min)",
        "slot[1].products: [] is not allowed",
        "slot[1].script (",
        "line 1, column 1: unknown product 'teapot'",
        "line 2, column 1: unknown marker 'mood'",
        "slot[2].minutes_per_product: -1 is not allowed (allowed: minutes > 0)",
        "flash_sale[0].price: 99 is not allowed (allowed: below the regular price 39.9)",
        "flash_sale[0].start: 'noon' is not allowed",
        "flash_sale[0].minutes: 0 is not allowed",
        "flash_sale[1].product: 'ghost' is not in the catalog",
        "flash_sale[1]: give exactly one of price or percent",
        "cta.every_minutes: 'often' is not allowed",
        "cta.texts.en: placeholder {product} is not allowed (allowed: {name}, {price}, {shop})",
        "cta.texts.xx: unknown language",
        "disclosure.enabled: 'yes' is not allowed (allowed: true, false)",
        "disclosure.text.en: '' is not allowed",
    ]
    for e in expected:
        assert e in msg, e
    assert len(ei.value.problems) == len(expected) - 1  # the script problems are two lines


def test_slot_overlap_and_mixed_kinds_rejected(catalog):
    with pytest.raises(ShowError, match=r"slot\[1\]: overlaps slot\[0\]"):
        show(catalog, slot=[{"start": 0, "end": 60, "products": ["lamp"]},
                            {"start": 30, "end": 90, "products": ["lamp"]}])  # fmt: skip
    with pytest.raises(ShowError, match=r"slot\[1\]: overlaps slot\[0\]"):
        show(catalog, slot=[{"start": "22:00", "end": "02:00", "products": ["lamp"]},
                            {"start": "01:00", "end": "03:00", "products": ["lamp"]}])  # fmt: skip
    with pytest.raises(ShowError, match="same kind of time"):
        show(catalog, slot=[{"start": "22:00", "end": "23:00", "products": ["lamp"]},
                            {"start": 0, "end": 30, "products": ["lamp"]}])  # fmt: skip
    with pytest.raises(ShowError, match="cta: give texts"):
        parse_show({"cta": {"every_minutes": 5}}, catalog)  # CTA needs texts or family
    assert show(catalog, cta={"family": "cta"}).plan(0, WS).cta_sentence("en") is None


def test_invalid_toml(catalog, tmp_path):
    p = tmp_path / "s.toml"
    p.write_text("[cta\n", encoding="utf-8")
    with pytest.raises(ShowError, match="invalid TOML.*line 1"):
        load_show(p, catalog)
    with pytest.raises(ShowError, match="cannot read file"):
        load_show(tmp_path / "missing.toml", catalog)


# -- advertiser scripts ------------------------------------------------------------------------


def test_demo_script_markers_and_verbatim_sentences(catalog):
    sc = load_script(ROOT / "assets" / "scripts" / "demo_advertiser.txt", catalog, "en")
    texts = [s.text for s in sc.sentences]
    # Long sentences are spoken in clause-sized parts (split_clauses), still verbatim.
    assert " ".join(texts[1:4]) == (
        "Tonight we start with our electric kettle: 1.7 litres of brushed stainless steel, "
        "five temperature settings and a keep-warm mode for 30 minutes."
    )
    assert "It boils one cup in about 1 minute, e.g. for your evening tea." in texts
    assert all(s.source == Source.SCRIPT for s in sc.sentences)
    by_text = {s.text: s for s in sc.sentences}
    assert by_text["Now the LED desk lamp."].product_id == "lamp"
    de = [s for s in sc.sentences if s.lang == "de"]
    assert len(de) == 2 and {s.product_id for s in de} == {"kettle"}
    assert "30 Minuten" in " ".join(s.text for s in de)
    assert sc.sentences[-1].emotion == Emotion.SURPRISED and sc.sentences[-1].lang == "en"
    assert sc.sentences[0].emotion == Emotion.HAPPY
    assert sc.pauses == [(5, 1.0), (8, 0.8)] and sc.pause_before(5) == 1.0
    assert texts[5] == "Now the LED desk lamp." and texts[8].startswith("Für unsere")
    assert sc.product_ids == ["kettle", "lamp"]
    assert not any(t.startswith("#") for t in texts)


def test_sentence_splitter_keeps_numbers_and_abbreviations():
    assert split_sentences(
        "Only 39.90 euros! Dr. Smith says ca. 4 min. is fine. Z.B. Tee? Ja. 1.7 l, etc. Done…"
    ) == ["Only 39.90 euros!", "Dr. Smith says ca. 4 min. is fine.", "Z.B. Tee?", "Ja.",
          "1.7 l, etc. Done…"]  # fmt: skip
    assert split_sentences("只要29.9欧元！快来买。") == ["只要29.9欧元！", "快来买。"]
    assert split_sentences('He said "wow!" Then left.') == ['He said "wow!"', "Then left."]


def test_cursor_resumes_where_it_left(catalog):
    sc = parse_script("One. Two. [pause: 2] Three. Four.", catalog, "en")
    cur = sc.cursor
    first = cur.next()
    assert first.text == "One." and cur.index == 1
    assert first.trace_id != sc.sentences[0].trace_id  # a fresh transcript line each time
    assert cur.peek().text == "Two." and cur.index == 1  # peek does not move
    assert cur.next().text == "Two."
    # The director breaks off here to answer chat ... and resumes at the same boundary.
    assert cur.pause_before_next() == 2.0
    assert cur.next().text == "Three."
    cur.rewind()  # "Three." was flushed by an interrupt: say it again
    assert [cur.next().text, cur.next().text] == ["Three.", "Four."]
    assert cur.done and cur.next() is None and cur.peek() is None
    other = sc.new_cursor()
    assert other.index == 0 and not other.done
    cur.reset()
    assert cur.index == 0


def test_bad_markers_named_by_line_and_column(catalog):
    text = "ok line\n  [emotion: angry] x\nHi [product: teapot] [paws: 1]\n[pause: -1][lang: fr]\nx [unclosed\n[]"
    with pytest.raises(ScriptError) as ei:
        parse_script(text, catalog, "en", source="s.txt")
    probs = ei.value.problems
    print(ei.value)
    assert probs == [
        "line 2, column 3: emotion 'angry' is not one of neutral, happy, sad, surprised",
        "line 3, column 4: unknown product 'teapot' (known: kettle, headphones, backpack, lamp, bottle)",
        "line 3, column 22: unknown marker 'paws' (allowed: product, emotion, pause, lang)",
        "line 4, column 1: pause '-1' must be seconds between 0 and 30",
        "line 4, column 12: lang 'fr' is not one of en, de, it, zh",
        "line 5, column 3: '[' starts no marker (write [name: value] with name one of product, emotion, pause, lang, or [[ for '[')",
        "line 6, column 1: unknown marker '' (allowed: product, emotion, pause, lang)",
    ]
    assert "s.txt" in str(ei.value)


def test_literal_bracket_comments_and_product_none(catalog):
    sc = parse_script(
        "# note\n[[limited] #1 seller. [product: lamp] A. [product: none] B.", catalog
    )
    assert [(s.text, s.product_id) for s in sc.sentences] == [
        ("[limited] #1 seller.", None),
        ("A.", "lamp"),
        ("B.", None),
    ]


_WORDS = st.text(alphabet=st.characters(blacklist_characters="[]#\r\n", blacklist_categories=("Cs",)), max_size=40)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_script_parser_raises_only_script_error(text):
    try:
        sc = parse_script(text, None, "en")
    except ScriptError:
        return
    for s in sc.sentences:
        assert s.text and s.text == s.text.strip() and s.source == Source.SCRIPT


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(_WORDS, min_size=1, max_size=6))
def test_script_text_is_spoken_verbatim(lines, catalog):
    text = "\n".join(lines)
    sc = parse_script(text, catalog, "en")
    spoken = re.sub(r"\s+", "", "".join(s.text for s in sc.sentences))
    assert spoken == re.sub(r"\s+", "", text)


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(
        st.one_of(
            _WORDS,
            st.sampled_from(
                [
                    "[product: kettle]",
                    "[emotion: sad]",
                    "[pause: 0.5]",
                    "[lang: zh]",
                    "[bogus: 1]",
                    "[product: nope]",
                    "[pause: x]",
                    "[",
                    "]",
                    "[[",
                ]
            ),
        ),  # fmt: skip
        max_size=12,
    )
)
def test_script_with_markers_never_crashes(parts, catalog):
    try:
        sc = parse_script(" ".join(parts), catalog, "de")
    except ScriptError as e:
        assert all(re.match(r"line \d+, column \d+: ", p) for p in e.problems)
        return
    assert all(i <= len(sc.sentences) for i, _ in sc.pauses)


def test_long_script_sentences_break_at_clauses_verbatim() -> None:
    from streamhost.talk.script import split_clauses

    long = (
        "Tonight we start with our electric kettle: 1.7 litres of brushed stainless steel, "
        "five temperature settings and a keep-warm mode for 30 minutes."
    )
    parts = split_clauses(long)
    assert len(parts) >= 2 and all(len(p) <= 70 for p in parts[:-1])
    assert " ".join(parts) == long  # verbatim: nothing added, nothing lost
    assert split_clauses("Short one, fine.") == ["Short one, fine."]
    assert split_clauses("x" * 200) == ["x" * 200]  # no clause boundary: left whole
