# Quick start: `make demo` and `make test` each set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The pinned CPU wheel is installed first so that the permissive `torch` range in pyproject.toml
# is already satisfied and pip never pulls a multi-GB CUDA build.
TORCH_PIN := torch==2.13.0

$(BIN)/vsae: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH_PIN)
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/vsae

.PHONY: setup demo test lint
setup: $(BIN)/vsae

demo: setup
	$(BIN)/vsae demo

# The tests read the shared datasets; default to the folder beside a checkout.
test: export VSAE_DATA ?= ../shared/data
test: setup
	$(BIN)/ruff check vsae tests
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check vsae tests
