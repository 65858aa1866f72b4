"""Language data files (assets/talk/<lang>.toml): they load, a broken one is rejected naming the
file and the key, and a language is added by adding a file."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from streamhost.langdata import (
    DEFAULT_FOLDER,
    FAMILIES,
    TalkDataError,
    available_languages,
    load_language,
    talk_data_problems,
)
from streamhost.language import detect_language

ROOT = Path(__file__).resolve().parents[1]
EN = (DEFAULT_FOLDER / "en.toml").read_text(encoding="utf-8")
CTA = '"Just tap the product card to order."'  # one template of en.toml, replaced by broken ones


def test_every_shipped_language_loads():
    langs = available_languages()
    assert set(langs) >= {"en", "de", "it", "zh"}
    assert talk_data_problems() == []
    for lg in langs:
        d = load_language(lg)
        assert d.lang == lg and d.a_viewer
        assert set(d.templates) == set(FAMILIES)
        assert all(d.templates[f] for f in FAMILIES)
        assert d.intent["price_strong"] and d.intent["greeting"]
    # Read once: the generator and retrieval ask per message.
    assert load_language("en") is load_language("en")


def _problems(tmp_path: Path, text: str, lang: str = "en") -> list[str]:
    path = tmp_path / f"{lang}.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TalkDataError) as e:
        load_language(lang, tmp_path)
    assert e.value.source == str(path.resolve())
    assert str(path.resolve()) in str(e.value)
    found = talk_data_problems(folder=tmp_path)
    assert found and all(p.startswith(str(path.resolve()) + ": ") for p in found)
    return found


@pytest.mark.parametrize(
    ("old", "new", "key", "what"),
    [
        ('a_viewer = "a viewer"', "", "host.a_viewer", "missing"),
        ('a_viewer = "a viewer"', "a_viewer = 3", "host.a_viewer", "non-empty text"),
        ("price_weak = [", "price_weak = 7\nunused = [", "intent.price_weak", "list of texts"),
        ("dont_know = [", "dont_knw = [", "templates.dont_know", "missing"),
        ("dont_know = [", "dont_knw = [", "templates.dont_knw", "not a known key"),
        (CTA, '"Tap to order {prize}."', "templates.cta[", "{prize}"),
        (CTA, '"Order {the"', "templates.cta[", "placeholder"),
        (CTA, '"Order {the!r}."', "templates.cta[", "format spec"),
        (CTA, '"Only 3 left."', "templates.cta[", "digit"),
        (CTA, '"Get [it|them|all]."', "templates.cta[", "forms"),
        (CTA, '"Get [it."', "templates.cta[", "unbalanced"),
        (CTA, '""', "templates.cta[", "non-empty"),
        ('stemmer = "en"', 'stemmer = "fr"', "words.stemmer", "must be one of"),
        ("[detect]", '[detect]\nscript = "z-a"', "detect.script", "character range"),
        ("[specs]", '[specs]\nsize = "big"', "specs.size", "list of texts"),
        ("[specs]", '[specs]\nsize = ["big", 3]', "specs.size[1]", "non-empty text"),
        ('mic = "microphone"', 'mic = "micro phone"', "words.short_forms", "one word"),
        ("short_forms = {", 'short_forms = ["mic"]\nunused = {', "words.short_forms", "table"),
        ('postage = "shipping"', 'postage = ""', "words.synonyms", "phrase = words"),
        ("synonyms = {", 'synonyms = ["refund"]\nunused = {', "words.synonyms", "table"),
        ('"under …"', '"under"', "intent.budget[0]", "exactly one"),
        ('"under …"', '"under … or …"', "intent.budget[0]", "exactly one"),
    ],
)
def test_a_broken_file_names_the_file_and_the_key(tmp_path, old, new, key, what):
    assert old in EN
    found = _problems(tmp_path, EN.replace(old, new, 1))
    assert any(key in p and what in p for p in found), found


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    text = EN.replace('a_viewer = "a viewer"', "a_viewer = 3").replace(CTA, '"Tap {prize}."')
    found = _problems(tmp_path, text)
    assert any("host.a_viewer" in p for p in found)
    assert any("templates.cta" in p and "{prize}" in p for p in found)


def test_a_file_that_is_not_toml_is_rejected(tmp_path):
    found = _problems(tmp_path, 'a_viewer = "unterminated\n[templates\n')
    assert any("not valid TOML" in p and "line" in p for p in found), found


def test_a_missing_language_is_named(tmp_path):
    (tmp_path / "en.toml").write_text(EN, encoding="utf-8")
    found = talk_data_problems(["en", "xx"], folder=tmp_path)
    assert len(found) == 1 and "xx.toml" in found[0] and "have: en" in found[0]


def test_adding_a_file_adds_a_language(tmp_path):
    (tmp_path / "en.toml").write_text(EN, encoding="utf-8")
    assert available_languages(tmp_path) == ("en",)
    fr = EN.replace('a_viewer = "a viewer"', 'a_viewer = "un spectateur"').replace(
        'stemmer = "en"', 'stemmer = "none"'
    )
    (tmp_path / "fr.toml").write_text(fr, encoding="utf-8")
    assert available_languages(tmp_path) == ("en", "fr")
    assert talk_data_problems(folder=tmp_path) == []
    d = load_language("fr", tmp_path)
    assert d.a_viewer == "un spectateur" and d.stemmer == "none"
    assert d.templates == load_language("en", tmp_path).templates
    # Files that are not named by a language code are not languages, and check says so.
    (tmp_path / "notes.toml").write_text("", encoding="utf-8")
    assert available_languages(tmp_path) == ("en", "fr")
    assert any("notes.toml" in p for p in talk_data_problems(folder=tmp_path))


def test_detection_reads_the_data():
    assert detect_language("wie viel kostet das?", "en") == "de"
    assert detect_language("quanto costa?", "en") == "it"
    assert detect_language("多少钱", "en") == "zh"
    assert detect_language("!!!", "it") == "it"


def _imports(path: Path, package: str) -> set[str]:
    """Absolute module names `path` (a module of `package`) imports."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - (node.level - 1)]
                out.add(".".join(base + ([node.module] if node.module else [])))
            else:
                out.add(node.module or "")
    return out


def test_chat_and_talk_do_not_import_each_other():
    """chat never imports talk; talk imports chat only in the director (and its input mixin,
    operator_inputs.py, split out of it); the shared language
    modules import neither. Together: no chat <-> talk import cycle."""
    pkg = ROOT / "streamhost"
    for f in (pkg / "chat").glob("*.py"):
        bad = {m for m in _imports(f, "streamhost.chat") if m.startswith("streamhost.talk")}
        assert not bad, f"{f.name} imports {bad}"
    for f in (pkg / "talk").glob("*.py"):
        chat = {m for m in _imports(f, "streamhost.talk") if m.startswith("streamhost.chat")}
        assert not chat or f.name in ("director.py", "operator_inputs.py"), f"{f.name}: {chat}"
    for name in ("language.py", "langdata.py"):
        deps = _imports(pkg / name, "streamhost")
        assert not {m for m in deps if m.startswith(("streamhost.chat", "streamhost.talk"))}


@pytest.mark.parametrize("lang", ["en", "de", "it", "zh"])
def test_an_unnamed_viewer_is_never_addressed_as_a_viewer(lang: str) -> None:
    """'Good question, a viewer.' is what the host said to every viewer whose handle it may
    not read out: a vocative takes a name or nothing (``{user_vocative_free}``)."""
    from streamhost.talk.templates import fill, template_slots, templates_by_family, user_slots

    slots = user_slots(None, lang)
    anon = slots["user"]
    said = [
        fill(t, slots, "-", lang)
        for fam in templates_by_family().values()
        for t in fam.get(lang, [])
        if template_slots(t) & {"user", "User"} and template_slots(t) <= slots.keys()
    ]
    assert len(said) >= 10
    addressed = [
        s for s in said
        if s.lower().startswith(anon.lower() + ",") or s.lower().startswith(anon.lower() + "，")
        or any(f"{sep}{anon}{end}" in s for sep in (", ", "，") for end in ".!?。！？")
    ]  # fmt: skip
    assert addressed == []
