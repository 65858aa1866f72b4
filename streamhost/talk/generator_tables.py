"""The generator's lookup tables: a template family in, the emotion it is said with out; a
platform's event kind in, the thanks template family out."""

from __future__ import annotations

from ..frames import Emotion

_EMOTION = {
    "intro": Emotion.HAPPY,
    "feature": Emotion.NEUTRAL,
    "price": Emotion.NEUTRAL,
    "urgency": Emotion.SURPRISED,
    "social": Emotion.HAPPY,
    "cta": Emotion.HAPPY,
    "greeting": Emotion.HAPPY,
    "thanks_follow": Emotion.HAPPY,
    "thanks_gift": Emotion.HAPPY,
    "thanks_purchase": Emotion.HAPPY,
}

# Event kinds that count as a follow / gift / purchase (platforms name them differently).
_THANKS_KIND = {
    "follow": "thanks_follow",
    "subscribe": "thanks_follow",
    "gift": "thanks_gift",
    "donation": "thanks_gift",
    "purchase": "thanks_purchase",
    "order": "thanks_purchase",
}

# Answers that hand the question to the operator as they are said.
_HANDED_ON = frozenset({"dont_know", "answer_order_help"})
