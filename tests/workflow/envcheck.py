"""What each rule's environment must hold, derived from the rules, the code and the env files (no conda here).

For one resolved configuration: Snakemake itself loads the workflow (``rules_of``) and gives each rule's conda
environment, image and shell command. Each ``knowrl <noun> <verb>`` in a command is resolved to its handler through
the real argument parser; the third-party modules it needs are the static import closure of that handler (imports
inside functions included, registry entries only for the configured backend), plus what the configuration makes it
load or start (``CONFIG_NEEDS``: the judge server of ``knowrl judge run``, a GGUF policy, a logger, vLLM, ...). An
environment provides the distributions its ``envs/<role>.yaml`` pins and, transitively, what they require (read
from the installed metadata where the distribution is installed here).
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
# Imports made only when a setting selects them; CONFIG_NEEDS adds them back for the configurations that do.
OPTIONAL_IMPORTS = {"vllm", "unsloth", "deepspeed", "wandb", "swanlab"}
# Import names whose distribution is not installed here (GPU-only stacks).
NOT_INSTALLED = {"vllm": "vllm", "unsloth": "unsloth", "deepspeed": "deepspeed", "bitsandbytes": "bitsandbytes"}
LLAMACPP_SERVER = "llama-cpp-python[server]"
RULES_OF = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import (ConfigSettings, DeploymentSettings, OutputSettings, ResourceSettings,
                                      StorageSettings, WorkflowSettings)
result = []
for files in json.loads(sys.argv[1]):
    with SnakemakeApi(OutputSettings()) as api:
        try:
            workflow = api.workflow(resource_settings=ResourceSettings(cores=1),
                                    config_settings=ConfigSettings(configfiles=[Path(f) for f in files]),
                                    storage_settings=StorageSettings(), workflow_settings=WorkflowSettings(),
                                    deployment_settings=DeploymentSettings(), snakefile=Path(sys.argv[2]),
                                    workdir=Path.cwd())._workflow
        except Exception as exc:
            result.append({"error": str(exc).splitlines()[0]})
            continue
        rules = {r.name: {"conda": r.conda_env, "container": r.container_img, "shell": r.shellcmd}
                 for r in workflow.rules if r.shellcmd}
        result.append({"rules": rules, "config": dict(workflow.config)})
print(json.dumps(result, default=str))
"""


def rules_of(configurations: list[list[str]], workdir: Path) -> list[dict]:
    """Per configuration (a list of config files): {"rules": {name: {conda, container, shell}}, "config": resolved}
    or {"error": first line} when the workflow refuses it. One subprocess; the workflow writes into ``workdir``."""
    configurations = [[str(REPO / f) for f in files] for files in configurations]  # absolute ones stay as they are
    proc = subprocess.run([sys.executable, "-c", RULES_OF, json.dumps(configurations), str(REPO / "Snakefile")],
                          cwd=workdir, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the code side: what a command imports ---------------------------------------------------------------------
def _module_path(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if node.level:
        parts = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
        base = ".".join(parts + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def _imports(tree: ast.AST, module: str, is_package: bool, top: bool = False) -> Iterator[str]:
    """Imported modules (and knowrl module names in string constants) anywhere under ``tree``, or with ``top`` only
    at module level (what importing the module runs). Registry entries ("knowrl.x:Class") are left out: the
    configured backend is added by the caller."""
    guarded = {id(n) for handler in ast.walk(tree) if isinstance(handler, ast.Try) and _catches_import_error(handler)
               for stmt in handler.body for n in ast.walk(stmt)}
    nodes = (n for stmt in tree.body if not isinstance(stmt, (ast.FunctionDef, ast.ClassDef))
             for n in ast.walk(stmt)) if top else ast.walk(tree)
    for node in nodes:
        if id(node) in guarded:
            continue  # `try: import x / except ImportError`: optional by construction
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield from _resolve(node, module, is_package)
        elif not top and isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and re.fullmatch(r"knowrl(\.\w+)+", node.value):
            yield node.value  # lazy re-exports: imported by the code that uses them


def _catches_import_error(node: ast.Try) -> bool:
    names = {n.id for h in node.handlers if h.type is not None for n in ast.walk(h.type) if isinstance(n, ast.Name)}
    return bool(names & {"ImportError", "ModuleNotFoundError"})


@cache
def _module_imports(module: str, top: bool) -> list[str]:
    tree, is_package = _parsed(module)
    return list(_imports(tree, module, is_package, top))


@cache
def _parsed(module: str) -> tuple[ast.Module, bool]:
    path = _module_path(module)
    return ast.parse(path.read_text(encoding="utf-8")), path.name == "__init__.py"


def _closure(roots: set[str], top: bool = False) -> set[str]:
    """Top-level third-party names imported by the knowrl modules ``roots`` and everything they import (with
    ``top``: only what importing them runs)."""
    seen, external, todo = set(), set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if not name.startswith("knowrl"):
            external.add(name.split(".")[0])
            continue
        if _module_path(name) is None:
            continue  # an attribute imported from a module (from x import Class), not a module
        todo += [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]  # parent packages run first
        todo += _module_imports(name, top)
    return {n for n in external if n not in sys.stdlib_module_names and n != "__future__"}


def _handler(noun: str, verb: str) -> Callable:
    from knowrl.cli import build_parser

    def choices(parser):
        return next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices

    return choices(choices(build_parser())[noun])[verb].get_default("handler")


@cache
def command_imports(noun: str, verb: str, selected: frozenset[str]) -> frozenset[str]:
    """Third-party top-level modules `knowrl NOUN VERB` imports: the handler's own imports and their closure, the
    CLI's start-up imports, and the ``selected`` registry modules (configured backends) where the code reaches
    their registry."""
    handler = _handler(noun, verb)
    tree, is_package = _parsed(handler.__module__)
    function = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == handler.__name__)
    roots = set(_imports(function, handler.__module__, is_package))
    modules = _knowrl_closure(roots)
    registries = {"knowrl.judge": "knowrl.judge.", "knowrl.facts.verify": "knowrl."}
    roots |= {m for m in selected if any(r in modules and m.startswith(p) for r, p in registries.items())}
    from knowrl.cli import STAGE_CLIS  # every command imports all of them to build its parser

    return frozenset((_closure({"knowrl.cli", *STAGE_CLIS}, top=True) | _closure(roots)) - OPTIONAL_IMPORTS)


def _knowrl_closure(roots: set[str]) -> set[str]:
    seen, todo = set(), [r for r in roots if r.startswith("knowrl")]
    while todo:
        name = todo.pop()
        if name in seen or _module_path(name) is None:
            continue
        seen.add(name)
        todo += [m for m in _module_imports(name, False) if m.startswith("knowrl")]
    return seen


# -- the configuration side: what a command loads or starts besides its imports --------------------------------
JUDGE_MODULES = {"rule": "knowrl.judge.rule_backend", "llamacpp": "knowrl.judge.http_backends",
                 "vllm": "knowrl.judge.http_backends", "openai": "knowrl.judge.http_backends",
                 "transformers": "knowrl.judge.transformers_backend"}
VERIFIER_MODULES = {"nli": "knowrl.facts.nli", "llm": "knowrl.facts.verify", "embedding": "knowrl.facts.verify"}


def selected_backends(config: dict, command: str) -> frozenset[str]:
    modules = {JUDGE_MODULES[config["judge"]["backend"]], VERIFIER_MODULES[config["facts"]["verifier"]["backend"]]}
    if command == "judge agree":  # compares the rule grader with the configured backend
        modules.add(JUDGE_MODULES["rule"])
    return frozenset(modules)


def _gguf_policy(value: str | None) -> bool:
    return not value or str(value).endswith(".gguf")


def judge_server(config: dict) -> set[str]:
    """The server `knowrl judge run` (or a judge client) starts in the job's environment."""
    judge = config["judge"]
    if judge.get("base_url"):
        return set()
    return {"llamacpp": {LLAMACPP_SERVER}, "vllm": {"vllm"}}.get(judge["backend"], set())


def config_needs(config: dict, command: str) -> set[str]:
    """Distributions a command loads or starts because of a setting, not through an import of its own."""
    needs: set[str] = set()
    if command in ("judge run", "judge serve", "judge grade", "judge agree"):
        needs |= judge_server(config)
    if command in ("train sft", "eval run", "data demo") and _gguf_policy(config["model"]["policy"]):
        needs.add("gguf")  # transformers reads the embedded GGUF through the gguf package
    if command in ("train sft", "train grpo"):
        section = config[command.split()[1]]
        needs |= {name for name in section["report_to"] if name in ("tensorboard", "wandb", "swanlab")}
        if "bnb" in section["optim"]:
            needs.add("bitsandbytes")
        if config["model"]["backend"] == "unsloth":
            needs.add("unsloth")
        if config["train"]["strategy"] in ("zero2", "zero3"):
            needs.add("deepspeed")
    if command == "train grpo" and config["grpo"]["generation"]["backend"] == "vllm":
        needs.add("vllm")
    return needs


def commands_of(shell: str) -> list[str]:
    """`knowrl <noun> <verb>` commands in a rule's shell command, in order."""
    return [f"{m.group(1)} {m.group(2)}" for m in re.finditer(r"\bknowrl (\w+) (\w+)", shell)]


@cache
def _distributions() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def dist_of(import_name: str) -> str:
    if import_name in NOT_INSTALLED:
        return NOT_INSTALLED[import_name]
    found = _distributions().get(import_name)
    assert found, f"no installed distribution provides the module {import_name!r}"
    return norm(found[0])


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def needs_of(config: dict, shell: str) -> dict[str, set[str]]:
    """{command: distributions it needs} for every knowrl command of a rule's shell command."""
    found = {}
    for command in commands_of(shell):
        noun, verb = command.split()
        imports = command_imports(noun, verb, selected_backends(config, command))
        found[command] = {dist_of(name) for name in imports} | config_needs(config, command)
    return found


# -- the environment side ----------------------------------------------------------------------------------------
def env_specs(role: str) -> list[str]:
    env = yaml.safe_load((REPO / "envs" / f"{role}.yaml").read_text(encoding="utf-8"))
    return next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)


@cache
def provides(role: str) -> frozenset[str]:
    """Distributions the environment holds: its pins and what they require, transitively (as installed here)."""
    held, todo = set(), [Requirement(spec) for spec in env_specs(role)]
    while todo:
        req = todo.pop()
        name = norm(req.name)
        held |= {name, *(f"{name}[{extra}]" for extra in req.extras)}
        try:
            requires = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:
            continue  # a GPU-only distribution: its own requirements are not known here
        for text in requires:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in (*req.extras, "")):
                if norm(sub.name) not in held:
                    todo.append(sub)
    return frozenset(held)
