"""Sentiment benchmark: the shipped model against the majority class and the old lexicon scorer.

    .venv/bin/python bench/sentiment.py [--quick] [--data-root /work/shared/data] [--lexicon-rev REV]

Writes bench/results/sentiment.json (--quick: sentiment_quick.json, without the training runs).
Per test split (potts_de test, xed_de and xed_en hash-test, goemotions_en test, the hand-made
support check set overall and per language): macro-F1, accuracy and negative recall of the shipped
model, of the majority-class baseline and of the old lexicon scorer (read with `git show
REV:understanding/sentiment.py` into a temporary module; REV defaults to the commit that last held
it); ROC-AUC of the anger / frustration / urgency scores where a set has such labels (model head
alone, lexicon rule alone, the combination the package returns, the old scorer); per-message latency
of `analyze_sentiment`; the model's size; and (without --quick) the time to train it from the shared
data and an ablation trained without the support seed.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from understanding.sentiment import SHIPPED_MODEL_DIR, analyze_sentiment, shipped_model
from understanding.sentiment_artifact import load_sentiment_model, save_sentiment_model
from understanding.sentiment_calibration import roc_auc
from understanding.sentiment_data import (
    DEFAULT_DATA_ROOT,
    Corpus,
    SentimentExample,
    Split,
    load_corpus,
    load_training_sets,
    package_data,
)
from understanding.sentiment_eval import score_sentiment
from understanding.sentiment_lexicon import lexicon_signals, rule_anger, rule_frustration, rule_urgency
from understanding.sentiment_model import SentimentModel, SentimentTrainConfig, train_sentiment_model
from understanding.sentiment_types import SentimentLabel

RESULTS = ROOT / "bench" / "results"
LEXICON_REV = "d2b12cbfa89bdd464a97fe06a68eb0ccb0a36e66"  # the last commit with the lexicon-only scorer
CHECK_SET = "sentiment_support_check.csv"


def _old_scorer(rev: str) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{rev}:understanding/sentiment.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    folder = Path(tempfile.mkdtemp(prefix="old-sentiment-"))
    path = folder / "old_lexicon_sentiment.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("old_lexicon_sentiment", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the module's postponed annotations through it
    spec.loader.exec_module(module)
    return module


def _check_set() -> tuple[list[SentimentExample], list[dict[str, str]]]:
    with package_data(CHECK_SET).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        SentimentExample(text=r["text"], label=SentimentLabel(r["label"]), source=CHECK_SET, language=r["lang"])
        for r in rows
    ], rows


def _test_sets(root: Path) -> dict[str, tuple[list[SentimentExample], dict[str, np.ndarray]]]:
    """name -> (examples with a sentiment label, emotion labels for those that have them)."""
    out: dict[str, tuple[list[SentimentExample], dict[str, np.ndarray]]] = {}
    for corpus in Corpus:
        examples = load_corpus(corpus, Split.TEST, root=root)
        emotions = {
            head: np.array([getattr(e, head) for e in examples], dtype=object)
            for head in ("anger", "frustration")
            if any(getattr(e, head) is not None for e in examples)
        }
        out[f"{corpus.value}/test"] = (examples, emotions)
    check, rows = _check_set()
    labels = {
        head: np.array([r[head] == "1" for r in rows], dtype=object) for head in ("anger", "frustration", "urgency")
    }
    out["support_check"] = (check, labels)
    for language in ("de", "en"):
        keep = np.array([e.language == language for e in check])
        out[f"support_check/{language}"] = (
            [e for e, k in zip(check, keep, strict=True) if k],
            {h: v[keep] for h, v in labels.items()},
        )
    return out


def _emotion_scores(model: SentimentModel, old: ModuleType, texts: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
    _, anger, frustration = model.probabilities(texts)
    signals = [lexicon_signals(t) for t in texts]
    shipped = [analyze_sentiment(t, model=model) for t in texts]
    previous = [old.analyze_sentiment(t) for t in texts]
    return {
        "anger": {
            "model_head": anger,
            "lexicon_rule": np.array([rule_anger(s) for s in signals]),
            "shipped": np.array([s.anger for s in shipped]),
            "old_lexicon": np.array([s.anger for s in previous]),
        },
        "frustration": {
            "model_head": frustration,
            "lexicon_rule": np.array([rule_frustration(s) for s in signals]),
            "shipped": np.array([s.frustration for s in shipped]),
            "old_lexicon": np.array([s.frustration for s in previous]),
        },
        "urgency": {
            "shipped": np.array([rule_urgency(s) for s in signals]),
            "old_lexicon": np.array([s.urgency for s in previous]),
        },
    }


def _evaluate(model: SentimentModel, old: ModuleType, sets: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (examples, emotion_labels) in sets.items():
        labelled = [e for e in examples if e.label is not None]
        gold = [e.label for e in labelled if e.label is not None]
        texts = [e.text for e in labelled]
        new = score_sentiment(gold, model.predict_labels(texts))
        previous = score_sentiment(gold, [old.analyze_sentiment(t).label for t in texts])
        entry: dict[str, Any] = {
            "n": new.n,
            "labels": {k: v.support for k, v in new.per_label.items()},
            "model": {
                "macro_f1": new.macro_f1,
                "accuracy": new.accuracy,
                "negative_recall": new.negative_recall,
                "per_label_f1": {k: v.f1 for k, v in new.per_label.items()},
            },
            "majority_baseline": {
                "label": new.majority_label.value,
                "macro_f1": new.majority_macro_f1,
                "accuracy": new.majority_accuracy,
                "negative_recall": 1.0 if new.majority_label is SentimentLabel.NEGATIVE else 0.0,
            },
            "old_lexicon": {
                "macro_f1": previous.macro_f1,
                "accuracy": previous.accuracy,
                "negative_recall": previous.negative_recall,
            },
            "beats_majority_macro_f1": new.macro_f1 > new.majority_macro_f1,
            "beats_majority_accuracy": new.accuracy > new.majority_accuracy,
            "negative_recall_at_least_0_6": new.negative_recall >= 0.6,
        }
        if emotion_labels:
            all_texts = [e.text for e in examples]
            scores = _emotion_scores(model, old, all_texts)
            entry["emotion_auc"] = {}
            for head, labels in emotion_labels.items():
                known = np.array([v is not None for v in labels])
                y = np.array([bool(v) for v in labels])[known]
                entry["emotion_auc"][head] = {
                    "n": int(known.sum()),
                    "positives": int(y.sum()),
                    **{variant: round(roc_auc(values[known], y), 4) for variant, values in scores[head].items()},
                }
        out[name] = entry
    return out


def _latency(predict: Callable[[str], object], texts: Sequence[str], repeats: int) -> dict[str, float]:
    for text in texts[:20]:
        predict(text)
    samples = []
    for _ in range(repeats):
        for text in texts:
            started = time.perf_counter()
            predict(text)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "n": len(samples),
        "p50_ms": round(statistics.median(samples), 4),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 4),
        "max_ms": round(samples[-1], 4),
    }


def _train(root: Path, *, support_seed: bool) -> tuple[SentimentModel, float, float]:
    train, dev = load_training_sets(root, support_seed=support_seed)
    started, cpu = time.perf_counter(), time.process_time()
    model = train_sentiment_model(train, dev, config=SentimentTrainConfig())
    return model, time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="no training runs; writes sentiment_quick.json")
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    parser.add_argument("--lexicon-rev", default=LEXICON_REV)
    args = parser.parse_args()

    old = _old_scorer(args.lexicon_rev)
    started = time.perf_counter()
    shipped_model.cache_clear()
    model = shipped_model()
    load_ms = (time.perf_counter() - started) * 1000
    sets = _test_sets(args.data_root)
    result: dict[str, Any] = {
        "benchmark": "sentiment",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg": os.getloadavg(),
            "note": "shared 2-core machine; wall-clock figures depend on other load",
        },
        "model": {
            "dir": str(SHIPPED_MODEL_DIR.relative_to(ROOT)),
            "model_id": model.metadata.model_id,
            "size_bytes": sum(f.stat().st_size for f in SHIPPED_MODEL_DIR.iterdir()),
            "n_features": model.metadata.n_features,
            "load_ms": round(load_ms, 1),
            "temperature": round(model.metadata.temperature, 4),
            "negative_weight": model.metadata.negative_weight,
            "dev_metrics": model.metadata.dev_metrics,
        },
        "old_lexicon_rev": args.lexicon_rev,
        "test": _evaluate(model, old, sets),
    }
    check_texts = [e.text for e in sets["support_check"][0]]
    mixed = (
        check_texts
        + [e.text for e in sets["potts_de_sentiment/test"][0][:150]]
        + [e.text for e in sets["goemotions_en/test"][0][:150]]
    )
    result["latency_analyze_sentiment"] = _latency(analyze_sentiment, mixed, repeats=1 if args.quick else 5)
    result["latency_old_lexicon"] = _latency(old.analyze_sentiment, mixed, repeats=1 if args.quick else 5)
    result["targets"] = {
        "beats_majority_macro_f1_everywhere": all(v["beats_majority_macro_f1"] for v in result["test"].values()),
        "beats_majority_accuracy_everywhere": all(v["beats_majority_accuracy"] for v in result["test"].values()),
        "negative_recall_at_least_0_6_everywhere": all(
            v["negative_recall_at_least_0_6"] for v in result["test"].values()
        ),
        "p50_under_5ms": result["latency_analyze_sentiment"]["p50_ms"] < 5.0,
    }
    if not args.quick:
        fresh, seconds, cpu_seconds = _train(args.data_root, support_seed=True)
        with tempfile.TemporaryDirectory() as tmp:
            save_sentiment_model(fresh, Path(tmp))
            fresh = load_sentiment_model(Path(tmp))
        same = [fresh.predict_labels([t])[0] == model.predict_labels([t])[0] for t in mixed]
        result["training"] = {
            "wall_seconds": round(seconds, 1),
            "cpu_seconds": round(cpu_seconds, 1),
            "fresh_model_agrees_with_shipped_on_latency_texts": round(float(np.mean(same)), 4),
        }
        ablation, seconds, _ = _train(args.data_root, support_seed=False)
        result["ablation_without_support_seed"] = {
            "train_wall_seconds": round(seconds, 1),
            "test": {
                name: {
                    "macro_f1": v["model"]["macro_f1"],
                    "accuracy": v["model"]["accuracy"],
                    "negative_recall": v["model"]["negative_recall"],
                }
                for name, v in _evaluate(ablation, old, sets).items()
            },
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("sentiment_quick.json" if args.quick else "sentiment.json")
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")
    for name, v in result["test"].items():
        m, b, o = v["model"], v["majority_baseline"], v["old_lexicon"]
        print(
            f"{name:28s} n={v['n']:5d} model f1={m['macro_f1']:.3f} acc={m['accuracy']:.3f} "
            f"negR={m['negative_recall']:.3f} | majority f1={b['macro_f1']:.3f} acc={b['accuracy']:.3f} | "
            f"old f1={o['macro_f1']:.3f} acc={o['accuracy']:.3f} negR={o['negative_recall']:.3f}"
        )
    print("latency", result["latency_analyze_sentiment"], "targets", result["targets"])


if __name__ == "__main__":
    main()
