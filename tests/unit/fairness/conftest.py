"""Fixtures for the fairness audit: the demo intent model, trained once per session, and the turn's
understanding over it with a memo (the biased fakes wrap it, so the real model runs once per text)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conversation import ChannelKind
from policies import DEFAULT_POLICY_PATH, Policy, load_policy_file
from services.fairness import TurnUnderstander
from services.fairness_pairs import CounterfactualPair, counterfactual_pairs, load_templates
from understanding import IntentModel, LanguageDetector, Redactor, Understanding, ensure_demo_model, load_model


class MemoUnderstander:
    """The real understanding, remembered per text (the model is deterministic)."""

    def __init__(self, inner: TurnUnderstander) -> None:
        self._inner = inner
        self._seen: dict[str, Understanding] = {}

    def understand(self, text: str) -> Understanding:
        if text not in self._seen:
            self._seen[text] = self._inner.understand(text)
        return self._seen[text]


@pytest.fixture(scope="session")
def demo_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_demo_model(tmp_path_factory.mktemp("fairness-demo-model"))


@pytest.fixture(scope="session")
def demo_model(demo_model_dir: Path) -> IntentModel:
    return load_model(demo_model_dir)


@pytest.fixture(scope="session")
def real_understander(demo_model: IntentModel) -> MemoUnderstander:
    return MemoUnderstander(TurnUnderstander(demo_model, LanguageDetector(), Redactor()))


@pytest.fixture(scope="session")
def default_policy() -> Policy:
    return load_policy_file(DEFAULT_POLICY_PATH, version="default")


@pytest.fixture(scope="session")
def shipped_pairs() -> tuple[CounterfactualPair, ...]:
    return counterfactual_pairs(load_templates())


ALL_CHANNELS = tuple(ChannelKind)
