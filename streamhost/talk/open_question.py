"""An FAQ answer fitted to the question it answers: its leading yes left out where the question
is open. "Yes, a 3.5 mm cable is in the box" answers "can I use them with a cable?", but to
"what's in the box?" the yes answers nothing that was asked.

In: the viewer's question and its language, an answer and its language. Out: the answer as
the host says it. The words are the language files' ``[intent] ask_open`` (at the start of a
sentence in languages written with spaces: "va bene *come* regalo?" is a yes-no question;
anywhere in the others) and ``[intent] answer_yes``.
"""

from __future__ import annotations

import functools
import re

from ..langdata import load_languages
from ..language import fold
from .intent_words import has_any, intent_patterns

_NUMBER = re.compile(r"\d+")


@functools.cache
def _patterns(lang: str) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    d = load_languages().get(lang)
    if d is None or not d.intent["ask_open"] or not d.intent["answer_yes"]:
        return None
    opens = "|".join(re.escape(fold(w)) for w in sorted(d.intent["ask_open"], key=len)[::-1])
    yes = "|".join(re.escape(w) for w in sorted(d.intent["answer_yes"], key=len)[::-1])
    if d.script is None:
        ask = re.compile(rf"(?:^|[.!?;:,¿¡]\s*)(?:@\w+\s+)?(?:{opens})(?![^\W_])")
        said = re.compile(rf"(?:{yes})(?![^\W_])[,!.;:]?\s+(?=\w)", re.IGNORECASE)
    else:
        ask = re.compile(opens)
        said = re.compile(rf"(?:{yes})[，,！!。]\s*(?=\w)")
    return ask, said


def answer_to(question: str, qlang: str, answer: str, alang: str) -> str:
    """``answer`` as said to ``question``: without its leading yes (``without_yes``) where the
    question, in ``qlang``, is open, or where a yes would claim what no catalog says ("is this
    the *lowest price*?", ``[intent] no_yes``; "... after *3* months?", a number the answer
    does not state)."""
    asking = _patterns(qlang)
    if asking is None:
        return answer
    folded = fold(question).strip()
    # "can I return it after 3 months?": a yes would grant the viewer's number, which the
    # answer ("within 30 days") does not say
    asked = set(_NUMBER.findall(folded)) - set(_NUMBER.findall(answer))
    if asked or asking[0].search(folded) or has_any(folded, intent_patterns()["no_yes"]):
        return without_yes(answer, alang)
    return answer


def without_yes(answer: str, lang: str) -> str:
    """``answer`` (in ``lang``) without a leading yes word, the rest capitalised; unchanged
    where it starts otherwise."""
    answering = _patterns(lang)
    m = answering[1].match(answer) if answering is not None else None
    if m is None:
        return answer
    rest = answer[m.end() :]
    return rest[:1].upper() + rest[1:]
