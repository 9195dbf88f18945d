"""`/docs`: the interactive API reference, served from the package (no CDN) and accessible.

FastAPIOffline's own page has no `lang`, no main landmark and no level-one heading; this one is
the same Swagger UI page with those three added, so a screen reader announces the language,
can jump to the content and finds the page's title.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

OFFLINE_STATIC = "/static-offline-docs"  # where FastAPIOffline mounts the Swagger UI files
router = APIRouter(include_in_schema=False)


def accessible(html: str, title: str) -> str:
    """The Swagger UI page with a language, a main landmark and an h1 around its mount point."""
    for old, new in (
        ("<html>", '<html lang="en">'),
        ('<div id="swagger-ui">', f'<main>\n<h1 style="font:700 1.6rem sans-serif;margin:1rem 1.25rem 0">{title}</h1>\n<div id="swagger-ui">'),
        ("</div>\n", "</div>\n</main>\n"),
    ):
        if old not in html:
            raise RuntimeError(f"the Swagger UI page changed shape: {old!r} not found")  # caught by the tests
        html = html.replace(old, new, 1)
    return html


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    app = request.app
    page = get_swagger_ui_html(
        openapi_url=f"{root}{app.openapi_url}",
        title=f"{app.title} API",
        swagger_js_url=f"{root}{OFFLINE_STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{OFFLINE_STATIC}/swagger-ui.css",
        swagger_favicon_url=f"{root}/static/favicon.svg",
        swagger_ui_parameters=app.swagger_ui_parameters,
    )
    return HTMLResponse(accessible(bytes(page.body).decode(), f"{app.title} API reference"))
