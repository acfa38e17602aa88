import pytest

from knowrl.errors import ConfigError
from knowrl.registry import Registry


def test_lazy_lookup_and_suggestion():
    reg = Registry("judge", {"rule": "json:JSONDecoder", "openai": "json:JSONEncoder"})
    assert reg.get("rule").__name__ == "JSONDecoder"
    with pytest.raises(ConfigError, match="did you mean 'rule'"):
        reg.get("rules")
    with pytest.raises(ConfigError, match="available: openai, rule"):
        reg.get("zzz")
