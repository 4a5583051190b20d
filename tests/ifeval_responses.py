"""Build, for one IFEval prompt, a response that follows all of its instructions, from the kwargs alone.

This is the test's own construction, written from each instruction's description in the IFEval paper and
prompts ("answer with at least 300 words", "wrap your entire response in double quotes", ...); it never
calls evalkit's verifiers. The only counting it does is of what it builds itself (words as ``\\w+`` runs,
letters and keywords as case-insensitive substrings, sentences as the ones it writes), so that a verifier
that counts differently from its description fails the 100% test.

Five prompts contradict themselves and no response can follow them strictly (``CONTRADICTORY``): the text
to repeat word for word contains a comma (``no_comma``), a forbidden word, or the keyword more often than
allowed. The response built for them repeats the prompt on its first line and follows the other
instruction after that line, which the loose criterion (first line removed) accepts.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

# key → the instruction that the repeated prompt text itself breaks
CONTRADICTORY = {
    1627: "punctuation:no_comma",       # the text to repeat has commas
    3718: "punctuation:no_comma",
    3369: "keywords:frequency",         # "right" twice in the text to repeat; fewer than 2 allowed
    3371: "keywords:forbidden_words",   # economy, demand and supply are in the text to repeat
    374: "keywords:forbidden_words",    # youngins and damn are in the text to repeat
}

# Three plain sentences per language (no commas), checked to be detected as that language.
LANGUAGE_TEXT = {
    "kn": "ಇದು ಒಂದು ಸುಂದರವಾದ ದಿನ. ನಾನು ನನ್ನ ಸ್ನೇಹಿತರೊಂದಿಗೆ ಉದ್ಯಾನವನಕ್ಕೆ ಹೋಗುತ್ತೇನೆ. ಅಲ್ಲಿ ಮರಗಳು ಮತ್ತು ಹೂವುಗಳು ತುಂಬಾ ಇವೆ.",
    "pa": "ਅੱਜ ਮੌਸਮ ਬਹੁਤ ਸੋਹਣਾ ਹੈ. ਮੈਂ ਆਪਣੇ ਦੋਸਤਾਂ ਨਾਲ ਬਾਗ ਵਿੱਚ ਜਾਵਾਂਗਾ. ਉੱਥੇ ਬਹੁਤ ਸਾਰੇ ਰੁੱਖ ਅਤੇ ਫੁੱਲ ਹਨ.",
    "mr": "आज हवामान खूप छान आहे. मी माझ्या मित्रांसोबत बागेत जाणार आहे. तिथे खूप झाडे आणि फुले आहेत.",
    "fa": "امروز هوا بسیار خوب است. من با دوستانم به پارک می‌روم. آنجا درختان و گل‌های زیادی وجود دارد.",
    "vi": "Hôm nay thời tiết rất đẹp. Tôi sẽ đi công viên với bạn bè của tôi. Ở đó có rất nhiều cây và hoa.",
    "ko": "오늘은 날씨가 아주 좋습니다. 나는 친구들과 함께 공원에 갈 것입니다. 그곳에는 나무와 꽃이 많이 있습니다.",
    "sw": "Leo hali ya hewa ni nzuri sana. Nitakwenda kwenye bustani pamoja na marafiki zangu. Huko kuna miti na maua mengi.",
    "ru": "Сегодня очень хорошая погода. Я пойду в парк со своими друзьями. Там много деревьев и цветов.",
    "hi": "आज मौसम बहुत अच्छा है. मैं अपने दोस्तों के साथ पार्क में जाऊंगा. वहाँ बहुत सारे पेड़ और फूल हैं.",
    "bg": "Днес времето е много хубаво. Ще отида в парка с моите приятели. Там има много дървета и цветя.",
    "pt": "Hoje o tempo está muito bonito. Eu vou ao parque com os meus amigos. Lá existem muitas árvores e flores.",
    "gu": "આજે હવામાન ખૂબ સરસ છે. હું મારા મિત્રો સાથે બગીચામાં જઈશ. ત્યાં ઘણાં વૃક્ષો અને ફૂલો છે.",
    "te": "ఈ రోజు వాతావరణం చాలా బాగుంది. నేను నా స్నేహితులతో కలిసి పార్కుకు వెళ్తాను. అక్కడ చాలా చెట్లు మరియు పువ్వులు ఉన్నాయి.",
    "it": "Oggi il tempo è molto bello. Andrò al parco con i miei amici. Lì ci sono molti alberi e fiori.",
    "ar": "الطقس اليوم جميل جدا. سأذهب إلى الحديقة مع أصدقائي. هناك الكثير من الأشجار والزهور.",
    "ta": "இன்று வானிலை மிகவும் நன்றாக உள்ளது. நான் என் நண்பர்களுடன் பூங்காவிற்கு செல்வேன். அங்கே நிறைய மரங்களும் பூக்களும் உள்ளன.",
    "de": "Heute ist das Wetter sehr schön. Ich gehe mit meinen Freunden in den Park. Dort gibt es viele Bäume und Blumen.",
    "fi": "Tänään sää on todella kaunis. Menen puistoon ystävieni kanssa. Siellä on paljon puita ja kukkia.",
    "ur": "آج موسم بہت اچھا ہے. میں اپنے دوستوں کے ساتھ پارک جاؤں گا. وہاں بہت سارے درخت اور پھول ہیں.",
    "th": "วันนี้อากาศดีมาก ฉันจะไปสวนสาธารณะกับเพื่อนของฉัน ที่นั่นมีต้นไม้และดอกไม้มากมาย.",
    "ne": "आज मौसम धेरै राम्रो छ. म मेरा साथीहरूसँग पार्कमा जान्छु. त्यहाँ धेरै रूखहरू र फूलहरू छन्.",
    "bn": "আজ আবহাওয়া খুব সুন্দর. আমি আমার বন্ধুদের সাথে পার্কে যাব. সেখানে অনেক গাছ এবং ফুল আছে.",
}

# Common English words for filler (lower case, no one-letter words so that no token is all capitals).
_PASSAGE = ("the old man walked with his dog to the farm near the river and the children played in the green "
             "field while the sun was shining over the hill the birds sang their songs in the tall trees and "
             "the farmer was working in his garden all day long it was warm and quiet in the small town where "
             "every family knows that good food and fresh bread are the best things in life so they share them "
             "with their friends when summer comes back to the valley")
VOCABULARY = _PASSAGE.split()
# a word rich in each letter, for "the letter x should appear at least n times"
LETTER_WORDS = {"c": "cocoa", "o": "moon", "j": "jump", "q": "quiz", "y": "yearly", "p": "pepper", "t": "tent",
                "l": "ball", "e": "tree", "i": "mini", "n": "none", "g": "egg", "m": "mom", "w": "wow", "a": "banana"}


class _Need:
    """The requirements of one prompt, collected from its instructions."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.key = row["key"]
        self.by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for instruction, kwargs in zip(row["instruction_id_list"], row["kwargs"]):
            self.by_id[instruction].append({k: v for k, v in kwargs.items() if v is not None})

    def has(self, instruction: str) -> bool:
        return instruction in self.by_id

    def one(self, instruction: str) -> dict[str, Any]:
        return self.by_id[instruction][0]

    def bounds(self, instruction: str, count_key: str, relation_key: str) -> tuple[int, int | None]:
        """(minimum, maximum or None) over every instance of a counted instruction."""
        low, high = 0, None
        for kwargs in self.by_id.get(instruction, []):
            if kwargs[relation_key] == "at least":
                low = max(low, kwargs[count_key])
            else:
                high = kwargs[count_key] - 1 if high is None else min(high, kwargs[count_key] - 1)
        return low, high


def _filler(need: _Need) -> list[str]:
    """Vocabulary without any letter that must be rare, any forbidden word or any keyword that is capped."""
    banned_letters = {k["letter"].lower() for k in need.by_id.get("keywords:letter_frequency", [])
                      if k["let_relation"] == "less than"}
    avoid = [w.lower() for k in need.by_id.get("keywords:forbidden_words", []) for w in k["forbidden_words"]]
    avoid += [k["keyword"].lower() for k in need.by_id.get("keywords:frequency", [])]
    avoid += [w.lower() for k in need.by_id.get("keywords:existence", []) for w in k["keywords"]]
    words = [w for w in VOCABULARY if not (set(w) & banned_letters)
             and not any(a in w or w in a for a in avoid)]
    assert len(words) >= 6, (need.key, words)
    return words


class _Writer:
    """Sentences of filler words, cycling through the vocabulary from an offset."""

    def __init__(self, words: list[str], offset: int = 0) -> None:
        self.words, self.position = words, offset

    def words_(self, n: int) -> list[str]:
        out = []
        for _ in range(n):
            out.append(self.words[self.position % len(self.words)])
            self.position += 1
        return out

    def sentence(self, n: int, extra: list[str] | None = None) -> str:
        return " ".join(self.words_(max(1, n)) + (extra or [])) + "."


def _count(text: str, needle: str) -> int:
    return text.lower().count(needle.lower())


def _body(need: _Need, offset: int, words_per_sentence: int, extras: list[str]) -> str:
    """Everything but the outer wrappers; ``extras`` are tokens to weave into the first sentences."""
    write = _Writer(_filler(need), offset)
    s_low, s_high = need.bounds("length_constraints:number_sentences", "num_sentences", "relation")
    n_sentences = max(s_low, 2 if s_high is None or s_high >= 2 else 1)
    pending = list(extras)
    # A language detector reads these: few repeated tokens per sentence, and enough plain sentences.
    detected = need.has("change_case:english_capital") or need.has("change_case:english_lowercase")
    per_sentence = 2 if detected else 12
    if detected:
        n_sentences = max(n_sentences, -(-len(pending) // per_sentence) + 2)
        if s_high is not None:
            n_sentences = min(n_sentences, s_high)

    def sentence() -> str:
        take = [pending.pop(0) for _ in range(min(len(pending), per_sentence))]
        return write.sentence(words_per_sentence, take)

    language = need.one("language:response_language")["language"] if need.has("language:response_language") else None
    blocks: list[str] = []  # paragraphs (joined below by the paragraph rule)
    lines: list[str] = []   # structural lines that go into the first paragraph

    if need.has("detectable_format:title"):
        lines.append("<<" + " ".join(write.words_(2)) + ">>")
    if need.has("detectable_format:constrained_response"):
        lines.append("My answer is yes.")
        n_sentences = max(0, n_sentences - 1)
    placeholders = max([k["num_placeholders"] for k in need.by_id.get("detectable_content:number_placeholders", [])],
                       default=0)
    highlights = max([k["num_highlights"] for k in need.by_id.get("detectable_format:number_highlighted_sections", [])],
                     default=0)
    marks = [f"[{w}]" for w in write.words_(placeholders)] + [f"*{w}*" for w in write.words_(highlights)]
    pending = marks + pending
    n_bullets = need.one("detectable_format:number_bullet_lists")["num_bullets"] if need.has(
        "detectable_format:number_bullet_lists") else 0

    if language is not None:
        native = [piece.strip() + "." for piece in LANGUAGE_TEXT[language].split(".") if piece.strip()]
        native = native[offset % len(native):] + native[: offset % len(native)]  # the second of two responses differs
        repeats = 6 if pending else 3  # enough native text that English tokens cannot tip the detector
        text = " ".join(native * repeats)
        sentences = [text + (" " + " ".join(pending) + "." if pending else "")]
        pending = []
    else:
        sentences = []
    bullets = []
    for _ in range(n_bullets):
        bullets.append(("* " if need.key % 2 else "- ") + sentence())
    n_plain = max(1, n_sentences - n_bullets) if language is None else 0
    sentences += [sentence() for _ in range(n_plain)]
    while pending:  # tokens left over go into one more sentence when sentences are not capped
        sentences[-1] = sentences[-1][:-1] + " " + " ".join(pending) + "."
        pending = []

    if need.has("detectable_format:multiple_sections"):
        kwargs = need.one("detectable_format:multiple_sections")
        n = kwargs["num_sections"]
        groups: list[list[str]] = [[] for _ in range(n)]
        for index, text in enumerate(sentences):
            groups[index % n].append(text)
        sections = [f"{kwargs['section_spliter']} {i + 1}\n" + " ".join(g or [write.sentence(2)])
                    for i, g in enumerate(groups)]
        if bullets:
            sections[-1] += "\n" + "\n".join(bullets)
        blocks = sections
    else:
        blocks = [" ".join(sentences)] + (["\n".join(bullets)] if bullets else [])

    n_paragraphs = need.one("length_constraints:number_paragraphs")["num_paragraphs"] if need.has(
        "length_constraints:number_paragraphs") else None
    nth = need.one("length_constraints:nth_paragraph_first_word") if need.has(
        "length_constraints:nth_paragraph_first_word") else None
    wanted = n_paragraphs or (nth["num_paragraphs"] if nth else None)
    if wanted is not None:
        blocks = _regroup(blocks, wanted, write)
        if nth:
            index = nth["nth_paragraph"] - 1
            blocks[index] = nth["first_word"] + " " + blocks[index]
    if lines:
        blocks[0] = "\n".join(lines) + "\n" + blocks[0]
    if need.has("detectable_content:postscript"):
        marker = need.one("detectable_content:postscript")["postscript_marker"]
        blocks[-1] += f"\n{marker} " + " ".join(write.words_(3))
    separator = "\n***\n" if n_paragraphs else "\n\n"
    if nth:
        separator = "\n\n"
    elif not n_paragraphs:
        separator = "\n"
    return separator.join(blocks)


def _regroup(blocks: list[str], wanted: int, write: _Writer) -> list[str]:
    """Exactly ``wanted`` paragraphs: split the sentences of a lone block, or join blocks, or add short ones."""
    if len(blocks) < wanted:
        pieces = re.split(r"(?<=\.) ", blocks[0])
        if len(pieces) >= wanted - len(blocks) + 1:
            head = [" ".join(pieces[i::wanted - len(blocks) + 1]) for i in range(wanted - len(blocks) + 1)]
            blocks = head + blocks[1:]
    while len(blocks) < wanted:
        blocks.append(write.sentence(3))
    while len(blocks) > wanted:
        blocks[-2] += "\n" + blocks.pop()
    return blocks


def _assemble(need: _Need, row: dict[str, Any], offset: int, words_per_sentence: int, extras: list[str]) -> str:
    text = _body(need, offset, words_per_sentence, extras)
    if need.has("combination:repeat_prompt"):
        text = need.one("combination:repeat_prompt")["prompt_to_repeat"] + "\n" + text
    if need.has("startend:end_checker"):
        text += " " + need.one("startend:end_checker")["end_phrase"]
    if need.has("change_case:english_capital"):
        text = text.upper()
    if need.has("change_case:english_lowercase"):
        text = text.lower()
    return text


def _extras(need: _Need, text: str) -> list[str]:
    """Tokens still missing from ``text`` for the at-least counts: keywords, letters, capital words."""
    out: list[str] = []
    for kwargs in need.by_id.get("keywords:existence", []):
        out += [w for w in kwargs["keywords"] if _count(text, w) == 0]
    for kwargs in need.by_id.get("keywords:frequency", []):
        if kwargs["relation"] == "at least":
            out += [kwargs["keyword"]] * max(0, kwargs["frequency"] - _count(text, kwargs["keyword"]))
    for kwargs in need.by_id.get("keywords:letter_frequency", []):
        if kwargs["let_relation"] == "at least":
            letter = kwargs["letter"].lower()
            missing = kwargs["let_frequency"] - _count(text, letter)
            word = LETTER_WORDS.get(letter, letter * 4)
            per = max(1, word.count(letter))
            out += [word] * max(0, -(-missing // per))
    c_low, _ = need.bounds("change_case:capital_word_frequency", "capital_frequency", "capital_relation")
    have = sum(1 for token in re.findall(r"\S+", text) if token.isupper())
    out += ["NOTE"] * max(0, c_low - have)
    return out


def satisfying_response(row: dict[str, Any]) -> str:
    """A response to one IFEval row that follows every instruction (see CONTRADICTORY for the exceptions)."""
    need = _Need(row)
    w_low, w_high = need.bounds("length_constraints:number_words", "num_words", "relation")
    s_low, _ = need.bounds("length_constraints:number_sentences", "num_sentences", "relation")
    two = need.has("combination:two_responses")
    extras: list[str] = []
    words_per_sentence = 6
    text = ""
    for _ in range(8):  # grow or shrink until the counts the instructions name are met
        parts = [_assemble(need, row, offset, words_per_sentence, extras) for offset in ((0, 7) if two else (0,))]
        text = "\n******\n".join(parts)
        missing = _extras(need, text)
        n_words = len(re.findall(r"\w+", text))
        if missing:
            extras += missing
            continue
        if n_words < w_low:
            n_sentences = max(2, s_low)
            words_per_sentence += -(-(w_low - n_words) // (n_sentences * len(parts))) + 1
            continue
        if w_high is not None and n_words > w_high and words_per_sentence > 1:
            words_per_sentence = max(1, words_per_sentence - -(-(n_words - w_high) // max(2, s_low)))
            continue
        break
    if need.has("detectable_format:json_format"):
        forbidden = {w.lower() for k in need.by_id.get("keywords:forbidden_words", []) for w in k["forbidden_words"]}
        field = next(name for name in ("text", "content", "reply") if name not in forbidden)
        text = json.dumps({field: text}, ensure_ascii=False)
    if need.has("startend:quotation"):
        text = '"' + text + '"'
    return text
