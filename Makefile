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

# Two workers, a test file each at a time (a file's fixtures stay in one process): the real-process
# tests mostly wait, so the suite takes about 7 minutes on 2 cores instead of 11. TEST_JOBS=0 runs it in one.
TEST_JOBS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist loadfile

bench: $(STAMP)
	$(BIN)/chain bench crypto
	$(BIN)/chain bench store
	$(BIN)/chain bench execution
	$(BIN)/chain bench pbft

# Random fault schedules judged for safety and liveness after GST (chain.sim.sweep); resumable:
# interrupt it and run it again (results in out/). `make sweep SWEEP_RUNS=10000 SWEEP_JOBS=2` is the long one.
SWEEP_RUNS ?= 1000
SWEEP_SEED ?= 1
SWEEP_JOBS ?= 2
.PHONY: sweep
sweep: $(STAMP)
	mkdir -p out
	$(BIN)/chain sim --sweep $(SWEEP_RUNS) --seed $(SWEEP_SEED) --jobs $(SWEEP_JOBS) --resume out/sweep-$(SWEEP_SEED)-$(SWEEP_RUNS).jsonl

# Delete each safety rule marked `# rule: <name>` in chain/ in turn (in a temporary copy) and run
# the rule tables and Byzantine simulations: prints rule -> caught/missed, fails if any is missed.
# Not part of `make test`: a few minutes on 2 cores (docs/consensus.md, "Every rule pinned").
.PHONY: mutate
mutate: $(STAMP)
	$(BIN)/python tools/mutate.py -j 2

clean:
	rm -rf $(VENV) .pytest_cache
