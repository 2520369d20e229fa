"""The production env files carry the Prefect settings `glassdesk run` uses, so a systemd install shows
the same steps, logs and Failed states in the Prefect UI."""

from __future__ import annotations

from pathlib import Path

from runtime.supervisor import PREFECT_VISIBILITY_ENV

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
SERVER_SIDE = ("PREFECT_SERVER_", "PREFECT_RESULTS_")
CLIENT_SIDE = ("PREFECT_LOGGING_", "PREFECT_RESULTS_")


def _env(name: str) -> dict[str, str]:
    pairs = {}
    for line in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_the_prefect_server_unit_gets_the_visibility_settings() -> None:
    server = _env("prefect.env.example")
    for key, value in PREFECT_VISIBILITY_ENV.items():
        if key.startswith(SERVER_SIDE):
            assert server.get(key) == value, key
    assert server["PREFECT_SERVER_API_AUTH_STRING"]


def test_the_glassdesk_units_send_logs_and_the_login() -> None:
    client = _env("glassdesk.env.example")
    for key, value in PREFECT_VISIBILITY_ENV.items():
        if key.startswith(CLIENT_SIDE):
            assert client.get(key) == value, key
    assert client["PREFECT_API_AUTH_STRING"] == _env("prefect.env.example")["PREFECT_SERVER_API_AUTH_STRING"]
