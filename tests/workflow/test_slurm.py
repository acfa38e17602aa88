"""profiles/slurm against a live single-node SLURM cluster (``.ci/slurm-cluster``: slurmctld + slurmd + slurmdbd on
MariaDB, partitions cpu and gpu over this machine's node, no GPU).

1. A small CPU configuration (300-article KB, 2 SFT + 1 GRPO steps on staged KnowRL data) runs through the SLURM
   executor plugin and, at the same time, locally: every non-local job is submitted with sbatch (sacct lists each
   with its rule, state, partition and account), the local rules never reach SLURM, a job cancelled on purpose
   is reported with its SLURM log path and resubmitted, and the outputs equal the local run's file for file.
2. The README's SLURM command, verbatim, with the paper's GPU settings: SLURM refuses the GPU jobs on this GPU-less
   node, and the sbatch lines the plugin generated (quoted in its error) carry --gpus, the gpu partition and the
   profile's CPUs, memory and time.
~6 min on 2 cores (the first test ~5 min: both runs in parallel; the README run ~45 s); ~1.5 min more on a machine
that must first install the SLURM and MariaDB packages.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.workflow.conftest import CANNOT_RUN, CLUSTER

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
FIXTURES = REPO / "tests" / "eval" / "fixtures"

OVERLAY = """
assets: {{cache_dir: {work}/assets, from_dir: {wheels}}}
kb: {{corpus: {work}/corpus.jsonl}}
model: {{cache_dir: {models}}}
sft: {{data: {coldstart}, max_samples: 8, max_steps: 2, per_device_batch_size: 2, save_steps: 1,
       lora: {{r: 8, alpha: 16, target_modules: [q_proj, v_proj]}}}}
grpo: {{data: {rl}, max_samples: 8, max_steps: 1, num_generations: 2, per_device_batch_size: 2,
        max_completion_length: 16, save_steps: 1}}
"""
TARGETS = ["results/kb/manifest.json", "results/sft/SHA256SUMS", "results/grpo/SHA256SUMS"]
# SLURM-only settings of the small run: one CPU per job, so that the KB and SFT jobs share the 2-CPU node, memory
# that a small CI machine has (the rules' CPU-run requests assume a workstation), and train_sft's account set
# explicitly (the plugin validates it with sacctmgr against the cluster's accounting)
SET_RESOURCES = ["build_kb:cpus_per_task=1", "train_sft:cpus_per_task=1", "train_grpo:cpus_per_task=1",
                 "build_kb:mem_mb=2000", "train_sft:mem_mb=2000", "train_grpo:mem_mb=2000",
                 "train_sft:slurm_account=knowrl"]
# files whose bytes legitimately differ between two runs: timings, timestamps, hosts' paths, and the checksum lists
# that cover them; everything else (weights, optimizer and RNG states, tokenizer, configs, KB files) must be equal
VOLATILE = {"provenance.json", "trainer_state.json", "metrics.jsonl", "metrics.csv", "SHA256SUMS"}


def _env() -> dict[str, str]:
    """One thread per job and a fixed hash seed in both runs (the SLURM jobs inherit it through --export=ALL):
    PEFT writes target_modules from a set, in hash order."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "PATH": path, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def _work(root: Path, vital_jsonl, asset_store, coldstart_data, rl_data) -> tuple[Path, Path]:
    root.mkdir()
    with open(vital_jsonl, encoding="utf-8") as src, open(root / "corpus.jsonl", "w", encoding="utf-8") as dst:
        dst.writelines(line for _, line in zip(range(300), src))
    overlay = root / "ci.yaml"
    overlay.write_text(OVERLAY.format(work=root, wheels=asset_store.wheel_dir, models=REPO / ".cache" / "models",
                                      coldstart=coldstart_data, rl=rl_data))
    return root, overlay


def _snakemake(work: Path, overlay: Path, log: Path, *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "snakemake", *TARGETS, "-s", str(REPO / "Snakefile"), "--directory", str(work),
            *extra, "--configfiles", str(REPO / "config/config.yaml"), str(REPO / "config/profiles/smoke.yaml"),
            str(overlay)]
    return subprocess.Popen(argv, cwd=REPO, env=_env(), stdout=open(log, "w"), stderr=subprocess.STDOUT)


def _run_id(log: Path, proc: subprocess.Popen, within_s: float = 120) -> str:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = re.search(r"SLURM run ID: (\S+)", log.read_text())
        if found:
            return found.group(1)
        assert proc.poll() is None, log.read_text()[-3000:]
        time.sleep(0.5)
    pytest.fail(f"no SLURM run ID in the log after {within_s} s")


def _cancel_once(run_id: str, comment: str, proc: subprocess.Popen, within_s: float = 600) -> tuple[str, str]:
    """scancel the job whose comment is ``comment`` as soon as squeue shows it RUNNING; (jobid, squeue lines)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and proc.poll() is None:
        queue = subprocess.run(["squeue", "-h", "--name", run_id, "-o", "%i|%k|%T|%P"], capture_output=True,
                               text=True, timeout=30).stdout
        for line in queue.splitlines():
            jobid, job_comment, state, _ = line.split("|")
            if job_comment == comment and state == "RUNNING":
                subprocess.run(["scancel", jobid], check=True, timeout=30)
                return jobid, queue
        time.sleep(0.5)
    pytest.fail(f"never saw a RUNNING {comment} job of run {run_id}")


def _sacct(run_id: str) -> list[dict[str, str]]:
    fields = ["JobID", "Comment", "State", "Partition", "Account", "AllocCPUS", "ExitCode"]
    since = (datetime.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S")
    out = subprocess.run(["sacct", "-X", "--parsable2", "--noheader", "--name", run_id, "--starttime", since,
                          "-o", ",".join(fields)], capture_output=True, text=True, timeout=60, check=True).stdout
    return [dict(zip(fields, line.split("|"))) for line in out.splitlines() if line]


def _stable_sums(folder: Path) -> dict[str, str]:
    sums = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        if Path(name).name not in VOLATILE and not name.startswith("tensorboard/"):
            sums[name] = digest
    return sums


def _wait(proc: subprocess.Popen, log: Path, timeout: int) -> str:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return log.read_text()


def test_cluster_script_reports_what_it_cannot_do():
    """Not root: `up` exits 3 with the reason (the fixture's visible skip), touching nothing."""
    if os.getuid() != 0:
        pytest.skip("needs root to run the script as another user")
    # a copy in a folder `nobody` can enter: the checkout may sit under a root-only folder (mktemp -d is 0700)
    script = Path(tempfile.mkdtemp(prefix="knowrl-slurm-script-")) / "slurm-cluster"
    shutil.copy2(CLUSTER, script)
    script.parent.chmod(0o755)
    script.chmod(0o755)
    try:
        proc = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", str(script), "up"],
                              capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"]},
                              cwd=script.parent)
    finally:
        shutil.rmtree(script.parent, ignore_errors=True)
    assert proc.returncode == CANNOT_RUN and "cannot run here" in proc.stderr and "root" in proc.stderr


def _kb_file_sums(manifest: Path) -> dict[str, str]:
    return {name: entry["sha256"] for name, entry in json.loads(manifest.read_text())["files"].items()}


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_small_workflow_through_profiles_slurm(slurm_cluster, tmp_path, vital_jsonl, asset_store, tiny_gguf,
                                               coldstart_data, rl_data):
    from knowrl.train.models import convert_gguf

    convert_gguf(tiny_gguf, REPO / ".cache" / "models")   # once, before two runs could race to convert it
    remote, remote_overlay = _work(tmp_path / "slurm", vital_jsonl, asset_store, coldstart_data, rl_data)
    local, local_overlay = _work(tmp_path / "local", vital_jsonl, asset_store, coldstart_data, rl_data)
    remote_log, local_log = tmp_path / "slurm.log", tmp_path / "local.log"
    on_slurm = _snakemake(remote, remote_overlay, remote_log, "--profile", str(REPO / "profiles" / "slurm"),
                          "--set-resources", *SET_RESOURCES, "--slurm-init-seconds-before-status-checks", "2")
    on_this_machine = _snakemake(local, local_overlay, local_log, "--cores", "2")
    run_id = _run_id(remote_log, on_slurm)
    cancelled, queue = _cancel_once(run_id, "rule_build_kb", on_slurm)      # a job killed on the cluster
    output = _wait(on_slurm, remote_log, 1200)
    assert on_slurm.returncode == 0, output[-5000:]
    assert _wait(on_this_machine, local_log, 1200) and on_this_machine.returncode == 0, local_log.read_text()[-5000:]

    # every non-local job was submitted by the plugin, and the cluster's accounting has each one
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: \S+/rule_(\w+)/\d+\.log\)", output)
    jobs = _sacct(run_id)
    evidence = "\n".join("|".join(job.values()) for job in jobs)
    (tmp_path / "sacct.txt").write_text(f"squeue at the cancel:\n{queue}\nsacct:\n{evidence}\n")
    print(f"run {run_id}\nsqueue at the cancel:\n{queue}sacct -X (JobID|Comment|State|Partition|Account|CPUs|Exit):\n"
          f"{evidence}")
    assert sorted(rule for _, rule in submitted) == ["build_kb", "build_kb", "train_grpo", "train_sft"]
    assert {job["JobID"] for job in jobs} == {jobid for jobid, _ in submitted}
    states = sorted((job["Comment"], job["State"].split()[0]) for job in jobs)
    assert states == [("rule_build_kb", "CANCELLED"), ("rule_build_kb", "COMPLETED"),
                      ("rule_train_grpo", "COMPLETED"), ("rule_train_sft", "COMPLETED")]
    assert {job["Partition"] for job in jobs} == {"cpu"}                    # partitions.yaml: CPU jobs -> cpu
    assert {job["Account"] for job in jobs} == {"knowrl"}                   # set for train_sft, default elsewhere
    assert "Auto-selected partition 'cpu' for job train_sft" in output

    # the cancelled job: reported with its SLURM log path, then resubmitted (retries: 1 in the profile)
    assert f"SLURM-job '{cancelled}' failed, SLURM status is: 'CANCELLED'" in output
    assert f".snakemake/slurm_logs/rule_build_kb/{cancelled}.log" in output
    assert "Trying to restart job" in output

    # local rules ran here and never reached SLURM
    assert output.count("localrule fetch_asset:") == 2                       # embedder, tiny_lm
    assert not {rule for _, rule in submitted} & {"fetch_asset", "make_demo_data"}

    # the same bytes as the local run (all but timings, timestamps and the checksum lists over them)
    for folder in ("sft", "grpo"):
        theirs, mine = _stable_sums(local / "results" / folder), _stable_sums(remote / "results" / folder)
        assert mine == theirs, folder
        assert {"adapter/adapter_model.safetensors", "checkpoint-1/optimizer.pt"} <= set(mine)
        verify = subprocess.run([sys.executable, "-m", "knowrl", "verify", str(remote / "results" / folder)],
                                capture_output=True, text=True, timeout=120)
        assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "merged/model.safetensors" in _stable_sums(remote / "results" / "sft")
    kb_files = [_kb_file_sums(work / "results" / "kb" / "manifest.json") for work in (remote, local)]
    assert kb_files[0] == kb_files[1] and {"index.faiss", "kb.sqlite", "vectors.f16"} <= set(kb_files[0])


def _readme_command() -> str:
    """The one `snakemake --profile profiles/slurm` line of the README's SLURM section."""
    section = README.read_text(encoding="utf-8").split("### On a SLURM cluster", 1)[1].split("\n#", 1)[0]
    lines = [line.strip() for line in section.splitlines()
             if line.strip().startswith("snakemake --profile profiles/slurm")]
    assert len(lines) == 1, lines
    return lines[0]


def _checkout(root: Path) -> Path:
    """A folder laid out like a checkout (the workflow's files linked), so the README command runs as written."""
    root.mkdir()
    for name in ("Snakefile", "rules", "config", "profiles", "envs", "containers", "docs"):
        (root / name).symlink_to(REPO / name)
    return root


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_readme_slurm_command_verbatim(slurm_cluster, tmp_path, vital_jsonl, embedder_path, coldstart_data, rl_data):
    """`snakemake --profile profiles/slurm --configfiles config/config.yaml config/profiles/a800.yaml my-run.yaml`
    with staged stand-ins for the 7B model and the data: the GPU jobs reach sbatch with the GPU request and the
    profile's resources, and SLURM refuses them (this node has no GPU); nothing ran in their place."""
    command = _readme_command()
    work = _checkout(tmp_path / "checkout")
    model = tmp_path / "staged-model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (work / "my-run.yaml").write_text(f"""
run: {{benchmarks: [simpleqa]}}
assets: {{cache_dir: {tmp_path / 'assets'}}}
model: {{policy: {model}}}
judge: {{model: {model}}}
kb: {{corpus: {vital_jsonl}, embedder: {embedder_path}}}
sft: {{data: {coldstart_data}}}
grpo: {{data: {rl_data}}}
eval: {{benchmarks: {{simpleqa: {{path: {FIXTURES / 'simpleqa.csv'}}}}}}}
""")
    proc = subprocess.run(["bash", "-c", command], cwd=work, env=_env(), capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Error in rule train_sft" in output, output[-4000:]
    calls = {m.group(1): m.group(0) for m in re.finditer(r"sbatch --parsable .*?--comment (rule_\w+).*", output)}
    expected = {  # rule -> what the profile and the rules ask for
        "rule_train_sft": ["-p gpu", "--gpus=1", "--cpus-per-task=16", "--mem 64000", "-t 720"],
        "rule_build_kb": ["-p gpu", "--gpus=1", "--cpus-per-task=8"],
        "rule_eval_benchmark_wildcards_base_simpleqa": ["-p gpu", "--gpus=1", "--cpus-per-task=8", "--mem 16000"],
    }
    for rule, flags in expected.items():
        assert rule in calls, sorted(calls)
        for flag in flags:
            assert f" {flag} " in calls[rule], (rule, flag, calls[rule][:400])
        assert "--gres" not in calls[rule] and "--ntasks" not in calls[rule]   # GPUs only through the gpu resource
    assert "Invalid generic resource (gres) specification" in output          # sbatch's own refusal, quoted
    run_id = re.search(r"SLURM run ID: (\S+)", output).group(1)
    assert _sacct(run_id) == []                                                 # no job of this run ever started
