# Experiment Memory — everything a fresh machine needs is installed from here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
XMEM_HOME ?= $(CURDIR)/.xmem
PORT   ?= 5055
PYTEST_ARGS ?=

.PHONY: install demo test services bench quality clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# pip keeps its wheel cache: torch and friends are downloaded once per machine
	$(BIN)/python -m pip install --quiet -e '.[test,mlflow,ui]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

## Build the demo organization in a local MLflow server, ingest it, and keep serving it
## (the API on :8765, the app on :8501, the MLflow UI on $(PORT)).
demo: install
	$(BIN)/xmem --home $(XMEM_HOME) demo --port $(PORT) --serve

## Every test, with the real services they need: PostgreSQL and Elasticsearch started here,
## Debian's chromium installed for the app's browser tests, MLflow servers started by the test fixtures.
test: install
	bash scripts/services.sh start
	bash scripts/browser.sh
	set -a && . ./.services.env && set +a && $(BIN)/python -m pytest $(PYTEST_ARGS)

## Start PostgreSQL and Elasticsearch on loopback (settings written to .services.env).
services:
	bash scripts/services.sh start

## Answer quality on real experiment records (bench/quality): nDCG@10, Recall@10, MRR and
## "nobody tried this" detection against MLflow ILIKE and plain BM25. The first run builds and
## caches the MLflow server and the memory (~12 min); later runs take ~2 min.
quality: install
	$(BIN)/python bench/quality/run.py $(QUALITY_ARGS)

## Benchmarks (not tests): one JSON line per figure, in bench/results/.
bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .xmem .pytest_cache
