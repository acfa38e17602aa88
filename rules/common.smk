# The only Python in the workflow: config validation and get_* helpers for inputs and params.
import os
import shlex
from pathlib import Path

import knowrl
from knowrl.artifact.provenance import describe_commit
from knowrl.config import fill_defaults, load_schema
from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

validate(config, schema="../config/config.schema.json")
fill_defaults(config, load_schema())
for _name, _overrides in config["grpo"]["ablations"].items():  # each ablation's run config must be valid too
    from knowrl.config import deep_merge

    validate(deep_merge(config, _overrides), schema="../config/config.schema.json")

# A paper or rehearsal run (run.kind) refuses to start, listing every input that is unset or an embedded demo default.
from knowrl.artifact.paper import check_run_inputs

for _gap in check_run_inputs(config):
    logger.warning(f"knowrl: {config['run']['kind']} run with a demo input (run.allow_demo_inputs): {_gap}")

ASSETS = config["assets"]["cache_dir"]
# Every knowrl command in a job finds the assets where this workflow fetches them (AssetStore reads the variable).
os.environ["KNOWRL_ASSETS"] = str(Path(ASSETS).resolve())
# The images hold dependencies only: `knowrl` in a container runs this checkout ($KNOWRL_SOURCE, bound below), and
# provenance records its commit from $KNOWRL_COMMIT (no git in the image). Apptainer passes both variables on.
os.environ["KNOWRL_SOURCE"] = str(Path(workflow.basedir).resolve())
_commit = describe_commit(workflow.basedir)
if _commit != "unknown" or "KNOWRL_COMMIT" not in os.environ:  # a checkout wins over an inherited value
    os.environ["KNOWRL_COMMIT"] = _commit


envvars:
    "KNOWRL_ASSETS",
    "KNOWRL_SOURCE",
    "KNOWRL_COMMIT",


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
    """Image for a rule's environment: a local .sif converted from the built image of containers/Containerfile
    (a relative image_dir is the workflow's, whatever the working directory), or a registry URI."""
    registry = config["containers"].get("registry")
    if registry:
        return f"{registry}knowrl-{role}:{knowrl.__version__}"
    return str(Path(workflow.basedir) / config["containers"]["image_dir"] / f"knowrl-{role}.sif")


def get_from_dir_flag():
    staged = config["assets"].get("from_dir")
    return f"--from {staged}" if staged else ""


# Config sections each stage reads; everything else cannot change its result.
STAGE_SECTIONS = {
    "demo": ("seed", "model", "demo"),
    "sft": ("seed", "model", "sft", "train"),
    "grpo": ("seed", "model", "grpo", "judge", "facts", "reward", "kb", "train"),
    "eval": ("seed", "model", "eval", "judge"),
    "judge": ("seed", "judge"),
    "tables": ("run", "assets", "model", "kb", "judge", "facts", "sft", "grpo", "eval"),  # what produced them
}


def get_stage_config(stage, overrides=None):
    """``--config results/config/<stage>-<digest>.yaml``: the resolved sections the stage reads, written once.

    The digest in the file name makes this flag (a rule param) change exactly when those settings change, so
    Snakemake re-runs only the affected stages: a reward setting re-runs GRPO and what follows, not SFT.
    ``overrides`` (a GRPO ablation's settings) are layered on top.
    """
    import json

    import yaml
    from knowrl.config import deep_merge
    from knowrl.files import sha256_json, write_text_atomic

    settings = json.loads(json.dumps({key: config[key] for key in STAGE_SECTIONS[stage]}))  # plain dicts
    if "grpo" in settings:
        settings["grpo"].pop("ablations", None)  # each ablation is its own run: adding one re-runs nothing else
    settings = deep_merge(settings, json.loads(json.dumps(overrides or {})))
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
        *(f"results/ablations/{name}/SHA256SUMS" for name in config["grpo"]["ablations"]),
        "results/plots/training/training_curves.png",
        *get_report_outputs(),
    ]


# -- eval / report helpers (owned by the eval stage) ----------------------------------------------------------
def get_eval_benchmarks():
    """Benchmarks with a staged file (eval.benchmarks.<name>.path)."""
    return [name for name, entry in config["eval"]["benchmarks"].items() if entry.get("path")]


def get_eval_models():
    """eval.models, then one row per GRPO ablation (its checkpoint in results/ablations/<name>)."""
    ablations = {name: {"checkpoint": f"results/ablations/{name}"} for name in config["grpo"]["ablations"]}
    return {**config["eval"]["models"], **ablations}


def get_eval_labels():
    """Table rows: base always; sft / knowrl when their checkpoint or model is set; the ablations."""
    models = get_eval_models()
    return [label for label, spec in models.items() if label == "base" or spec.get("checkpoint") or spec.get("model")]


def get_eval_summaries():
    return [f"results/eval/{label}/{bench}/summary.json" for label in get_eval_labels() for bench in get_eval_benchmarks()]


def get_eval_inputs(wildcards):
    """The benchmark file, the base policy (asset or staged folder), and the checkpoint's SHA256SUMS so the job
    waits for training."""
    inputs = {"data": config["eval"]["benchmarks"][wildcards.benchmark]["path"]}
    if not get_eval_models()[wildcards.label].get("model"):
        inputs["policy"] = get_policy_input()  # the staged model, or the fetched tiny GGUF
    trained = get_eval_models()[wildcards.label].get("checkpoint")
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
    spec = get_eval_models()[wildcards.label]
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
    """Tables and benchmark plots when any benchmark is staged, and SFT -> KnowRL examples on each judged
    question benchmark; add to rule all's inputs."""
    if not get_eval_benchmarks():
        return []
    labels = get_eval_labels()
    examples = [f"results/tables/examples_{bench}.md" for bench in get_eval_benchmarks()
                if bench in ("qa", "simpleqa", "chinese_simpleqa") and {"sft", "knowrl"} <= set(labels)]
    return ["results/tables/results.md", "results/plots/benchmarks/benchmarks_main.png", *examples]


# -- kb helpers (owned by the kb stage) ------------------------------------------------------------------------
KB_INDEX_SETTINGS = ("hnsw_m", "hnsw_ef_search", "nlist", "nprobe", "pq_m", "rerank", "train_sample")


def get_kb_inputs(wildcards):
    """What the KB build waits for: the fetched assets it uses (demo corpus, embedder) or the staged corpus."""
    kb = config["kb"]
    inputs = {"corpus": asset_manifest("demo_corpus") if kb["corpus"] == "demo" else kb["corpus"]}
    if not kb.get("embedder"):
        inputs["embedder_asset"] = asset_manifest("embedder")
    if kb.get("titles_from"):
        inputs["titles"] = kb["titles_from"]
    if kb["dump"].get("index"):
        inputs["dump_index"] = kb["dump"]["index"]
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
    if kb.get("titles_from"):  # the RL data (or a title list): only the pages it names, with a coverage report
        flags.append(f"--titles-from {kb['titles_from']}")
    if kb["dump"].get("index"):
        flags.append(f"--dump-index {kb['dump']['index']}")
    if kb["dump"].get("link_neighbourhood"):
        flags.append("--link-neighbourhood")
    flags.append(f"--processes {kb['dump']['processes']}")
    flags += [f"--set kb.index.{key}={kb['index'][key]}" for key in KB_INDEX_SETTINGS
              if kb["index"].get(key) is not None]
    return " ".join(flags)


# -- train helpers (owned by the train stage) -----------------------------------------------------------------
def get_probe_table():
    """demo.probe_table; a relative path that is not in the working directory is the repository's own table."""
    table = config["demo"].get("probe_table")
    if not table:
        return None
    path = Path(table)
    return str(path if path.is_absolute() or path.exists() else Path(workflow.basedir) / path)


def get_demo_inputs(wildcards):
    """What `knowrl data demo` reads: the demo corpus, the base policy it probes, the probe table (when set)."""
    inputs = {"corpus": asset_manifest("demo_corpus"), "policy": get_policy_input()}
    if get_probe_table():
        inputs["probe_table"] = get_probe_table()
    return inputs


def get_probe_table_flag():
    return f"--probe-table {get_probe_table()}" if get_probe_table() else ""


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
    vllm = section == "grpo" and (settings["generation"]["backend"] == "vllm" or uses_gpu_judge())
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
    """Environment of a training job: train, serve-vllm (GRPO with vLLM generation, or beside the vLLM judge that
    `knowrl judge run` starts in the job's own environment) or train-unsloth."""
    if config["model"]["backend"] == "unsloth":
        if section == "grpo" and config["grpo"]["generation"]["backend"] == "vllm":
            raise WorkflowError("model.backend unsloth: envs/train-unsloth.yaml has no vLLM for GRPO generation; "
                                "set grpo.generation.backend=transformers (or model.backend=transformers)")
        if section == "grpo" and starts_vllm_judge():
            raise WorkflowError("model.backend unsloth: envs/train-unsloth.yaml has no vLLM for the judge that "
                                "train_grpo would start; serve it yourself (knowrl judge serve, serve-vllm "
                                "environment) and set judge.base_url")
        return "train-unsloth"
    if section == "grpo" and (config["grpo"]["generation"]["backend"] == "vllm" or starts_vllm_judge()):
        return "serve-vllm"
    return "train"


# -- judge helpers: the judge server `knowrl judge run` starts runs in the job's own environment ----------------
def starts_vllm_judge():
    """True when jobs that need the judge start a vLLM server (judge.backend vllm, no shared judge.base_url)."""
    return config["judge"]["backend"] == "vllm" and not config["judge"].get("base_url")


def uses_gpu_judge():
    """True when the judge a job starts or loads needs a GPU (vLLM, or the transformers backend on CUDA)."""
    judge = config["judge"]
    on_cuda = judge["backend"] == "transformers" and judge["transformers"]["device"].startswith("cuda")
    return starts_vllm_judge() or on_cuda


def get_judge_role():
    """Environment of the judge rules: serve-vllm for a vLLM server, eval (torch + transformers) for the in-process
    transformers judge, serve-llamacpp (llama.cpp server, HTTP client, rule grader) otherwise."""
    if starts_vllm_judge():
        return "serve-vllm"
    return "eval" if config["judge"]["backend"] == "transformers" else "serve-llamacpp"


def get_eval_role():
    """Environment of an evaluation job: eval, or serve-vllm when it starts a vLLM judge."""
    return "serve-vllm" if starts_vllm_judge() else "eval"


# -- startup checks ----------------------------------------------------------------------------------------------
def get_job_roles():
    """Environments (= images) of the jobs the default targets need."""
    demo = not (config["sft"]["data"] and config["grpo"]["data"])
    return sorted({"kb", get_train_role("sft"), get_train_role("grpo"), get_eval_role(), *(["train"] * demo)})


def check_images():
    """With --use-singularity / --sdm apptainer: name every missing local image at startup, not job by job."""
    from snakemake.settings.types import DeploymentMethod

    if DeploymentMethod.APPTAINER not in workflow.deployment_settings.deployment_method:
        return
    if config["run"]["kind"] == "demo":
        logger.info("knowrl: containers with run.kind demo (CPU defaults: tiny model, demo data); for the paper "
                    "add --profile profiles/a800 (it also passes --nv)")
    add_container_binds()
    if config["containers"].get("registry"):
        return
    missing = [get_container(role) for role in get_job_roles() if not Path(get_container(role)).is_file()]
    if missing:
        raise WorkflowError(f"{len(missing)} container image(s) missing: {', '.join(missing)}; build them "
                            "(README: Containers and environments) or set containers.image_dir / .registry")


def add_container_binds():
    """--bind, after the profile's or the command line's apptainer args, every folder a job reads outside the
    working directory (which Snakemake binds itself): this checkout, the asset cache, each staged input (x-staged
    settings) and containers.binds."""
    from knowrl.artifact.stage import staged_settings

    cwd = Path.cwd().resolve()
    Path(ASSETS).mkdir(parents=True, exist_ok=True)  # fetch_asset fills it later; the jobs need it bound from the start
    paths = [workflow.basedir, ASSETS, *(path for _, path in staged_settings(config)), *config["containers"]["binds"]]
    args = workflow.deployment_settings.apptainer_args or ""
    for path in dict.fromkeys(Path(p).resolve() for p in paths):
        bind = f"--bind {shlex.quote(str(path))}"
        if path.exists() and not path.is_relative_to(cwd) and bind not in args:  # apptainer refuses a missing one
            args += f" {bind}"
    workflow.deployment_settings.apptainer_args = args.strip()


check_images()
