# banzi — two commands for a newcomer: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DB ?= data/banzi.duckdb
PORT ?= 8501

.PHONY: run serve test lint bench loadtest demo setup clean

$(PY):
	@test -n "$(PYTHON)" || { echo "需要 Python 3.11 / Python 3.11 is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install -q uv
	$(PY) -m uv pip install -q --python $(PY) -r requirements-dev.txt
	@touch $(STAMP)

setup: $(STAMP)

$(DB): | $(STAMP)
	$(PY) cli.py --db $(DB) demo

demo: $(STAMP)
	$(PY) cli.py --db $(DB) demo --force

run: $(STAMP) $(DB)
	BANZI_DB=$(DB) $(PY) -m streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

# Several dashboard processes (SERVE_PROCS, default: one per core) behind nginx on 127.0.0.1:$(PORT),
# reading published snapshots (needs Debian nginx; docs/deploy.md). `make run` stays one process.
SERVE_PROCS ?= $(shell nproc 2>/dev/null || echo 2)
serve: $(STAMP) $(DB)
	BANZI_DB=$(DB) $(PY) -m deploy.serve --procs $(SERVE_PROCS) --port $(PORT)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(STAMP)
	$(PY) cli.py bench
	$(PY) -m bench.page_cpu
	$(PY) -m bench.loadtest
	$(PY) -m bench.ballot_load

# Signed-in sessions speaking Streamlit's websocket protocol (5-15 s think time): capacity of 1
# process and of 2 behind nginx (needs Debian nginx), one of 2 killed mid-run, then 20 sessions
# for 3 minutes on `make run`'s process with an import and a refresh meanwhile; at most 20
# minutes. Writes bench/loadtest*.md and the `loadtest`, `loadtest_replicas` keys of results.json.
loadtest: $(STAMP)
	$(PY) -m bench.loadtest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
