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

# llama.cpp (the CPU judge server) is compiled from source, portably: a cluster's login and compute nodes differ, and
# so do this project's machines, so a build tuned to one CPU (GGML_NATIVE) can crash on another (a general protection
# fault in libggml-cpu was seen on an AVX-512/AMX host). The baseline below is AVX2/FMA/F16C on x86-64 (any x86-64
# CPU since ~2013) and the generic build elsewhere. LLAMA_CPP_NATIVE=1 opts into a faster build for this CPU only.
# The wheel lands in a project-local folder keyed by version, flags and machine (and the CPU flags for a native
# build); it is installed from there with --only-binary, so a wheel pip cached from another build can never return.
LLAMA_CPP_VERSION := $(shell sed -n 's/^llama_cpp_python==//p' constraints.txt)
ifeq ($(LLAMA_CPP_NATIVE),1)
LLAMA_CPP_CMAKE_ARGS := -DGGML_NATIVE=ON
LLAMA_CPP_HOST := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | sha256sum | cut -c1-8)
else ifeq ($(shell uname -m),x86_64)
LLAMA_CPP_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_CPP_HOST := portable
else
LLAMA_CPP_CMAKE_ARGS := -DGGML_NATIVE=OFF
LLAMA_CPP_HOST := portable
endif
LLAMA_CPP_KEY := $(shell echo '$(LLAMA_CPP_VERSION) $(LLAMA_CPP_CMAKE_ARGS) $(LLAMA_CPP_HOST)' | sha256sum | cut -c1-12)
LLAMA_CPP_WHEELS := .cache/wheels/llama-cpp-$(shell uname -m)-$(LLAMA_CPP_HOST)-$(LLAMA_CPP_KEY)

.PHONY: run demo test assets lint clean

$(BIN)/.core-installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -c constraints.txt -e .
	touch $@

$(LLAMA_CPP_WHEELS)/.built:
	@echo "Compiling llama-cpp-python $(LLAMA_CPP_VERSION) with $(LLAMA_CPP_CMAKE_ARGS) (once; ~5 min on 2 cores) -> $(LLAMA_CPP_WHEELS)"
	rm -rf $(LLAMA_CPP_WHEELS).partial
	CMAKE_ARGS="$(LLAMA_CPP_CMAKE_ARGS)" FORCE_CMAKE=1 $(PYTHON) -m pip wheel -q --no-deps --no-cache-dir \
	    --no-binary llama-cpp-python -w $(LLAMA_CPP_WHEELS).partial llama_cpp_python==$(LLAMA_CPP_VERSION)
	echo '$(LLAMA_CPP_CMAKE_ARGS)' > $(LLAMA_CPP_WHEELS).partial/CMAKE_ARGS
	rm -rf $(LLAMA_CPP_WHEELS) && mv $(LLAMA_CPP_WHEELS).partial $(LLAMA_CPP_WHEELS)
	touch $@

$(BIN)/.test-installed: $(BIN)/.core-installed $(LLAMA_CPP_WHEELS)/.built
	$(BIN)/python -m pip install -q -c constraints.txt --only-binary llama-cpp-python \
	    --find-links $(LLAMA_CPP_WHEELS) -e '.[test,llamacpp]'
	$(BIN)/python -m pip install -q --no-deps --force-reinstall --no-index \
	    --find-links $(LLAMA_CPP_WHEELS) llama_cpp_python==$(LLAMA_CPP_VERSION)
	touch $@

assets: $(BIN)/.core-installed
	$(BIN)/knowrl assets fetch --cache $(KNOWRL_ASSETS)

# run: the smoke profile; demo: the same plus the two GRPO ablations of config/profiles/demo.yaml (reuses what
# `make run` made)
run: PROFILE := smoke
demo: PROFILE := demo
run demo: $(BIN)/.core-installed
	$(BIN)/snakemake --profile profiles/$(PROFILE)
	$(BIN)/snakemake --profile profiles/$(PROFILE) --report results/report.html
	@echo; cat results/tables/results.md; echo
	@echo "Report: results/report.html   Tables: results/tables/   Checkpoints: results/sft results/grpo (knowrl verify DIR)"

test: $(BIN)/.test-installed assets
	$(BIN)/python -m pytest

lint: $(BIN)/.core-installed
	$(BIN)/snakemake --lint

clean:
	rm -rf results logs .snakemake
