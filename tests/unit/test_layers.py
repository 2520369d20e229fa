"""The one-way dependency rule (STYLE.md, README "Architecture"), checked on every import statement,
including imports inside functions.

    conversation                                   the model, its ports and errors (bottom)
    channels | policies | knowledge | understanding  each on conversation only, never on each other
    services                                       application services (delivery, desk, identity, …)
    flows                                          Prefect flows and tasks only
    runtime | web | devtools                       composition root, CLI, supervisor, worker; HTTP; dev tools

A deployed ops flow runs in a process of its own, so ``flows`` may import the composition root
(``runtime.compose``) and nothing else of ``runtime``. ``web`` and ``devtools`` build their container
there too; the CLI and the supervisor (``runtime``) start the development tools.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {
    "conversation",
    "channels",
    "policies",
    "knowledge",
    "understanding",
    "services",
    "flows",
    "runtime",
    "devtools",
    "web",
}
ALLOWED: dict[str, set[str]] = {
    "conversation": set(),
    "channels": {"conversation"},
    "policies": {"conversation"},
    "knowledge": {"conversation"},
    "understanding": {"conversation"},
    "services": {"conversation", "channels", "policies", "knowledge", "understanding"},
    "flows": {"conversation", "channels", "policies", "knowledge", "understanding", "services", "runtime.compose"},
    "runtime": OURS - {"runtime", "web"},  # the CLI and supervisor start the development tools
    "web": OURS - {"web", "devtools"} - {"runtime"} | {"runtime.compose"},
    "devtools": OURS - {"devtools", "web", "runtime"} | {"runtime.compose"},
}
# Vendor SDKs stay inside their one adapter (STYLE: "A vendor SDK stays inside its one adapter").
VENDOR_HOMES = {
    "twilio": ("channels/sms/", "devtools/smssink.py", "web/sms.py"),
    "aiosmtplib": ("channels/email/",),
    "prefect": ("flows/", "runtime/"),
    "langchain": ("knowledge/drafting/",),
    "playwright": ("knowledge/backoffice/rpa.py", "knowledge/backoffice/browser_pool.py"),
    "langchain_core": ("knowledge/drafting/",),
    "langchain_openai": ("knowledge/drafting/",),
}


def _modules() -> list[Path]:
    return sorted(p for pkg in OURS for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _allowed(package: str, module: str) -> bool:
    top = module.split(".")[0]
    if top not in OURS or top == package:
        return True
    rules = ALLOWED[package]
    return top in rules or any(module == r or module.startswith(r + ".") for r in rules if "." in r)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_one_way_rule(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for line, module in _imports(path)
        if not _allowed(package, module)
    ]
    assert not wrong, "imports against the dependency rule (see tests/unit/test_layers.py):\n" + "\n".join(wrong)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_vendor_sdks_stay_in_their_adapter(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    wrong = [
        f"{rel}:{line} imports {module}"
        for line, module in _imports(path)
        if (homes := VENDOR_HOMES.get(module.split(".")[0])) is not None and not rel.startswith(homes)
    ]
    assert not wrong, "a vendor SDK outside its adapter:\n" + "\n".join(wrong)


def test_the_rule_catches_a_wrong_import() -> None:
    assert not _allowed("channels", "policies.model")
    assert not _allowed("conversation", "services.settings")
    assert not _allowed("flows", "runtime.cli")
    assert _allowed("flows", "runtime.compose")
    assert _allowed("web", "runtime.compose") and not _allowed("web", "runtime.supervisor")


def test_flows_define_only_flows_and_tasks() -> None:
    """Every public function or class in flows/ is a flow, a task, a step a task wraps, or the turn's data."""
    for path in sorted((ROOT / "flows").glob("*.py")):
        text = path.read_text()
        if path.name == "__init__.py":
            continue
        assert "prefect" in text or path.name in {"steps.py", "outcome_step.py", "turn_work.py"}, (
            f"{path.name} is not a flow module"
        )
