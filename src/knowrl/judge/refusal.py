"""The one definition of a refusal, used by the rule grader, the reward's rule stages and the training alarm.

An answer is a refusal when nothing that could name an answer is left once its abstention phrases ("I don't know",
"cannot answer", "need more context", "不确定"...), hedges ("not sure", "I could be wrong") and filler words are
taken out: "I'm not sure, I can't say" is a refusal, "not sure, maybe Lyon" is a guess, graded INCORRECT when wrong
(SimpleQA, METHOD 3.2). A phrase never swallows the words around it, so "I can't say if it's Lyon" still guesses
Lyon: a refusal wrapper cannot turn a wrong guess into the abstention reward. Only evasions that point elsewhere
("it depends on...", "please consult...", "could you clarify...") take the rest of their clause along. The June 2025
variant keeps its own pattern list and decides by pattern alone, as that reward did (METHOD 3.2).
"""

from __future__ import annotations

import re
import unicodedata

# One CJK character (kana, ideographs, hangul): a word of its own, since these scripts write no spaces.
CJK = r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]"
# METHOD 3.2, June variant: these answers score -1 without a judge call (unchanged from that reward).
JUNE_REFUSAL_PATTERNS = (
    r"\b(?:i\s+)?(?:cannot|can't|can\s+not|am\s+unable\s+to|unable\s+to|am\s+not\s+able\s+to)\s+"
    r"(?:answer|determine|provide|say|tell|know|find|confirm|verify|be\s+sure|be\s+answered)",
    r"\bas an ai\b[^.]*\b(?:cannot|can't|unable|not able|do not|don't)",
    r"\b(?:need|needs|require|requires) (?:more|additional|further) (?:information|context|details)",
    r"\b(?:insufficient|not enough) (?:information|data|context|details)",
    r"\bethical (?:concerns?|reasons?|considerations?)",
)
# Abstention, hedge and evasion phrases, matched on folded text (contractions expanded, lower case). Removed,
# never extended to the rest of their clause.
ABSTENTION_PATTERNS = (
    r"\b(?:cannot|can not|could not|am unable to|unable to|am not able to|not able to|will not be able to)"
    r"(?: \w+ly)? (?:answer|determine|provide|say|tell|know|find|confirm|verify|recall|remember|identify|give|"
    r"access|browse|look up|search|help|assist|be sure|be certain|be determined|be answered|be known|be found|"
    r"be verified|be confirmed)(?: the (?:internet|web)| online)?\b",
    r"\bas an ai(?: language model| model| assistant)?\b",
    r"\b(?:need|needs|require|requires|would need) (?:more|additional|further|some) "
    r"(?:information|context|details|data)\b",
    r"\b(?:more|additional|further) (?:information|context|details|data) (?:is |are |would be )?(?:needed|required)\b",
    r"\b(?:insufficient|not enough|no|limited|lack of|without)(?: reliable| available| specific| public| enough|"
    r" sufficient| verified| further| more)* (?:information|data|context|details|records?|sources?)\b",
    r"\b(?:do|does|did) not have(?: \w+){0,3}? (?:information|data|details|knowledge|access|sources?|records?)\b",
    r"\bethical (?:concerns?|reasons?|considerations?)\b",
    r"\b(?:hard|difficult|impossible) to (?:say|tell|determine|know|pin down)\b",
    r"\b(?:will not|would rather not|do not want to|refuse to|decline to|prefer not to) "
    r"(?:guess|answer|speculate|say)\b",
    r"\b(?:without|unless i can) (?:research|search|brows|check|look|verify)\w*(?: up)?(?: the| online)?"
    r"(?: web| internet| sources?)?\b",
    r"\bno (?:single|definitive|clear|simple|one) answer\b", r"\b(?:ambiguous|vague)\b",
    # evasions that take their own object along: nothing after them is offered as the answer
    r"\bit depends\b[^,.;!?]*",
    r"\b(?:please|you should|you may want to|i would|i) ?(?:consult|check|verify|refer to|look up|search|recommend|"
    r"suggest)\b[^,.;!?]*",
    r"\b(?:could|can) you (?:please )?(?:clarify|specify|rephrase)\b[^.?!]*",
    r"\b(?:do|did) not know\b", r"\bnot (?:entirely |completely |totally |quite |really |100% )?"
    r"(?:sure|certain|aware|positive|familiar)\b", r"\bno idea\b",
    r"\b(?:unsure|uncertain|unclear|unknown|n/a)\b", r"\b(?:(?:could|might|may) be|am) (?:wrong|mistaken)\b",
    r"\b(?:great|good|interesting|tricky) question\b",
    r"\b(?:many|several|multiple|various) (?:possibilities|possible answers|answers|candidates|options)\b",
    r"\b(?:knowledge|training) (?:cut-?off|data)\b", r"\b(?:no one|nobody) (?:really )?knows\b",
    r"\bnot (?:publicly )?(?:known|available|documented|disclosed|recorded)\b",
    r"\b(?:would|will) (?:have|need) to (?:check|look it up|look up|verify|research)\b",
    r"\b(?:browse|search) the (?:internet|web)\b|\b(?:real-time|up-to-date|current) (?:information|data)\b",
    r"\bam (?:afraid|sorry)\b", r"\b(?:sorry|apologies)\b", r"\bbeyond my knowledge\b",
    # Chinese: do not know / unsure / cannot answer / no information / need more / hard to say / unknown
    r"(?:不|并不|真的不)(?:太|是很|完全)?(?:知道|清楚|确定|记得|了解|肯定)",
    r"无法(?:回答|确定|提供|判断|得知|查证|确认|给出|知道)", r"(?:没有|缺乏|缺少)(?:足够|相关|可靠|具体|的)*(?:信息|资料|数据|记录)(?:来|以|可以)?(?:确定|判断|回答)?",
    r"需要(?:更多|进一步|额外)的?(?:信息|上下文|背景|资料)", r"(?:很难|难以)(?:说|确定|判断|回答)", r"不得而知|未知|不详",
    r"作为(?:一个)?(?:ai|人工智能)(?:语言模型|助手)?", r"(?:可能|也许)(?:是)?(?:错|记错)的?", r"是不是|是否",
)
# Words that name nothing: discourse, pronouns, modals, hedging adverbs, the nouns of "I don't know the answer".
FILLER_WORDS = frozenset("""a an the of in on at to for from by with about and or but so if as than then that this
these those there here it its i me my mine you your we our is are was were be been being am do does did has have had
will would could should may might must can cannot not sorry perhaps maybe probably possibly likely guess say think
believe suppose assume honestly really exactly actually just only quite very bit well unfortunately though however
although still hmm um uh ok okay oh please thanks thank apologies apologize apologise sure certain exact precise
specific correct right know knowledge information details context answer question name which who what when where
why how whether any some more further enough much tell help determine provide give share due because""".split())
# Chinese filler, removed as words before the remaining characters count as content.
_CJK_FILLER = re.compile(r"抱歉|对不起|可能|也许|大概|或许|应该|认为|觉得|这个|那个|问题|答案|目前|关于|但是|不过|具体|准确|确切|"
                         r"[我你的了吧呢啊嗯是这那很说猜但]")
_CONTRACTIONS = ((r"\bwon't\b|\bwont\b", "will not"), (r"\bcan't\b|\bcant\b", "cannot"), (r"n't\b", " not"),
                 (r"\b(do|does|did|is|was|are|were|could|would|should)nt\b", r"\1 not"), (r"\bim\b", "i am"),
                 (r"'m\b", " am"), (r"'re\b", " are"), (r"'ve\b", " have"), (r"'ll\b", " will"), (r"'d\b", " would"),
                 (r"'s\b", ""))
_CONTRACTION_RE = [(re.compile(p), r) for p, r in _CONTRACTIONS]
_JUNE_RE = [re.compile(p, re.I) for p in JUNE_REFUSAL_PATTERNS]
_ABSTENTION_RE = re.compile("|".join(f"(?:{p})" for p in ABSTENTION_PATTERNS))
_PLAIN_REFUSAL = re.compile(r"^\W*(?:i\s+(?:do\s+not|don'?t|don’t)\s+know)\W*$", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower case, full-width forms and curly apostrophes folded, contractions expanded (``isn't`` -> ``is not``),
    so one spelling of each phrase matches them all."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'").casefold()
    for pattern, repl in _CONTRACTION_RE:
        text = pattern.sub(repl, text)
    return text


def strip_abstentions(text: str) -> str:
    """``text`` folded, with every abstention and hedge phrase replaced by a comma (a clause break)."""
    return _ABSTENTION_RE.sub(" , ", fold(text))


def candidate_words(text: str | None) -> list[str]:
    """The words of ``text`` that could name an answer: what is left after abstention phrases and filler go.

    >>> candidate_words("I'm not sure, maybe Lyon"), candidate_words("Sorry, I can't say.")
    (['lyon'], [])
    """
    rest = re.sub(CJK, r" \g<0> ", _CJK_FILLER.sub(" ", strip_abstentions(text or "")))
    return [w for w in re.findall(r"[^\W_]+", rest) if w not in FILLER_WORDS]


def is_refusal(answer: str | None) -> bool:
    """True when the answer declines, evades or hedges without naming any candidate (SimpleQA NOT_ATTEMPTED): an
    abstention phrase and nothing else, or no word at all. A lone filler word ("Will", "On") is an answer.

    >>> [is_refusal(a) for a in ("I don't know.", "I'm not sure, I can't say", "not sure, maybe Lyon", "我不知道")]
    [True, True, False, True]
    """
    text = answer or ""
    return not candidate_words(text) and (_ABSTENTION_RE.search(fold(text)) is not None
                                          or re.search(r"[^\W_]", text) is None)


def is_june_refusal(answer: str | None) -> bool:
    """June-variant refusal wording (METHOD 3.2): empty, or any of its patterns anywhere in the answer."""
    if answer is None or not answer.strip():
        return True
    text = answer.replace("\u2019", "'")
    return any(p.search(text) for p in _JUNE_RE)


def is_plain_refusal(answer: str | None) -> bool:
    """True for the exact abstention the policy prompt asks for ("I don't know."); every judge grades it
    NOT_ATTEMPTED, so the reward skips the judge call.

    >>> is_plain_refusal("I don't know."), is_plain_refusal("I don't know who, maybe Bob")
    (True, False)
    """
    return bool(answer) and bool(_PLAIN_REFUSAL.match(answer.strip()))
