#!/usr/bin/env bash
# Snakemake runs this once after creating the environment: install knowrl itself (no dependencies: the
# environment file pins them) from the workflow checkout.
set -euo pipefail
python -m pip install --no-deps -e "${KNOWRL_SOURCE:-$(pwd)}"
