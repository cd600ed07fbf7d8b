"""Jinja2 rendering of the pages, with the security headers every page carries.

The pages run no inline script: data reaches the scripts through `data-*` attributes and JSON
requests, so the Content-Security-Policy can forbid inline and foreign scripts outright, and
`connect-src 'self'` keeps every request of the page on this service. Styles allow inline
because plotly.js sets style attributes on what it draws.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

import sweepd
from sweepd_api.web.assets import asset_url

TEMPLATES_DIR = Path(__file__).parent / "templates"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
                "Cache-Control": "no-store"}
STATE_ORDER = ("completed", "running", "pending", "failed", "cancelled")


def duration(seconds: float | None) -> str:
    """`1 h 02 min`, `3 min 05 s`, `4.2 s`, `49 ms`; an em dash for None."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def elapsed(start: datetime, end: datetime | None) -> float:
    """Seconds from `start` to `end` (or to now)."""
    return ((end or datetime.now(UTC)) - start).total_seconds()


def timestamp(moment: datetime | None) -> str:
    """A UTC time readable without a script: `2026-05-01 14:03 UTC`."""
    if moment is None:
        return "—"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def number(value: float | None, digits: int = 4) -> str:
    """A figure with `digits` significant digits; an em dash for None."""
    return "—" if value is None else f"{value:.{digits}g}"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(asset=asset_url, version=sweepd.__version__, state_order=STATE_ORDER,
                       elapsed=elapsed)
    env.filters.update(duration=duration, timestamp=timestamp, number=number)
    return env


_ENV = _environment()


def render(request: Request, name: str, status_code: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """Render a template into a response with the page security headers.

    Args:
        request: the request (templates read its path for the navigation).
        name: the template file name.
        status_code: the response status.
        headers: extra headers (Set-Cookie is set on the response by the caller).
        **context: the template's variables.

    Returns:
        The HTML response.
    """
    html = _ENV.get_template(name).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})
