# Recipe self_knowledge: config sections and input helpers of its rules (rules/recipes/self_knowledge.smk).

STAGE_SECTIONS["selfknow"] = ("seed", "model", "grpo", "train", "self_knowledge")  # what `knowrl selfknow` reads


def get_recipe_outputs():
    return ["results/self_knowledge/eval/table.md", "results/self_knowledge/eval/heldout.png"]


def get_selfknow_inputs():
    """Policy and task files; the shipped task sets are found from any working directory (--directory)."""
    from knowrl.recipes.self_knowledge.tasks import task_file

    section = config["self_knowledge"]
    return {"policy": get_policy_input(), "seed_set": str(task_file(section["seed_set"])),
            "heldout_set": str(task_file(section["heldout_set"]))}
