# Glassdesk: the two commands.
#   make run   - set up everything and run the whole product in the foreground (Ctrl-C stops it)
#   make test  - set up everything and run the whole test suite
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup sysdeps bench clean embeddings

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

sysdeps:
	@scripts/sysdeps.sh

run: setup
	$(BIN)/glassdesk run

test: setup sysdeps
	$(BIN)/python -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

bench: setup
	$(BIN)/python bench/run_all.py

embeddings: setup
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	HF_HUB_OFFLINE=1 $(BIN)/pip install --disable-pip-version-check -q -r requirements-embeddings.txt

clean:
	rm -rf $(VENV) var/*
