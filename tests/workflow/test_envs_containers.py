"""Static checks of environments and container definitions (no container engine runs on these machines)."""

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


@pytest.mark.parametrize("role", ROLES)
def test_each_role_has_a_container_built_from_its_env(role):
    definition = (REPO / "containers" / f"knowrl-{role}.def").read_text()
    assert f"envs/{role}.yaml /opt/knowrl/envs/{role}.yaml" in definition
    assert "pip install --no-cache-dir --no-deps /opt/knowrl/src" in definition
    assert (REPO / "envs" / f"{role}.post-deploy.sh").is_file()


def test_dockerfile_builds_any_role_from_env_files():
    dockerfile = (REPO / "containers" / "Dockerfile").read_text()
    assert "COPY envs/${ROLE}.yaml" in dockerfile and "ARG ROLE=" in dockerfile


def test_every_rule_environment_and_image_exists():
    """Each conda:/container: named in rules/*.smk points at a file of this repository."""
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', text):
            assert (smk.parent / env).resolve().is_file(), f"{smk.name}: missing {env}"
        for role in re.findall(r'get_container\("([^"]+)"\)', text):
            assert role in ROLES, f"{smk.name}: unknown container role {role}"
