"""Config resolution: layering, overrides, schema defaults, strict validation."""

import pytest

from knowrl.config import apply_overrides, deep_merge, get, load_config, parse_override
from knowrl.errors import ConfigError


def test_defaults_validate_and_fill_nested_sections():
    cfg = load_config()
    assert cfg["seed"] == 42
    assert cfg["kb"]["search"]["k"] == 5  # METHOD 3.3: top 5 passages
    assert cfg["kb"]["index"]["type"] == "auto"


@pytest.mark.parametrize("text, keys, value", [
    ("kb.search.k=8", ["kb", "search", "k"], 8),          # YAML-typed int
    ("kb.device=cuda:1", ["kb", "device"], "cuda:1"),     # plain string
    ("assets.from_dir=null", ["assets", "from_dir"], None),
    ("seed= 7", ["seed"], 7),
])
def test_parse_override(text, keys, value):
    assert parse_override(text) == (keys, value)


def test_override_beats_files_and_profile(tmp_path):
    layer = tmp_path / "exp.yaml"
    layer.write_text("kb:\n  search:\n    k: 3\n")
    cfg = load_config(files=[layer], overrides=["kb.search.k=9"], profile="smoke")
    assert cfg["kb"]["search"]["k"] == 9
    assert load_config(files=[layer])["kb"]["search"]["k"] == 3


@pytest.mark.parametrize("override, fragment", [
    ("kb.serch.k=3", "serch"),                 # typo in a section name is an error, not ignored
    ("kb.search.mode=semantic", "kb.search.mode"),  # enum
    ("kb.search.k=0", "kb.search.k"),          # minimum
    ("topk=5", "topk"),                        # unknown top-level key
])
def test_invalid_settings_are_errors(override, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_config(overrides=[override])


def test_bad_override_syntax_and_missing_file():
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("kb.search.k")
    with pytest.raises(ConfigError, match="not found"):
        load_config(files=["/nonexistent/x.yaml"])
    with pytest.raises(ConfigError, match="unknown profile"):
        load_config(profile="nope")


def test_merge_and_get_helpers():
    merged = deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}, "d": 4})
    assert merged == {"a": {"b": 1, "c": 3}, "d": 4}
    assert apply_overrides({}, ["x.y=1"]) == {"x": {"y": 1}}
    assert get(merged, "a.c") == 3
    with pytest.raises(ConfigError, match="a.z"):
        get(merged, "a.z")


@pytest.mark.parametrize("raw, expected", [
    ("1e-4", 1e-4),        # YAML 1.1 (PyYAML) would read the string "1e-4": users mean a number
    ("-2E+3", -2000.0),
    (".5", 0.5),
    ("1.0e-3", 1e-3),
    ("5", 5),
    ("1e4x", "1e4x"),      # not a number: stays a string
    ("v1e2", "v1e2"),
])
def test_overrides_read_numbers_as_yaml_1_2_does(raw, expected):
    from knowrl.config import parse_override

    assert parse_override(f"grpo.learning_rate={raw}") == (["grpo", "learning_rate"], expected)
