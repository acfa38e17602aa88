"""Wikitext -> plain-text sections, with a real parser (mwparserfromhell), for KB passages.

Removed: templates (infoboxes, citations, navboxes, nested ones), references, tables, files and images, categories,
interlanguage links, comments, magic words, and the reference-like sections (References, External links, ...).
Kept: prose, link labels, list items, headings as section boundaries (the lead is the section before the first
heading). Markup the parser could not make sense of (an unclosed template or link) is scrubbed from the text, so
no ``{{`` or ``[[`` reaches a passage.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

CONVERTER_VERSION = 1                       # bump when the text a page turns into changes (build fingerprint)
DROP_TAGS = frozenset({
    "ref", "references", "table", "gallery", "math", "chem", "ce", "timeline", "score", "graph", "imagemap",
    "mapframe", "maplink", "templatedata", "templatestyles", "syntaxhighlight", "source", "inputbox",
    "categorytree", "noinclude", "hiero", "indicator", "section", "charinsert", "pre", "style", "script"})
BREAK_TAGS = frozenset({"br", "p"})
HIDDEN_LINK_NAMESPACES = frozenset({"file", "image", "media", "category"})
SKIP_SECTIONS = frozenset({
    "references", "external links", "see also", "further reading", "notes", "bibliography", "sources",
    "citations", "footnotes", "notes and references", "references and notes", "works cited",
    "general references", "gallery", "explanatory notes", "general and cited references"})
LINK_SKIP_NAMESPACES = HIDDEN_LINK_NAMESPACES | {
    "template", "wikipedia", "wp", "help", "portal", "user", "talk", "draft", "module", "special", "wikt",
    "wiktionary"}
DISAMBIGUATION_TEMPLATES = frozenset({      # set-index articles ({{SIA}}) are articles, not disambiguation pages
    "disambiguation", "disambig", "dab", "disamb", "dis", "hndis", "geodis", "numberdis", "mil-unit-dis",
    "letter-numbercombdisambig", "schooldis", "roaddis"})
_LANGUAGE_PREFIX = re.compile(r"^[a-z]{2,3}(?:-[a-z]{2,8})*$")      # [[fr:Paris]] interlanguage links
_MAGIC = re.compile(r"__[A-Z]+__")
_LEFTOVER_TEMPLATE = re.compile(r"\{\{[^\n]*")                       # an unclosed {{ to the end of its line
_LEFTOVER_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_LEFTOVER = re.compile(r"\[\[|\]\]|\{\||\|\}|\}\}|'{2,}")
_EMPTY_BRACKETS = re.compile(r"\(\s*[,;:]?\s*\)|\[\s*\]")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.;:!?)])")
_SPACE_AFTER_OPEN = re.compile(r"\([ \t]+")
_MANY_SPACES = re.compile(r"[ \t]{2,}")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_TABLE_OR_PARAM_ROW = re.compile(r"^\s*[|!]")
_REDIRECT = re.compile(r"^\s*#REDIRECT\s*:?\s*\[\[([^\]|]+)", re.IGNORECASE)
_LINK = re.compile(r"\[\[([^\[\]|{}<>\n]+)")


@dataclass(frozen=True)
class Section:
    heading: str | None                     # None: the lead
    level: int                              # 0 for the lead, 2.. for == headings ==
    text: str


def redirect_target(wikitext: str) -> str | None:
    """The target of a ``#REDIRECT [[Target]]`` page (fallback when the dump has no ``<redirect>`` element)."""
    match = _REDIRECT.match(wikitext[:512])
    return match.group(1).strip() if match else None


def link_targets(wikitext: str) -> list[str]:
    """Titles of the main-namespace pages a page links to (raw, not normalised; fast regex, no parse)."""
    out = []
    for raw in _LINK.findall(wikitext):
        title = raw.split("#", 1)[0].strip().lstrip(":").strip()
        prefix, colon, _ = title.partition(":")
        if not title or (colon and (prefix.strip().lower() in LINK_SKIP_NAMESPACES or _LANGUAGE_PREFIX.match(prefix))):
            continue
        out.append(title)
    return list(dict.fromkeys(out))


@dataclass
class _Frame:
    kind: str                               # root | template | argument | comment | link | extlink | entity |
    parts: list[str] = field(default_factory=list)   # heading | tagopen | attr | tag | tagclose
    head: list[str] | None = None           # link title / template name / tag name, before the first separator
    info: Any = None                        # heading level, extlink brackets, tag name, entity prefix


@dataclass
class Page:
    sections: list[Section]
    disambiguation: bool


def _tokenize(wikitext: str) -> list:
    try:
        from mwparserfromhell.parser._tokenizer import CTokenizer as Tokenizer
    except ImportError:                                            # pure-Python build of the package
        from mwparserfromhell.parser.tokenizer import Tokenizer
    return Tokenizer().tokenize(wikitext, 0, False)


def _link_text(title: str, text: str | None) -> str:
    title = title.strip()
    if title.startswith(":"):                                      # [[:Category:X|label]] is a visible link
        return text if text is not None else title[1:].strip()
    prefix, colon, _ = title.partition(":")
    if colon and (prefix.strip().lower() in HIDDEN_LINK_NAMESPACES or _LANGUAGE_PREFIX.match(prefix)):
        return ""
    return text if text is not None else title


class _Renderer:
    """Plain text from mwparserfromhell's token stream: its tokenizer (C) is the parser; building its node tree
    only to drop most of it cost ~10x the tokenizing, so the tokens are rendered directly on a frame stack."""

    def __init__(self):
        self.stack = [_Frame("root")]
        self.sections: list[tuple[str | None, int, list[str]]] = [(None, 0, self.stack[0].parts)]
        self.top_templates: list[str] = []

    def emit(self, text: str) -> None:
        self.stack[-1].parts.append(text)

    def push(self, kind: str, info: Any = None) -> None:
        self.stack.append(_Frame(kind, info=info))

    def pop(self, *kinds: str) -> _Frame:
        frame = self.stack.pop()
        if frame.kind not in kinds or not self.stack:
            raise ValueError(f"unbalanced wikitext tokens: {frame.kind} closed as {kinds}")
        return frame

    def separate(self) -> None:                                    # the first separator ends the head part
        frame = self.stack[-1]
        if frame.head is None:
            frame.head, frame.parts = frame.parts, []
        else:
            frame.parts.append("|")

    def close_tag_head(self) -> _Frame:
        if self.stack[-1].kind == "attr":
            self.pop("attr")
        frame = self.pop("tagopen")
        frame.info = "".join(frame.parts).strip().lower()
        return frame

    def token(self, tok) -> None:
        name = type(tok).__name__                                  # tokens are dicts: item access is the fast path
        if name == "Text":
            self.stack[-1].parts.append(tok["text"])
        elif name in _OPENERS:
            self.push(_OPENERS[name], tok.get("level") or tok.get("brackets"))
        elif name in ("TemplateParamSeparator", "WikilinkSeparator", "ExternalLinkSeparator"):
            self.separate()
        elif name == "TemplateClose":
            frame = self.pop("template")
            if len(self.stack) == 1:
                self.top_templates.append("".join(frame.head if frame.head is not None else frame.parts))
        elif name in ("ArgumentClose", "CommentEnd"):
            self.pop("argument", "comment")
        elif name == "WikilinkClose":
            frame = self.pop("link")
            title = "".join(frame.head if frame.head is not None else frame.parts)
            self.emit(_link_text(title, "".join(frame.parts) if frame.head is not None else None))
        elif name == "ExternalLinkClose":
            frame = self.pop("extlink")
            self.emit("".join(frame.parts) if frame.info and frame.head is not None else "")
        elif name in ("HTMLEntityNumeric", "HTMLEntityHex"):
            self.stack[-1].parts.append("#" if name == "HTMLEntityNumeric" else "x")
        elif name == "HTMLEntityEnd":
            self.emit(html.unescape("&" + "".join(self.pop("entity").parts) + ";"))
        elif name == "HeadingEnd":
            self.heading(self.pop("heading"))
        else:
            self.tag(name)

    def heading(self, frame: _Frame) -> None:
        text = clean("".join(frame.parts))
        if len(self.stack) == 1:                                   # a section boundary
            self.stack[0].parts = []
            self.sections.append((text, frame.info, self.stack[0].parts))
        else:
            self.emit(text)

    def tag(self, name: str) -> None:
        if name == "TagAttrStart":
            if self.stack[-1].kind == "attr":
                self.pop("attr")
            self.push("attr")
        elif name == "TagCloseSelfclose":
            if self.close_tag_head().info in BREAK_TAGS:
                self.emit("\n")
        elif name == "TagCloseOpen":
            self.push("tag", self.close_tag_head().info)
        elif name == "TagOpenClose":
            self.push("tagclose")
        elif name == "TagCloseClose":
            self.pop("tagclose")
            frame = self.pop("tag")
            if frame.info in BREAK_TAGS:
                self.emit("\n")
            elif frame.info not in DROP_TAGS:
                self.emit("".join(frame.parts))
        elif name not in ("TagAttrEquals", "TagAttrQuote", "TemplateParamEquals"):
            raise ValueError(f"unexpected wikitext token {name}")


_OPENERS = {"TemplateOpen": "template", "ArgumentOpen": "argument", "CommentStart": "comment",
            "WikilinkOpen": "link", "ExternalLinkOpen": "extlink", "HTMLEntityStart": "entity",
            "HeadingStart": "heading", "TagOpenOpen": "tagopen"}


def _template_name(raw: str) -> str:
    return " ".join(raw.replace("_", " ").split()).lower()


def convert(wikitext: str, title: str = "") -> Page:
    """Sections of plain text (the reference-like ones left out) and whether it is a disambiguation page."""
    renderer = _Renderer()
    for tok in _tokenize(wikitext):
        renderer.token(tok)
    if len(renderer.stack) != 1:
        raise ValueError("unbalanced wikitext tokens at the end of the page")
    names = [_template_name(n) for n in renderer.top_templates]
    disambiguation = title.endswith("(disambiguation)") or any(
        n in DISAMBIGUATION_TEMPLATES or n.endswith(" disambiguation") for n in names)
    return Page(_sections(renderer.sections), disambiguation)


def clean(text: str) -> str:
    """Tidy rendered text: scrub leftover markup, empty brackets and stray spaces; paragraphs stay."""
    text = _MAGIC.sub("", text).replace("\xa0", " ")
    text = _LEFTOVER_TEMPLATE.sub("", text)
    text = _LEFTOVER_TAG.sub("", text)
    text = _LEFTOVER.sub("", text)
    lines = []
    for line in text.split("\n"):
        if _TABLE_OR_PARAM_ROW.match(line):
            continue
        line = _EMPTY_BRACKETS.sub("", line)
        line = _SPACE_AFTER_OPEN.sub("(", _SPACE_BEFORE_PUNCT.sub(r"\1", _MANY_SPACES.sub(" ", line))).strip()
        lines.append(line)
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def _sections(found: list[tuple[str | None, int, list[str]]]) -> list[Section]:
    """Keep the non-empty sections; the reference-like ones and their sub-sections are left out."""
    out: list[Section] = []
    skip_below = None                                              # level of a skipped section, while inside it
    for heading, level, parts in found:
        if skip_below is not None and level > skip_below:
            continue
        skip_below = None
        if heading is not None and heading.lower() in SKIP_SECTIONS:
            skip_below = level
            continue
        text = clean("".join(parts))
        if text:
            out.append(Section(heading, level, text))
    return out
