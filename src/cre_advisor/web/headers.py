"""Headers every answer carries unless its route set its own: no sniffing, no caching, no framing.

Answers hold patient values (a case, its plan, a saved case) or nothing worth caching, so
`Cache-Control: no-store` is the default; only the static files may be cached. JSON answers get
a Content-Security-Policy that allows nothing (a browser opening one runs no script and loads
nothing); HTML pages set their own policy where they are rendered.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CACHEABLE_PREFIXES = ("/static/",)
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


class SecurityHeaders:
    """ASGI middleware adding nosniff, no-store and (for JSON) a deny-all CSP where missing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(CACHEABLE_PREFIXES)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if not cacheable:
                    headers.setdefault("Cache-Control", "no-store")
                if headers.get("content-type", "").startswith(("application/json", "application/problem+json")):
                    headers.setdefault("Content-Security-Policy", JSON_POLICY)
            await send(message)

        await self.app(scope, receive, sending)
