"""Wikitext -> plain text, redirects, links and title resolution: pure functions, table-driven."""

from __future__ import annotations

import pytest

from knowrl.kb import wikitext
from knowrl.kb.titles import MAX_REDIRECT_HOPS, normalise_title, resolve

from .wiki_fixtures import EXPECTED_TEXT, PAGES


def _lead(text: str) -> str:
    sections = wikitext.convert(text).sections
    assert sections and sections[0].heading is None
    return sections[0].text


@pytest.mark.parametrize("source, expected", [
    ("A {{cite web|url=x}} B.", "A B."),                                      # a template
    ("A {{outer|x={{inner|{{deepest}}}}}} B.", "A B."),                       # nested templates
    ("{{Infobox person\n| name = X\n| born = {{birth date|1900|1|1}}\n}}\nX was born.", "X was born."),  # infobox
    ("Fact.<ref>{{cite book|title=T}}</ref> More.<ref name=a/>", "Fact. More."),  # references, self-closing too
    ("A<ref name=\"b\">plain ref text</ref>.", "A."),                         # a reference with plain text
    ("Before.\n{| class=wikitable\n! H\n|-\n| cell [[x]]\n|}\nAfter.", "Before.\n\nAfter."),  # a table
    ("X [[File:A.jpg|thumb|A [[nested]] caption]] Y.", "X Y."),               # a file with a nested link
    ("X [[Image:B.png|left]] Y.", "X Y."),                                    # the old Image: prefix
    ("X.\n[[Category:People]]", "X."),                                        # a category
    ("X [[:Category:People|the people category]].", "X the people category."),  # a visible category link
    ("X.<!-- hidden\nover lines --> Y.", "X. Y."),                            # an HTML comment
    ("X.\n[[fr:X]]", "X."),                                                   # an interlanguage link
    ("[[Paris]] and [[Paris, Texas|its namesake]].", "Paris and its namesake."),  # links: title or label
    ("See [https://example.org the site] or https://example.org.", "See the site or."),  # external links
    ("'''Bold''' and ''italic'' and '''''both'''''.", "Bold and italic and both."),  # style markup
    ("A &amp; B &eacute; &#65; &#x42; C&nbsp;D", "A & B é A B C D"),          # HTML entities
    ("Line<br/>break<br>again", "Line\nbreak\nagain"),                       # <br>
    ("__NOTOC__Text. __NOEDITSECTION__", "Text."),                            # magic words
    ("* one\n* two\n# three", "one\ntwo\nthree"),                            # list items stay as lines
    ("x <math>E=mc^2</math> y", "x y"),                                       # math dropped
    ("Unclosed {{template | a = 1\n| b = 2\nNext line.", "Unclosed\nNext line."),  # invalid markup scrubbed
    ("Text with [[an unclosed link and more", "Text with an unclosed link and more"),
    ("born (  {{circa}} ) in 1900 ; ok", "born in 1900; ok"),                # empty brackets, spaces before punct
])
def test_lead_text(source, expected):
    assert _lead(source) == expected


def test_headings_are_section_boundaries_and_reference_sections_are_dropped():
    text = ("Lead.\n== History ==\nH.\n=== Early ===\nE.\n== See also ==\n* [[X]]\n=== Sub of see also ===\n"
            "dropped too.\n== References ==\n{{reflist}}\n== Legacy ==\nL.\n== Empty ==\n{{only template}}")
    got = [(s.heading, s.level, s.text) for s in wikitext.convert(text).sections]
    assert got == [(None, 0, "Lead."), ("History", 2, "H."), ("Early", 3, "E."), ("Legacy", 2, "L.")]


def test_page_without_lead():
    got = [(s.heading, s.text) for s in wikitext.convert("== A ==\nx").sections]
    assert got == [("A", "x")]                          # no lead section: the first section is not marked lead


@pytest.mark.parametrize("page", [p for p in PAGES if p.title in EXPECTED_TEXT], ids=lambda p: p.title)
def test_fixture_pages(page):
    got = [(s.heading, s.text) for s in wikitext.convert(page.text, page.title).sections]
    assert got == EXPECTED_TEXT[page.title]


@pytest.mark.parametrize("title, text, expected", [
    ("Mercury", "'''Mercury''' may be:\n* [[Mercury (planet)]]\n{{disambiguation}}", True),   # the template
    ("Smith", "'''Smith''' may be:\n{{hndis|Smith}}", True),                                # a family member
    ("Bank", "x\n{{Geodis}}", True),                                                        # case-insensitive
    ("Java", "x\n{{Place name disambiguation}}", True),                                     # "... disambiguation"
    ("Apple (disambiguation)", "x", True),                                                  # by title
    ("Apple", "An apple is a fruit. {{Other uses}}", False),                                # a hatnote is not
    ("Ships", "x\n{{SIA}}", False),                                                         # set-index article
    ("Mercury", "A {{cite|{{disambiguation}}}}", False),                                    # nested: not top level
])
def test_disambiguation(title, text, expected):
    assert wikitext.convert(text, title).disambiguation is expected


@pytest.mark.parametrize("text, expected", [
    ("#REDIRECT [[Albert Einstein]]", "Albert Einstein"),            # plain
    ("#redirect:[[Theory of relativity#General]]", "Theory of relativity#General"),  # lower case, colon, anchor
    ("  #REDIRECT [[X|label]]\n{{R from move}}", "X"),                # label ignored
    ("Not a #REDIRECT [[X]]", None),                                  # not at the start
    ("", None),                                                       # empty page
])
def test_redirect_target(text, expected):
    assert wikitext.redirect_target(text) == expected


def test_link_targets():
    text = ("[[Paris|the city]] [[Paris]] [[File:x.jpg|[[Inside]]]] [[Category:C]] [[fr:Paris]] "
            "[[Star Wars: Episode IV]] [[:Category:Visible]] [[Ulm#History]] [[Template:Navbox]] [[a_b]]")
    assert wikitext.link_targets(text) == ["Paris", "Inside", "Star Wars: Episode IV", "Ulm", "a_b"]


@pytest.mark.parametrize("title, expected", [
    ("albert_Einstein", "Albert Einstein"),     # underscores, first letter
    ("  Ulm  ", "Ulm"),                         # whitespace
    ("iPhone", "IPhone"),                       # MediaWiki upper-cases the first letter
    ("a  b\tc", "A b c"),                       # runs of whitespace
])
def test_normalise_title(title, expected):
    assert normalise_title(title) == expected


PAGE_TITLES = {"Albert Einstein", "Ulm", "iPod"}
REDIRECTS = {"Einstein": "Albert Einstein", "A. Einstein": "Einstein", "Loop one": "Loop two",
             "Loop two": "Loop one", "Dangling": "Nowhere", "Chain 0": "Chain 1",
             **{f"Chain {i}": f"Chain {i + 1}" for i in range(1, MAX_REDIRECT_HOPS + 2)}}


@pytest.mark.parametrize("title, page, how", [
    ("Albert Einstein", "Albert Einstein", "direct"),       # exact
    ("albert_Einstein", "Albert Einstein", "direct"),       # MediaWiki-normalised
    ("iPod", "iPod", "direct"),                             # exact beats normalisation
    ("Einstein", "Albert Einstein", "redirect"),            # one hop
    ("A. Einstein", "Albert Einstein", "redirect"),         # a redirect to a redirect
    ("einstein", "Albert Einstein", "redirect"),            # normalised, then the redirect
    ("ALBERT EINSTEIN", "Albert Einstein", "case_insensitive"),
    ("a. einstein", "Albert Einstein", "redirect"),         # case-insensitive redirect source
    ("Loop one", None, "redirect_loop"),                    # a loop is detected, not followed forever
    ("Dangling", None, "broken_redirect"),                  # target not there
    ("Chain 0", None, "redirect_too_deep"),                 # longer than MAX_REDIRECT_HOPS
    ("Atlantis", None, "missing"),
])
def test_resolve(title, page, how):
    lower_pages = {t.lower(): t for t in PAGE_TITLES}
    lower_redirects = {t.lower(): t for t in REDIRECTS}
    got = resolve(title, page=lambda t: t if t in PAGE_TITLES else None, redirect=REDIRECTS.get,
                  page_ci=lower_pages.get, redirect_ci=lower_redirects.get)
    assert (got.page, got.how) == (page, how)
