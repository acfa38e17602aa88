# KnowRL workflow: assets -> KB -> SFT -> GRPO -> evaluation -> tables, plots, report.
# Rules are thin: each calls the `knowrl` CLI; settings come from config/config.yaml (validated by
# config/config.schema.json) layered with a profile's config file (profiles/<name>/config.yaml).
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


configfile: str(Path(workflow.basedir) / "config" / "config.yaml")  # also when run with --directory


include: "rules/common.smk"
include: "rules/assets.smk"
include: "rules/kb.smk"
include: "rules/judge.smk"
include: "rules/sft.smk"
include: "rules/grpo.smk"
include: "rules/eval.smk"
include: "rules/report.smk"


if config["recipe"] != "knowrl":  # a sibling recipe on the same core (../shared/docs/RECIPES.md)

    include: f"rules/recipes/{config['recipe']}.smk"


rule all:
    input:
        get_final_outputs() if config["recipe"] == "knowrl" else get_recipe_outputs(),
    default_target: True


report: "docs/report/workflow.rst"
