"""CDS Hooks 2.0 endpoints: discovery, the order and review services, feedback.

Every call, discovery included, is authenticated with the EHR's JWT (see
:mod:`ivig.service.security`). A malformed hook request answers 422; data the patient's record
lacks becomes a card; data the service cannot reach at all answers 412.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from ivig.errors import InputError, InvalidRequestError, IvigError
from ivig.service.cds import cards as K
from ivig.service.cds.gather import PrefetchUnavailable, gather_resources
from ivig.service.cds.services import (
    ORDER_PREFETCH,
    REVIEW_SERVICE_ID,
    discovery,
    hooks_of,
)
from ivig.service.errors import ERROR_RESPONSES, IvigJSONResponse
from ivig.service.security import Unauthorized, bearer_token
from ivig.service.state import ServiceState, fhir_server_allowed, get_state, state_of

__all__ = ["router"]


async def cds_client(request: Request) -> dict[str, Any] | None:
    """Verify the EHR's JWT (``aud`` = this service's base URL or the URL called)."""
    state = get_state(request)
    if not state.settings.cds_require_jwt:
        return None
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized("no bearer token")
    base = state.settings.public_base_url.rstrip("/")
    claims = await state.cds_verifier.verify(token, [base, base + request.url.path])
    request.state.cds_issuer = claims.get("iss")
    return claims


router = APIRouter(
    prefix="/cds-services",
    tags=["cds-hooks"],
    dependencies=[Depends(cds_client)],
    responses={401: ERROR_RESPONSES[401], 422: ERROR_RESPONSES[422]},
)
State = Annotated[ServiceState, Depends(state_of)]


class FhirAuthorization(BaseModel):
    model_config = ConfigDict(extra="allow")
    access_token: str
    token_type: Literal["Bearer"]
    #: optional here: a call whose prefetch suffices never needs the token
    expires_in: int | None = None
    scope: str
    subject: str
    patient: str | None = None


class HookRequest(BaseModel):
    """A CDS Hooks 2.0 service request."""

    model_config = ConfigDict(extra="allow")
    hook: str
    hookInstance: str = Field(min_length=1)
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any | None] | None = None

    @model_validator(mode="after")
    def _server_with_token(self) -> HookRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirServer is required when fhirAuthorization is given")
        return self


class Card(BaseModel):
    model_config = ConfigDict(extra="allow")
    summary: str = Field(max_length=140)
    indicator: Literal["info", "warning", "critical"]
    source: dict[str, Any]


class CdsResponse(BaseModel):
    cards: list[Card]


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    card: str = Field(min_length=1)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[dict[str, Any]] | None = None
    overrideReason: dict[str, Any] | None = None
    outcomeTimestamp: str = Field(min_length=1)

    @model_validator(mode="after")
    def _accepted_names_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when the outcome is accepted")
        return self


class FeedbackBody(BaseModel):
    feedback: list[FeedbackItem]


@router.get("", response_class=IvigJSONResponse)
def get_discovery() -> dict[str, Any]:
    """The services, their hooks and prefetch templates."""
    return discovery()


_CONTEXT_NEEDS = {
    "order-select": ("userId", "patientId", "selections", "draftOrders"),
    "order-sign": ("userId", "patientId", "draftOrders"),
    "patient-view": ("userId", "patientId"),
}


def _check_context(hook: str, context: dict[str, Any]) -> None:
    problems: list[dict[str, object]] = [
        {"field": f"context.{name}", "value": None, "message": f"required by the {hook} hook"}
        for name in _CONTEXT_NEEDS[hook]
        if name not in context
    ]
    if problems:
        raise InvalidRequestError(problems)
    if not isinstance(context["patientId"], str) or not context["patientId"]:
        raise InputError("context.patientId", context["patientId"], "a Patient id")
    if "draftOrders" in context:
        draft = context["draftOrders"]
        if not isinstance(draft, dict) or draft.get("resourceType") != "Bundle":
            raise InputError("context.draftOrders", type(draft).__name__, "a FHIR Bundle")
    if "selections" in context and not (
        isinstance(context["selections"], list)
        and all(isinstance(s, str) for s in context["selections"])
    ):
        raise InputError("context.selections", "(not a list of text)", "a list of references")


@router.post(
    "/{service_id}",
    response_class=IvigJSONResponse,
    responses={
        200: {"model": CdsResponse, "description": "Cards (an empty list: no advice)"},
        404: {"description": "No such service"},
        412: {"description": "Needed data is in neither the prefetch nor the FHIR server"},
    },
)
async def call_service(
    service_id: str, body: HookRequest, state: State, request: Request
) -> IvigJSONResponse:
    """Answer one hook call with cards."""
    hooks = hooks_of(service_id)
    if not hooks:
        return IvigJSONResponse({"detail": f"no CDS service {service_id!r}", "problems": []}, 404)
    if body.hook not in hooks:
        raise InputError("hook", body.hook, ", ".join(sorted(hooks)), detail=service_id)
    hook_request: dict[str, Any] = {"context": body.context, "prefetch": body.prefetch or {}}
    if body.fhirServer and fhir_server_allowed(state, request, body.fhirServer):
        hook_request["fhirServer"] = body.fhirServer
    if body.fhirAuthorization is not None:
        hook_request["fhirAuthorization"] = body.fhirAuthorization.model_dump(exclude_none=True)
    context = body.context
    _check_context(body.hook, context)
    if service_id == REVIEW_SERVICE_ID:
        review = await run_in_threadpool(_review_cards, state, context["patientId"])
        return IvigJSONResponse({"cards": review})
    result = await _order_service(state, body.hook, hook_request)
    if isinstance(result, IvigJSONResponse):
        return result
    return IvigJSONResponse({"cards": result})


#: immunoglobulin orders checked in one hook call: a real order set holds one or two; each costs
#: a few milliseconds on the event loop and reads every draft, so a body of hundreds of copies
#: must not block the worker (the others get one card saying they were not checked)
MAX_IG_ORDERS = 5


async def _order_service(
    state: ServiceState, hook: str, hook_request: dict[str, Any]
) -> list[dict[str, Any]] | IvigJSONResponse:
    """Cards for the draft immunoglobulin orders of an order-select or order-sign call."""
    from ivig.service.fhir.orders import classify_order
    from ivig.service.fhir.read import bundle_resources
    from ivig.service.fhir.record import Record

    context = hook_request["context"]
    full_urls: dict[int, str] = {}
    # every draft resource stays readable (a selected order's Medication is a draft entry of
    # its own, named by a urn:uuid); only the selected orders are checked
    drafts = bundle_resources(context["draftOrders"], "context.draftOrders", full_urls)
    record = Record(drafts, full_urls)
    to_check = [d for d in drafts if d.get("resourceType") == "MedicationRequest"]
    if hook == "order-select":
        chosen = set(context["selections"])
        to_check = [d for d in to_check if record.ref(d) in chosen or _named(d, full_urls) & chosen]
    codes = state.settings.ig_medication_codes
    cards: list[dict[str, Any]] = []
    orders = []
    for draft in to_check:
        match = classify_order(state.kb, record, draft, codes)
        if match is None:
            continue
        if match.is_normal:
            orders.append(draft)
        else:
            cards.append(
                K.out_of_scope_card(
                    state.kb, state.settings.knowledge_url, match.name, match.via, record.ref(draft)
                )
            )
    if not orders:
        return cards
    try:
        resources, fetched = await gather_resources(
            hook_request, ORDER_PREFETCH, state.http_client, full_urls=full_urls
        )
    except PrefetchUnavailable as exc:
        body_412 = {
            "detail": str(exc),
            "problems": [{"field": f"prefetch.{k}", "message": "needed"} for k in exc.keys],
        }
        return IvigJSONResponse(body_412, status_code=412)
    checked, skipped = orders[:MAX_IG_ORDERS], orders[MAX_IG_ORDERS:]
    history = _history_received(hook_request, fetched)
    checks: list[tuple[str, dict[str, Any]]] = []
    for order in checked:  # pure computation of a few milliseconds: run on the event loop
        cards += _order_cards(
            state,
            resources + drafts,
            order,
            context["patientId"],
            full_urls,
            history=history,
            checks=checks,
        )
    if len(checks) > 1:  # two orders of one course (or one course twice): judged together
        cards.append(K.together_card(state.kb, state.settings.knowledge_url, checks))
    if skipped:
        cards.append(
            K.error_card(
                state.kb,
                state.settings.knowledge_url,
                f"{len(skipped)} more immunoglobulin order(s) not checked: at most "
                f"{MAX_IG_ORDERS} are checked in one call ("
                + ", ".join(record.ref(o) for o in skipped[:5])
                + (" ..." if len(skipped) > 5 else "")
                + ")",
            )
        )
    return cards


def _history_received(hook_request: dict[str, Any], fetched: list[str]) -> bool:
    """Whether the patient's immunoglobulin order history reached the service: prefetched (a
    Bundle, or ``null``: the EHR says there is none) or fetched from its FHIR server."""
    if "igOrders" in fetched:
        return True
    prefetch = hook_request.get("prefetch") or {}
    if "igOrders" not in prefetch:
        return False
    value = prefetch["igOrders"]
    return value is None or (isinstance(value, dict) and value.get("resourceType") == "Bundle")


def _named(resource: dict[str, Any], full_urls: dict[int, str]) -> set[str]:
    full = full_urls.get(id(resource))
    return {full} if full else set()


def _order_cards(
    state: ServiceState,
    resources: list[dict[str, Any]],
    order: dict[str, Any],
    patient_id: str,
    full_urls: dict[int, str],
    *,
    history: bool = True,
    checks: list[tuple[str, dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    from ivig.app.order_check import check_order
    from ivig.app.recommend import recommend_either_sex, recommend_request, validate
    from ivig.service.fhir.read import read_resources

    settings, kb = state.settings, state.kb
    try:
        found = read_resources(
            kb,
            resources,
            today=settings.today(),
            patient_id=patient_id,
            order=order,
            jurisdiction=settings.jurisdiction,
            ig_codes=settings.ig_medication_codes,
            full_urls=full_urls,
            order_history=history,
            sex_unknown_ok=True,
        )
        if "sex" in found["request"]["patient"]:
            request = validate(found["request"])
            rec = recommend_request(kb, request)
        else:  # gender unknown: used only if the plan is the same for both
            request, rec = recommend_either_sex(kb, found["request"])
        dose = rec.get("dose")
        ordered = found["ordered"] or {}
        if dose:  # read again on the plan's dosing weight (a dose or rate per kg, mg/kg/min)
            ordered = _order_on_plan(state, resources, full_urls, order, ordered, rec, found)
        check = (
            check_order(kb, request, ordered, tolerance_pct=settings.order_tolerance_pct, plan=rec)
            if dose
            else None
        )
    except InvalidRequestError as exc:
        lines = [f"- {p['field']}: {p['message']}" for p in exc.problems]
        return [
            K.error_card(
                kb,
                settings.knowledge_url,
                "\n".join(["the record gives values ivig cannot use", *lines]),
            )
        ]
    except IvigError as exc:
        return [K.error_card(kb, settings.knowledge_url, str(exc))]
    notes = [*found["notes"], *(f"unverified: {u}" for u in found["unverified"])]
    if checks is not None and check is not None and check["ordered_total_g"] is not None:
        checks.append((found["references"].get("order") or "the order", dict(check)))
    return K.recommendation_cards(
        kb,
        rec,
        knowledge_url=settings.knowledge_url,
        order=order,
        patient_ref=found["references"]["patient"],
        references=found["references"],
        notes=notes,
        reading=found,
        check=check,
        web_base=settings.public_base_url,
        form_secret=state.form_secret,
    )


def _order_on_plan(
    state: ServiceState,
    resources: list[dict[str, Any]],
    full_urls: dict[int, str],
    order: dict[str, Any],
    ordered: dict[str, Any],
    rec: Any,
    found: dict[str, Any],
) -> dict[str, Any]:
    """The draft read again with the plan's dosing weight and infusion schedule, so that a dose
    per kg or in mL and a rate per kg or in mg/kg/min are checked (an order of 20 g/kg x 5 days
    was "no dose to compare"); how it was read, and what could not be, goes to the notes."""
    from ivig.service.fhir.orders import read_order
    from ivig.service.fhir.record import Record

    reading = read_order(
        state.kb,
        Record(resources, full_urls, shape_checked=True),  # read_resources checked them
        order,
        product=ordered.get("product"),
        dosing_weight_kg=float(rec["dose"]["dosing_weight_kg"]),
        plan_infusion=rec.get("infusion"),
    )
    found["notes"] = [*found["notes"], *reading.notes]
    return reading.order


def _review_cards(state: ServiceState, patient_id: str) -> list[dict[str, Any]]:
    if state.registry is None:
        return []
    from ivig.registry import api

    with state.registry.session() as session:
        rows = api.reviews_due(session, today=state.settings.today())
    wanted = {patient_id, f"Patient/{patient_id}"}
    mine = [r for r in rows if str(r.get("patient_ref")) in wanted]
    return [K.review_due_card(state.kb, state.settings.knowledge_url, r) for r in mine]


@router.post(
    "/{service_id}/feedback",
    response_class=IvigJSONResponse,
    responses={200: {"model": dict[str, Any]}, 404: {"description": "No such service"}},
)
def post_feedback(service_id: str, body: FeedbackBody, state: State) -> IvigJSONResponse:
    """Record what the clinician did with each card (idempotent)."""
    if not hooks_of(service_id):
        return IvigJSONResponse({"detail": f"no CDS service {service_id!r}", "problems": []}, 404)
    recorded = 0
    for item in body.feedback:
        data = item.model_dump(exclude_none=True)
        if state.registry is not None:  # stored first, acknowledged after (idempotent)
            if not _record_in_registry(state, service_id, data):
                continue
        elif not state.feedback.record(service_id, data):
            continue  # the same card, outcome and time again: already recorded
        recorded += 1
    return IvigJSONResponse({"recorded": recorded})


def _record_in_registry(state: ServiceState, service_id: str, data: dict[str, Any]) -> bool:
    from ivig.registry import api

    reason = data.get("overrideReason")
    with state.registry.session() as session:  # type: ignore[union-attr]
        out = api.record_cds_feedback(
            session,
            card_id=data["card"],
            outcome=data["outcome"],
            service_id=service_id,
            override_reasons=[reason] if reason else None,
            outcome_timestamp=data["outcomeTimestamp"],
            payload=data,
        )
    return not out.get("duplicate", False)
