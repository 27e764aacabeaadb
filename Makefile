# Two commands set everything up: `make demo` runs the main job, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# A 4-node simulated chain with a client load and the live dashboard (Ctrl-C to stop).
demo: $(STAMP)
	$(BIN)/chain demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/chain bench crypto
	$(BIN)/chain bench store
	$(BIN)/chain bench execution
	$(BIN)/chain bench pbft

clean:
	rm -rf $(VENV) .pytest_cache
