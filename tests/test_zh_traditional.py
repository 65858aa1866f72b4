"""Chinese written in traditional characters (Taiwan, Hong Kong) is understood as the
simplified Chinese the language file, the catalog and the blocklist are written in: the same
questions get the same answers, the same insults are blocked.

The traditional texts are made here by OpenCC's own simplified -> traditional conversion
(phrase tables included), a different table from the character table streamhost folds with.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from opencc import OpenCC

from streamhost.chat.moderation import Moderator, load_blocklists
from streamhost.frames import ChatEvent
from streamhost.language import detect_language, fold
from streamhost.talk.catalog import load_catalog
from streamhost.zh_variants import traditional_to_simplified

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
DEMO = ROOT / "assets" / "catalog" / "demo.json"


def _zh_questions() -> list[dict[str, str]]:
    """Every Chinese question of the shop and mixed question sets."""
    shop = json.loads((DATA / "shop_questions.json").read_text("utf-8"))["questions"]
    mixed = json.loads((DATA / "questions_mixed.json").read_text("utf-8"))
    rows = [{"lang": r[0], "text": r[1]} for r in shop] + mixed
    return [{"lang": "zh", "user": "viewer", "text": r["text"]} for r in rows if r["lang"] == "zh"]


def _catalog_texts() -> list[str]:
    """The catalog's Chinese sentences an answer can carry (features, FAQ answers, names)."""
    cat = load_catalog(DEMO)
    out = [e.a("zh")[0] for e in cat.shop_faq]
    for pid in cat.ids:
        p = cat.get(pid)
        out += [p.name("zh"), *p.features_in("zh")[0], *(e.a("zh")[0] for e in p.faq)]
    return out


def _signature(row: dict, texts: list[str]) -> tuple:
    """What an answer says, without the template's wording (which rotates): its outcome, the
    numbers and the catalog sentences in it."""
    said = row.get("said", "")
    return row["outcome"], re.findall(r"\d+(?:\.\d+)?", said), [t for t in texts if t in said]


def test_the_table_leaves_simplified_chinese_alone() -> None:
    """No character of the shipped simplified Chinese text is changed (the Taiwan variant
    table alone would turn every 什么 into 什幺)."""
    table = traditional_to_simplified()
    zh = [ROOT / "assets" / "talk" / "zh.toml", ROOT / "assets" / "moderation" / "zh.txt"]
    for path in [*zh, DEMO]:
        text = path.read_text("utf-8")
        assert text.translate(table) == text, path
    assert fold("這個耳機多少錢，揹包有保固嗎") == "这个耳机多少钱,背包有保固吗"


def test_traditional_questions_get_the_answers_of_their_simplified_twins() -> None:
    """The 84 Chinese questions of the shop and mixed sets, converted to traditional
    characters, through moderation, triage and the generator. Before the fold, 這個耳機多少錢？
    was dropped as chatter (it met no product and no question word)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _talk_questions import account_questions

    simplified = _zh_questions()
    s2t = OpenCC("s2t")
    traditional = [dict(r, text=s2t.convert(r["text"])) for r in simplified]
    changed = sum(a["text"] != b["text"] for a, b in zip(simplified, traditional, strict=True))
    assert len(simplified) >= 80 and changed >= 60  # the conversion really rewrote them
    texts = _catalog_texts()
    a, b = account_questions(simplified), account_questions(traditional)
    diff = [
        (x["text"], y["text"], _signature(x, texts), _signature(y, texts))
        for x, y in zip(a, b, strict=True)
        if _signature(x, texts) != _signature(y, texts)
    ]
    assert diff == []
    assert sum(x["outcome"] == "answered" for x in b) >= 50


@pytest.mark.parametrize(
    ("text", "answer"),
    [("耳機多少錢？", "无线降噪耳机"),  # 耳机
     ("運費多少？", "所有订单都包邮。"),
     ("電水壺有保固嗎？", "保修2年。"),  # 保固: Taiwan's word for the warranty (保修)
     ("幾天到貨？", "下单后24小时内发货，一般2到4个工作日送达。"),
     ("揹包多少錢？", "旅行双肩包")],  # 揹: a form only the simplified -> traditional table has
)  # fmt: skip
def test_taiwan_and_hong_kong_spellings_meet_the_catalog(text, answer) -> None:
    from streamhost.talk.generator import TemplateGenerator

    assert detect_language(text, "en") == "zh"
    gen = TemplateGenerator(load_catalog(DEMO), "zh")
    said = " ".join(s.text for s in gen.answer(ChatEvent(user="ann", text=text), "kettle"))
    assert answer in said, said


@pytest.mark.parametrize("text", ["你這個腦殘", "主播是蠢貨", "他媽的"])
def test_traditional_insults_meet_the_simplified_blocklist(text) -> None:
    m = Moderator(load_blocklists(ROOT / "assets" / "moderation"))
    assert not m.check(ChatEvent(user="troll", text=text)).allowed


async def test_a_viewer_who_writes_traditional_reads_the_answer_in_traditional(tmp_path) -> None:
    """The host speaks (and the store keeps) simplified Chinese; the caption of an answer to a
    viewer who wrote 這個耳機多少錢？ is in traditional characters, phrase by phrase (髮, not
    發, for 发 of 头发); an answer to a simplified question and a line of the show stay as said."""
    import numpy as np

    from streamhost.clock import VirtualClock
    from streamhost.frames import Sentence, Speech
    from streamhost.observe import Observer
    from streamhost.store import Store

    obs = Observer(Store(tmp_path, "s"), VirtualClock(), "")
    sub = obs.events.add()
    sub.subscribe(["caption"])
    said = "无线降噪耳机79欧元就能买到，头发也不会被夹住。"
    lines = [
        Sentence(said, "chat", "zh", reply_to=ChatEvent(user="tw", text="這個耳機多少錢？")),
        Sentence(said, "chat", "zh", reply_to=ChatEvent(user="cn", text="这个耳机多少钱？")),
        Sentence(said, "script", "zh"),
    ]
    for i, s in enumerate(lines):
        obs.commit(s, Speech(s, np.zeros(2400, np.int16), 24000, [], []))
        obs.aired(s.trace_id, float(i))
    obs.frame_out(10.0)
    got = [e["text"] for e in await sub.wait()]
    assert got == ["無線降噪耳機79歐元就能買到，頭髮也不會被夾住。", said, said]
    assert [t.text for t in obs.store.transcript()] == [said] * 3  # what was spoken
