"""GET /healthz over the real app: 200 when every part answers, 503 naming the part that does not."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from runtime.compose import WORKER_BEAT_PREFIX
from services.settings import Settings
from web import create_app


class _PrefectHealth(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/api/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def prefect_stub() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PrefectHealth)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()


def _settings(tmp_path, redis_url: str, prefect_url: str) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(var_dir=tmp_path, redis_url=redis_url, prefect_api_url=prefect_url)


def test_healthz_is_200_when_all_parts_answer(tmp_path, redis_url, prefect_stub) -> None:  # type: ignore[no-untyped-def]
    redis.Redis.from_url(redis_url).set(WORKER_BEAT_PREFIX + "test", "1", ex=30)
    with TestClient(create_app(_settings(tmp_path, redis_url, prefect_stub))) as client:
        resp = client.get("/healthz")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ok"
    assert {k: v["ok"] for k, v in body["checks"].items()} == {
        "database": True,
        "redis": True,
        "prefect": True,
        "worker": True,
        "processes": True,
    }


def test_healthz_is_503_and_names_what_is_down(tmp_path, redis_url) -> None:  # type: ignore[no-untyped-def]
    redis.Redis.from_url(redis_url).delete(*redis.Redis.from_url(redis_url).keys(WORKER_BEAT_PREFIX + "*") or ["x"])
    with TestClient(create_app(_settings(tmp_path, redis_url, "http://127.0.0.1:9/api"))) as client:
        resp = client.get("/healthz")
    assert resp.status_code == 503
    checks = resp.json()["checks"]
    assert checks["database"]["ok"] and checks["redis"]["ok"]
    assert checks["prefect"]["ok"] is False and "Connect" in checks["prefect"]["error"]
    assert checks["worker"]["ok"] is False and "glassdesk worker" in checks["worker"]["error"]


def test_healthz_names_a_child_in_a_crash_loop(tmp_path, redis_url, prefect_stub) -> None:  # type: ignore[no-untyped-def]
    import json
    import time

    from services.process_status import STATUS_FILE

    redis.Redis.from_url(redis_url).set(WORKER_BEAT_PREFIX + "test", "1", ex=30)
    status = tmp_path / STATUS_FILE
    status.parent.mkdir(parents=True, exist_ok=True)
    children = {
        "web": {"state": "running", "restarts": 0, "crash_loop": False},
        "worker": {"state": "restarting", "restarts": 4, "crash_loop": True},
    }
    status.write_text(json.dumps({"written_at": time.time(), "children": children}))
    with TestClient(create_app(_settings(tmp_path, redis_url, prefect_stub))) as client:
        resp = client.get("/healthz")
        assert resp.status_code == 503
        assert "worker" in resp.json()["checks"]["processes"]["error"]
        children["worker"] = {"state": "running", "restarts": 4, "crash_loop": False}
        status.write_text(json.dumps({"written_at": time.time(), "children": children}))
        healthy = client.get("/healthz")
    assert healthy.status_code == 200, healthy.text
    assert healthy.json()["checks"]["processes"]["restarts"] == {"web": 0, "worker": 4}
