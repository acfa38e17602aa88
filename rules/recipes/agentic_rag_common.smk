# Helpers of the agentic_rag recipe's rules (rules/recipes/agentic_rag.smk): the only Python of the recipe.

STAGE_SECTIONS["rag"] = ("seed", "model", "grpo", "train", "agentic_rag")  # what `knowrl rag train|eval` read
STAGE_SECTIONS["rag_demo"] = ("seed",)  # + the agentic_rag.demo sizes as flags: a GRPO setting keeps the demo
RAG_MODELS = ("base", "sft", "rag") if config["grpo"]["init"] else ("base", "rag")  # sft: the cold start
RAG_MODES = ("retrieval", "no_retrieval")


def get_rag_data(split):
    return config["agentic_rag"]["data"][split] or f"results/rag/data/{split}.json"


def get_rag_kb():
    return config["agentic_rag"]["kb"] or "results/kb"


def get_rag_train_inputs(wildcards):
    inputs = {"data": get_rag_data("train"), "kb": f"{get_rag_kb()}/manifest.json", "policy": get_policy_input()}
    if config["grpo"]["init"]:
        inputs["sft"] = f"{config['grpo']['init']}/SHA256SUMS"  # optional cold start: the core's train_sft
    return inputs


def get_rag_eval_flags(wildcards):
    weights = {"base": "", "sft": f"--checkpoint {config['grpo']['init']}", "rag": "--checkpoint results/rag/grpo"}[
        wildcards.model]
    return f"{weights} {'--no-retrieval' if wildcards.mode == 'no_retrieval' else ''} --label {wildcards.model}-{wildcards.mode}"


def get_rag_eval_inputs(wildcards):
    weights = {"base": [], "sft": [f"{config['grpo']['init']}/SHA256SUMS"], "rag": ["results/rag/grpo/SHA256SUMS"]}
    return {"weights": weights[wildcards.model]} if weights[wildcards.model] else {}


def get_recipe_outputs():
    return ["results/rag/tables/results.md", "results/rag/tables/em_f1.png", "results/rag/tables/training_curves.png"]
