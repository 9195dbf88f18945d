"""Prefetch: what the EHR sent, and what this service fetches itself (CDS Hooks 2.0 rules).

A prefetch key that is absent (or holds an OperationOutcome) means the client could not fetch
it; a key whose value is null means there is no such data. With `fhirServer` and
`fhirAuthorization` the service fetches what is absent, with bounded timeouts; without them, an
absent required key ends the call with 412 Precondition Failed.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx

MAX_PAGES = 4
FHIR_JSON = "application/fhir+json"


class PrefetchFailed(Exception):
    """Required data could be neither prefetched nor fetched: answer 412."""


def render_template(template: str, context: dict[str, Any]) -> str:
    """A prefetch template with its {{context.x}} tokens replaced (URL-escaped)."""
    out = template
    for name, value in context.items():
        token = "{{context." + name + "}}"
        if token in out:
            if not isinstance(value, (str, int)):
                raise PrefetchFailed(f"context.{name} is not a value a query can use")
            out = out.replace(token, quote(str(value), safe=""))
    if "{{" in out:
        raise PrefetchFailed(f"prefetch template needs context the request lacks: {template}")
    return out


def _absent(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


async def _get_json(http: httpx.AsyncClient, url: str, token: str, timeout: float) -> dict[str, Any] | None:
    response = await http.get(
        url, headers={"Authorization": f"Bearer {token}", "Accept": FHIR_JSON},
        timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0)),
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


async def _fetch(http: httpx.AsyncClient, base: str, query: str, token: str, timeout: float) -> dict[str, Any] | None:
    """One prefetch query against the FHIR server; a searchset's next pages are merged in."""
    first = await _get_json(http, f"{base.rstrip('/')}/{query}", token, timeout)
    if first is None or first.get("resourceType") != "Bundle":
        return first
    page, entries = first, list(first.get("entry") or [])
    for _ in range(MAX_PAGES - 1):
        following = next((link.get("url") for link in page.get("link") or [] if link.get("relation") == "next"), None)
        if not following or not following.startswith(base.rstrip("/")):
            break
        page = await _get_json(http, following, token, timeout) or {}
        entries.extend(page.get("entry") or [])
    return {**first, "entry": entries, "link": []}


async def gather_prefetch(
    templates: dict[str, str],
    required: frozenset[str],
    body: dict[str, Any],
    http: httpx.AsyncClient,
    timeout_s: float,
) -> tuple[dict[str, Any], list[str]]:
    """(prefetch values by key, keys that stayed unavailable); raises PrefetchFailed for 412."""
    given = body.get("prefetch") or {}
    values = {k: v for k, v in given.items() if k in templates and not _absent(v)}
    missing = [k for k in templates if k not in values]
    server, authorization = body.get("fhirServer"), body.get("fhirAuthorization")
    token = authorization.get("access_token") if isinstance(authorization, dict) else None
    if missing and server and token:
        queries = {k: render_template(templates[k], body.get("context") or {}) for k in missing}
        try:
            results = await asyncio.wait_for(
                asyncio.gather(*(_fetch(http, server, q, token, timeout_s) for q in queries.values()), return_exceptions=True),
                timeout=timeout_s * 2,
            )
        except TimeoutError:
            results = [TimeoutError()] * len(queries)
        for name, result in zip(queries, results, strict=True):
            if not isinstance(result, BaseException):
                values[name] = result
    unavailable = [k for k in templates if k not in values]
    lacking = sorted(required.intersection(unavailable))
    if lacking:
        how = "the FHIR server did not answer for" if server and token else "no fhirServer/fhirAuthorization to fetch"
        raise PrefetchFailed(f"required data unavailable: {', '.join(lacking)} ({how} them)")
    return values, unavailable
