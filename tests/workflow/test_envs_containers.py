"""Static checks of environments and of containers/Containerfile (tests/workflow/test_podman.py builds and runs it)."""

import json
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = ("kb", "train", "train-unsloth", "serve-vllm", "serve-llamacpp", "eval")


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_norm(name)] = version.strip()
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", re.sub(r"\[.*\]", "", name)).lower().strip()


def _env_pins(role: str) -> dict[str, str]:
    env = yaml.safe_load((REPO / "envs" / f"{role}.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pins = {}
    for spec in pip:
        name, sep, version = spec.partition("==")
        assert sep, f"envs/{role}.yaml: {spec!r} is not pinned with =="
        pins[_norm(name)] = version
    return pins


# Environments whose GPU stack forces other versions than the CPU lock (documented in the env files).
ALLOWED_DIFFERENCES = {"train-unsloth": {"trl", "datasets"}}


@pytest.mark.parametrize("role", ROLES)
def test_env_pins_match_the_lock(role):
    lock = _constraints()
    for name, version in _env_pins(role).items():
        if name in lock and name not in ALLOWED_DIFFERENCES.get(role, set()):
            assert version == lock[name], f"envs/{role}.yaml pins {name}=={version}, constraints.txt {lock[name]}"


CONTAINERFILE = REPO / "containers" / "Containerfile"


@pytest.mark.parametrize("needle, present", [
    # the dependencies: only the staged wheels of the hashed list, from the bound build context, no index
    ("--no-index", True), ("--require-hashes", True), ("--mount=type=bind,source=.,target=/wheels", True),
    # the layer is keyed by the hashed wheel list (COPY is content-addressed)
    ("COPY requirements.txt", True),
    # the base is the user's, named at build time
    ("ARG BASE=", True), ("FROM ${BASE}", True),
    # knowrl runs from the mounted checkout: the image never copies the code
    ("python -m knowrl", True), ("COPY src", False),
    # nothing in the build reaches the network: no downloads, package managers or registries' tools
    ("curl", False), ("wget", False), ("apt-get", False), ("micromamba", False), ("conda ", False),
    # offline at run time too
    ("HF_HUB_OFFLINE=1", True),
])
def test_containerfile_builds_offline_from_the_staged_wheels(needle, present):
    assert (needle in CONTAINERFILE.read_text()) == present, needle


def test_no_apptainer_definitions_pull_from_a_registry():
    """The .sif images are converted from the built image (docker-archive://): no .def or Dockerfile of its own."""
    assert sorted(p.name for p in (REPO / "containers").iterdir()) == ["Containerfile"]


# -- every rule's environment holds what its command imports or starts (derived: tests/workflow/envcheck.py) -----
STAGED = {  # dummy staged inputs: the paper and rehearsal profiles refuse to start without them (never read here)
    "model": {"policy": "/staged/DeepSeek-R1-Distill-Qwen-7B"}, "kb": {"corpus": "/staged/wiki.jsonl"},
    "judge": {"model": "/staged/judge-7b", "llamacpp": {"model": "/staged/judge.gguf"}},
    "sft": {"data": "/staged/coldstart.json"}, "grpo": {"data": "/staged/rl.json"},
    "eval": {"benchmarks": {name: {"path": f"/staged/{name}"} for name in
                            ("simpleqa", "chinese_simpleqa", "truthfulqa", "gpqa", "aime25")}},
}
OVERLAYS = {  # settings the profiles do not name but a user may: each judge backend, Unsloth
    "judge_llamacpp": {"judge": {"backend": "llamacpp"}},
    "judge_vllm": {"judge": {"backend": "vllm"}},
    "judge_openai": {"judge": {"backend": "openai", "model": "gpt-4o-mini", "base_url": "http://127.0.0.1:9/v1"}},
    "judge_transformers": {"judge": {"backend": "transformers", "transformers": {"device": "cuda"}}},
    "unsloth": {"model": {"backend": "unsloth"}},
    "unsloth_vllm_judge": {"model": {"backend": "unsloth"}, "grpo": {"generation": {"backend": "transformers"}}},
    "unsloth_api_judge": {"model": {"backend": "unsloth"}, "grpo": {"generation": {"backend": "transformers"}},
                          "judge": {"backend": "openai", "model": "gpt-4o-mini"}},
}
CONFIGURATIONS = {  # name -> config files (profile layers, then overlays)
    "default": ["config/config.yaml"],
    "smoke": ["config/config.yaml", "config/profiles/smoke.yaml"],
    "smoke + llama.cpp judge": ["config/config.yaml", "config/profiles/smoke.yaml", "judge_llamacpp"],
    "smoke + vLLM judge": ["config/config.yaml", "config/profiles/smoke.yaml", "judge_vllm"],
    "smoke + transformers judge": ["config/config.yaml", "config/profiles/smoke.yaml", "judge_transformers"],
    "rehearsal": ["config/config.yaml", "config/profiles/rehearsal.yaml", "staged"],
    "a800": ["config/config.yaml", "config/profiles/a800.yaml", "staged"],
    "a800x4": ["config/config.yaml", "config/profiles/a800.yaml", "config/profiles/a800x4.yaml", "staged"],
    "a800 + llama.cpp judge": ["config/config.yaml", "config/profiles/a800.yaml", "staged", "judge_llamacpp"],
    "a800 + openai judge": ["config/config.yaml", "config/profiles/a800.yaml", "staged", "judge_openai"],
    "a800 + transformers judge": ["config/config.yaml", "config/profiles/a800.yaml", "staged", "judge_transformers"],
    "a800 + unsloth, API judge": ["config/config.yaml", "config/profiles/a800.yaml", "staged", "unsloth_api_judge"],
    "a800 + unsloth": ["config/config.yaml", "config/profiles/a800.yaml", "staged", "unsloth"],
    "a800 + unsloth, vLLM judge": ["config/config.yaml", "config/profiles/a800.yaml", "staged", "unsloth_vllm_judge"],
}


@pytest.fixture(scope="module")
def workflows(tmp_path_factory):
    """Each configuration's rules as Snakemake itself loads them: {name: {"rules": ..., "config": ...}}."""
    from tests.workflow.envcheck import rules_of

    root = tmp_path_factory.mktemp("envcheck")
    layers = {"staged": STAGED, **OVERLAYS}
    for name, layer in layers.items():
        (root / f"{name}.yaml").write_text(json.dumps(layer))  # JSON is YAML
    files = [[str(root / f"{f}.yaml") if f in layers else f for f in fs] for fs in CONFIGURATIONS.values()]
    return dict(zip(CONFIGURATIONS, rules_of(files, root), strict=True))


def test_each_rule_environment_holds_what_its_commands_import_or_start(workflows):
    """For every configuration and rule: each `knowrl` command of the shell line imports only distributions its
    conda environment holds, and the judge server `knowrl judge run` starts is in that same environment."""
    from tests.workflow.envcheck import needs_of, provides

    gaps = []
    for name, loaded in workflows.items():
        if "error" in loaded:
            continue
        for rule, spec in loaded["rules"].items():
            role = Path(spec["conda"]).stem
            for command, needs in needs_of(loaded["config"], spec["shell"]).items():
                missing = sorted(needs - provides(role))
                if missing:
                    gaps.append(f"{name}: {rule} (envs/{role}.yaml) `knowrl {command}` lacks {', '.join(missing)}")
    assert not gaps, "\n".join(gaps)


def test_the_checked_configurations_cover_every_role_and_judge_server(workflows):
    """The check above is not vacuous: every environment and both judge servers occur in it."""
    from tests.workflow.envcheck import judge_server

    roles = {Path(spec["conda"]).stem for loaded in workflows.values() if "rules" in loaded
             for spec in loaded["rules"].values()}
    assert roles == set(ROLES)
    servers = set().union(*(judge_server(loaded["config"]) for loaded in workflows.values() if "config" in loaded))
    assert servers == {"vllm", "llama-cpp-python[server]"}


@pytest.mark.parametrize("name, error", [
    # a800's colocated vLLM generation: the Unsloth environment has no vLLM
    ("a800 + unsloth", "has no vLLM for GRPO generation"),
    # transformers generation, but the vLLM judge `knowrl judge run` would start in the job's environment
    ("a800 + unsloth, vLLM judge", "has no vLLM for the judge"),
    # transformers generation and an API judge: runs
    ("a800 + unsloth, API judge", None),
])
def test_unsloth_runs_only_without_vllm_in_its_job(workflows, name, error):
    assert workflows[name].get("error") is None if error is None else error in workflows[name]["error"]


def test_each_rule_runs_in_the_image_of_its_environment(workflows):
    """Each rule names the image of its environment's role, found in the workflow's folder."""
    for name, loaded in workflows.items():
        for rule, spec in loaded.get("rules", {}).items():
            role = Path(spec["conda"]).stem
            assert spec["container"] == str(REPO / "containers" / "images" / f"knowrl-{role}.sif"), (name, rule)


def test_the_analysis_sees_imports_inside_functions_and_registries():
    """The derivation itself: a handler's lazy imports count, a configured registry backend counts, a
    try/except-ImportError import does not."""
    from tests.workflow.envcheck import command_imports

    assert "faiss" in command_imports("kb", "build", frozenset())                    # imported inside functions
    rule, transformers = (frozenset({f"knowrl.judge.{m}"}) for m in ("rule_backend", "transformers_backend"))
    assert "torch" not in command_imports("judge", "grade", rule)       # provenance's torch: try/except ImportError
    assert "torch" in command_imports("judge", "grade", transformers)   # the configured backend's imports


# -- the README's container commands, run with a stand-in `apptainer` that records its arguments ------------------
FIXTURES = REPO / "tests" / "eval" / "fixtures"


def _readme_container_commands() -> list[str]:
    """The `snakemake` lines of the README's containers section, as written."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("### Containers and environments", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    lines = [line.strip() for line in block.splitlines() if line.strip().startswith("snakemake ")]
    assert len(lines) == 2, lines
    return lines


def _checkout(root: Path, images: tuple[str, ...]) -> Path:
    """A folder laid out like a checkout (the workflow's files linked) with its own containers/images/ holding
    empty files for ``images`` (the stand-in never opens them)."""
    root.mkdir()
    for name in ("Snakefile", "rules", "config", "profiles", "envs", "docs"):
        (root / name).symlink_to(REPO / name)
    (root / "containers" / "images").mkdir(parents=True)
    for role in images:
        (root / "containers" / "images" / f"knowrl-{role}.sif").write_bytes(b"")
    return root


def _apptainer_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    import os
    import sys

    bin_dir, log = tmp_path / "bin", tmp_path / "apptainer.jsonl"
    bin_dir.mkdir()
    (bin_dir / "apptainer").write_text(f"#!/bin/sh\nexec {sys.executable} {REPO / 'tests/workflow/fake_apptainer.py'} "
                                       '"$@"\n')
    (bin_dir / "apptainer").chmod(0o755)
    path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]])
    return {**os.environ, "PATH": path, "FAKE_APPTAINER_LOG": str(log), "OMP_NUM_THREADS": "1"}, log


def _staged_run(root: Path, assets: Path, wheels: Path) -> Path:
    """my-run.yaml naming existing stand-ins for every input of the a800 profile."""
    for name in ("policy", "judge"):
        (root / name).mkdir()
        (root / name / "config.json").write_text("{}")
    for name in ("wiki.jsonl", "coldstart.json", "rl.json"):
        (root / name).write_text("[]")
    benchmarks = {"simpleqa": "simpleqa.csv", "chinese_simpleqa": "chinese_simpleqa.jsonl",
                  "truthfulqa": "truthfulqa.csv", "gpqa": "gpqa_diamond.csv", "aime25": "aime2025.jsonl"}
    layer = {"assets": {"cache_dir": str(assets), "from_dir": str(wheels)},
             "model": {"policy": str(root / "policy")}, "judge": {"model": str(root / "judge")},
             "kb": {"corpus": str(root / "wiki.jsonl")}, "sft": {"data": str(root / "coldstart.json")},
             "grpo": {"data": str(root / "rl.json")},
             "eval": {"benchmarks": {b: {"path": str(FIXTURES / f)} for b, f in benchmarks.items()}}}
    (root / "my-run.yaml").write_text(json.dumps(layer))
    return root / "my-run.yaml"


def _calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []


@pytest.mark.timeout(600)
def test_readme_a800_container_command_passes_nv_and_the_workflows_image(tmp_path, asset_store):
    """The README's a800 line, verbatim, with one cheap target (the embedder asset from the staged wheels): the job
    runs through `apptainer exec` with --nv, the kb image of the workflow's folder and the working directory as home."""
    import shlex
    import subprocess

    command = _readme_container_commands()[0]
    work = _checkout(tmp_path / "checkout", ("kb", "train", "serve-vllm"))
    _staged_run(work, tmp_path / "assets", asset_store.wheel_dir)
    env, log = _apptainer_env(tmp_path)
    target = tmp_path / "assets" / "embedder" / "ASSET.json"
    proc = subprocess.run(shlex.split(command) + [str(target)], cwd=work, env=env, capture_output=True, text=True,
                          timeout=540)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "Provided cores: 16" in proc.stdout + proc.stderr   # a800's own; the workflow profile sets none
    (call,) = [c for c in _calls(log) if "exec" in c]
    image = str(work / "containers" / "images" / "knowrl-kb.sif")
    assert "--nv" in call and image in call and call[call.index("--home") + 1] == str(work), call
    binds = {call[i + 1] for i, arg in enumerate(call) if arg == "--bind"}   # from the config: inputs outside work/
    assert {str((tmp_path / "assets").resolve()), str(FIXTURES / "simpleqa.csv")} <= binds, call
    assert not any(Path(b).is_relative_to(work) for b in binds), call     # the working directory is bound already
    assert "knowrl assets fetch embedder" in call[-1] and target.is_file()   # the job's command, run through it


def test_missing_images_are_named_at_startup(tmp_path):
    """No job starts (no apptainer call at all) when images are missing; one error names each, resolved against
    the workflow's folder."""
    import shlex
    import subprocess

    work = _checkout(tmp_path / "checkout", ("kb",))
    _staged_run(work, tmp_path / "assets", tmp_path)
    env, log = _apptainer_env(tmp_path)
    proc = subprocess.run(shlex.split(_readme_container_commands()[0]) + ["-n"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    missing = ", ".join(str(work / "containers" / "images" / f"knowrl-{r}.sif") for r in ("serve-vllm", "train"))
    assert proc.returncode != 0 and f"2 container image(s) missing: {missing}" in output, output[-3000:]
    assert _calls(log) == []


def test_readme_container_command_without_a_profile_runs_the_cpu_defaults(tmp_path):
    """`snakemake --cores all --use-singularity` (dry run): the default CPU graph, one line saying which profile
    the paper needs, and the workflow profile does not bring cores or --nv of its own."""
    import shlex
    import subprocess

    from tests.workflow.test_workflow import jobs_of

    command = _readme_container_commands()[1]
    work = _checkout(tmp_path / "checkout", ("kb", "train", "eval"))
    env, log = _apptainer_env(tmp_path)
    proc = subprocess.run(shlex.split(command) + ["-n"], cwd=work, env=env, capture_output=True, text=True,
                          timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    hint = [line for line in output.splitlines() if "for the paper add --profile profiles/a800" in line]
    assert len(hint) == 1, output[-3000:]
    assert {"build_kb", "make_demo_data", "train_sft", "train_grpo"} <= set(jobs_of(output))
    assert _calls(log) and all("--nv" not in call for call in _calls(log))


def test_judge_jobs_get_the_resolved_judge_section_and_a_gpu_for_vllm(tmp_path):
    """With a vLLM judge: the judge rules run with the stage's judge config file (model and server settings, not
    just the backend's name) and, like the evaluation jobs that start that judge, ask for a GPU."""
    import re
    import subprocess
    import sys

    (tmp_path / "results" / "judge").mkdir(parents=True)
    (tmp_path / "results" / "judge" / "x.items.jsonl").write_text('{"question": "q", "gold": "a", "prediction": "a"}\n')
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory",
                           str(tmp_path), "--profile", "profiles/smoke", "-n", "-p", "results/judge/x.graded.jsonl",
                           "results/eval/base/qa/summary.json", "--config", "judge={backend: vllm, model: /m/judge}"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    jobs = {m.group(1): m.group(2) for m in re.finditer(r"^(?:local)?rule (\w+):\n(.*?)(?=^\S)", output, re.M | re.S)}
    for rule in ("grade_answers", "eval_benchmark"):
        assert re.search(r"resources: .*\bgpu=1\b", jobs[rule]), (rule, jobs[rule])
    settings = re.search(r"knowrl judge grade --config (results/config/judge-\w+\.yaml)", output).group(1)
    judge = yaml.safe_load((tmp_path / settings).read_text())["judge"]
    assert judge["backend"] == "vllm" and judge["model"] == "/m/judge" and judge["vllm"]["max_model_len"] == 4096
