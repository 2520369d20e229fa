from __future__ import annotations

import csv
from pathlib import Path

import pytest

from understanding import IntentModel, demo_data_path, ensure_demo_model, load_model


def write_csv(path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("text", "label")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(name="write_csv", scope="session")
def write_csv_fixture():
    return write_csv


@pytest.fixture(scope="session")
def demo_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_demo_model(tmp_path_factory.mktemp("demo-model"))


@pytest.fixture(scope="session")
def demo_model(demo_model_dir: Path) -> IntentModel:
    return load_model(demo_model_dir)


@pytest.fixture(scope="session")
def demo_train_csv() -> Path:
    return demo_data_path("demo_intents.csv")


@pytest.fixture(scope="session")
def demo_eval_csv() -> Path:
    return demo_data_path("demo_intents_eval.csv")
