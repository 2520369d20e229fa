"""Fairness audit figures of the shipped default policy and demo intent model (issue 14).

    .venv/bin/python bench/fairness_audit.py

Routes every counterfactual pair of services/data/fairness_templates.csv on every channel, exactly
as `glassdesk audit fairness` does, with a freshly trained demo model, and writes
bench/results/fairness_audit.json: the headline figures, every dimension and group, and the pairs
routed differently. Exits 0 whatever the result (the audit command is the gate; this records).
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policies import DEFAULT_POLICY_PATH, load_policy_file
from services.fairness import DEFAULT_MIN_IDENTICAL, TurnUnderstander, run_audit, summary
from services.fairness_pairs import counterfactual_pairs, load_templates
from understanding import LanguageDetector, Redactor, ensure_demo_model, load_model

OUT = Path(__file__).resolve().parent / "results" / "fairness_audit.json"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        model = load_model(ensure_demo_model(Path(tmp) / "demo-model"))
    templates = load_templates()
    pairs = counterfactual_pairs(templates)
    understander = TurnUnderstander(model, LanguageDetector(), Redactor())
    understander.understand("warm up the language detector and the sentiment model")
    started = time.perf_counter()
    report = run_audit(
        pairs,
        understander=understander,
        policy=load_policy_file(DEFAULT_POLICY_PATH, version="default"),
        model_id=model.metadata.model_id,
        templates=len(templates),
        min_identical=DEFAULT_MIN_IDENTICAL,
    )
    seconds = time.perf_counter() - started
    result = {
        "benchmark": "fairness_audit",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "templates": len(templates),
        "pairs": len(pairs),
        "audit_seconds": round(seconds, 2),
        "summary": summary(report),
        "report": report.model_dump(mode="json"),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("templates", "pairs", "audit_seconds", "summary")}, indent=2))


if __name__ == "__main__":
    main()
