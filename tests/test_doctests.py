"""The runnable examples in docstrings (reward functions, scoring, registry) stay true."""

import doctest
import importlib
import pkgutil

import pytest

import knowrl

PACKAGES = ("knowrl.rewards", "knowrl.facts", "knowrl.registry", "knowrl.judge.rule_grader", "knowrl.judge.answer_text", "knowrl.judge.quantities", "knowrl.judge.refusal")


def _modules():
    for name in PACKAGES:
        module = importlib.import_module(name)
        yield name
        if hasattr(module, "__path__"):
            for info in pkgutil.iter_modules(module.__path__, prefix=f"{name}."):
                yield info.name


@pytest.mark.parametrize("module_name", sorted(set(_modules())))
def test_docstring_examples(module_name):
    result = doctest.testmod(importlib.import_module(module_name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_every_cli_stage_imports_and_registers():
    from knowrl.cli import STAGE_CLIS, build_parser

    for module_name in STAGE_CLIS:
        assert hasattr(importlib.import_module(module_name), "register"), module_name
    assert build_parser().prog == "knowrl" and knowrl.__version__
