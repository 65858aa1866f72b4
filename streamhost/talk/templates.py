"""Sentence templates per family and language, and the tiny language that fills them.

In: a family ("intro", "price", ...), a language and slot values (catalog text only).
Out: finished sentences. Template syntax:

- ``{slot}``: a value from `slots_for_product` / the generator (``{price}``, ``{feature}``,
  ``{User}`` ...). A template is only eligible when every slot it names is available, so
  a product without stock data never gets a stock sentence.
- ``[a|b]``: singular/plural form chosen by the product's grammar code (en "sg"/"pl",
  de "pl", it "mpl"/"fpl" count as plural).
- ``[a|b|c|d]``: de masculine|feminine|neuter|plural, it masculine|feminine|m.pl.|f.pl.

Templates contain no digits: every number in a sentence comes from the catalog.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping

from .catalog import Product

FAMILIES: tuple[str, ...] = (
    "intro",
    "feature",
    "price",
    "urgency",
    "social",
    "cta",
    "ask_price",
    "answer_price",
    "ask_question",
    "answer_feature",
    "dont_know",
    "greeting",
    "thanks_follow",
    "thanks_gift",
    "thanks_purchase",
)

# How the generator refers to a viewer whose name it may not say. Capitalized form: {User}.
A_VIEWER: dict[str, str] = {
    "en": "a viewer",
    "de": "ein Zuschauer",
    "it": "uno spettatore",
    "zh": "一位观众",
}

TEMPLATES: dict[str, dict[str, list[str]]] = {
    "intro": {
        "en": [
            "Let's take a closer look at {the}.",
            "Next up on the table: {the}.",
            "Now I want to show you {the}.",
            "Okay everyone, time for {the}.",
            "Say hello to {the}!",
            "Here [it is|they are]: {the}.",
            "If you just joined us, [this is|these are] {the}.",
            "Let me tell you about {the}.",
            "Right now I'm holding {the}, and I really like [it|them].",
            "Time to talk about one of my favourites, {the}.",
            "Let's switch over to {the}.",
            "Have a look at {the} from {shop}.",
            "Here is something for your home and your day: {the}.",
        ],
        "de": [
            "Schauen wir uns {acc} mal genauer an.",
            "Als Nächstes zeige ich euch {acc}.",
            "So, jetzt [kommt|kommt|kommt|kommen] {the}.",
            "Darf ich vorstellen: {the}.",
            "Hier [ist er|ist sie|ist es|sind sie]: {the}.",
            "Wer gerade erst dazugekommen ist: Das hier [ist|ist|ist|sind] {the}.",
            "Jetzt erzähle ich euch etwas über {acc}.",
            "Ich habe gerade {acc} in der Hand, und ich mag [ihn|sie|es|sie] wirklich.",
            "Zeit für einen meiner Lieblinge: {the}.",
            "Wechseln wir zu {dat}.",
            "Schaut mal, {the} von {shop}.",
            "Weiter geht's mit {dat}.",
            "Jetzt wird es spannend, denn jetzt [kommt|kommt|kommt|kommen] {the}.",
        ],
        "it": [
            "Diamo un'occhiata da vicino {to_the}.",
            "Adesso vi mostro {the}.",
            "Ed ecco a voi {the}!",
            "Ora parliamo {of_the}.",
            "Chi si è appena collegato, [questo è|questa è|questi sono|queste sono] {the}.",
            "Passiamo {to_the}.",
            "Ho in mano {the} e [lo|la|li|le] adoro davvero.",
            "È il momento di uno dei miei preferiti: {the}.",
            "Vi presento {the} di {shop}.",
            "Guardate qui: {the}.",
            "Andiamo avanti con {the}.",
            "Adesso tocca {to_the}.",
        ],
        "zh": [
            "接下来我们仔细看看这款{name}。",
            "下面给大家介绍{name}。",
            "好，家人们，现在来看{name}！",
            "刚进直播间的朋友，我手上这款就是{name}。",
            "来，看看这款{name}。",
            "现在我要给大家推荐的是{name}。",
            "这款{name}是我特别喜欢的一款。",
            "我们来聊聊{name}。",
            "下一款好物：{name}。",
            "{shop}的{name}来啦！",
            "给大家隆重介绍一下{name}。",
            "换一款，我们来看{name}。",
        ],
    },
    "feature": {
        "en": [
            "[It comes|They come] with {feature}.",
            "What I love most: {feature}.",
            "One detail you'll notice right away: {feature}.",
            "And you get {feature}.",
            "Here's a nice touch: {feature}.",
            "Another highlight is {feature}.",
            "Look at this: {feature}.",
            "You also get {feature}, which is really handy.",
            "Something people often overlook: {feature}.",
            "Plus, {feature}.",
            "And then there's {feature}.",
            "A small thing that makes a big difference: {feature}.",
        ],
        "de": [
            "Was ich besonders mag: {feature}.",
            "Ein Detail, das sofort auffällt: {feature}.",
            "Dazu kommt noch: {feature}.",
            "Schaut mal hier: {feature}.",
            "Ein echtes Highlight: {feature}.",
            "Und das Beste: {feature}.",
            "Was viele übersehen: {feature}.",
            "Richtig praktisch im Alltag: {feature}.",
            "Außerdem mit dabei: {feature}.",
            "Ein kleines Detail mit großer Wirkung: {feature}.",
            "Noch ein Punkt, der mich überzeugt: {feature}.",
            "Und nicht zu vergessen: {feature}.",
        ],
        "it": [
            "La cosa che amo di più: {feature}.",
            "Un dettaglio che si nota subito: {feature}.",
            "In più avete {feature}.",
            "Guardate qui: {feature}.",
            "Un vero punto forte: {feature}.",
            "E il meglio è questo: {feature}.",
            "Una cosa che molti non notano: {feature}.",
            "Comodissimo nella vita di tutti i giorni: {feature}.",
            "Inoltre c'è {feature}.",
            "Un piccolo dettaglio che fa la differenza: {feature}.",
            "Un altro motivo per cui mi piace: {feature}.",
            "E non dimentichiamo {feature}.",
        ],
        "zh": [
            "我最喜欢的一点是：{feature}。",
            "大家一眼就能看到的细节：{feature}。",
            "另外还有{feature}。",
            "来，看这里：{feature}。",
            "它的一大亮点就是{feature}。",
            "最棒的是：{feature}。",
            "很多人会忽略的一点：{feature}。",
            "日常用起来特别方便：{feature}。",
            "再给大家说一个细节：{feature}。",
            "小细节，大不同：{feature}。",
            "还有一个让我心动的地方：{feature}。",
            "别忘了，还有{feature}。",
        ],
    },
    "price": {
        "en": [
            "{The} [costs|cost] {price}.",
            "The price for {the} is {price}.",
            "You can take [it|them] home for {price}.",
            "All of this for {price}.",
            "And the price? Just {price}.",
            "{The}: {price}.",
            "Right now {the} [is|are] {price} in our shop.",
            "For {price} [it's|they're] yours.",
            "Let's talk price: {price}.",
            "Here's the best part, {the} [is|are] only {price}.",
            "{price}, that's all you pay for {the}.",
            "The price today is {price}.",
        ],
        "de": [
            "{The} [kostet|kosten] {price}.",
            "Der Preis für {acc}: {price}.",
            "Für {price} könnt ihr [ihn|sie|es|sie] mit nach Hause nehmen.",
            "Das alles für {price}.",
            "Und der Preis? Nur {price}.",
            "{The}: {price}.",
            "Im Moment [kostet|kosten] {the} bei uns {price}.",
            "Für {price} [gehört er|gehört sie|gehört es|gehören sie] euch.",
            "Reden wir über den Preis: {price}.",
            "Das Beste: {the} [kostet|kosten] nur {price}.",
            "{price}, mehr zahlt ihr für {acc} nicht.",
            "Der Preis heute: {price}.",
        ],
        "it": [
            "{The} [costa|costano] {price}.",
            "Il prezzo {of_the} è {price}.",
            "Potete portar[lo|la|li|le] a casa per {price}.",
            "Tutto questo per {price}.",
            "E il prezzo? Solo {price}.",
            "{The}: {price}.",
            "In questo momento {the} [costa|costano] {price} nel nostro negozio.",
            "Con {price} [è vostro|è vostra|sono vostri|sono vostre].",
            "Parliamo di prezzo: {price}.",
            "La parte migliore: {the} [costa|costano] solo {price}.",
            "{price}, ecco quanto pagate per {the}.",
            "Il prezzo di oggi è {price}.",
        ],
        "zh": [
            "{name}的价格是{price}。",
            "这款{name}只要{price}。",
            "{price}就能把它带回家。",
            "这么多优点，只要{price}。",
            "价格呢？只要{price}！",
            "{name}：{price}。",
            "现在店里{name}的价格是{price}。",
            "{price}，它就是你的了。",
            "说说价格：{price}。",
            "最棒的是，{name}只要{price}。",
            "到手价{price}。",
            "今天的价格是{price}。",
        ],
    },
    "urgency": {
        "en": [
            "Only {few_stock} left in stock, so don't wait too long.",
            "We have just {few_stock} left.",
            "Heads up, stock is down to {few_stock}.",
            "Right now you save {discount} percent on {the}.",
            "There's a {discount} percent discount on {the} at the moment.",
            "{discount} percent off, that's a really good deal.",
            "Don't wait too long on this one.",
            "If you've been thinking about it, now is a good moment.",
            "Add [it|them] to your cart now so you don't forget.",
            "Grab [it|them] while you're here with us.",
            "This is a great time to treat yourself.",
            "If it's on your wish list, today is the day.",
        ],
        "de": [
            "Nur noch {few_stock} Stück auf Lager, also nicht zu lange warten.",
            "Wir haben nur noch {few_stock} Stück.",
            "Achtung, der Vorrat ist auf {few_stock} Stück geschrumpft.",
            "Gerade spart ihr {discount} Prozent auf {acc}.",
            "Im Moment gibt es {discount} Prozent Rabatt auf {acc}.",
            "{discount} Prozent Rabatt, das ist ein richtig gutes Angebot.",
            "Wartet damit nicht zu lange.",
            "Wenn ihr schon länger darüber nachdenkt, ist jetzt ein guter Moment.",
            "Legt [ihn|sie|es|sie] gleich in den Warenkorb, dann vergesst ihr es nicht.",
            "Schnappt [ihn|sie|es|sie] euch, solange ihr hier bei uns seid.",
            "Ein perfekter Moment, um euch etwas zu gönnen.",
            "Wenn [er|sie|es|sie] auf eurer Wunschliste [steht|steht|steht|stehen], ist heute der Tag.",
        ],
        "it": [
            "Ne restano solo {few_stock} in magazzino, non aspettate troppo.",
            "Ne abbiamo solo {few_stock}.",
            "Attenzione, le scorte sono scese a {few_stock}.",
            "In questo momento risparmiate il {discount} per cento.",
            "C'è uno sconto del {discount} per cento {on_the}.",
            "{discount} per cento di sconto, un vero affare.",
            "Non aspettate troppo con questo.",
            "Se ci state pensando da un po', questo è il momento giusto.",
            "Mettete[lo|la|li|le] subito nel carrello, così non ve ne dimenticate.",
            "Prendete[lo|la|li|le] adesso che siete qui con noi.",
            "È il momento perfetto per farvi un regalo.",
            "Se è nella vostra lista dei desideri, oggi è il giorno giusto.",
        ],
        "zh": [
            "库存只剩{few_stock}件了，别犹豫太久。",
            "现在只剩{few_stock}件。",
            "提醒一下，库存已经只有{few_stock}件了。",
            "现在买{name}立省百分之{discount}。",
            "{name}现在有百分之{discount}的折扣。",
            "优惠百分之{discount}，真的很划算。",
            "喜欢的话别等太久哦。",
            "想了很久的朋友，现在就是好时机。",
            "先加入购物车，免得忘了。",
            "趁着在直播间，赶紧拿下。",
            "正是犒劳自己的好时候。",
            "在心愿单里的朋友，今天就下单吧。",
        ],
    },
    "social": {
        "en": [
            "Honestly, I use [this one|these] myself.",
            "If you already have {the}, tell the others in chat how you like [it|them].",
            "This is one of the pieces I'd recommend to my own friends.",
            "Chat, who else would love {the}?",
            "Let me know in the chat if you'd use [it|them] at home or on the go.",
            "I can tell you, [it feels|they feel] even better in your hands than on camera.",
            "This is exactly the kind of thing I wish I'd bought sooner.",
            "Tag a friend who needs {the}.",
            "Questions about {the}? Ask away in the chat.",
            "I picked [this one|these] for the show because [it's|they're] so practical.",
        ],
        "de": [
            "Ehrlich gesagt benutze ich [ihn|sie|es|sie] selbst.",
            "Wer {acc} schon hat: Erzählt den anderen im Chat, wie ihr [ihn|sie|es|sie] findet.",
            "Das würde ich auch meinen Freunden empfehlen.",
            "Chat, wer hätte noch gern {acc}?",
            "Schreibt in den Chat, ob ihr [ihn|sie|es|sie] eher zu Hause oder unterwegs nutzen würdet.",
            "In der Hand [fühlt er sich|fühlt sie sich|fühlt es sich|fühlen sie sich] noch besser an als vor der Kamera.",
            "Genau so etwas hätte ich mir schon früher kaufen sollen.",
            "Markiert jemanden, der {acc} gebrauchen kann.",
            "Fragen zu {dat}? Schreibt sie in den Chat.",
            "Ich habe [ihn|sie|es|sie] für die Show ausgesucht, weil [er|sie|es|sie] so praktisch [ist|ist|ist|sind].",
        ],
        "it": [
            "Sinceramente, [lo|la|li|le] uso anche io.",
            "Se avete già {the}, raccontate in chat come vi trovate.",
            "È uno di quei prodotti che consiglierei ai miei amici.",
            "Chat, a chi altro piacerebbe {the}?",
            "Scrivetemi in chat se [lo|la|li|le] usereste a casa o in viaggio.",
            "Vi assicuro che dal vivo è ancora più bello che in camera.",
            "È proprio il tipo di cosa che avrei voluto comprare prima.",
            "Taggate un amico a cui servirebbe {the}.",
            "Domande {on_the}? Scrivetele in chat.",
            "[L'ho scelto|L'ho scelta|Li ho scelti|Le ho scelte] per la diretta perché [è pratico|è pratica|sono pratici|sono pratiche].",
        ],
        "zh": [
            "说实话，我自己也在用。",
            "已经买过{name}的朋友，在公屏上说说使用感受吧。",
            "这款我也会推荐给自己的朋友。",
            "家人们，还有谁想要{name}？",
            "在评论区告诉我，你会在家用还是出门用？",
            "拿在手里的感觉比镜头里看着还要好。",
            "这种好东西，真希望早点买。",
            "@一下需要{name}的朋友吧。",
            "关于{name}有问题？直接在公屏上问我。",
            "我选它上直播，就是因为它特别实用。",
        ],
    },
    "cta": {
        "en": [
            "Tap the cart button below to get {the}.",
            "The link is right below the video.",
            "Just tap the product card to order.",
            "Hit the shop button and [it's|they're] on the way to you.",
            "You'll find {the} in the shop tab below.",
            "Click the cart icon and you're done.",
            "Order now with the button under the stream.",
            "Add {the} to your cart with one tap.",
            "Want [it|them]? Tap the product card below.",
            "Go ahead, the order button is right there.",
            "Check out {the} in our shop, the link is below.",
            "One tap on the cart and {the} [is|are] yours.",
        ],
        "de": [
            "Tippt unten auf den Warenkorb, um {acc} zu bestellen.",
            "Der Link ist direkt unter dem Video.",
            "Einfach auf die Produktkarte tippen und bestellen.",
            "Drückt auf den Shop-Button, und [er|sie|es|sie] [ist|ist|ist|sind] auf dem Weg zu euch.",
            "{Acc} findet ihr unten im Shop-Tab.",
            "Auf das Warenkorb-Symbol klicken, fertig.",
            "Jetzt bestellen mit dem Button unter dem Stream.",
            "Legt {acc} mit einem Tipp in den Warenkorb.",
            "Lust drauf? Tippt auf die Produktkarte unten.",
            "Los geht's, der Bestellbutton ist gleich da unten.",
            "Schaut euch {acc} in unserem Shop an, der Link ist unten.",
            "Ein Tipp auf den Warenkorb, und {the} [gehört|gehört|gehört|gehören] euch.",
        ],
        "it": [
            "Toccate il carrello qui sotto per avere {the}.",
            "Il link è proprio sotto il video.",
            "Basta toccare la scheda del prodotto per ordinare.",
            "Premete il pulsante del negozio e [arriva|arriva|arrivano|arrivano] da voi.",
            "Trovate {the} nella sezione negozio qui sotto.",
            "Cliccate sull'icona del carrello ed è fatta.",
            "Ordinate ora con il pulsante sotto la diretta.",
            "Aggiungete {the} al carrello con un tocco.",
            "[Lo|La|Li|Le] volete? Toccate la scheda qui sotto.",
            "Forza, il pulsante per ordinare è proprio lì.",
            "Date un'occhiata {to_the} nel nostro negozio, il link è qui sotto.",
            "Un tocco sul carrello e {the} [è vostro|è vostra|sono vostri|sono vostre].",
        ],
        "zh": [
            "点击下方购物车就能买到{name}。",
            "链接就在视频下方。",
            "点一下商品卡片就可以下单。",
            "点击小黄车，马上发货给你。",
            "{name}在下方的商品栏里。",
            "点购物车图标，一步搞定。",
            "直播间下方按钮，现在就能下单。",
            "一键把{name}加入购物车。",
            "想要的话，点下方商品卡片。",
            "赶紧的，下单按钮就在下面。",
            "去店里看看{name}，链接在下方。",
            "点一下购物车，{name}就是你的了。",
        ],
    },
    "ask_price": {
        "en": [
            "{User} is asking about the price.",
            "{User} wants to know what {the} [costs|cost].",
            "A price question from {user}.",
            "{User} asked how much {the} [is|are].",
            "Good question from {user} about the price.",
            "{User} is curious about the price of {the}.",
        ],
        "de": [
            "{User} fragt nach dem Preis.",
            "{User} möchte wissen, was {the} [kostet|kosten].",
            "{User} hat eine Frage zum Preis.",
            "{User} fragt, wie viel {the} [kostet|kosten].",
            "{User} will den Preis wissen.",
            "Eine gute Frage zum Preis, {user_dat_free}.",
        ],
        "it": [
            "{User} chiede il prezzo.",
            "{User} vuole sapere quanto [costa|costa|costano|costano] {the}.",
            "Una domanda sul prezzo da parte di {user}.",
            "{User} ci chiede quanto [costa|costano] {the}.",
            "Bella domanda sul prezzo da {user}.",
            "{User} è curioso del prezzo {of_the}.",
        ],
        "zh": [
            "{User}在问价格。",
            "{User}想知道{name}多少钱。",
            "{User}问了价格。",
            "{User}问{name}的价格。",
            "{User}问得好，说说价格。",
            "{User}关心{name}的价格。",
        ],
    },
    "answer_price": {
        "en": [
            "{The} [costs|cost] {price}.",
            "[It's|They're] {price}, {the}.",
            "The price of {the} is {price}.",
            "You can get {the} for {price}.",
            "{The} [is|are] {price} in our shop.",
            "That's {price} for {the}.",
            "{The}? Just {price}.",
            "{The} [comes|come] in at {price}.",
        ],
        "de": [
            "{The} [kostet|kosten] {price}.",
            "{Acc} gibt es für {price}.",
            "Der Preis für {acc} ist {price}.",
            "{Acc} bekommt ihr für {price}.",
            "Bei uns [kostet|kosten] {the} {price}.",
            "Das macht {price} für {acc}.",
            "{The}? Nur {price}.",
            "Für {acc} zahlt ihr {price}.",
        ],
        "it": [
            "{The} [costa|costano] {price}.",
            "Per {the} bastano {price}.",
            "Il prezzo {of_the} è {price}, amici.",
            "Potete avere {the} a {price}.",
            "Nel nostro negozio {the} [costa|costano] {price}.",
            "Sono {price} per {the}.",
            "{The}? Solo {price}.",
            "Il prezzo {of_the} è {price}.",
        ],
        "zh": [
            "{name}的价格是{price}。",
            "{name}只要{price}。",
            "{name}现在{price}。",
            "{name}{price}就能买到。",
            "店里{name}卖{price}。",
            "{name}，{price}。",
            "{name}到手价{price}。",
            "{name}只要{price}哦。",
        ],
    },
    "ask_question": {
        "en": [
            "{User} has a question about {the}.",
            "{User} is asking about {the}.",
            "Good question from {user}.",
            "{User} wants to know more about {the}.",
            "Here's a question from {user}.",
            "{User} is curious about {the}.",
        ],
        "de": [
            "{User} hat eine Frage zu {dat}.",
            "{User} fragt nach {dat}.",
            "{User} hat eine gute Frage gestellt.",
            "{User} möchte mehr über {acc} wissen.",
            "Hier ist eine Frage aus dem Chat: {User} will es genau wissen.",
            "{User} ist neugierig.",
        ],
        "it": [
            "{User} ha una domanda {on_the}.",
            "{User} chiede informazioni {on_the}.",
            "Bella domanda da parte di {user}.",
            "{User} vuole saperne di più {on_the}.",
            "Ecco una domanda da {user}.",
            "{User} è curioso.",
        ],
        "zh": [
            "{User}问了一个关于{name}的问题。",
            "{User}在问{name}。",
            "{User}问得好。",
            "{User}想多了解一下{name}。",
            "来看{User}的问题。",
            "{User}对{name}很感兴趣。",
        ],
    },
    "answer_feature": {
        "en": [
            "[It comes|They come] with {feature}.",
            "{The} [has|have] {feature}.",
            "Here's what you get: {feature}.",
            "One of the highlights is {feature}.",
            "You get {feature}, and also {feature2}.",
            "In short: {feature}, plus {feature2}.",
        ],
        "de": [
            "Mit dabei: {feature}.",
            "Das Wichtigste: {feature}.",
            "Das bekommt ihr: {feature}.",
            "Ein Highlight: {feature}.",
            "Ihr bekommt: {feature}, und dazu {feature2}.",
            "Kurz gesagt: {feature}, außerdem {feature2}.",
        ],
        "it": [
            "C'è {feature}.",
            "La cosa principale: {feature}.",
            "Ecco cosa avete: {feature}.",
            "Uno dei punti forti: {feature}.",
            "Avete {feature}, e anche {feature2}.",
            "In breve: {feature}, più {feature2}.",
        ],
        "zh": [
            "它有{feature}。",
            "重点是：{feature}。",
            "你能得到的是：{feature}。",
            "亮点之一：{feature}。",
            "有{feature}，还有{feature2}。",
            "简单来说：{feature}，另外{feature2}。",
        ],
    },
    "dont_know": {
        "en": [
            "Good question, let me check that for you.",
            "I don't have that detail right here, let me check it.",
            "Let me look into that and come back to you.",
            "I want to give you the right answer, so let me check first.",
            "Hmm, I'm not sure about that one, let me find out.",
            "I'll double-check that with the team.",
            "I don't want to guess on that, give me a moment to check.",
            "That's a detail I need to look up, I'll get back to you.",
        ],
        "de": [
            "Gute Frage, das schaue ich gleich für euch nach.",
            "Das Detail habe ich gerade nicht hier, ich prüfe das.",
            "Lasst mich das nachsehen, ich melde mich gleich.",
            "Ich will euch die richtige Antwort geben, also schaue ich erst nach.",
            "Hm, da bin ich mir nicht sicher, ich finde es heraus.",
            "Das kläre ich kurz mit dem Team.",
            "Da will ich nicht raten, gebt mir einen Moment.",
            "Das muss ich nachschlagen, ich komme darauf zurück.",
        ],
        "it": [
            "Bella domanda, lasciatemi controllare.",
            "Questo dettaglio non ce l'ho qui, lo verifico.",
            "Fatemi controllare e vi rispondo.",
            "Voglio darvi la risposta giusta, quindi prima controllo.",
            "Mmm, su questo non sono sicura, lo scopro subito.",
            "Lo verifico con il team.",
            "Non voglio tirare a indovinare, datemi un momento.",
            "È un dettaglio che devo cercare, vi faccio sapere.",
        ],
        "zh": [
            "好问题，我帮你查一下。",
            "这个细节我手边没有，我确认一下。",
            "让我查一下再回复你。",
            "我想给你准确的答案，先确认一下。",
            "这个我不太确定，我去问问。",
            "我跟团队核实一下。",
            "这个我不想乱说，稍等我查一下。",
            "这个需要查一下，稍后回复大家。",
        ],
    },
    "greeting": {
        "en": [
            "{User} just said hello, welcome to the stream!",
            "Hello to {user}, great to have you here!",
            "{User} is here, welcome!",
            "A warm welcome to {user}!",
            "{User} just dropped in, hi and welcome!",
            "Nice to see you, {user_vocative_free}!",
        ],
        "de": [
            "{User} sagt hallo, willkommen im Stream!",
            "{User} ist da, herzlich willkommen!",
            "Hallo und willkommen, schön dass {user} da ist!",
            "{User} ist gerade reingekommen, hallo!",
            "{User} grüßt uns, willkommen!",
            "Schön, dass {user} dabei ist!",
        ],
        "it": [
            "{User} ci saluta, benvenuti in diretta!",
            "Un saluto a {user}, che bello averti qui!",
            "{User} è arrivato, benvenuto!",
            "Un caloroso benvenuto a {user}!",
            "{User} si è appena collegato, ciao!",
            "Che piacere, {user} è con noi!",
        ],
        "zh": [
            "欢迎{user}来到直播间！",
            "{User}来啦，欢迎欢迎！",
            "{User}跟大家打招呼啦，欢迎！",
            "热烈欢迎{user}！",
            "{User}刚进直播间，你好呀！",
            "很高兴见到{user}！",
        ],
    },
    "thanks_follow": {
        "en": [
            "{User} just followed, thank you so much!",
            "Thanks for the follow, welcome to the family!",
            "Big thanks to {user} for following!",
            "{User} is now following the stream, thank you!",
            "A new follower: thank you, and welcome!",
            "Thank you for following, {user_vocative_free}!",
        ],
        "de": [
            "{User} folgt uns jetzt, vielen Dank!",
            "Danke fürs Folgen und willkommen!",
            "{User} ist neu dabei, danke fürs Folgen!",
            "Ein neuer Follower: {User}, vielen Dank!",
            "{User} hat gerade gefolgt, danke schön!",
            "Herzlichen Dank fürs Folgen!",
        ],
        "it": [
            "{User} ci segue adesso, grazie mille!",
            "Grazie per il follow e benvenuti!",
            "Un grande grazie a {user} per il follow!",
            "{User} ha appena iniziato a seguirci, grazie!",
            "Un nuovo follower: grazie e benvenuto!",
            "Grazie di cuore per il follow!",
        ],
        "zh": [
            "感谢{user}的关注！",
            "{User}刚刚关注了直播间，谢谢！",
            "谢谢关注，欢迎加入我们！",
            "新关注来啦，感谢{user}！",
            "{User}点了关注，太感谢了！",
            "感谢关注，欢迎常来！",
        ],
    },
    "thanks_gift": {
        "en": [
            "{User} just sent a gift, thank you so much!",
            "Wow, thank you for the gift, {user_vocative_free}!",
            "Big thanks to {user} for the gift!",
            "You're amazing, {user_vocative_free}, thanks for the gift!",
            "A gift from {user}, thank you!",
            "Thank you for the lovely gift!",
        ],
        "de": [
            "{User} hat ein Geschenk geschickt, vielen Dank!",
            "Wow, danke für das Geschenk!",
            "{User} ist großartig, danke für das Geschenk!",
            "Ein Geschenk von {user_dat_free}, danke schön!",
            "{User} schickt uns ein Geschenk, herzlichen Dank!",
            "Danke für das tolle Geschenk!",
        ],
        "it": [
            "{User} ha mandato un regalo, grazie mille!",
            "Wow, grazie per il regalo!",
            "Un grande grazie a {user} per il regalo!",
            "{User} è fantastico, grazie per il regalo!",
            "Un regalo da parte di {user}, grazie!",
            "Grazie per il bellissimo regalo!",
        ],
        "zh": [
            "感谢{user}送的礼物！",
            "哇，谢谢你的礼物！",
            "{User}送来了礼物，太感谢了！",
            "谢谢{user}的礼物，爱你哦！",
            "收到{user}的礼物，谢谢！",
            "谢谢这份可爱的礼物！",
        ],
    },
    "thanks_purchase": {
        "en": [
            "{User} just ordered {the}, thank you!",
            "Thank you {user_vocative_free} for your order!",
            "Another order for {the}, thank you so much!",
            "{User} just bought something, thank you and enjoy!",
            "Thanks for your order, I hope you love it!",
            "{User} picked up {the}, great choice!",
        ],
        "de": [
            "{User} hat gerade {acc} bestellt, danke!",
            "Vielen Dank für eure Bestellung!",
            "Noch eine Bestellung für {acc}, herzlichen Dank!",
            "{User} hat gerade eingekauft, danke und viel Freude damit!",
            "Danke für die Bestellung, ich hoffe, ihr seid begeistert!",
            "{User} hat sich {acc} gesichert, gute Wahl!",
        ],
        "it": [
            "{User} ha appena ordinato {the}, grazie!",
            "Grazie mille per l'ordine!",
            "Un altro ordine per {the}, grazie di cuore!",
            "{User} ha appena fatto un acquisto, grazie e buon divertimento!",
            "Grazie per l'ordine, spero che vi piaccia!",
            "{User} ha scelto {the}, ottima scelta!",
        ],
        "zh": [
            "{User}刚刚下单了{name}，谢谢！",
            "感谢下单！",
            "又一单{name}，太感谢了！",
            "{User}刚买了东西，谢谢，用得开心！",
            "谢谢你的订单，希望你喜欢！",
            "{User}选了{name}，好眼光！",
        ],
    },
}

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
    if product.stock is not None and 0 < product.stock <= 20:
        s["few_stock"] = str(product.stock)
    if product.discount_percent is not None:
        s["discount"] = str(product.discount_percent)
    return s


def user_slots(display: str | None, lang: str) -> dict[str, str]:
    """{user}/{User}; the *_free variants exist only for a real name (they read badly with
    "a viewer"), so templates using them are skipped for anonymous viewers."""
    if display:
        s = {"user": display, "User": display, "user_vocative_free": display}
        if lang == "de":
            s["user_dat_free"] = display
        return s
    anon = A_VIEWER.get(lang, A_VIEWER["en"])
    return {"user": anon, "User": _cap(anon)}


def template_count(lang: str) -> int:
    return sum(len(by_lang.get(lang, [])) for by_lang in TEMPLATES.values())
