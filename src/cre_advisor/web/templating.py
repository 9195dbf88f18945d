"""The Jinja2 environment every page shares (autoescaping on, helpers for numbers and markers)."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from cre_advisor.render.citations import marker_text
from cre_advisor.render.view import AUDIENCES, long_date, number

TEMPLATES_DIR = Path(__file__).parent / "templates"

templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.globals["AUDIENCES"] = AUDIENCES
templates.env.filters["num"] = number
templates.env.filters["long_date"] = long_date
templates.env.filters["markers"] = marker_text
