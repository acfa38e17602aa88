# The two commands of the README:  `make run` (the workflow on the CPU smoke profile)  and  `make test`.
# Each creates .venv and installs exactly the pinned versions of constraints.txt.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export KNOWRL_ASSETS ?= $(CURDIR)/resources/assets
export PATH := $(CURDIR)/$(BIN):$(PATH)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test assets lint clean

$(BIN)/.core-installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e .
	touch $@

$(BIN)/.test-installed: $(BIN)/.core-installed
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test,llamacpp]'
	touch $@

assets: $(BIN)/.core-installed
	$(BIN)/knowrl assets fetch --cache $(KNOWRL_ASSETS)

run: $(BIN)/.core-installed
	$(BIN)/snakemake --profile profiles/smoke
	$(BIN)/snakemake --profile profiles/smoke --report results/report.html
	@echo; cat results/tables/results.md; echo
	@echo "Report: results/report.html   Tables: results/tables/   Checkpoints: results/sft results/grpo (knowrl verify DIR)"

test: $(BIN)/.test-installed assets
	$(BIN)/python -m pytest

lint: $(BIN)/.core-installed
	$(BIN)/snakemake --lint

clean:
	rm -rf results logs .snakemake
