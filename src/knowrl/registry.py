"""Lazy name -> implementation registries, so config picks a backend and GPU-only code never breaks a CPU import."""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Generic, TypeVar

from knowrl.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """One table ``name -> "module:attr"`` per role; the module is imported only when the name is asked for.

    >>> r = Registry("demo", {"json": "json:JSONDecoder"})
    >>> r.get("json").__name__
    'JSONDecoder'
    """

    def __init__(self, role: str, entries: dict[str, str]):
        self.role = role
        self.entries = dict(entries)

    def names(self) -> list[str]:
        return sorted(self.entries)

    def get(self, name: str) -> type[T] | Any:
        if name not in self.entries:
            close = difflib.get_close_matches(name, self.entries, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"unknown {self.role} {name!r}{hint}; available: {', '.join(self.names())}"
            )
        module_name, _, attr = self.entries[name].partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr)
