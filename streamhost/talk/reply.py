"""What a question about one product is answered with, decided from the catalog alone.

In: the retriever, the product, the viewer's text and its language, the answer language and
the detected intent (not a price, greeting or "do you sell"; the generator answers those
first). Out: a ``Reply``: an FAQ entry, a spec whose value is to be said (with what states it, for a
language that cannot say the value), the features to say
(the asked one first), or nothing the catalog knows ("I'll check", and the operator gets the
question). The generator turns it into sentences; nothing here picks words or templates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..language import Intent
from .catalog import Product
from .matching import CJK_PAIR, spec_features
from .quantity import without_amounts
from .retrieval import FaqMatch, Retriever
from .templates import FEW_STOCK
from .tokens import tokenize


@dataclass(frozen=True, slots=True)
class Reply:
    """``kind``: "faq" (``faq``), "spec" (``spec``: the catalog spec asked for, whose value is
    said; where it cannot be, ``features`` that state it, else ``faq``, else "I'll check"),
    "features" (``features``: indexes into the product's features in the answer language,
    ``pair``: a second one may follow) or "dont_know"; ``bare``: the FAQ answer is said
    without its leading yes, as it answers another question than the one asked."""

    kind: str
    faq: FaqMatch | None = None
    spec: str = ""
    features: tuple[int, ...] = ()
    pair: bool = False
    bare: bool = False


DONT_KNOW = Reply("dont_know")


def catalog_reply(
    r: Retriever, p: Product, text: str, qlang: str, lang: str, intent: Intent
) -> Reply:
    """The reply to `text` about `p` (see the module)."""
    asked = r.specs_asked(text, qlang, p.id)
    m = r.faq_match(text, p.id, qlang) if intent is Intent.FAQ else None
    if (
        m is not None
        and asked
        and not set(asked) & set(r.specs_asked(m.entry.q(qlang), qlang, p.id))
    ):
        # "Passt ein 16-Zoll-Laptop rein?" meets "Wie viel passt hinein?" but asks for a
        # spec (laptop) that entry is not about: the spec answers it.
        m = None
    feats, flang = p.features_in(lang)
    feats = feats if flang == lang else []  # never an English feature in a German answer
    wanted = r.matching_features(text, p.id, qlang) if feats else []
    unknown = r.unknown_details(text, qlang, p.id)  # details the catalog lacks
    if any(o != p.id and r.names_whole(text, qlang, o) for o in r.named_products(text, qlang)):
        # another product named whole ("does the kettle have a *light*?", the lamp's name; not
        # 热水 of 电热水壶): a thing this product's entry does not say
        unknown = unknown | {"\0other-product"}
    by_feature = r.feature_words_met(text, p.id, qlang, wanted[0]) if wanted else set()
    if wanted and (stray := r.stray_features(text, qlang, p.id)):
        unknown = unknown | stray  # another product's feature named ("... noise cancelling?")
    if wanted and len(unknown) >= len(by_feature):
        # "can I boil *milk* in it?" meets "boil-dry protection" by one word and asks a
        # detail no feature says: that feature would be a wrong answer.
        wanted = []
    if m is None and wanted and not asked and (timed := r.timed_answer(text, p.id, qlang)):
        return Reply("faq", faq=timed)  # "how long for a litre?": the boiling time's entry
    if m is not None and wanted:
        by_faq = r.faq_words_met(text, p.id, qlang, m.index)
        if len(by_feature) > len(by_faq):
            # A feature says more of what is asked ("does it keep the water warm?": the
            # keep-warm mode, not the boiling time's FAQ entry, which shares only "water").
            m = None
        elif len(by_feature) == len(by_faq) and not by_feature & by_faq and not asked:
            # "Si può bollire il *latte*?": the boiling time's entry says "bollire", a feature
            # says "latte" (per neonati); each is half the question and neither answers it.
            return DONT_KNOW
    if m is None and asked:
        # "How heavy is it?": an FAQ entry that asks it and states the value; else the value
        # itself ("It weighs 250 grams"), the direct answer; where the language cannot say
        # it, the feature that gives the value, and only that one, else an FAQ answer that
        # states it. Never another feature. A number is no other thing: the value answers
        # "does a *15*-inch laptop fit?" ("up to 16 inches").
        values = [p.specs[a] for a in asked]
        # an amount stated is the value asked about ("keep ice *for a day*?": 24 hours)
        stated = set(tokenize(text, qlang)) - set(tokenize(without_amounts(text, qlang), qlang))
        if other := {u for u in unknown if not _number_said(u, text) and u not in stated}:
            # "how bright is the *screen*?": another thing; unless an FAQ answer that states
            # the value says it too ("how bright, good for *reading*?": "800 lumens, plenty
            # for reading")
            said = r.answer_covering(text, p.id, qlang, other) if qlang == lang else None
            ok = said is not None and spec_features([said.entry.a(lang)[0]], values)
            return Reply("faq", faq=said) if ok else DONT_KNOW
        stating = [(i, e) for i, e in enumerate(p.faq) if spec_features([e.a(lang)[0]], values)]
        for i, e in stating:
            if asked[0] in r.specs_asked(e.q(qlang), qlang, p.id):
                # The shop's own answer to this very question ("台灯亮不亮？" is its "How
                # bright is it?"), though the words did not meet.
                return Reply("faq", faq=FaqMatch(e, i, 0.0))
        wanted = spec_features(feats, values)
        stated = FaqMatch(stating[0][1], stating[0][0], 0.0) if stating and not wanted else None
        return Reply("spec", faq=stated, spec=asked[0], features=tuple(wanted))
    if m is not None:
        return Reply("faq", faq=m)
    if not asked and feats and r.asks_material(text, qlang, unknown):
        if r.material_parts(qlang, unknown):
            return DONT_KNOW  # "what is the lid made of?": a part no feature names
        # "What is it made of?", "is it plastic?": the features that name its material and
        # only those (a recital of the others would dodge the question); else an FAQ answer
        # that names it, less its yes to another question ("Is it BPA free?": "Yes, it is
        # made from food-grade stainless steel" is no yes to "is it plastic?"); none: "I'll
        # check".
        if made := r.material_features(p.id, lang):
            return Reply("features", features=tuple(made))
        # of the product as a whole: "what is the bottle's *lid* made of?" asks about a part
        # that answer does not give the material of ("... and the lid is BPA free")
        whole = not r.matching_features(text, p.id, qlang)
        said = r.material_answer(p.id, lang) if whole else None
        return Reply("faq", faq=said, bare=True) if said is not None else DONT_KNOW
    if (
        not asked
        and not wanted
        and (
            unknown
            or r.unknown_chars(text, qlang, p.id)
            or (unknown := r.stray_names(text, qlang, p.id))
        )
    ):
        # A detail no feature and no FAQ question names may still be in an FAQ answer ("good
        # for reading?": "800 lumens, plenty for reading"); else the catalog lacks it ("what
        # colours?"): reciting unrelated features would sound evasive, and guessing is not
        # allowed.
        said = r.answer_covering(text, p.id, qlang, unknown) if qlang == lang else None
        return Reply("faq", faq=said) if said is not None else DONT_KNOW
    if not feats or (
        not asked and not wanted and (r.asks(text, "ask_when") or r.asks(text, "ask_where"))
    ):
        # "When will I get the headphones?", "where is it made?" ask a time or a place, which
        # no feature says.
        return DONT_KNOW
    if asked:
        order = wanted  # the spec's feature alone: no second, unrelated one
    else:
        order = wanted + [i for i in range(len(feats)) if i not in wanted]
    order = [i for i in order if i < len(feats)]
    return Reply("features", features=tuple(order), pair=len(order) > 1 and not wanted)


def stock_family(stock: int | None) -> str:
    """The answer to "is it in stock?": the catalog's stock ("only N left" at FEW_STOCK or
    fewer, as on the product card); a product without stock data gets "I'll check"."""
    if stock is None:
        return "dont_know"
    if stock <= 0:
        return "answer_sold_out"
    return "answer_few_left" if stock <= FEW_STOCK else "answer_in_stock"


def _number_said(token: str, text: str) -> bool:
    """A number ("15", "1,5"), or in a language written without spaces the bigram of the
    unit after a number and the next word's first character (寸电 in 能放15寸电脑吗)."""
    if token.replace(".", "").replace(",", "").isdigit():
        return True
    return bool(CJK_PAIR.fullmatch(token)) and re.search(rf"\d{re.escape(token)}", text) is not None
