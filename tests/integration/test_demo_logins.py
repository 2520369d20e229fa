"""No open door: `glassdesk demo load` creates the demo logins (admin/admin, …) only in demo mode, and
`glassdesk run` is demo mode unless GLASSDESK_DEMO_MODE says otherwise."""

from __future__ import annotations

from pathlib import Path

from conversation.sql import Database, SqlUsers
from devtools.demo import DEMO_USERS, load_demo
from runtime.supervisor import demo_by_default
from services.passwords import verify_password
from services.settings import Settings


async def _users(settings: Settings) -> dict[str, str]:
    db = Database(settings.sqlalchemy_url)
    try:
        return {u.username: u.password_hash for u in await SqlUsers(db).all()}
    finally:
        await db.dispose()


async def test_demo_logins_exist_only_in_demo_mode(tmp_path: Path, redis_url: str) -> None:
    production = Settings(var_dir=tmp_path, redis_url=redis_url)
    summary = await load_demo(production)
    assert "no logins" in summary and "glassdesk users create" in summary
    assert await _users(production) == {}

    demo = Settings(var_dir=tmp_path, redis_url=redis_url, demo_mode=True)
    await load_demo(demo)
    users = await _users(demo)
    assert set(users) == {name for name, _display, _role in DEMO_USERS}
    assert verify_password("admin", users["admin"])


def test_glassdesk_run_is_demo_mode_unless_configured_otherwise(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    assert demo_by_default(Settings(var_dir=tmp_path), env).demo_mode is True
    assert env["GLASSDESK_DEMO_MODE"] == "true"
    env = {}
    chosen = demo_by_default(Settings(var_dir=tmp_path, demo_mode=False), env)
    assert chosen.demo_mode is False and env["GLASSDESK_DEMO_MODE"] == "false"
    assert chosen.four_eyes_publishing is True
    assert demo_by_default(Settings(var_dir=tmp_path), {}).four_eyes_publishing is False
