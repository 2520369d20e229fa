# Glassdesk: the two commands.
#   make run   - set up everything and run the whole product in the foreground (Ctrl-C stops it)
#   make test  - set up everything and run the whole test suite
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check setup sysdeps bench clean embeddings llm

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

CODE := conversation channels policies knowledge understanding services flows runtime devtools web

test: setup sysdeps check
	$(BIN)/python -m pytest -q

# lint, format and types: part of `make test`, so CI runs them
check: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check $(CODE) tests bench
	$(BIN)/mypy $(CODE)

bench: setup
	$(BIN)/python bench/run_all.py

embeddings: setup
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	HF_HUB_OFFLINE=1 $(BIN)/pip install --disable-pip-version-check -q -r requirements-embeddings.txt

clean:
	rm -rf $(VENV) var/*
