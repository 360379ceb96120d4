"""Knowledge-base look-ups (public, read-only): what ``ivig kb`` shows, as JSON.

Cards link here (their ``source.url``), so these need no token: they hold no patient data.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from ivig.service.errors import ERROR_RESPONSES, IvigJSONResponse
from ivig.service.state import ServiceState, state_of

__all__ = ["COLLECTIONS", "router"]

router = APIRouter(prefix="/api/kb", tags=["knowledge"], responses={422: ERROR_RESPONSES[422]})
State = Annotated[ServiceState, Depends(state_of)]

#: collection name in the URL -> (key in the data, key of the record id)
COLLECTIONS: dict[str, tuple[str, str]] = {
    "conditions": ("conditions", "id"),
    "products": ("products", "id"),
    "scores": ("scores", "id"),
    "sources": ("sources", "id"),
    "findings": ("findings", "name"),
    "risk-factors": ("risk_factors", "id"),
    "jurisdictions": ("jurisdictions", "id"),
}
Collection = Literal[
    "conditions", "products", "scores", "sources", "findings", "risk-factors", "jurisdictions"
]
JSON_OBJECT: dict[int | str, dict[str, Any]] = {200: {"model": dict[str, Any]}}


@router.get("", response_class=IvigJSONResponse, responses=JSON_OBJECT)
def kb_index(state: State) -> IvigJSONResponse:
    """Version, disclaimer and the collections with their sizes."""
    kb = state.kb
    return IvigJSONResponse(
        {
            "title": kb.data["meta"]["title"],
            "knowledge_version": kb.version,
            "disclaimer": kb.disclaimer,
            "collections": {
                name: {"count": len(kb.data[key]), "url": f"/api/kb/{name}"}  # type: ignore[literal-required]
                for name, (key, _) in COLLECTIONS.items()
            },
        }
    )


@router.get("/search", response_class=IvigJSONResponse, responses=JSON_OBJECT)
def kb_search(
    state: State, q: Annotated[str, Query(min_length=1, max_length=200)]
) -> IvigJSONResponse:
    """Condition ids whose id, name, synonym or code is close to ``q``."""
    return IvigJSONResponse(
        {
            "query": q,
            "conditions": state.kb.search_conditions(q),
            "knowledge_version": state.kb.version,
        }
    )


@router.get("/{collection}", response_class=IvigJSONResponse, responses=JSON_OBJECT)
def kb_list(collection: Collection, state: State) -> IvigJSONResponse:
    """The records of one collection, in brief (id and name)."""
    key, ident = COLLECTIONS[collection]
    records: list[dict[str, Any]] = state.kb.data[key]  # type: ignore[literal-required]
    items = [
        {"id": r[ident], "name": r.get("name", r.get("citation", r.get("description", "")))}
        for r in records
    ]
    return IvigJSONResponse(
        {"collection": collection, "items": items, "knowledge_version": state.kb.version}
    )


@router.get("/{collection}/{item_id}", response_class=IvigJSONResponse, responses=JSON_OBJECT)
def kb_item(collection: Collection, item_id: str, state: State) -> IvigJSONResponse:
    """One record as stored, with the sources it cites (unknown ids answer 422 with hints)."""
    kb = state.kb
    lookup = {
        "conditions": kb.condition,
        "products": kb.product,
        "scores": kb.score,
        "sources": kb.source,
        "findings": kb.finding,
        "risk-factors": kb.risk_factor,
        "jurisdictions": kb.jurisdiction,
    }[collection]
    record: Any = lookup(item_id)
    cited = sorted({ref["id"] for ref in _refs(record) if isinstance(ref, dict) and "id" in ref})
    return IvigJSONResponse(
        {
            "collection": collection,
            "record": record,
            "cited_sources": [kb.source(s) for s in cited if _has_source(state, s)],
            "knowledge_version": kb.version,
        }
    )


def _has_source(state: ServiceState, source_id: str) -> bool:
    return any(s["id"] == source_id for s in state.kb.data["sources"])


def _refs(node: Any) -> list[Any]:
    refs: list[Any] = []
    if isinstance(node, dict):
        refs.extend(node.get("sources", []) if isinstance(node.get("sources"), list) else [])
        for key, value in node.items():
            if key != "sources":
                refs.extend(_refs(value))
    elif isinstance(node, list):
        for value in node:
            refs.extend(_refs(value))
    return refs
