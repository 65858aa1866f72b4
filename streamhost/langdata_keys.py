"""The names the language files are checked against: template families, template slots,
``[intent]`` keys and stemmers (streamhost.langdata reads and validates the files).

A family, slot or intent key is added here and in every ``assets/talk/<lang>.toml``; the
comment beside each says who asks for it.
"""

from __future__ import annotations

# Template families the generator and the show know by name; every language has all of them.
FAMILIES: tuple[str, ...] = (
    "intro", "feature", "price", "urgency", "social", "cta", "ask_price", "answer_price",
    "answer_deal",  # "is it on sale?" while it is: the price now and the regular one
    "answer_no_deal",  # ... while it is not: no discount now, and the price
    "answer_deal_open",  # "when does the deal end?" with no flash sale's countdown to give
    "answer_cheapest",  # "what's the cheapest thing tonight?": the product with the lowest price
    "answer_priciest",  # "what's the most expensive thing?": the product with the highest price
    "answer_compare",  # "which is cheaper, X or Y?": the cheaper one, then the other ({the2})
    "answer_total",  # "how much for X and Y together?": both prices now and their {total}
    "answer_difference",  # "the difference between X and Y?": each named, with its first {feature}
    "answer_total_all",  # "how much for everything?": the {names} of the show and their {total}
    "answer_lineup",  # "what do you sell tonight?": the show's products ({names}, all of them)
    "answer_lineup_many",  # ... more than talk.lineup's limit: the first ones, as examples
    "answer_deals",  # "what's on sale tonight?": the products ({names}) whose price now is lower
    "answer_no_deals",  # ... none: every price is the regular one
    "answer_budget",  # "anything under 30 euros?": the one product within it
    "answer_budget_two",  # ... the two products within it ({the2}, {price2})
    "answer_budget_many",  # ... more, not all: the two most affordable as examples
    "answer_budget_all",  # ... every product of the show: the most affordable
    "answer_budget_none",  # ... none: the most affordable, honestly above it
    "answer_what_is",  # "what is this?": the product on screen and its price now
    "answer_quantity",  # "how much for two?": the total for that many, and the price of each
    "answer_farewell",  # "good night all": good night and thanks for stopping by
    "answer_small_talk",  # "how are you?", "love your voice": thanks, and back to the products
    "answer_show",  # "show me the lamp": the product, now on screen, and its price
    "answer_recommend",  # "what do you recommend?", "is it worth it?": that product, price now
    "answer_ai",  # "are you a bot?": an AI host, and a person from the shop reads the chat
    "answer_shop_name",  # "what's the shop called?": the catalog's {shop} name
    "answer_languages",  # "can you speak German?": the languages it answers in ({names})
    "answer_order_help",  # "my order didn't arrive": the shop's team takes it (the operator)
    "answer_in_stock",  # "is it in stock?": yes (more than a few left)
    "answer_few_left",  # ... only {few_stock} left
    "answer_sold_out",  # ... none left
    "ask_question",
    "answer_feature",
    "dont_know",
    "greeting",
    "thanks_follow",
    "thanks_gift",
    "thanks_purchase",
    "not_carried",  # a product the shop does not sell (+ the closest one it does)
    "other_language",  # the question's language is not an answer language
    "followup_lead",  # before an operator's answer to an earlier question
    "followup_timeout",  # nobody answered it in time
    "barge_in",  # a question breaks into talk
    "faq_talk",  # product talk: one of the catalog's FAQ entries, asked and answered unprompted
)  # fmt: skip

# Slots the generator can fill (streamhost.talk.templates.slots_for_product / user_slots, the
# generator's features). A slot outside this set could never be filled: the template would be
# silently dead, so it is an error.
TEMPLATE_SLOTS: frozenset[str] = frozenset(
    {
        "name", "price", "the", "The", "acc", "Acc", "dat", "this", "of_the", "to_the", "on_the",
        "few_stock", "discount", "feature", "feature2", "shop", "regular",
        "the2", "acc2", "price2",
        "user", "User", "user_vocative_free", "User_vocative_free", "user_dat_free", "question", "answer",
        "total", "names", "count",
    }
)  # fmt: skip

# Intent word lists (streamhost.talk.retrieval, streamhost.chat.triage).
INTENT_KEYS: tuple[str, ...] = (
    "price_strong",
    "price_weak",
    "feature",
    "feature_attr",
    "greeting",
    "question_words",
    "places",  # countries: where the shop ships is its entries' business, no unknown thing
    "question_marks",
    "have",  # "do you have / sell": asks for a product, maybe one the shop lacks
    "have_it",  # "do you have *it* in black?": the product on screen, not another one
    "ask_host",  # addresses the host or shop ("do you ship ...?"): a question, not chatter
    "deal",  # asks whether there is a deal ("on sale?", 优惠): a price question, answered with it
    "stock",  # asks whether it is in stock ("any left?", 还有货吗)
    "cheapest",  # asks for the cheapest product of the show ("cheapest?", 最便宜)
    "priciest",  # asks for the show's most expensive product ("most expensive?", 最贵)
    "ask_ai",  # asks whether the host is an AI or a real person ("are you a bot?", 你是真人吗)
    "later",  # another day's show ("are you live *tomorrow*?"): the team's schedule, not whether the host is an AI
    "farewell",  # a viewer leaving ("good night all", "tschüss", 拜拜): a goodbye, rarely on air
    "small_talk",  # to the host, about nothing on sale ("how are you?", "love your voice")
    "ask_language",  # asks which languages the host speaks ("do you speak German?", 会说中文吗)
    "how_to_buy",  # asks how or where to order ("how do I order?", "where's the link?")
    "use_it",  # about the product itself: how it is used, what is in its box; never the shop's
    "deal_ends",  # asks when the deal ends ("how long is the deal?"): the flash sale's time left
    "compare_price",  # "which is cheaper, the kettle or the lamp?": two named products' prices
    "difference",  # "what's the difference between the kettle and the bottle?": what each one is
    "together",  # "how much are the kettle and the lamp *together*?": with a price, their total
    "ask_lineup",  # "what do you sell tonight?", "welche Produkte habt ihr?": the show's products
    "counts",  # the words for two to ten, in order: "how much for *two*?" (talk/quantity.py)
    "count_units",  # after a number, a measure and not a count ("2 *litres*", "2 *Jahre*")
    "amount_ones",  # "one" before a measure ("*a* litre", "*einen* Liter", *一*升): an amount
    "this_one",  # refers to the product on screen ("is *it* waterproof?"): never another's detail
    "show_me",  # "show me the lamp": the product named goes on screen and is presented
    "again",  # "... again": a request repeated ("show the backpack again"), nothing asked
    "what_is_it",  # "what is this?": the product on screen, presented in a sentence or two
    "ask_when",  # asks when ("when will I get it?"): never answered with a product's highlight
    "ask_where",  # asks where ("where is it made?"): never answered with a product's highlight
    "shop_service",  # the shop's premises or services ("a store in Berlin?"): never "not carried"
    "stream_issue",  # the stream itself ("I can't hear you", "video keeps freezing"): for the team, as order_help
    "order_help",  # a viewer's own order or a fault ("my order didn't arrive"): for the team
    "and_ask",  # "... and does it ...": where a second question starts (talk/compound.py)
    "condition",  # "... if I don't like it": a condition, not what is asked (talk/shop_faq.py)
    "fault",  # "... if it breaks": a product failing, which no shop entry but its own answers
    "what_if",  # "what if it breaks?" with a fault word: the product's warranty, not a fault
    "everything",  # "all of it" ("how much for *everything* together?"): every product in stock
    "magnitude",  # "how *high*": the frame of a spec's question ("Wie hoch ist die Leistung?"), else a detail
    "group_price",  # a price for some buyers ("student discount", 学生价): the shop's policy, the team's
    "price_terms",  # what a price includes ("with VAT?", "inkl. MwSt?", 含税吗, customs): the shop's policy, the team's
    "days",  # a day of the week ("do you deliver on *Saturday*?"): as courier, unless an entry names one
    "who_pays",  # who bears a cost ("who pays the return shipping?"): only an entry naming it answers
    "courier",  # a carrier, where it ships from ("do you ship with DHL?"): no entry but one naming it
    "warranty",  # words naming a warranty; the first replaces the fault of "what if it breaks?"
    "bought",  # "just bought the kettle!": a viewer says they ordered; thanked like a purchase
    "ask_material",  # "what is it made of?": the features naming a material ([words] materials)
    "budget",  # a price ceiling, "…" where the amount stands ("under …", "…以内"): talk/budget.py
    "budget_any",  # asks for some product, unnamed ("anything", 什么): a bare "under 25" is a budget
    "cheaper",  # "anything *cheaper* than the kettle?": with budget_any and one product named
    "recommend",  # "what do you recommend?", "is it worth it?": the product named or on screen
    "ask_detail",  # "how's the ...?", "wie ist der ...?": with "?", a detail of the product on screen asked
    "ask_open",  # opens a question that is not yes-no ("what's in the box?"): talk/open_question.py
    "no_yes",  # a yes to it would claim what no catalog says ("is this the lowest price?")
    "answer_yes",  # an answer's leading yes ("Yes, ..."), which an open question does not take
    "filler",  # chat's fillers before a question ("wait", "ngl", "bruh", "allora"): no detail, no chatter
    "ask_shop_name",  # "what's the shop called?": the catalog's shop name (answer_shop_name)
    "charge_self",  # charging the product itself ("how do I charge the lamp?"), with "phone" words absent
    "phone",  # a phone ("can it charge my *phone*?"): the charging asked is the phone's, not the product's
    "ask_yes_no",  # opens a yes-no question ("hat die lampe usb", typed without "?"): triage
)
# Suffix strippers that exist in code (streamhost.talk.retrieval); "none" keeps words as typed.
STEMMERS: tuple[str, ...] = ("none", "en", "de", "it")
