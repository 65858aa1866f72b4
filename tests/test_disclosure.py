"""The spoken AI disclosure does not depend on the run of show (issue 20, item 3): every stream
language discloses in that language at the start and on the profile's schedule, with or without
a show, never twice; its text is language data; `check` refuses a language without one under a
profile that requires it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import running_engine

from streamhost import langdata
from streamhost.compliance import compliance_problems
from streamhost.config import config_from_dict
from streamhost.langdata import TalkDataError, load_language
from streamhost.store import Store
from streamhost.talk import disclosure
from streamhost.talk.catalog import load_catalog
from streamhost.talk.disclosure import Disclosure, build_disclosure
from streamhost.talk.show_parse import load_show

ROOT = Path(__file__).parents[1]
DEMO_SHOW = ROOT / "assets" / "show" / "demo.toml"
FAST = {"fps": 20}  # fewer frames per media second: the schedule, not the picture, is tested


def _said(tmp_path: Path) -> list:
    store = Store(tmp_path / "data", "default")
    try:
        return [ln for ln in store.transcript() if ln.source == "show"]
    finally:
        store.close()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("lang", ["en", "de", "it", "zh"])
async def test_no_show_discloses_at_start_and_after_the_interval_in_the_stream_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    # The profile's 15 minutes, shortened so a few virtual seconds show the schedule repeat.
    monkeypatch.setattr(disclosure, "disclosure_interval_s", lambda cfg: 4.0)
    async with running_engine(
        tmp_path, virtual=True, duration=7, stream={"language": lang, **FAST},
        talk={"show": ""}, output={"webrtc": False},
    ) as (engine, _, task):  # fmt: skip
        await task
        status = engine.primary.snapshot()["disclosure"]
    text = load_language(lang).disclosure
    said = _said(tmp_path)
    assert [(ln.lang, ln.text) for ln in said] == [(lang, text)] * 2, said
    assert said[0].media_time < 0.1 and said[0].aired_at is not None  # the first thing said
    assert 4.0 <= said[1].media_time < 6.0, said[1].media_time
    assert status["languages"] == [lang] and status["said"] == 2


@pytest.mark.timeout(180)
async def test_a_german_stream_on_the_english_demo_show_discloses_in_german_once(
    tmp_path: Path,
) -> None:
    async with running_engine(
        tmp_path, virtual=True, duration=3, stream={"language": "de", **FAST},
        talk={"show": str(DEMO_SHOW)}, output={"webrtc": False},
    ) as (engine, _, task):  # fmt: skip
        assert engine.primary.show is not None and engine.primary.show.lang == "en"
        await task
    said = _said(tmp_path)
    disclosures = [ln for ln in said if "KI" in ln.text or "AI host" in ln.text]
    # German, and the show's own English one deferred to it
    german = ("de", load_language("de").disclosure)
    assert [(ln.lang, ln.text) for ln in disclosures] == [german], said


def test_the_schedule_follows_the_profile_and_a_show_can_only_make_it_more_frequent() -> None:
    generic = build_disclosure(config_from_dict({"stream": {"language": "it"}}))
    assert generic.every_s == 900 and list(generic.texts) == ["it"]
    douyin = build_disclosure(config_from_dict({"stream": {"language": "de", "compliance":
                                                           "douyin"}}))  # fmt: skip
    assert douyin.every_s == 600 and list(douyin.texts) == ["de", "zh"]
    catalog = load_catalog(ROOT / "assets" / "catalog" / "demo.json")
    show = load_show(DEMO_SHOW, catalog, default_lang="en")
    assert build_disclosure(config_from_dict({}), show).every_s == 900  # demo: every 15 min
    quick = type(show.disclosure)(True, 5, True, show.disclosure.texts)
    show.disclosure = quick
    assert build_disclosure(config_from_dict({}), show).every_s == 300
    slow = type(show.disclosure)(False, 60, False, {})
    show.disclosure = slow  # a show cannot switch it off or slow it down
    assert build_disclosure(config_from_dict({}), show).every_s == 900


def test_due_once_per_step_in_every_language() -> None:
    d = Disclosure({"en": "I'm an AI host.", "zh": "我是AI主播。"}, every_s=600)
    first = d.due(0.0)
    assert [(s.lang, s.text) for s in first] == [("en", "I'm an AI host."), ("zh", "我是AI主播。")]
    assert d.due(0.5) == [] and d.due(599.0) == []
    assert len(d.due(601.0)) == 2 and d.next_at() == 1201.0
    # the director skips the guard for these (and only once each)
    assert d.owns(first[0]) and not d.owns(first[0])


def test_disclosure_text_is_language_data_and_checked(tmp_path: Path) -> None:
    folder = tmp_path / "talk"
    shutil.copytree(ROOT / "assets" / "talk", folder)
    de = folder / "de.toml"
    de.write_text(de.read_text(encoding="utf-8").replace(
        'disclosure = "Nur damit', 'disclosure = "{User}, nur damit'), encoding="utf-8")  # fmt: skip
    with pytest.raises(TalkDataError, match=r"host.disclosure: is used verbatim"):
        load_language("de", folder)


def test_check_refuses_a_language_without_disclosure_text_under_douyin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "talk"
    shutil.copytree(ROOT / "assets" / "talk", folder)
    de = folder / "de.toml"
    de.write_text("\n".join(ln for ln in de.read_text(encoding="utf-8").splitlines()
                            if not ln.startswith("disclosure =")), encoding="utf-8")  # fmt: skip
    monkeypatch.setattr(langdata, "DEFAULT_FOLDER", folder)
    douyin = config_from_dict({"stream": {"language": "de", "compliance": "douyin"},
                               "talk": {"show": ""}})  # fmt: skip
    problems = [p for p in compliance_problems(douyin) if "cannot say it is an AI" in p]
    assert len(problems) == 1 and "'de'" in problems[0] and "[host] disclosure" in problems[0]
    # zh (douyin's own disclosure language) still has its text; generic does not require one
    generic = config_from_dict({"stream": {"language": "de"}, "talk": {"show": ""}})
    assert not [p for p in compliance_problems(generic) if "cannot say it is an AI" in p]
    # what is left speaks: the stream runs, disclosing in zh only, and says what is missing
    d = build_disclosure(douyin)
    assert list(d.texts) == ["zh"] and d.missing == ("de",)
    # a show's own German text is enough
    show = tmp_path / "show.toml"
    show.write_text('[disclosure]\ntext = { de = "Ich bin eine KI." }\n', encoding="utf-8")
    with_show = config_from_dict({"stream": {"language": "de", "compliance": "douyin"},
                                  "talk": {"show": str(show)}})  # fmt: skip
    assert not [p for p in compliance_problems(with_show) if "cannot say it is an AI" in p]
