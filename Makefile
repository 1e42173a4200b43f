# The two commands of the README: `make demo` and `make test`. Both install into .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch (a looser pin pulls a multi-GB CUDA build); the project itself asks for a range.
TORCH_PIN ?= torch==2.13.0

.PHONY: install demo test test-slow test-all lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)"
	$(PY) -m pip install --quiet -e ".[all]"
	touch $@

demo: install
	$(VENV)/bin/metaeval demo -o reports/demo

# The suite (under 15 minutes on 2 cores); the slow rest (MCMC, the calibration studies) runs in CI too.
test: install
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow"

test-slow: install
	$(PY) -m pytest -q -p no:cacheprovider -m slow

test-all: test test-slow

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
