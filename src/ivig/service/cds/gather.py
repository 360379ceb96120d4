"""The data a CDS call needs: from prefetch first, else from the EHR's FHIR server.

Prefetch rules of CDS Hooks 2.0: a key the client did not fill is absent (fetch it), a key with
no data is ``null`` (do not fetch), an OperationOutcome is an error (fetch it). When the patient
or the weight can be had neither way, :class:`PrefetchUnavailable` is raised (HTTP 412).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ivig.service.cds.services import ESSENTIAL_KEYS
from ivig.service.fhir.read import bundle_resources

if TYPE_CHECKING:
    import httpx

__all__ = ["PrefetchUnavailable", "fill_template", "gather_resources"]

_TOKEN = re.compile(r"\{\{\s*(context\.[A-Za-z]+|user[A-Za-z]+Id)\s*\}\}")


class PrefetchUnavailable(Exception):
    """Data needed by the service is in neither the prefetch nor reachable (HTTP 412)."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__("data not available: " + ", ".join(keys))
        self.keys = keys


def fill_template(template: str, context: Mapping[str, Any]) -> str | None:
    """``template`` with its tokens replaced from ``context`` (``None`` if one is missing)."""
    missing = False

    def repl(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name.startswith("context."):
            value = context.get(name[8:])
        else:  # userPractitionerId and friends come from userId
            kind = name[4:-2]
            user = str(context.get("userId", ""))
            value = user.split("/", 1)[1] if user.startswith(kind + "/") else None
        if not isinstance(value, str | int) or isinstance(value, bool):
            missing = True
            return ""
        return str(value)

    filled = _TOKEN.sub(repl, template)
    return None if missing else filled


def _resources(
    key: str, value: Any, full_urls: dict[int, str] | None = None
) -> list[dict[str, Any]] | None:
    """Resources of one prefetch value; ``None`` for an OperationOutcome (an error)."""
    if not isinstance(value, dict):
        return None
    kind = value.get("resourceType")
    if kind == "OperationOutcome":
        return None
    if kind == "Bundle":
        return bundle_resources(value, f"prefetch.{key}", full_urls)
    if isinstance(kind, str):
        return [value]
    return None


async def _fetch(
    client: httpx.AsyncClient, base: str, query: str, headers: dict[str, str]
) -> Any | None:
    import httpx

    try:
        response = await client.get(f"{base.rstrip('/')}/{query}", headers=headers)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


async def gather_resources(
    hook_request: Mapping[str, Any],
    templates: Mapping[str, str],
    client_factory: Callable[[], httpx.AsyncClient],
    essential: tuple[str, ...] = ESSENTIAL_KEYS,
    full_urls: dict[int, str] | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Resources for ``templates`` and the keys that were fetched from the FHIR server.

    ``full_urls`` receives the ``fullUrl`` of every Bundle entry read (by ``id(resource)``).
    """
    context = hook_request.get("context") or {}
    prefetch = hook_request.get("prefetch") or {}
    found: list[dict[str, Any]] = []
    to_fetch: dict[str, str] = {}
    for key, template in templates.items():
        if key in prefetch:
            value = prefetch[key]
            if value is None:
                continue  # the client says: no data
            resources = _resources(key, value, full_urls)
            if resources is not None:
                found += resources
                continue
        query = fill_template(template, context)
        if query is not None:
            to_fetch[key] = query
    fetched: list[str] = []
    server = hook_request.get("fhirServer")
    unavailable = [k for k in essential if k in to_fetch]
    if to_fetch and isinstance(server, str) and server:
        headers = {"Accept": "application/fhir+json"}
        auth = hook_request.get("fhirAuthorization") or {}
        if isinstance(auth, dict) and auth.get("access_token"):
            headers["Authorization"] = f"Bearer {auth['access_token']}"
        async with client_factory() as client:
            keys = list(to_fetch)
            results = await asyncio.gather(
                *(_fetch(client, server, to_fetch[k], headers) for k in keys)
            )
        for key, value in zip(keys, results, strict=True):
            resources = _resources(key, value, full_urls)
            if resources is None:
                continue
            found += resources
            fetched.append(key)
        unavailable = [k for k in unavailable if k not in fetched]
    if unavailable:
        raise PrefetchUnavailable(unavailable)
    return found, fetched
