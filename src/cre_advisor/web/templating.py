"""The Jinja2 environment every page shares (autoescaping on, helpers for numbers and markers).

`render_page` encodes with replacement so that text a client sent (echoed in a form) can never
make a page fail to encode, and sets the headers every page carries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.routing import NoMatchFound

from cre_advisor.knowledge.loader import default_knowledge
from cre_advisor.render.citations import marker_text
from cre_advisor.render.view import AUDIENCES, long_date, number

TEMPLATES_DIR = Path(__file__).parent / "templates"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # a saved case's link must not leak to the sites we cite
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
}

templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.globals["AUDIENCES"] = AUDIENCES
templates.env.filters["num"] = number
templates.env.filters["long_date"] = long_date
templates.env.filters["markers"] = marker_text


POLICY_ROUTE = "policy_page"  # the editorial policy page, when the review feature is mounted


def _policy_url(request: Request) -> str | None:
    try:
        return str(request.app.url_path_for(POLICY_ROUTE))
    except NoMatchFound:
        return None


def render_page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    values = {
        "request": request, "knowledge_version": default_knowledge().version, "policy_url": _policy_url(request),
        **context,
    }
    html = templates.get_template(name).render(values)
    return HTMLResponse(html.encode("utf-8", "replace"), status_code=status_code, headers=PAGE_HEADERS)
