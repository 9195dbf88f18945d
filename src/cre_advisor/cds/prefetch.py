"""Prefetch: what the EHR sent, and what this service fetches itself (CDS Hooks 2.0 rules).

A prefetch key that is absent (or holds an OperationOutcome) means the client could not fetch
it; a key whose value is null means there is no such data. With `fhirServer` and
`fhirAuthorization` the service fetches what is absent, with bounded timeouts; without them, an
absent required key ends the call with 412 Precondition Failed.

Results a microbiology report links (`DiagnosticReport.result`, then `Observation.hasMember` of
a susceptibility panel) but the prefetch did not bring are fetched the same way, a few levels
and a bounded number deep, and only from the EHR's own server (its token goes nowhere else).
What still cannot be had is named on the card by the FHIR reader.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote

import httpx

MAX_PAGES = 4
MAX_LINKED = 60  # linked results fetched per call: a large panel, never an unbounded crawl
LINK_DEPTH = 3  # report -> panel -> member -> member
LINKED_KEY = "linked-results"
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # FHIR R4 id datatype
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


def _resources(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    if value.get("resourceType") == "Bundle":
        return [e["resource"] for e in value.get("entry") or [] if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    return [value]


def _local_reference(reference: Any, server: str) -> str | None:
    """'Observation/id' for a relative reference or one under the EHR's server; else None."""
    if not isinstance(reference, str) or reference.startswith("#"):
        return None
    base = server.rstrip("/") + "/"
    if "://" in reference:
        if not reference.startswith(base):
            return None
        reference = reference[len(base):]
    parts = reference.split("/")
    if len(parts) < 2 or parts[0] != "Observation" or not _FHIR_ID.fullmatch(parts[1]) or set(parts[1]) == {"."}:
        return None  # not a FHIR id (nor '.' or '..', which would walk the server's paths)
    return f"Observation/{parts[1]}"


def missing_links(values: list[Any], server: str) -> list[str]:
    """Observations a report or panel links that none of `values` holds, in reading order."""
    held: set[str] = set()
    wanted: dict[str, None] = {}
    for value in values:
        for resource in _resources(value):
            kind = resource.get("resourceType")
            if isinstance(resource.get("id"), str):
                held.add(f"{kind}/{resource['id']}")
            links = resource.get("result") if kind == "DiagnosticReport" else resource.get("hasMember") if kind == "Observation" else None
            for link in links if isinstance(links, list) else ():
                ref = _local_reference(link.get("reference") if isinstance(link, dict) else None, server)
                if ref is not None:
                    wanted[ref] = None
    return [ref for ref in wanted if ref not in held]


async def fetch_linked(
    values: list[Any], server: str, token: str, http: httpx.AsyncClient, timeout_s: float,
) -> dict[str, Any] | None:
    """A collection Bundle of the linked Observations that could be fetched, or None."""
    fetched: list[dict[str, Any]] = []
    tried: set[str] = set()
    for _ in range(LINK_DEPTH):
        wanted = [r for r in missing_links([*values, *fetched], server) if r not in tried][: MAX_LINKED - len(tried)]
        if not wanted:
            break
        tried.update(wanted)
        base = server.rstrip("/")
        results = await asyncio.gather(
            *(_get_json(http, f"{base}/{ref}", token, timeout_s) for ref in wanted), return_exceptions=True
        )
        fetched.extend(r for r in results if isinstance(r, dict) and r.get("resourceType") == "Observation")
    if not fetched:
        return None
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in fetched]}


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
    if server and token:
        try:
            linked = await asyncio.wait_for(
                fetch_linked(list(values.values()), server, token, http, timeout_s), timeout=timeout_s * 2
            )
        except TimeoutError:
            linked = None
        if linked is not None:
            values[LINKED_KEY] = linked
    unavailable = [k for k in templates if k not in values]
    lacking = sorted(required.intersection(unavailable))
    if lacking:
        how = "the FHIR server did not answer for" if server and token else "no fhirServer/fhirAuthorization to fetch"
        raise PrefetchFailed(f"required data unavailable: {', '.join(lacking)} ({how} them)")
    return values, unavailable
