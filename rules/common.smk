# The only Python in the workflow: config validation and get_* helpers for inputs and params.
from pathlib import Path

import knowrl
from knowrl.config import fill_defaults, load_schema
from snakemake.utils import validate

validate(config, schema="../config/config.schema.json")
fill_defaults(config, load_schema())

ASSETS = config["assets"]["cache_dir"]


wildcard_constraints:
    asset="embedder|tiny_lm|demo_corpus",


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


def get_final_outputs():
    return ["results/kb/manifest.json"]
