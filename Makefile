# Two commands matter: `make run` and `make test`. Both are idempotent; the second run
# skips installing when pyproject.toml (or the console's sources) did not change.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONSOLE_STAMP := console/dist/.built
CONSOLE_SOURCES := $(shell test -d console/src && find console/src console/index.html console/openapi.json console/package.json console/package-lock.json console/vite.config.* console/tsconfig*.json -type f 2>/dev/null)

.PHONY: run test install console lint bench clean

run: install console
	$(VENV)/bin/spyglass serve $(ARGS)

# lint-imports: the dependency rule between the parts ([tool.importlinter] in pyproject.toml).
test: install console
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

install: $(STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# The console is TypeScript built with npm; skipped until console/package.json exists.
console: $(if $(wildcard console/package.json),$(CONSOLE_STAMP))

$(CONSOLE_STAMP): $(CONSOLE_SOURCES)
	cd console && npm ci --no-audit --no-fund --loglevel=error && npm run build
	touch $(CONSOLE_STAMP)

bench: install
	$(PY) benchmarks/op_overhead.py

clean:
	rm -rf $(VENV) console/node_modules console/dist
