"""A small hand-made Wikipedia export: one page per case the dump reader must handle, with the text expected."""

from __future__ import annotations

from .dumpgen import Page

ALBERT = """{{Short description|German-born physicist (1879–1955)}}
{{Infobox scientist
| name = Albert Einstein
| birth_date = {{birth date|df=yes|1879|3|14}}
| fields = [[Physics]], {{nowrap|[[philosophy]]}}
}}
'''Albert Einstein''' (14 March 1879 – 18 April 1955) was a German-born [[theoretical physicist]].<ref name="bio">{{cite web |url=https://example.org/bio |title=Biography}}</ref> He developed the [[theory of relativity]].<ref>{{cite book |title=Relativity |year=1916}}</ref><!-- do not change -->

He received the 1921 [[Nobel Prize in Physics]].<ref name="bio"/>

== Early life ==
[[File:Einstein 1882.jpg|thumb|Einstein in 1882, with [[Maria Einstein|his sister]]]]
Einstein was born in [[Ulm]], in the [[Kingdom of Württemberg]].

{| class="wikitable"
! Year !! Event
|-
| 1905 || Annus mirabilis
|}

=== Education ===
He attended a [[Gymnasium (school)|gymnasium]] in [[Munich]] &amp; studied ''mathematics''.

== References ==
{{Reflist}}

=== Sources ===
* {{cite book |title=Subtle is the Lord}}

== External links ==
* [https://example.org/einstein Official archive]

[[Category:1879 births]]
[[de:Albert Einstein]]
"""

MERCURY = """'''Mercury''' may refer to:
* [[Mercury (planet)]], the closest planet to the Sun
* [[Mercury (element)]], a chemical element

{{disambiguation}}
"""

BROKEN = """The '''Broken page''' starts well. {{Infobox broken
| name = never closed
Then [[an unclosed link and <ref>an unclosed ref.

It still has a second paragraph.
"""

PAGES = [
    Page("Albert Einstein", ALBERT),                                     # templates, refs, tables, files, ...
    Page("Talk:Albert Einstein", "Discussion of the article.", ns=1),   # another namespace
    Page("Template:Infobox scientist", "{{Infobox|title={{{name}}}}}", ns=10),
    Page("Einstein", "#REDIRECT [[Albert Einstein]]", redirect="Albert Einstein"),          # a redirect
    Page("A. Einstein", "#REDIRECT [[Einstein]]", redirect="Einstein"),                    # redirect -> redirect
    Page("Loop one", "#REDIRECT [[Loop two]]", redirect="Loop two"),                       # a redirect loop
    Page("Loop two", "#REDIRECT [[Loop one]]", redirect="Loop one"),
    Page("Einstein's theory", "#redirect [[Theory of relativity#General]]"),               # no <redirect> element
    Page("Theory of relativity", "The '''theory of relativity''' comprises [[special relativity]] and "
         "[[general relativity]].\n\n== General relativity ==\nA theory of [[gravitation]]."),
    Page("Mercury", MERCURY),                                             # a disambiguation page
    Page("Broken page", BROKEN),                                          # invalid markup
    Page("Only templates", "{{Infobox person|name=Nobody}}\n{{Navbox}}\n[[Category:Stubs]]"),  # blank after extraction
    Page("Ulm", "'''Ulm''' is a city in [[Baden-Württemberg]], on the [[Danube]]."),
]

EXPECTED_TEXT = {
    "Albert Einstein": [
        (None, "Albert Einstein (14 March 1879 – 18 April 1955) was a German-born theoretical physicist. He "
               "developed the theory of relativity.\n\nHe received the 1921 Nobel Prize in Physics."),
        ("Early life", "Einstein was born in Ulm, in the Kingdom of Württemberg."),
        ("Education", "He attended a gymnasium in Munich & studied mathematics."),
    ],
    "Theory of relativity": [
        (None, "The theory of relativity comprises special relativity and general relativity."),
        ("General relativity", "A theory of gravitation."),
    ],
    "Mercury": [(None, "Mercury may refer to:\nMercury (planet), the closest planet to the Sun\n"
                       "Mercury (element), a chemical element")],
    "Broken page": [(None, "The Broken page starts well.\nThen an unclosed link and an unclosed ref.\n\n"
                           "It still has a second paragraph.")],
    "Ulm": [(None, "Ulm is a city in Baden-Württemberg, on the Danube.")],
}
EXPECTED_SKIPS = {"other_namespace": 2, "redirect": 5, "blank": 1}
REDIRECTS = {"Einstein": "Albert Einstein", "A. Einstein": "Einstein", "Loop one": "Loop two",
             "Loop two": "Loop one", "Einstein's theory": "Theory of relativity"}
