"""Start-up time of the command line: `glassdesk --help` and `glassdesk email parse FILE`.

    .venv/bin/python bench/cli_start.py [--runs 15] [--quick]

Each command runs as a fresh process, ``runs`` times after one warm-up (so the OS file cache is warm,
as for a person typing it twice). Reports the median and the spread, and the modules the CLI imports
at start (scikit-learn, LangChain and Prefect must not be among them). Writes
bench/results/cli_start.json (cli_start_quick.json with --quick). Target: --help under 0.4 s."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GLASSDESK = Path(sys.executable).parent / "glassdesk"
EMAIL = ROOT / "tests" / "unit" / "email" / "fixtures"


def _sample_email(tmp: Path) -> Path:
    path = tmp / "sample.eml"
    path.write_bytes(
        b"From: Anna <anna@example.com>\r\nTo: support@glassdesk.local\r\nSubject: Hallo\r\n"
        b"Message-ID: <bench-1@example.com>\r\n\r\nWo ist meine Bestellung 10023?\r\n\r\n"
        b"Am 01.12.2026 um 10:00 schrieb Support <support@glassdesk.local>:\r\n> Danke\r\n"
    )
    return path


def _time(argv: list[str], runs: int) -> dict[str, float]:
    subprocess.run(argv, check=True, capture_output=True)  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return {
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "runs": runs,
    }


def _heavy_imports() -> list[str]:
    code = (
        "import sys, runtime.cli\n"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'sklearn','langchain','langchain_core','prefect','numpy','scipy','twilio','aiosmtplib','sqlalchemy'})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    return [m for m in out.stdout.strip().split(",") if m]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    runs = 5 if args.quick else args.runs
    tmp = ROOT / "var" / "bench-cli"
    tmp.mkdir(parents=True, exist_ok=True)
    result = {
        "help": _time([str(GLASSDESK), "--help"], runs),
        "email_parse": _time([str(GLASSDESK), "email", "parse", str(_sample_email(tmp))], runs),
        "imported_at_start": _heavy_imports(),
        "target_help_s": 0.4,
        "load_average": list(os.getloadavg()),
        "python": sys.version.split()[0],
    }
    result["help_under_target"] = result["help"]["median_s"] < 0.4
    out = HERE / "results" / ("cli_start_quick.json" if args.quick else "cli_start.json")
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
