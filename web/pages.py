"""Server-rendered staff pages: one Jinja environment (autoescaping on), one base layout, and the
security headers every HTML answer carries (a strict CSP: no inline script or style anywhere)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

if TYPE_CHECKING:
    from web.auth import Staff

__all__ = ["templates", "render", "SECURITY_HEADERS", "NAV"]

templates = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"], default_for_string=True),
    undefined=StrictUndefined,
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

# (path, label, roles allowed); admin sees everything.
NAV: list[tuple[str, str, tuple[str, ...]]] = [
    ("/inbox", "Inbox", ("agent",)),
    ("/ops", "Operations", ("ops",)),
    ("/admin/policies", "Policies", ()),
    ("/admin/people", "Queues & agents", ()),
]


def render(request: Request, name: str, staff: Staff | None, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    nav = []
    if staff is not None:
        nav = [(path, label) for path, label, roles in NAV if staff.role.value == "admin" or staff.role.value in roles]
    html = templates.get_template(name).render(staff=staff, nav=nav, current=request.url.path, **context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
