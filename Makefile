# The project's commands. `make test` is what CI runs (via .ci/run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
WORKERS ?= 2

.PHONY: setup test test-fast demo report lab benchmark benchmark-overhead benchmark-stats clean

setup: $(STAMP)

# Re-installs only when pyproject.toml changes; otherwise returns at once.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m lib.run.kernel_config
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest tests --nbmake notebooks

test-fast: setup
	$(BIN)/python -m pytest tests -m "not slow"

demo: setup
	$(BIN)/python -m lib.sweep run params/demo.yaml --workers $(WORKERS)

report: setup
	$(BIN)/python -m lib.sweep report params/demo.yaml

# Jupyter refuses to run as root unless told; containers often run as root.
lab: setup
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

benchmark: setup
	$(BIN)/python -m benchmarks.throughput

# Per-run overhead of lib.train, papermill and a sweep (warm and cold kernels), side by side.
benchmark-overhead: setup
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python -m benchmarks.overhead --cold

# Coverage, width, power and false calls of the report's statistics on simulated factorial sweeps.
benchmark-stats: setup
	$(BIN)/python -m benchmarks.stats_coverage

clean:
	rm -rf reports/*/ .pytest_cache
