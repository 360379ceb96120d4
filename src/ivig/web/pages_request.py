"""Pages of a request: the new-request form, the recommendation, the stored request with its
authorisation, and the printable order sheet. Every figure shown comes from the core's
recommendation object; nothing is recomputed here."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ivig.app.findings import needed_findings
from ivig.errors import InputError, InvalidRequestError, IvigError
from ivig.web import forms
from ivig.web.deps import config_of, guard, page, state_of
from ivig.web.session import COOKIE_NAME, check_csrf

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["compute", "form_context", "router"]

router = APIRouter()

FormValues = dict[str, list[str]]
_NO_REGISTRY = "This server runs without a registry."
_EXPIRED = "Reload the page and try again."


def _error(request: Request, title: str, message: str, status: int) -> Response:
    return page(request, "error.html", {"title": title, "message": message}, status)


async def _form(request: Request) -> FormValues:
    data = await request.form()
    return {key: [str(v) for v in data.getlist(key)] for key in data}


def _one(values: FormValues, name: str) -> str:
    items = values.get(name) or [""]
    return items[0].strip()


def form_context(kb: KnowledgeBase, values: FormValues, errors: dict[str, str]) -> dict[str, Any]:
    """What the form template needs: fields, choices and the condition's indications."""
    text = _one(values, "condition")
    condition_id = kb.resolve_condition(text) if text else None
    indication_id = _one(values, "indication") or None
    condition = kb.condition(condition_id) if condition_id else None
    indications = condition["indications"] if condition else []
    if indication_id and not any(i["id"] == indication_id for i in indications):
        indication_id = None
    suggestions: list[dict[str, str]] = []
    if text and condition_id is None:
        suggestions = [
            {"id": c, "name": kb.condition(c)["name"]} for c in kb.search_conditions(text)
        ]
        errors.setdefault(
            "condition", f"{text!r} is not a condition ivig knows; pick one of the suggestions"
        )
    names = needed_findings(kb, condition_id, indication_id, _one(values, "phase") or None)
    return {
        "notice": None,
        "values": values,
        "val": lambda name: _one(values, name),
        "errors": errors,
        "condition": condition,
        "indications": indications,
        "indication_id": indication_id,
        "suggestions": suggestions,
        "patient_fields": forms.patient_fields(kb),
        "lab_fields": forms.lab_fields(),
        "finding_fields": forms.finding_fields(kb, names),
        "conditions": sorted(kb.conditions(), key=lambda c: c["name"].lower()),
        "jurisdictions": kb.data["jurisdictions"],
        "policies": kb.data["dosing"]["policies"],
        "roundings": kb.data["dosing"]["rounding"],
        "risk_factors": kb.data["risk_factors"],
        "products": sorted(kb.data["products"], key=lambda p: p["name"].lower()),
    }


def _sheet(request: Request, rec: dict[str, Any] | None, patient_ref: str) -> dict[str, Any]:
    """The order sheet's view model, shown as the answer first and printed as the order."""
    if not rec:
        return {}
    from ivig.render.html import sheet_context

    state = state_of(request)
    condition = rec["eligibility"].get("condition")
    known = condition and condition in {c["id"] for c in state.kb.conditions()}
    name = state.kb.condition(condition)["name"] if known else ""
    from ivig.web.glossary import plain

    today = state.settings.today()
    sheet = sheet_context(rec, patient_ref=patient_ref, today=today, condition_name=name)
    for key in ("warnings", "provisional", "unverified"):  # ids in the core's words as names
        sheet[key] = [plain(state.kb, w) for w in sheet[key]]
    return sheet


def compute(kb: KnowledgeBase, values: FormValues) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The recommendation for the form, or the problems by field."""
    from ivig.app.recommend import recommend

    data, parse_errors = forms.parse_form(kb, values)
    try:
        rec: dict[str, Any] = dict(recommend(kb, data))
    except InvalidRequestError as exc:
        return None, {**forms.errors_by_field(exc.problems), **parse_errors}
    except InputError as exc:
        return None, {**forms.errors_by_field([exc.to_dict()]), **parse_errors}
    if parse_errors:
        return None, parse_errors
    return rec, {}


@router.get("/app/request/new", response_class=HTMLResponse)
def new_request(request: Request) -> Response:
    """The empty form (``?condition=`` and ``?indication=`` preselect)."""
    user = guard(request, "request")
    if isinstance(user, Response):
        return user
    values, notice = _opened_values(request)
    values.setdefault("phase", ["induction"])
    ctx = form_context(state_of(request).kb, values, {})
    if not values.get("condition", [""])[0]:
        ctx["errors"].pop("condition", None)
    ctx["notice"] = notice
    return page(request, "request_form.html", ctx)


def _opened_values(request: Request) -> tuple[FormValues, str | None]:
    """The form's values from the query: its fields, or the sealed ``prefill`` of a CDS card's
    link (:mod:`ivig.app.form_link`); a prefill that cannot be opened gives an empty form and
    the reason."""
    from ivig.app.form_link import PrefillError, unseal

    token = request.query_params.get("prefill")
    if token is None:
        return {k: [v] for k, v in request.query_params.items()}, None
    try:
        fields = unseal(token, config_of(request).secret)
    except PrefillError as exc:
        return {}, (
            f"The form could not be filled from the EHR: {exc}. "
            "Open the order in the EHR again, or type the values."
        )
    values: FormValues = {}
    for key, value in fields:
        values.setdefault(key, []).append(value)
    return values, "Filled from the EHR: check every value, then complete the empty findings."


@router.get("/app/request/fields", response_class=HTMLResponse)
def condition_fields(request: Request) -> Response:
    """The indication choice and findings fieldset for a condition (refreshed by app.js)."""
    user = guard(request, "request")
    if isinstance(user, Response):
        return user
    values: FormValues = {k: [v] for k, v in request.query_params.items()}
    ctx = form_context(state_of(request).kb, values, {})
    return page(request, "_condition_fields.html", ctx)


@router.post("/app/request", response_class=HTMLResponse)
async def post_request(request: Request) -> Response:
    """Show the recommendation, or the form again with a message next to each bad field."""
    user = guard(request, "request")
    if isinstance(user, Response):
        return user
    values = await _form(request)
    kb = state_of(request).kb
    pick = _one(values, "pick_condition")
    if pick:
        values["condition"] = [pick]
        values.pop("indication", None)
    if pick or "refresh" in values.get("action", []):
        return page(request, "request_form.html", form_context(kb, values, {}))
    rec, errors = compute(kb, values)
    if rec is None:
        ctx = form_context(kb, values, errors)
        return page(request, "request_form.html", ctx, status=422)
    return page(
        request,
        "recommendation.html",
        {
            "rec": rec,
            "stored": None,
            "request_json": json.dumps(rec["request"]),
            "patient_ref": _one(values, "patient_ref"),
            "sheet": _sheet(request, rec, _one(values, "patient_ref")),
        },
    )


def _request_body(raw: str) -> dict[str, Any] | str:
    """The stored form's request object, or the problem with it."""
    try:
        body = json.loads(raw) if raw else None
    except json.JSONDecodeError as exc:
        return f"request_json: not valid JSON ({exc.msg})"
    except (ValueError, RecursionError):  # a number of thousands of digits, nesting too deep
        return "request_json: not a request ivig can read (nested too deeply or a number too long)"
    if not isinstance(body, dict):
        return "request_json: a request object is required"
    return body


@router.get("/app/request/compare", response_class=HTMLResponse)
def compare_without_a_request(request: Request) -> Response:
    """Reached by signing in again after a comparison's session expired: start a request."""
    return RedirectResponse("/app/request/new", status_code=303)


@router.post("/app/request/compare", response_class=HTMLResponse)
async def compare_request(request: Request) -> Response:
    """The recommendation's patient under every jurisdiction's policy, side by side."""
    user = guard(request, "request")
    if isinstance(user, Response):
        return user
    from ivig.app.compare import compare

    body = _request_body(_one(await _form(request), "request_json"))
    if isinstance(body, str):
        return _error(request, "Not compared", body, 422)
    try:
        result = compare(state_of(request).kb, body)
    except IvigError as exc:
        return _error(request, "Not compared", str(exc), 422)
    return page(request, "compare.html", {"cmp": result})


@router.post("/app/requests", response_class=HTMLResponse)
async def submit_request(request: Request) -> Response:
    """Store the request and its recommendation in the registry for authorisation."""
    user = guard(request, "submit_request")
    if isinstance(user, Response):
        return user
    values = await _form(request)
    if not check_csrf(config_of(request), request.cookies.get(COOKIE_NAME), _one(values, "csrf")):
        return _error(request, "Form expired", _EXPIRED, 403)
    state = state_of(request)
    if state.registry is None:
        return _error(request, "No registry", _NO_REGISTRY, 409)
    from ivig.registry import api

    body = _request_body(_one(values, "request_json"))
    if isinstance(body, str):
        return _error(request, "Not stored", body, 422)
    try:
        with state.registry.session() as session:
            made = api.create_request(
                session, body, patient_ref=_one(values, "patient_ref"), actor=user.username,
                knowledge=state.kb,
            )  # fmt: skip
    except IvigError as exc:
        return _error(request, "Not stored", str(exc), 422)
    return RedirectResponse(f"/app/requests/{made['request_id']}", status_code=303)


def _stored(request: Request, request_id: int) -> dict[str, Any] | Response:
    state = state_of(request)
    if state.registry is None:
        return _error(request, "No registry", _NO_REGISTRY, 404)
    from ivig.registry import api

    try:
        with state.registry.session() as session:
            found: dict[str, Any] = api.get_request(session, request_id)
    except InputError:
        return _error(request, "Not found", f"No request {request_id}.", 404)
    return found


@router.get("/app/requests/{request_id}", response_class=HTMLResponse)
def stored_request(request: Request, request_id: int) -> Response:
    """A stored request: its recommendation as stored, its authorisations and courses."""
    user = guard(request, "patients")
    if isinstance(user, Response):
        return user
    found = _stored(request, request_id)
    if isinstance(found, Response):
        return found
    return page(
        request,
        "recommendation.html",
        {
            "rec": found["recommendation"],
            "stored": found,
            "request_json": "",
            "patient_ref": "",
            "sheet": _sheet(request, found["recommendation"], found["patient_ref"]),
        },
    )


@router.post("/app/requests/{request_id}/authorise", response_class=HTMLResponse)
async def authorise(request: Request, request_id: int) -> Response:
    """The steward's decision on a pending request."""
    user = guard(request, "authorise")
    if isinstance(user, Response):
        return user
    values = await _form(request)
    if not check_csrf(config_of(request), request.cookies.get(COOKIE_NAME), _one(values, "csrf")):
        return _error(request, "Form expired", _EXPIRED, 403)
    state = state_of(request)
    if state.registry is None:
        return _error(request, "No registry", _NO_REGISTRY, 404)
    from ivig.registry import api

    review_date = _one(values, "review_date") or None
    expiry_date = _one(values, "expiry_date") or None
    try:
        with state.registry.session() as session:
            api.authorise(
                session, request_id, outcome=_one(values, "outcome"),
                reason=_one(values, "reason"), actor=user.username,
                review_date=review_date, expiry_date=expiry_date,
            )  # fmt: skip
    except IvigError as exc:
        found = _stored(request, request_id)
        if isinstance(found, Response):
            return found
        ctx = {"rec": found["recommendation"], "stored": found, "request_json": "",
               "patient_ref": "", "authorise_error": str(exc), "values": values,
               "sheet": _sheet(request, found["recommendation"], found["patient_ref"])}  # fmt: skip
        return page(request, "recommendation.html", ctx, status=422)
    return RedirectResponse(f"/app/requests/{request_id}?authorised=1", status_code=303)


@router.get("/app/requests/{request_id}/order-sheet", response_class=HTMLResponse)
def order_sheet(request: Request, request_id: int) -> Response:
    """The printable order sheet of a stored request (``ivig.render.html``)."""
    user = guard(request, "patients")
    if isinstance(user, Response):
        return user
    found = _stored(request, request_id)
    if isinstance(found, Response):
        return found
    from ivig.render.html import environment

    sheet = _sheet(request, found["recommendation"], found["patient_ref"])
    template = environment().get_template("order_sheet.html")
    return HTMLResponse(template.render(sheet=sheet, sheet_css_url="/app/order-sheet.css"))


@router.get("/app/order-sheet.css")
def order_sheet_css() -> Response:
    """The order sheet's stylesheet (the pages allow no inline style)."""
    from ivig.render.html import TEMPLATES

    css = (TEMPLATES / "order_sheet.css").read_text(encoding="utf-8")
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})
