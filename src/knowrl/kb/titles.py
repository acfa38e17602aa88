"""Page titles: MediaWiki normalisation, redirect-following resolution, and reading a list of wanted titles.

One resolver serves both the built KB (``kb.sqlite``) and the dump catalog of a filtered build, so "which page
does this RL title mean" has a single answer everywhere: exact title, then the normalised title (first letter
upper-cased, underscores as spaces), then the redirect chain, then case-insensitive matches.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from knowrl.errors import InputError

MAX_REDIRECT_HOPS = 8                      # MediaWiki itself follows one; dumps hold chains of a few at most
_SPACES = re.compile(r"[\s_]+")

Lookup = Callable[[str], "str | None"]      # title -> the stored page title / redirect target, or None


def normalise_title(title: str) -> str:
    """MediaWiki's canonical form of a main-namespace title: ``"hello_world "`` -> ``"Hello world"``."""
    title = _SPACES.sub(" ", title).strip()
    return title[:1].upper() + title[1:]


def strip_fragment(target: str) -> str:
    """``"Page#Section"`` -> ``"Page"`` (a redirect to a section lands on the page)."""
    return target.split("#", 1)[0]


@dataclass(frozen=True)
class Resolution:
    """Where a requested title leads: ``page`` (None = not found) and ``how``: direct | case_insensitive |
    redirect | missing | redirect_loop | redirect_too_deep | broken_redirect."""
    page: str | None
    how: str
    hops: int = 0


def _follow(start: str, page: Lookup, redirect: Lookup) -> Resolution | None:
    """Follow the redirect chain from ``start`` (itself a redirect source); None if ``start`` is no redirect."""
    target = redirect(start)
    if target is None:
        return None
    seen = {start}
    for hops in range(1, MAX_REDIRECT_HOPS + 1):
        if target in seen:
            return Resolution(None, "redirect_loop", hops)
        found = page(target)
        if found is not None:
            return Resolution(found, "redirect", hops)
        seen.add(target)
        nxt = redirect(target)
        if nxt is None:
            return Resolution(None, "broken_redirect", hops)
        target = nxt
    return Resolution(None, "redirect_too_deep", MAX_REDIRECT_HOPS)


def resolve(title: str, page: Lookup, redirect: Lookup, page_ci: Lookup | None = None,
            redirect_ci: Lookup | None = None) -> Resolution:
    """Resolve ``title`` with exact lookups (``page``: title -> stored title; ``redirect``: source -> normalised
    target) and optional case-insensitive ones (argument lower-cased)."""
    raw = title.strip()
    norm = normalise_title(raw)
    for candidate in dict.fromkeys((raw, norm)):
        found = page(candidate)
        if found is not None:
            return Resolution(found, "direct")
    failed = None
    for candidate in dict.fromkeys((raw, norm)):
        chain = _follow(candidate, page, redirect)
        if chain is not None:
            if chain.page is not None:
                return chain
            failed = failed or chain
    if failed is not None:                 # a broken chain is reported, not papered over by a case-insensitive match
        return failed
    if page_ci is not None:
        found = page_ci(norm.lower())
        if found is not None:
            return Resolution(found, "case_insensitive")
    if redirect_ci is not None:
        source = redirect_ci(norm.lower())
        if source is not None:
            chain = _follow(source, page, redirect)
            if chain is not None:
                return chain
    return Resolution(None, "missing")


def read_titles(path: str | os.PathLike) -> list[str]:
    """Wanted titles from the RL data (a JSON array of ``{"title": "A;B"}``), a JSON array of strings, or a
    text file with one title per line; blanks dropped, duplicates removed, order kept."""
    from knowrl.kb.knowledge_base import split_titles

    path = Path(path)
    if not path.is_file():
        raise InputError(f"titles file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno})") from None
        titles: list[str] = []
        for i, item in enumerate(data):
            if isinstance(item, str):
                titles.append(item)
            elif isinstance(item, dict) and isinstance(item.get("title"), str):
                titles.extend(split_titles(item["title"]))
            else:
                raise InputError(f"{path}: item {i} is neither a title string nor an object with a 'title'")
    else:
        titles = text.splitlines()
    out = list(dict.fromkeys(t.strip() for t in titles if t.strip()))
    if not out:
        raise InputError(f"{path} names no titles")
    return out
