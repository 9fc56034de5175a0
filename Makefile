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

.PHONY: setup demo test lint mutants
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

# Mutation testing (docs/testing.md), not part of `make test`: one mutmut run per module listed in
# MUTANT_MODULES, each in its own folder build/mutants/<module> with only that module mutated and only
# its focused tests selected, so that a run is bounded and an interrupted one resumes where it stopped.
# One process, one thread; each module is stopped after MUTANTS_TIME_BOX (a later `make mutants`
# continues it; results already measured are kept, so after changing tests pass MUTANTS_FRESH=1 to measure
# again from scratch). Example: make mutants MUTANT_MODULES=metrics MUTANTS_TIME_BOX=20m
comma := ,
MUTANT_MODULES ?= metrics masking likelihoods objective network
MUTANTS_TIME_BOX ?= 20m
MUTANTS_SOURCE_metrics := vsae/metrics.py
MUTANTS_TESTS_metrics := tests/test_metrics.py tests/test_metrics_contract.py tests/test_uncertainty_metrics.py
MUTANTS_SOURCE_masking := vsae/data/masking.py
MUTANTS_TESTS_masking := tests/test_masking.py tests/test_masking_contract.py
MUTANTS_SOURCE_likelihoods := vsae/model/likelihoods.py
MUTANTS_TESTS_likelihoods := tests/test_model.py tests/test_objective.py tests/test_network.py tests/test_likelihoods.py
MUTANTS_SOURCE_objective := vsae/model/objective.py
MUTANTS_TESTS_objective := tests/test_model.py tests/test_objective.py tests/test_network.py
MUTANTS_SOURCE_network := vsae/model/vsae.py
MUTANTS_TESTS_network := tests/test_model.py tests/test_objective.py tests/test_network.py
# The runner's split/fit path; measured on its own (about 6 minutes): make mutants MUTANT_MODULES=runner
MUTANTS_SOURCE_runner := vsae/bench/tabular_cells.py
MUTANTS_TESTS_runner := tests/test_runner_protocol.py
# Wired for later (their tests fit networks, so expect minutes per mutant): add them to MUTANT_MODULES.
MUTANTS_SOURCE_train := vsae/train.py
MUTANTS_TESTS_train := tests/test_selection.py tests/test_resume.py
MUTANTS_SOURCE_inference := vsae/inference.py
MUTANTS_TESTS_inference := tests/test_streaming.py tests/test_generation.py
MUTANTS_SOURCE_imputer := vsae/imputer.py
MUTANTS_TESTS_imputer := tests/test_imputer.py

mutants: $(addprefix mutants-,$(MUTANT_MODULES))

mutants-%: export VSAE_DATA ?= ../shared/data
mutants-%: export OMP_NUM_THREADS = 1
mutants-%: setup
	@test -n "$(MUTANTS_SOURCE_$*)" || { echo "unknown mutant module $*"; exit 2; }
	@test -x $(BIN)/mutmut || $(BIN)/pip install -q -e '.[mutation]'
	@dir=build/mutants/$*; if [ -n "$(MUTANTS_FRESH)" ]; then rm -rf $$dir; fi; mkdir -p $$dir; rm -rf $$dir/vsae $$dir/tests; cp -r vsae tests $$dir/; \
	printf '%s\n' '[tool.mutmut]' 'source_paths = ["vsae"]' 'only_mutate = ["$(MUTANTS_SOURCE_$*)"]' \
	  'pytest_add_cli_args_test_selection = [$(patsubst %,"%"$(comma),$(MUTANTS_TESTS_$*))]' \
	  'pytest_add_cli_args = ["-p", "no:cacheprovider"]' \
	  '[tool.pytest.ini_options]' 'markers = ["slow: full-size runs"]' "addopts = \"-m 'not slow'\"" \
	  > $$dir/pyproject.toml; \
	echo "== $*: $(MUTANTS_SOURCE_$*), tests $(MUTANTS_TESTS_$*)"; \
	cd $$dir && VSAE_DATA="$$(cd "$(abspath $(VSAE_DATA))" && pwd)" timeout --signal=INT $(MUTANTS_TIME_BOX) \
	  $(abspath $(BIN))/mutmut run --max-children 1 \
	  || echo "== $*: stopped (time box or error); run it again to continue"; \
	$(abspath $(BIN))/mutmut results | sed 's/^/   /'
