"""Sentence templates per family and language, and the tiny language that fills them.

In: a family ("intro", "price", ...), a language and slot values (catalog text only).
Out: finished sentences. The templates are data, one file per language
(``assets/talk/<lang>.toml``, ``[templates]``, loaded and checked by `streamhost.langdata`);
this module fills them. Template syntax:

- ``{slot}``: a value from `slots_for_product` / the generator (``{price}``, ``{feature}``,
  ``{User}`` ...). A template is only eligible when every slot it names is available, so
  a product without stock data never gets a stock sentence.
- ``[a|b]``: singular/plural form chosen by the product's grammar code (en "sg"/"pl",
  de "pl", it "mpl"/"fpl" count as plural).
- ``[a|b|c|d]``: de masculine|feminine|neuter|plural, it masculine|feminine|m.pl.|f.pl.

Templates contain no digits: every number in a sentence comes from the catalog.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping

from ..langdata import FAMILIES, load_languages
from .catalog import Product

__all__ = [
    "FAMILIES",
    "FEW_STOCK",
    "fill",
    "resolve_alternations",
    "slots_for_product",
    "spec_answer_templates",
    "template_count",
    "template_slots",
    "templates_by_family",
    "user_slots",
    "viewer_words",
]

# The tables themselves are data: assets/talk/<lang>.toml, read by streamhost.langdata.

# At or below this many units the host says how many are left ({few_stock}), as the product
# card does (avatar/studio.py LOW_STOCK).
FEW_STOCK = 20


@functools.cache
def templates_by_family() -> dict[str, dict[str, list[str]]]:
    """family -> language -> templates, for every language file (read once per process)."""
    data = load_languages()
    return {fam: {lg: list(d.templates[fam]) for lg, d in data.items()} for fam in FAMILIES}


@functools.cache
def spec_answer_templates() -> dict[str, dict[str, list[str]]]:
    """``spec:<name>`` -> language -> the templates that state that catalog spec's {value}
    (``[spec_answers]``); a family the picker knows like the others."""
    out: dict[str, dict[str, list[str]]] = {}
    for lg, d in load_languages().items():
        for name, ts in d.spec_answers.items():
            out.setdefault(f"spec:{name}", {})[lg] = list(ts)
    return out


@functools.cache
def viewer_words() -> dict[str, str]:
    """language -> how the host refers to a viewer whose name it may not say."""
    return {lg: d.a_viewer for lg, d in load_languages().items()}


def __getattr__(name: str) -> object:
    # TEMPLATES / A_VIEWER stay importable names, but are read from the data files on first
    # use rather than at import (an import must not fail on a broken data file).
    if name == "TEMPLATES":
        return templates_by_family()
    if name == "A_VIEWER":
        return viewer_words()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_ALT_RE = re.compile(r"\[([^\[\]]*\|[^\[\]]*)\]")
_FORMATTER = string.Formatter()


def template_slots(template: str) -> frozenset[str]:
    """The {slot} names a template needs."""
    return frozenset(f for _, f, _, _ in _FORMATTER.parse(template) if f)


def _form_index(code: str, lang: str, n_forms: int) -> int:
    plural = code in ("pl", "mpl", "fpl")
    if n_forms == 2:
        return 1 if plural else 0
    if lang == "de":
        return {"m": 0, "f": 1, "n": 2, "pl": 3}.get(code, 0)
    if lang == "it":
        return {"m": 0, "f": 1, "mpl": 2, "fpl": 3}.get(code, 0)
    return 1 if plural and n_forms > 1 else 0


def resolve_alternations(template: str, code: str, lang: str) -> str:
    """Pick the [a|b] / [a|b|c|d] form that agrees with the product's grammar code."""

    def pick(m: re.Match[str]) -> str:
        forms = m.group(1).split("|")
        return forms[min(_form_index(code, lang, len(forms)), len(forms) - 1)]

    return _ALT_RE.sub(pick, template)


def fill(template: str, slots: Mapping[str, str], code: str, lang: str) -> str:
    """Resolve alternations, then format slots (all catalog- or generator-made text)."""
    return resolve_alternations(template, code, lang).format_map(slots)


# -- per-language noun phrases ----------------------------------------------------------------

_DE_NOM = {"m": "der", "f": "die", "n": "das", "pl": "die"}
_DE_ACC = {"m": "den", "f": "die", "n": "das", "pl": "die"}
_DE_THIS = {"m": "dieser", "f": "diese", "n": "dieses", "pl": "diese"}


def _it_article(name: str, code: str) -> str:
    first = name[:1].lower()
    second = name[1:2].lower()
    vowel = first in "aeiouàèéìòùh"
    impure = (
        (first == "s" and second and second not in "aeiou")
        or first in "zxy"
        or name[:2].lower() in ("gn", "ps", "pn")
    )
    if code == "m":
        return "l'" if vowel else ("lo " if impure else "il ")
    if code == "f":
        return "l'" if vowel else "la "
    if code == "mpl":
        return "gli " if vowel or impure else "i "
    return "le "


_IT_DI = {
    "il ": "del ",
    "lo ": "dello ",
    "l'": "dell'",
    "la ": "della ",
    "i ": "dei ",
    "gli ": "degli ",
    "le ": "delle ",
}
_IT_A = {
    "il ": "al ",
    "lo ": "allo ",
    "l'": "all'",
    "la ": "alla ",
    "i ": "ai ",
    "gli ": "agli ",
    "le ": "alle ",
}
_IT_SU = {
    "il ": "sul ",
    "lo ": "sullo ",
    "l'": "sull'",
    "la ": "sulla ",
    "i ": "sui ",
    "gli ": "sugli ",
    "le ": "sulle ",
}


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def slots_for_product(product: Product, lang: str) -> dict[str, str]:
    """Noun phrases and price for one product in one language (features are added per call)."""
    name = product.name(lang)
    code = product.grammar_of(lang)
    s: dict[str, str] = {"name": name, "price": product.price_spoken(lang)}
    if lang == "en":
        s["the"] = f"the {name}"
    elif lang == "de":
        s["the"] = f"{_DE_NOM.get(code, 'der')} {name}"
        s["acc"] = f"{_DE_ACC.get(code, 'den')} {name}"
        s["this"] = f"{_DE_THIS.get(code, 'dieser')} {name}"
        # Dative plural inflects the noun ("den Kopfhörern"); -n is the regular ending and names
        # already ending in -n/-s stay as they are.
        if code == "pl":
            dat = f"den {name}" if name.endswith(("n", "s")) else f"den {name}n"
        else:
            dat = f"{'der' if code == 'f' else 'dem'} {name}"
        s["dat"] = dat
    elif lang == "it":
        art = _it_article(name, code)
        s["the"] = f"{art}{name}"
        s["of_the"] = f"{_IT_DI[art]}{name}"
        s["to_the"] = f"{_IT_A[art]}{name}"
        s["on_the"] = f"{_IT_SU[art]}{name}"
    else:
        s["the"] = name
    s["The"] = _cap(s["the"])
    if "acc" in s:
        s["Acc"] = _cap(s["acc"])
    if product.stock is not None and 0 < product.stock <= FEW_STOCK:
        s["few_stock"] = str(product.stock)
    if product.discount_percent is not None:
        s["discount"] = str(product.discount_percent)
    return s


_CJK_LANGS = frozenset({"zh", "ja"})


def second_product(slots: Mapping[str, str]) -> dict[str, str]:
    """A second product's slots ({the}, {acc}, {price}) as {the2}, {acc2}, {price2}: "the
    bottle at 24 euros 90 *and the lamp at 29 euros 71*"."""
    return {"the2": slots["the"], "acc2": slots.get("acc", slots["the"]), "price2": slots["price"]}


_NAME_RE = re.compile(r"\w{1,20}")


def default_name_ok(name: str) -> bool:
    """Say a display name only if it is 1-20 letters, digits or '_' (no spaces, no URLs)."""
    return bool(_NAME_RE.fullmatch(name))


def user_slots(display: str | None, lang: str) -> dict[str, str]:
    """{user}/{User}; the *_free variants exist only for a real name (they read badly with
    "a viewer"), so templates using them are skipped for anonymous viewers."""
    if display and lang not in _CJK_LANGS and any("\u3000" <= ch <= "\u9fff" for ch in display):
        # A Latin-script voice cannot say a name in Chinese characters (and the line would read
        # as another language): the viewer is addressed without the name.
        display = None
    if display:
        # As the viewer wrote it mid-sentence; a sentence never starts in lower case.
        s = {"user": display, "User": _cap(display), "user_vocative_free": display,
             "User_vocative_free": _cap(display)}  # fmt: skip
        if lang == "de":
            s["user_dat_free"] = display
        return s
    viewers = viewer_words()
    anon = viewers.get(lang, viewers["en"])
    return {"user": anon, "User": _cap(anon)}


def template_count(lang: str) -> int:
    """Number of templates of one language, all families together."""
    return sum(len(by_lang.get(lang, [])) for by_lang in templates_by_family().values())
