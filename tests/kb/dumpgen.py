"""Writers of MediaWiki XML export files in the real format, for tests and ``benchmarks/bench_kb_dump.py``.

``write_dump`` writes the ``<mediawiki><siteinfo>…<page><title><ns><id><redirect><revision><text>`` schema as
plain XML, one bz2 stream, or a multistream file (a header stream, streams of ``per_stream`` pages, a closing
stream) with its ``offset:page_id:title`` index, bz2-compressed like Wikimedia's. ``realistic_pages`` makes
article-like wikitext (infobox with nested templates, cite templates in references, links, files, tables, lists,
comments, categories, reference sections) from real sentences, plus redirects and other-namespace pages in
roughly the proportions of an English dump.
"""

from __future__ import annotations

import bz2
import hashlib
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

NAMESPACES = {-2: "Media", -1: "Special", 0: "", 1: "Talk", 2: "User", 3: "User talk", 4: "Wikipedia",
              6: "File", 8: "MediaWiki", 10: "Template", 12: "Help", 14: "Category", 100: "Portal", 118: "Draft",
              828: "Module"}
HEADER = ('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" '
          'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
          'xsi:schemaLocation="http://www.mediawiki.org/xml/export-0.11/ '
          'http://www.mediawiki.org/xml/export-0.11.xsd" version="0.11" xml:lang="en">\n'
          "  <siteinfo>\n    <sitename>Wikipedia</sitename>\n    <dbname>enwiki</dbname>\n"
          "    <base>https://en.wikipedia.org/wiki/Main_Page</base>\n"
          "    <generator>MediaWiki 1.42.0-wmf.3</generator>\n    <case>first-letter</case>\n    <namespaces>\n"
          + "".join(f'      <namespace key="{k}" case="first-letter">{v}</namespace>\n' if v else
                    f'      <namespace key="{k}" case="first-letter" />\n' for k, v in NAMESPACES.items())
          + "    </namespaces>\n  </siteinfo>\n")
FOOTER = "</mediawiki>\n"


@dataclass
class Page:
    title: str
    text: str
    ns: int = 0
    redirect: str | None = None            # written as <redirect title=...> (and the text says #REDIRECT)


def page_xml(page: Page, page_id: int) -> str:
    redirect = f"    <redirect title={quoteattr(page.redirect)} />\n" if page.redirect else ""
    sha1 = hashlib.sha1(page.text.encode()).hexdigest()[:31]
    return (f"  <page>\n    <title>{escape(page.title)}</title>\n    <ns>{page.ns}</ns>\n    <id>{page_id}</id>\n"
            f"{redirect}    <revision>\n      <id>{page_id * 10 + 7}</id>\n      <parentid>{page_id * 10}</parentid>\n"
            "      <timestamp>2023-11-01T12:00:00Z</timestamp>\n"
            "      <contributor>\n        <username>Example</username>\n        <id>42</id>\n      </contributor>\n"
            "      <comment>fixture</comment>\n      <origin>1</origin>\n      <model>wikitext</model>\n"
            "      <format>text/x-wiki</format>\n"
            f'      <text bytes="{len(page.text.encode())}" sha1="{sha1}" xml:space="preserve">{escape(page.text)}'
            f"</text>\n      <sha1>{sha1}</sha1>\n    </revision>\n  </page>\n")


def write_dump(path: Path, pages: Iterable[Page], *, multistream: bool = False, per_stream: int = 100,
               truncate_last: bool = False) -> Path | None:
    """Write ``path`` (.xml = plain, .bz2 = compressed); returns the index path of a multistream file.

    ``truncate_last``: cut the file inside its last page stream (and drop the closing stream), as a download
    that stopped early; the index still lists that stream's pages."""
    compress = path.suffix == ".bz2"
    if not multistream:
        data = (HEADER + "".join(page_xml(p, i) for i, p in enumerate(pages, 1)) + FOOTER).encode()
        if compress:
            data = bz2.compress(data)
        if truncate_last:
            data = data[: len(data) * 3 // 4]
        path.write_bytes(data)
        return None
    index_path = path.with_name(path.name.replace(".xml.bz2", "-index.txt.bz2"))
    index_lines: list[str] = []
    with open(path, "wb") as fh:
        fh.write(bz2.compress(HEADER.encode()))
        batch: list[tuple[int, Page]] = []
        streams: list[bytes] = []
        for page_id, page in enumerate(pages, 1):
            batch.append((page_id, page))
            if len(batch) == per_stream:
                streams.append(_stream(batch, fh.tell() + sum(map(len, streams)), index_lines))
                batch = []
        if batch:
            streams.append(_stream(batch, fh.tell() + sum(map(len, streams)), index_lines))
        if truncate_last and streams:
            streams[-1] = streams[-1][: len(streams[-1]) // 2]
        for data in streams:
            fh.write(data)
        if not truncate_last:
            fh.write(bz2.compress(FOOTER.encode()))
    index_path.write_bytes(bz2.compress("".join(index_lines).encode()))
    return index_path


def _stream(batch: Sequence[tuple[int, Page]], offset: int, index_lines: list[str]) -> bytes:
    index_lines.extend(f"{offset}:{pid}:{page.title}\n" for pid, page in batch)
    return bz2.compress("".join(page_xml(p, pid) for pid, p in batch).encode())


# -- realistic pages ------------------------------------------------------------------------------------------
SECTION_NAMES = ["Early life", "History", "Career", "Background", "Geography", "Description", "Reception",
                 "Legacy", "Personal life", "Production", "Plot", "Etymology", "Biology", "Economy", "Culture"]
CATEGORY_WORDS = ["births", "people", "places", "works", "establishments", "species", "albums", "films"]


def _cite(rng: random.Random, n: int) -> str:
    kind = rng.choice(["cite web", "cite book", "cite news", "cite journal"])
    return (f"<ref name=\"r{n}\">{{{{{kind} |url=https://example.org/{rng.randrange(10**6)} |title=Source {n} "
            f"|last=Smith |first=J. |date={rng.randrange(1950, 2023)}-0{rng.randrange(1, 9)}-1{rng.randrange(9)} "
            f"|access-date=2023-10-01}}}}</ref>")


def _sentence(rng: random.Random, sentences: Sequence[str], titles: Sequence[str], refs: list[int]) -> str:
    s = rng.choice(sentences)
    words = s.split(" ")
    if len(words) > 4 and rng.random() < 0.6:                     # a link on a word or a piped link
        i = rng.randrange(1, len(words) - 1)
        target = rng.choice(titles)
        words[i] = f"[[{target}|{words[i]}]]" if rng.random() < 0.5 else f"[[{words[i]}]]"
    if len(words) > 6 and rng.random() < 0.2:
        i = rng.randrange(1, len(words) - 1)
        words[i] = f"''{words[i]}''"
    text = " ".join(words)
    if rng.random() < 0.35:
        refs.append(len(refs) + 1)
        text += _cite(rng, refs[-1]) if rng.random() < 0.7 else f'<ref name="r{rng.randint(1, len(refs))}" />'
    return text


def _paragraph(rng, sentences, titles, refs) -> str:
    return " ".join(_sentence(rng, sentences, titles, refs) for _ in range(rng.randint(2, 6)))


def article(rng: random.Random, title: str, sentences: Sequence[str], titles: Sequence[str],
            scale: float = 1.0) -> str:
    """Article-like wikitext around real sentences; ``scale`` stretches the body (lognormal sizes)."""
    refs: list[int] = []
    born = rng.randrange(1900, 2000)
    parts = [f"{{{{Short description|{rng.choice(sentences)[:40]}}}}}",
             f"{{{{Infobox person\n| name = {title}\n| image = {title.replace(' ', '_')}.jpg\n"
             f"| birth_date = {{{{birth date and age|{born}|{rng.randint(1, 12)}|{rng.randint(1, 28)}}}}}\n"
             f"| birth_place = [[{rng.choice(titles)}]], {{{{flag|{rng.choice(titles)}}}}}\n"
             f"| occupation = {{{{hlist|[[{rng.choice(titles)}]]|[[{rng.choice(titles)}]]}}}}\n}}}}",
             f"'''{title}''' (born {born}) " + _paragraph(rng, sentences, titles, refs)]
    if rng.random() < 0.5:
        parts.append(_paragraph(rng, sentences, titles, refs))
    for _ in range(max(1, round(rng.randint(1, 6) * scale))):
        parts.append(f"== {rng.choice(SECTION_NAMES)} ==")
        if rng.random() < 0.3:
            parts.append(f"[[File:{title.replace(' ', '_')}_{rng.randrange(99)}.jpg|thumb|left|"
                         f"A caption about [[{rng.choice(titles)}]]]]")
        for _ in range(max(1, round(rng.randint(1, 4) * scale))):
            parts.append(_paragraph(rng, sentences, titles, refs))
        if rng.random() < 0.25:
            parts.append(f"=== {rng.choice(SECTION_NAMES)} ===\n" + _paragraph(rng, sentences, titles, refs))
        if rng.random() < 0.2:
            parts.append("\n".join(f"* [[{rng.choice(titles)}]] ({rng.randrange(1950, 2023)})" for _ in range(4)))
        if rng.random() < 0.15:
            parts.append('{| class="wikitable sortable"\n! Year !! Title !! Role\n'
                         + "".join(f"|-\n| {rng.randrange(1950, 2023)} || ''[[{rng.choice(titles)}]]'' || Lead\n"
                                   for _ in range(5)) + "|}")
        if rng.random() < 0.1:
            parts.append("<!-- Please do not change this section without discussion on the talk page. -->")
    parts += ["== See also ==\n* [[" + rng.choice(titles) + "]]", "== References ==\n{{Reflist}}",
              "== External links ==\n* [https://example.org/" + title.replace(" ", "_") + " Official website]\n"
              "* {{IMDb name|" + str(rng.randrange(10**6)) + "}}",
              "{{Authority control}}\n{{DEFAULTSORT:" + title + "}}",
              "\n".join(f"[[Category:{rng.randrange(1900, 2000)} {rng.choice(CATEGORY_WORDS)}]]" for _ in range(3))]
    return "\n\n".join(parts) + "\n"


def realistic_pages(n_pages: int, sentences: Sequence[str], seed: int = 0, redirect_share: float = 0.4,
                    other_share: float = 0.15) -> Iterator[Page]:
    """``n_pages`` pages: articles, redirects to earlier articles, and Talk/Template/Category/Wikipedia pages."""
    rng = random.Random(seed)
    words = [w.strip(",.;:()[]{}|='\"") for s in sentences[:2000] for w in s.split(" ")[:3]]
    words = [w for w in words if w.isalpha()] or ["Page"]
    titles = [f"{rng.choice(words).capitalize()} {rng.choice(words)} {i}" for i in range(n_pages)]
    made = 0
    for i in range(n_pages):
        roll = rng.random()
        if made and roll < redirect_share:
            target = titles[rng.randrange(made)]
            yield Page(f"{target} (alias {i})", f"#REDIRECT [[{target}]]\n\n{{{{R from alternative name}}}}",
                       redirect=target)
        elif made and roll < redirect_share + other_share:
            ns = rng.choice([1, 4, 10, 14])
            yield Page(f"{NAMESPACES[ns]}:{titles[rng.randrange(made)]}", _paragraph(rng, sentences, titles, []),
                       ns=ns)
        else:
            scale = min(4.0, rng.lognormvariate(0, 0.6))
            yield Page(titles[made], article(rng, titles[made], sentences, titles, scale))
            made += 1
