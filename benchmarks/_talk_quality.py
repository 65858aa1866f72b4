"""What a viewer hears, not how fast (issue 16): FAQ accuracy per language on the catalog's own
FAQ questions and on tests/data/faq_paraphrases.json, wrong FAQ answers to the questions of
tests/data/faq_negatives.json (which no FAQ answers), and spec questions
(tests/data/spec_questions.json) answered with the spec's value. Used by benchmarks/talk.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def measure_faq(res: Any, catalog: Any, langs: tuple[str, ...]) -> dict[str, Any]:
    """faq_accuracy_pct (own FAQ questions, all languages) and faq_paraphrase_accuracy_pct
    (the lowest language; each language's figure beside it): an answer counts when it
    contains the catalog's answer text for that FAQ entry."""
    from streamhost.frames import ChatEvent
    from streamhost.talk.generator import TemplateGenerator

    paraphrases = json.loads((ROOT / "tests/data/faq_paraphrases.json").read_text("utf-8"))
    negatives = json.loads((ROOT / "tests/data/faq_negatives.json").read_text("utf-8"))
    wrong = wrong_n = 0
    own = own_n = 0
    para: dict[str, float] = {}
    for lang in langs:
        gen = TemplateGenerator(catalog, lang, answer_in_question_language=True)

        def hit(text: str, pid: str, i: int, lang: str = lang, gen: Any = gen) -> bool:
            want = catalog.get(pid).faq[i].a(lang)[0]
            return any(s.text == want for s in gen.answer(ChatEvent("viewer", text), pid))

        for p in catalog:
            for i, e in enumerate(p.faq):
                own_n += 1
                own += hit(e.q(lang), p.id, i)
        rows = paraphrases[lang]
        para[lang] = 100.0 * sum(hit(t, pid, i) for pid, i, t in rows) / len(rows)
        res.add(f"faq_paraphrase_accuracy_{lang}_pct", round(para[lang], 1), "%", 1)
        # questions no FAQ answers that share an FAQ's frame ("how long does shipping take?"):
        # any FAQ answer to one of them is a wrong answer
        answers = {e.a(lang)[0] for p in catalog for e in p.faq}
        for pid, text in negatives[lang]:
            wrong_n += 1
            wrong += any(s.text in answers for s in gen.answer(ChatEvent("viewer", text), pid))
    res.add("faq_accuracy_pct", round(100.0 * own / own_n, 1), "%", 1)
    res.add("faq_paraphrase_accuracy_pct", round(min(para.values()), 1), "%", 1)
    res.add("faq_wrong_answer_pct", round(100.0 * wrong / wrong_n, 1), "%", 1)
    return {
        "faq_negatives": wrong_n,
        "own_faqs": own_n,
        "paraphrases_per_language": {k: len(v) for k, v in paraphrases.items()},
    }


def measure_specs(res: Any, catalog: Any, langs: tuple[str, ...]) -> dict[str, Any]:
    """spec_value_answered_pct (the lowest language; each beside it): the answer states the
    asked spec's number and every sentence of it passes the guard."""
    from streamhost.frames import ChatEvent
    from streamhost.talk.generator import TemplateGenerator
    from streamhost.talk.guard import Guard

    questions = json.loads((ROOT / "tests/data/spec_questions.json").read_text("utf-8"))
    pct: dict[str, float] = {}
    for lang in langs:
        gen = TemplateGenerator(catalog, lang, answer_in_question_language=True)
        guard = Guard(catalog, lang)
        hits = 0
        for pid, spec, text in questions[lang]:
            out = gen.answer(ChatEvent("viewer", text), pid)
            said = " ".join(s.text for s in out)
            number = re.match(r"[\d.]+", catalog.get(pid).specs[spec])
            assert number is not None, (pid, spec)
            stated = number.group(0) in said or number.group(0).replace(".", ",") in said
            hits += stated and all(guard.check(s).ok for s in out)
        pct[lang] = 100.0 * hits / len(questions[lang])
        res.add(f"spec_value_answered_{lang}_pct", round(pct[lang], 1), "%", 1)
    res.add("spec_value_answered_pct", round(min(pct.values()), 1), "%", 1)
    return {"spec_questions_per_language": {lg: len(questions[lg]) for lg in langs}}
