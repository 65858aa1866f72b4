"""Per-language talk data: the host's sentence templates and the words chat is matched on.

In: one TOML file per language, ``assets/talk/<lang>.toml`` (``[host]``, ``[detect]``,
``[words]``, ``[intent]``, ``[templates]``; the shipped files document each key). Out: a
validated, immutable `LangData` per language. The set of languages is the set of files, so a
language is added by adding a file, not by editing code.

This module sits beside `streamhost.language`, outside chat/ and talk/, because both read it:
chat triage detects languages and question words, talk fills templates and matches intents.

Every file is checked completely when it is loaded; `TalkDataError` lists every problem, each
naming the key and what is wrong (`talk_data_problems` returns them as strings for
``streamhost check``). Files are read once per process (`functools.cache`): the generator and
retrieval run per chat message and must not touch the disk.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .langdata_keys import FAMILIES as FAMILIES
from .langdata_keys import INTENT_KEYS as INTENT_KEYS
from .langdata_keys import STEMMERS as STEMMERS
from .langdata_keys import TEMPLATE_SLOTS as TEMPLATE_SLOTS
from .langdata_reader import TableReader, gap_pair, one_gap
from .problems import ProblemsError

DEFAULT_FOLDER = Path(__file__).resolve().parents[1] / "assets" / "talk"

_TABLES = ("host", "detect", "words", "intent", "specs", "spec_about", "spec_answers", "templates")

_LANG_RE = re.compile(r"^[a-z]{2,3}$")
_ALT_RE = re.compile(r"\[([^\[\]]*)\]")
_FORMATTER = string.Formatter()


class TalkDataError(ProblemsError):
    """Every problem found in one language file; ``source`` is the file's path."""

    what = "talk data"


@dataclass(frozen=True, slots=True)
class LangData:
    """One language's validated data, as read from ``<lang>.toml``.

    ``templates``: family -> templates (file order, which the generator's picks depend on);
    ``intent``: INTENT_KEYS -> words; ``specs``: a catalog spec's name -> the words viewers ask
    about it with ("capacity": "litres", "how big" ...); ``script``: a compiled character class
    for a language written in its own script (None for the others), whose keywords match as
    substrings.
    """

    lang: str
    source: str
    a_viewer: str
    templates: Mapping[str, tuple[str, ...]]
    intent: Mapping[str, tuple[str, ...]]
    specs: Mapping[str, tuple[str, ...]]  # catalog spec name -> words that ask about it
    spec_answers: Mapping[str, tuple[str, ...]]  # catalog spec name -> templates with {value}
    stopwords: frozenset[str]
    stop_chars: frozenset[str]
    short_forms: Mapping[str, str]  # a chat short form -> the word it stands for
    synonyms: Mapping[str, str]  # how chat says a shop's thing -> the words shops write for it
    stemmer: str
    compounds: bool
    hints: frozenset[str]
    marks: re.Pattern[str] | None
    mark_weight: float
    script: re.Pattern[str] | None
    disclosure: str = ""  # the spoken AI disclosure, verbatim ("" = none in this language)
    on_break: str = ""  # the "on a short break" card's text
    list_sep: str = ", "  # between the items of a list the host says ("kettle, lamp and bottle")
    list_and: str = ", "  # ... before its last item
    language_names: Mapping[str, str] = dataclasses.field(  # "de" -> "German", as this one says
        default_factory=lambda: MappingProxyType({})
    )
    materials: tuple[str, ...] = ()  # what things are made of ("stainless steel", 不锈钢)
    # catalog spec name -> what it is about without asking for it ("hot": tea, coffee)
    spec_about: Mapping[str, tuple[str, ...]] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )

    def said_list(self, items: list[str]) -> str:
        """A list as the host says it: "the kettle, the lamp and the bottle" (list_sep,
        list_and); one item alone."""
        return self.list_sep.join(items[:-1]) + self.list_and + items[-1] if items[1:] else items[0]


def _folder(folder: str | Path | None) -> Path:
    return Path(folder) if folder is not None else DEFAULT_FOLDER


def available_languages(folder: str | Path | None = None) -> tuple[str, ...]:
    """The languages that have a data file (``<lang>.toml``) in `folder`, sorted.

    Not cached: a directory listing is cheap and callers (config checks, the generator's
    constructor) are not per-message; tests add files and ask again.
    """
    d = _folder(folder)
    if not d.is_dir():
        return ()
    return tuple(sorted(p.stem for p in d.glob("*.toml") if _LANG_RE.match(p.stem)))


def load_language(lang: str, folder: str | Path | None = None) -> LangData:
    """The validated data of one language (read once per process and folder).

    Raises TalkDataError naming the file and every problem, or when there is no file.
    """
    return _load(lang, str(_folder(folder).resolve()))


def load_languages(folder: str | Path | None = None) -> dict[str, LangData]:
    """Every language of `folder`, validated; raises TalkDataError for the first bad file."""
    return {lg: load_language(lg, folder) for lg in available_languages(folder)}


def disclosure_texts(folder: str | Path | None = None) -> dict[str, str]:
    """Language -> its ``[host] disclosure`` text, for every language file that loads and has
    one (a bad file is ``talk_data_problems``' to report, not a reason to lose the others)."""
    out: dict[str, str] = {}
    for lg in available_languages(folder):
        try:
            text = load_language(lg, folder).disclosure
        except TalkDataError:
            continue
        if text:
            out[lg] = text
    return out


def talk_data_problems(
    langs: list[str] | None = None, folder: str | Path | None = None
) -> list[str]:
    """Validate the language files (all of them, or `langs`) and return one string per
    problem: ``"<file>: <key>: <what is wrong>"``; [] when everything loads."""
    d = _folder(folder)
    present = available_languages(d)
    out: list[str] = []
    if langs is None:
        if not present:
            return [f"{d}: no language files (<lang>.toml)"]
        out += [
            f"{p}: file name must be a language code (2-3 lowercase letters).toml"
            for p in sorted(d.glob("*.toml"))
            if not _LANG_RE.match(p.stem)
        ]
        langs = list(present)
    for lg in langs:
        try:
            load_language(lg, d)
        except TalkDataError as e:
            out += [f"{e.source}: {p}" for p in e.problems]
    return out


@functools.cache
def _load(lang: str, folder: str) -> LangData:
    path = Path(folder) / f"{lang}.toml"
    source = str(path)
    if not _LANG_RE.match(lang):
        raise TalkDataError(source, [f"{lang!r} is not a language code (2-3 lowercase letters)"])
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        have = ", ".join(available_languages(folder)) or "none"
        raise TalkDataError(
            source, [f"no data file for language {lang!r} (have: {have})"]
        ) from None
    except OSError as e:
        raise TalkDataError(source, [f"cannot read file: {e.strerror or e}"]) from None
    except UnicodeDecodeError as e:
        raise TalkDataError(source, [f"not UTF-8 text (byte {e.start}): {e.reason}"]) from None
    except tomllib.TOMLDecodeError as e:
        raise TalkDataError(source, [f"not valid TOML: {e}"]) from None
    problems: list[str] = []
    data = _parse(lang, source, raw, problems)
    if problems or data is None:
        raise TalkDataError(source, problems)
    return data


def _parse(lang: str, source: str, raw: Mapping[str, Any], problems: list[str]) -> LangData | None:
    r = TableReader(raw, problems)
    for k in raw:
        if k not in _TABLES:
            problems.append(f"{k}: is not a known table (known: {', '.join(_TABLES)})")
    host = r.table(
        "host", ("a_viewer", "disclosure", "on_break", "list_sep", "list_and", "languages")
    )
    language_names = r.text_table(host, "languages", "host", "code = name")
    a_viewer = r.text(host, "a_viewer", "host", None)
    list_sep, list_and = (
        r.text(host, "list_sep", "host", ", "),
        r.text(host, "list_and", "host", ", "),
    )
    verbatim = {k: r.text(host, k, "host", "").strip() for k in ("disclosure", "on_break")}
    for k, v in verbatim.items():
        if "{" in v or "}" in v:  # said or drawn as written: a placeholder would go on air
            problems.append(f"host.{k}: is used verbatim, no {{placeholders}}: {v!r}")

    detect = r.table("detect", ("script", "hints", "marks", "mark_weight"), required=False)
    script = r.char_class(r.text(detect, "script", "detect", ""), "detect.script")
    marks = r.char_class(r.text(detect, "marks", "detect", ""), "detect.marks", literal=True)
    weight = detect.get("mark_weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        problems.append(f"detect.mark_weight: must be a number >= 0, got {weight!r}")
        weight = 0.0
    hints = r.words(detect, "hints", "detect")

    words = r.table(
        "words",
        ("stopwords", "stop_chars", "stemmer", "compounds", "short_forms", "synonyms", "materials"),
        required=False,
    )
    stopwords = r.words(words, "stopwords", "words")
    materials = r.words(words, "materials", "words")
    stop_chars = r.text(words, "stop_chars", "words", "")
    stemmer = r.text(words, "stemmer", "words", "none")
    if stemmer and stemmer not in STEMMERS:
        problems.append(f"words.stemmer: must be one of {', '.join(STEMMERS)}, got {stemmer!r}")
    compounds = words.get("compounds", False)
    if not isinstance(compounds, bool):
        problems.append(f"words.compounds: must be true or false, got {compounds!r}")
    # Chat's short forms of catalog words ("mic" -> "microphone"), one word for one word; what
    # chat calls a shop's things -> the words a shop writes for them ("refund" -> "return",
    # 到货 -> 发货): a phrase, replaced by one or more words before matching.
    short = r.text_table(words, "short_forms", "words", "word = one word", one_word=True)
    synonyms = r.text_table(words, "synonyms", "words", "phrase = words")
    problems += [f"words.synonyms: {m}" for k, v in synonyms.items() if (m := gap_pair(k, v))]

    intent_t = r.table("intent", INTENT_KEYS)
    intent = {
        k: r.words(intent_t, k, "intent", one_gap if k == "budget" else None) for k in INTENT_KEYS
    }

    # Catalog spec names (as the catalog writes them, any) -> how viewers ask about them, and
    # how the host states the value ("It weighs {value}.", the value in words: talk/units.py;
    # a spec without an answer gets "I'll check").
    specs = r.named_lists("specs")
    # What a spec is about without asking for it ("hot": tea, coffee): a question about the
    # product that names one ("does it keep *tea* hot?") names no detail the catalog lacks,
    # and on its own ("good for tea?") asks for that spec.
    spec_about = r.named_lists("spec_about")
    for name in spec_about:
        if name not in specs:
            problems.append(f"spec_about.{name}: is no spec of [specs] (known: {', '.join(specs)})")
    spec_answers = r.named_lists("spec_answers", _spec_answer_problem)

    tmpl_t = r.table("templates", FAMILIES)
    templates: dict[str, tuple[str, ...]] = {}
    for fam in FAMILIES:
        if tmpl_t and fam not in tmpl_t:
            problems.append(f"templates.{fam}: is missing (every language needs every family)")
            continue
        if fam in tmpl_t and not tmpl_t[fam]:
            problems.append(f"templates.{fam}: must not be empty")
        templates[fam] = r.words(tmpl_t, fam, "templates", template_problem)

    if problems:
        return None
    return LangData(
        lang=lang,
        source=source,
        a_viewer=a_viewer,
        list_sep=list_sep,
        list_and=list_and,
        language_names=MappingProxyType(dict(language_names)),
        templates=MappingProxyType(templates),
        intent=MappingProxyType(intent),
        specs=MappingProxyType(specs),
        spec_about=MappingProxyType(spec_about),
        spec_answers=MappingProxyType(spec_answers),
        stopwords=frozenset(stopwords),
        stop_chars=frozenset(stop_chars),
        short_forms=MappingProxyType(
            {str(k).strip().lower(): v.strip().lower() for k, v in short.items()}
        ),
        synonyms=MappingProxyType(
            {k.strip().lower(): v.strip().lower() for k, v in synonyms.items()}
        ),
        stemmer=stemmer,
        compounds=bool(compounds),
        hints=frozenset(hints),
        marks=marks,
        mark_weight=float(weight),
        script=script,
        materials=materials,
        **verbatim,
    )


def _spec_answer_problem(template: str) -> str | None:
    if "{value}" not in template:
        return f"must say the spec's {{value}}: {template!r}"
    return template_problem(template, TEMPLATE_SLOTS | {"value"})


def template_problem(template: str, slots: frozenset[str] = TEMPLATE_SLOTS) -> str | None:
    """What is wrong with one template (syntax, unknown slot, digit, alternation), or None."""
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError as e:
        return f"bad placeholder syntax ({e}) in {template!r}"
    literal = ""
    for text, field, spec, conv in parts:
        literal += text
        if field is None:
            continue
        if spec or conv:
            return f"placeholder {{{field}}} must not have a format spec or conversion"
        if field not in slots:
            return (
                f"unknown placeholder {{{field}}} in {template!r} "
                f"(known: {', '.join(sorted(slots))})"
            )
    if re.search(r"\d", literal):
        return f"contains a digit (numbers must come from the catalog): {template!r}"
    for m in _ALT_RE.finditer(literal):
        n = m.group(1).count("|") + 1
        if n not in (2, 4):
            return f"[{m.group(1)}] must have 2 forms (sg|pl) or 4 (gender/number), got {n}"
    if "[" in _ALT_RE.sub("", literal) or "]" in _ALT_RE.sub("", literal):
        return f"unbalanced [ ] in {template!r}"
    return None
