# fab2token — `make demo` runs the bundled example, `make test` runs the whole suite.
PY ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench fast clean docs

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) on PATH (or run: make PY=python3 ...)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	-$(BIN)/python -m fab2token.supply.fabline.build  # optional: the fab line's C++ event loop (plain Python if it fails)
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fab2token run examples/small.yaml --db demo.duckdb --report demo-report.html

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

docs: $(STAMP)  # the documentation site in site/ (--strict: a broken link or reference fails)
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict --quiet

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,peers]' || echo "peer tools not installed: their comparisons are skipped"
	$(BIN)/python -m benchmarks --record docs/performance.md

fast: $(STAMP)  # rebuild the fab line's C++ event loop after editing kernel.cpp
	$(BIN)/python -m fab2token.supply.fabline.build

clean:
	rm -rf $(VENV) demo.duckdb demo-report.html .pytest_cache site src/fab2token/supply/fabline/_kernel_*.so*
