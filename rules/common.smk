# The only Python in the workflow: config validation and get_* helpers for inputs and params.
import os
from pathlib import Path

import knowrl
from knowrl.config import fill_defaults, load_schema
from snakemake.utils import validate

validate(config, schema="../config/config.schema.json")
fill_defaults(config, load_schema())

ASSETS = config["assets"]["cache_dir"]
# Every knowrl command in a job finds the assets where this workflow fetches them (AssetStore reads the variable).
os.environ["KNOWRL_ASSETS"] = str(Path(ASSETS).resolve())


envvars:
    "KNOWRL_ASSETS",


wildcard_constraints:
    asset="embedder|tiny_lm|demo_corpus",


# Jobs that run where Snakemake runs, never on a compute node, whatever the executor: fetch_asset may need the
# network (compute nodes often have none) and the others take seconds, less than a scheduler round trip.
localrules:
    all,
    fetch_asset,
    make_demo_data,
    judge_server_command,
    eval_tables,
    plot_benchmarks,
    plot_training,


def asset_manifest(name):
    return f"{ASSETS}/{name}/ASSET.json"


def get_container(role):
    """Image for a rule's environment: a local .sif built from containers/knowrl-<role>.def, or a registry URI."""
    registry = config["containers"].get("registry")
    if registry:
        return f"{registry}knowrl-{role}:{knowrl.__version__}"
    return f"{config['containers']['image_dir']}/knowrl-{role}.sif"


def get_from_dir_flag():
    staged = config["assets"].get("from_dir")
    return f"--from {staged}" if staged else ""


# Config sections each stage reads; everything else cannot change its result.
STAGE_SECTIONS = {
    "sft": ("seed", "model", "sft", "train"),
    "grpo": ("seed", "model", "grpo", "judge", "facts", "reward", "kb", "train"),
    "eval": ("seed", "model", "eval", "judge"),
}


def get_stage_config(stage):
    """``--config results/config/<stage>-<digest>.yaml``: the resolved sections the stage reads, written once.

    The digest in the file name makes this flag (a rule param) change exactly when those settings change, so
    Snakemake re-runs only the affected stages: a reward setting re-runs GRPO and what follows, not SFT.
    """
    import json

    import yaml
    from knowrl.files import sha256_json, write_text_atomic

    settings = json.loads(json.dumps({key: config[key] for key in STAGE_SECTIONS[stage]}))  # plain dicts
    path = Path("results/config") / f"{stage}-{sha256_json(settings)[:12]}.yaml"
    if not path.exists():
        write_text_atomic(path, yaml.safe_dump(settings, sort_keys=True))
    return f"--config {path}"


def get_final_outputs():
    """Everything `snakemake` builds by default: KB, SFT and GRPO checkpoints, evaluation tables and plots."""
    return [
        "results/kb/manifest.json",
        "results/sft/SHA256SUMS",
        "results/grpo/SHA256SUMS",
        "results/plots/training/training_curves.png",
        *get_report_outputs(),
    ]


# -- eval / report helpers (owned by the eval stage) ----------------------------------------------------------
def get_eval_benchmarks():
    """Benchmarks with a staged file (eval.benchmarks.<name>.path)."""
    return [name for name, entry in config["eval"]["benchmarks"].items() if entry.get("path")]


def get_eval_labels():
    """Table rows: base always; sft / knowrl when their checkpoint or model is set."""
    models = config["eval"]["models"]
    return [label for label, spec in models.items() if label == "base" or spec.get("checkpoint") or spec.get("model")]


def get_eval_summaries():
    return [f"results/eval/{label}/{bench}/summary.json" for label in get_eval_labels() for bench in get_eval_benchmarks()]


def get_eval_inputs(wildcards):
    """The benchmark file, the base policy (asset or staged folder), and the checkpoint's SHA256SUMS so the job
    waits for training."""
    inputs = {"data": config["eval"]["benchmarks"][wildcards.benchmark]["path"]}
    if not config["eval"]["models"][wildcards.label].get("model"):
        inputs["policy"] = get_policy_input()  # the staged model, or the fetched tiny GGUF
    trained = config["eval"]["models"][wildcards.label].get("checkpoint")
    if trained:
        inputs["trained"] = f"{trained}/SHA256SUMS"
    return inputs | get_judge_inputs()


def get_judge_inputs():
    """The embedded GGUF when the llama.cpp judge serves it (judge.llamacpp.model null); nothing otherwise."""
    judge = config["judge"]
    if judge["backend"] == "llamacpp" and not judge["llamacpp"].get("model"):
        return {"judge_model": asset_manifest("tiny_lm")}
    return {}


def get_eval_weights_flags(wildcards):
    spec = config["eval"]["models"][wildcards.label]
    flags = [f"--model {spec['model']}"] if spec.get("model") else []
    if spec.get("checkpoint"):
        flags.append(f"--checkpoint {spec['checkpoint']}")
    return " ".join(flags)


def get_eval_run_flags():
    return " ".join(f"--run {label}=results/eval/{label}" for label in get_eval_labels())


def get_paper_model_flag():
    paper = config["eval"].get("paper_model")
    return f"--paper-model {paper}" if paper else ""


def get_report_outputs():
    """Tables and benchmark plots when any benchmark is staged; add to rule all's inputs."""
    if not get_eval_benchmarks():
        return []
    return ["results/tables/results.md", "results/plots/benchmarks/benchmarks_main.png"]


# -- kb helpers (owned by the kb stage) ------------------------------------------------------------------------
KB_INDEX_SETTINGS = ("hnsw_m", "hnsw_ef_search", "nlist", "nprobe", "pq_m", "rerank", "train_sample")


def get_kb_inputs(wildcards):
    """What the KB build waits for: the fetched assets it uses (demo corpus, embedder) or the staged corpus."""
    kb = config["kb"]
    inputs = {"corpus": asset_manifest("demo_corpus") if kb["corpus"] == "demo" else kb["corpus"]}
    if not kb.get("embedder"):
        inputs["embedder_asset"] = asset_manifest("embedder")
    return inputs


def get_kb_corpus():
    """The corpus file handed to `knowrl kb build` ('demo' = the fetched demo corpus)."""
    corpus = config["kb"]["corpus"]
    return f"{ASSETS}/demo_corpus/summaries_en-us.json" if corpus == "demo" else corpus


def get_kb_build_flags():
    """The kb settings as explicit `knowrl kb build` flags (index tuning as --set)."""
    kb = config["kb"]
    flags = [f"--passage-tokens {kb['passage_tokens']}", f"--batch-size {kb['embed_batch_size']}",
             f"--device {kb['device']}", f"--index-type {kb['index']['type']}",
             f"--memory-budget-mb {kb['index']['memory_budget_mb']}",
             f"--set kb.max_doc_chars={kb['max_doc_chars']}"]
    if kb.get("embedder"):
        flags.append(f"--embedder {kb['embedder']}")
    flags += [f"--set kb.index.{key}={kb['index'][key]}" for key in KB_INDEX_SETTINGS
              if kb["index"].get(key) is not None]
    return " ".join(flags)


# -- train helpers (owned by the train stage) -----------------------------------------------------------------
def get_sft_data():
    return config["sft"]["data"] or "results/data/demo/coldstart.json"


def get_grpo_data():
    return config["grpo"]["data"] or "results/data/demo/rl.json"


def get_grpo_init():
    return config["grpo"]["init"] or "results/sft"


def get_grpo_kb():
    return f"{config['facts']['kb_path']}/manifest.json"


def get_train_gpu(section):
    """GPUs of a training job: train.processes (+ the vLLM server's in server mode) when the run is meant for GPUs
    (16-bit precision or vLLM generation), else 0. With more than one process `knowrl train` launches itself
    through `accelerate launch` on them (under SLURM inside the job's srun step)."""
    from knowrl.train.launch import gpus_per_job

    settings = config[section]
    vllm = section == "grpo" and settings["generation"]["backend"] == "vllm"
    return gpus_per_job(config, section, vllm or settings["precision"] in ("bf16", "fp16"))


def get_train_mem_mb(section, cpu_mb, gpu_mb):
    """Host memory of a training job: per process (every rank loads the policy, and in GRPO its own judge client,
    KB and verifier), the GPU figure when the run is on GPUs."""
    processes = config["train"]["processes"]
    return (gpu_mb if get_train_gpu(section) else cpu_mb) * processes


def get_policy_input():
    """The base policy a training job depends on: the staged model folder, or the embedded GGUF's manifest."""
    return config["model"]["policy"] or asset_manifest("tiny_lm")


def get_train_role(section):
    """Environment of a training job: train, serve-vllm (GRPO with vLLM generation) or train-unsloth."""
    if config["model"]["backend"] == "unsloth":
        return "train-unsloth"
    if section == "grpo" and config["grpo"]["generation"]["backend"] == "vllm":
        return "serve-vllm"
    return "train"
