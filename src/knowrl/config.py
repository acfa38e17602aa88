"""Configuration: YAML files merged in order, dotted ``key=value`` overrides, schema defaults, validation.

Precedence is CLI overrides > later files > earlier files > schema defaults. The schema
(``config/config.schema.json``) is the single place where every setting is described; unknown keys are errors.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from knowrl.errors import ConfigError
from knowrl.files import sha256_json

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def config_dir() -> Path:
    """Folder holding ``config.yaml``, ``config.schema.json`` and ``profiles/`` (``KNOWRL_CONFIG_DIR`` overrides)."""
    folder = Path(os.environ.get("KNOWRL_CONFIG_DIR", PROJECT_ROOT / "config"))
    if not (folder / "config.schema.json").is_file():
        raise ConfigError(f"config folder {folder} has no config.schema.json; set KNOWRL_CONFIG_DIR "
                          "to the project's config/ folder (knowrl is meant to be installed editable)")
    return folder


@lru_cache(maxsize=1)
def load_schema() -> dict:
    return json.loads((config_dir() / "config.schema.json").read_text(encoding="utf-8"))


class _Loader(yaml.SafeLoader):
    """YAML with YAML 1.2 floats: PyYAML (YAML 1.1) reads ``1e-4`` as the string "1e-4"; users mean a number."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$|^[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."))


def load_yaml(text: str) -> Any:
    """Parse YAML text the way every config file and ``--set`` value is parsed."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def _read_yaml(path: str | os.PathLike) -> dict:
    try:
        data = load_yaml(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def deep_merge(base: dict, update: dict) -> dict:
    """Return ``base`` updated by ``update``; nested mappings merge, everything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"judge.batch_size=8"`` -> (["judge", "batch_size"], 8); the value is parsed as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} is not KEY=VALUE (e.g. judge.backend=rule)")
    try:
        value = load_yaml(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(config: dict, overrides: Sequence[str]) -> dict:
    result = copy.deepcopy(config)
    for text in overrides:
        keys, value = parse_override(text)
        node = result
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {text!r}: {key!r} is not a section")
        node[keys[-1]] = value
    return result


def fill_defaults(instance: dict, schema: dict) -> dict:
    """Fill missing keys from the schema's ``default`` values, recursing into object-typed sections."""
    for key, sub in schema.get("properties", {}).items():
        if key not in instance:
            if "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            elif sub.get("type") == "object" and "properties" in sub:
                instance[key] = {}
        if isinstance(instance.get(key), dict) and sub.get("type") == "object":
            fill_defaults(instance[key], sub)
    return instance


def validate(config: dict) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "<top level>"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"invalid config at {where}: {first.message}{more}")


def profile_path(name: str) -> Path:
    path = config_dir() / "profiles" / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (config_dir() / "profiles").glob("*.yaml"))
        raise ConfigError(f"unknown profile {name!r}; available: {', '.join(known)}")
    return path


def load_config(files: Sequence[str | os.PathLike] = (), overrides: Sequence[str] = (),
                profile: str | None = None, base: bool = True) -> dict:
    """Resolve a configuration: ``config.yaml`` (if ``base``), the profile, ``files``, then ``overrides``."""
    layers: list[str | os.PathLike] = []
    if base:
        layers.append(config_dir() / "config.yaml")
    if profile:
        layers.append(profile_path(profile))
    layers.extend(files)
    config: dict = {}
    for layer in layers:
        config = deep_merge(config, _read_yaml(layer))
    config = apply_overrides(config, overrides)
    fill_defaults(config, load_schema())
    validate(config)
    return config


def config_hash(config: dict) -> str:
    return sha256_json(config)


def get(config: dict, dotted: str) -> Any:
    """``get(cfg, "judge.backend")``; a missing key is a ConfigError naming the key."""
    node: Any = config
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            raise ConfigError(f"config has no setting {dotted!r}")
        node = node[key]
    return node
