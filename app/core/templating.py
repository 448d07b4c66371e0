"""Jinja2 set-up for server-rendered pages: our templates plus the GOV.UK Frontend macros
(govuk-frontend-jinja), and htmx-aware rendering (a fragment for htmx, a page otherwise)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    select_autoescape,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
# Pinned by scripts/vendor-frontend; the paths below are where it copies them.
VENDOR = {
    "govuk": "/static/vendor/govuk-frontend-6.3.0",
    "moj": "/static/vendor/moj-frontend-11.1.0",
    "htmx": "/static/vendor/htmx-2.0.11/htmx.min.js",
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([
            FileSystemLoader(str(TEMPLATES_DIR)),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates change only with a deploy (a restart): no file checks on every render.
        auto_reload=False,
    )
    env.globals["vendor"] = VENDOR
    env.filters["upper_first"] = upper_first
    return env


def upper_first(text: str) -> str:
    """Capitalises a sentence's first letter only: Jinja's `capitalize` lower-cases the rest,
    which breaks names ("The Crown Prosecution Service")."""
    return text[:1].upper() + text[1:]


def wants_fragment(request: Request) -> bool:
    """htmx asks for a fragment, except when it restores history (it then needs the page)."""
    return (request.headers.get("hx-request") == "true"
            and request.headers.get("hx-history-restore-request") != "true")


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    layout = "fragment.html" if wants_fragment(request) else "layout.html"
    html = environment().get_template(template).render({**context, "layout": layout,
                                                         "request": request})
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers["Vary"] = "HX-Request, HX-History-Restore-Request, Cookie"
    return response
