"""The knowledge browser: conditions with their indications, evidence and regimens; products;
sources; the version; and every fact marked unverified."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ivig.errors import UnknownIdError
from ivig.web.deps import guard, page, state_of
from ivig.web.knowledge_view import condition_rows, product_rows, search, unverified_items

__all__ = ["router"]

router = APIRouter()


@router.get("/app/knowledge", response_class=HTMLResponse)
def knowledge(request: Request, q: str = "") -> Response:
    """Conditions (searchable by name, synonym or code), products, the version."""
    user = guard(request, "knowledge")
    if isinstance(user, Response):
        return user
    kb = state_of(request).kb
    return page(
        request,
        "knowledge.html",
        {
            "q": q,
            "matches": search(kb, q),
            "conditions": condition_rows(kb),
            "products": product_rows(kb),
            "counts": {
                "conditions": len(kb.conditions()),
                "products": len(kb.data["products"]),
                "sources": len(kb.data["sources"]),
                "unverified": len(unverified_items(kb)),
            },
            "meta": kb.data["meta"],
        },
    )


def _not_found(request: Request, what: str, exc: UnknownIdError) -> Response:
    return page(request, "error.html", {"title": f"Unknown {what}", "message": str(exc)}, 404)


@router.get("/app/knowledge/conditions/{condition_id}", response_class=HTMLResponse)
def condition(request: Request, condition_id: str) -> Response:
    """One condition: indications with evidence per system, criteria, regimens, review."""
    user = guard(request, "knowledge")
    if isinstance(user, Response):
        return user
    kb = state_of(request).kb
    try:
        cond = kb.condition(condition_id)
    except UnknownIdError as exc:
        return _not_found(request, "condition", exc)
    systems = {s["id"]: s for s in kb.data["evidence_systems"]}
    labels = {
        (s["id"], lv["id"]): lv["label"] for s in kb.data["evidence_systems"] for lv in s["levels"]
    }
    return page(
        request,
        "knowledge_condition.html",
        {"c": cond, "systems": systems, "labels": labels},
    )


@router.get("/app/knowledge/products/{product_id}", response_class=HTMLResponse)
def product(request: Request, product_id: str) -> Response:
    """One product with its properties and sources."""
    user = guard(request, "knowledge")
    if isinstance(user, Response):
        return user
    kb = state_of(request).kb
    try:
        prod = kb.product(product_id)
    except UnknownIdError as exc:
        return _not_found(request, "product", exc)
    return page(request, "knowledge_product.html", {"p": prod})


@router.get("/app/knowledge/sources", response_class=HTMLResponse)
def sources(request: Request) -> Response:
    """The bibliography."""
    user = guard(request, "knowledge")
    if isinstance(user, Response):
        return user
    kb = state_of(request).kb
    rows = sorted(kb.data["sources"], key=lambda s: s["id"])
    return page(request, "knowledge_sources.html", {"sources": rows})


@router.get("/app/knowledge/unverified", response_class=HTMLResponse)
def unverified(request: Request, area: str = "") -> Response:
    """Every fact marked unverified, by area."""
    user = guard(request, "knowledge")
    if isinstance(user, Response):
        return user
    kb = state_of(request).kb
    items = unverified_items(kb, area or None)
    areas = sorted({i["area"] for i in unverified_items(kb)})
    return page(
        request, "knowledge_unverified.html", {"items": items, "area": area, "areas": areas}
    )
