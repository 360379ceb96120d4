"""REST endpoints for the computations of the command line: recommend, dose, products, schedule,
scores, review, schemas. Each validates its body, calls the core and returns the core's object.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field

from ivig.contract import Patient
from ivig.contract import Request as IvigRequest
from ivig.results import Comparison, Recommendation
from ivig.service.auth import Principal, require_permission
from ivig.service.errors import ERROR_RESPONSES, IvigJSONResponse
from ivig.service.models import DoseQuery, ScoreChangeBody, ScoreItemsBody
from ivig.service.state import ServiceState, state_of
from ivig.vocabulary import Jurisdiction, Route

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["compute"], responses=ERROR_RESPONSES)

AnyUser = Annotated[Principal, Depends(require_permission("compute"))]
State = Annotated[ServiceState, Depends(state_of)]
JSON_OBJECT: dict[int | str, dict[str, Any]] = {200: {"model": dict[str, Any]}}


@router.get("/health", tags=["meta"])
def health(state: State) -> dict[str, Any]:
    """Liveness, the knowledge version and whether a registry is attached (no token needed)."""
    from ivig import ENGINE_VERSION

    return {
        "status": "ok",
        "knowledge_version": state.kb.version,
        "engine_version": ENGINE_VERSION,
        "registry": state.registry is not None,
    }


@router.get("/schema/{which}", tags=["meta"])
def schema(which: Literal["request", "recommendation"]) -> dict[str, Any]:
    """JSON Schema of the request or of the recommendation (as ``ivig schema``)."""
    from ivig.contract import recommendation_json_schema, request_json_schema

    return request_json_schema() if which == "request" else recommendation_json_schema()


@router.post(
    "/recommend",
    response_class=IvigJSONResponse,
    responses={200: {"model": Recommendation, "description": "The recommendation"}},
)
async def post_recommend(request: IvigRequest, state: State, user: AnyUser) -> IvigJSONResponse:
    """One explainable recommendation for one request (as ``ivig recommend``)."""
    from ivig.app.recommend import recommend_request

    # pure computation of well under a millisecond: on the event loop, no thread hand-off

    return IvigJSONResponse(recommend_request(state.kb, request))


@router.post(
    "/recommend/compare",
    response_class=IvigJSONResponse,
    responses={200: {"model": Comparison, "description": "One row per jurisdiction"}},
)
def post_compare(request: IvigRequest, state: State, user: AnyUser) -> IvigJSONResponse:
    """The same patient under every jurisdiction's policy and evidence (as ``ivig recommend
    --compare``)."""
    from ivig.app.compare import compare

    return IvigJSONResponse(compare(state.kb, request))


class OrderBody(BaseModel):
    """What was ordered: product, grams per day with days or a total, interval, rate."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    product: str | None = None
    grams_per_day: float | None = Field(
        None, strict=True, gt=0, le=100_000, description="g per day (with days)"
    )
    days: int | None = Field(None, strict=True, ge=1, le=366)
    total_g: float | None = Field(None, strict=True, gt=0, le=100_000)
    interval_weeks: float | None = Field(None, strict=True, ge=1 / 7, le=520)
    rate_ml_per_h: float | None = Field(None, strict=True, gt=0, le=100_000)


class CheckOrderBody(BaseModel):
    """A request and the regimen ordered for it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    request: IvigRequest
    order: OrderBody
    tolerance_pct: float | None = Field(
        None,
        ge=0,
        lt=1000,
        description="% above the policy dose that is flagged (default: the site setting, else "
        "the knowledge base's)",
    )


@router.post("/check-order", response_class=IvigJSONResponse, responses=JSON_OBJECT)
def post_check_order(body: CheckOrderBody, state: State, user: AnyUser) -> IvigJSONResponse:
    """The ordered regimen beside the policy plan, with findings graded info / warning /
    critical (as ``ivig check-order``)."""
    from ivig.app.order_check import check_order

    tolerance = body.tolerance_pct
    if tolerance is None:
        tolerance = state.settings.order_tolerance_pct
    order = body.order.model_dump(exclude_none=True)
    return IvigJSONResponse(check_order(state.kb, body.request, order, tolerance_pct=tolerance))


@router.post("/dose", response_class=IvigJSONResponse, responses=JSON_OBJECT)
def post_dose(query: DoseQuery, state: State, user: AnyUser) -> IvigJSONResponse:
    """Dosing weight, dose plan, daily split and rounding with the trace (as ``ivig dose``)."""
    from ivig.app.dose import dose

    return IvigJSONResponse(dose(state.kb, query.model_dump()))


class ProductsQuery(BaseModel):
    """The patient and the stock: which products suit, which to avoid, and why."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    patient: Patient
    formulary: list[str] | None = None
    jurisdiction: Jurisdiction = "international"
    route: Route | None = None
    condition: str | None = Field(None, description="condition id (labelled-indication rules)")
    include_discontinued: bool = False


@router.post("/products", response_class=IvigJSONResponse, responses=JSON_OBJECT)
def post_products(query: ProductsQuery, state: State, user: AnyUser) -> IvigJSONResponse:
    """The patient's risk profile and the products ranked for it (as ``ivig products``)."""
    from ivig.app.products import rank

    return IvigJSONResponse(
        rank(
            state.kb,
            query.patient,
            formulary=query.formulary,
            jurisdiction=query.jurisdiction,
            route=query.route,
            condition=query.condition,
            include_discontinued=query.include_discontinued,
        )
    )


class ScheduleQuery(BaseModel):
    """One day's infusion of one product: rates in mg/kg/min and mL/h, steps and duration."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    product: str
    weight_kg: float = Field(description="dosing weight, kg")
    dose_g: float = Field(description="grams given that day")
    risk_factors: list[str] = Field(default_factory=list, description="risk-factor ids")
    first_infusion: bool = False
    condition: str | None = None
    jurisdiction: Jurisdiction | None = None
    route: Route | None = None
    at_risk_rate_mg_per_kg_per_min: float | None = None
    step_interval_min: float | None = None
    concentration_percent: float | None = None
    age_years: float | None = None
    sites: int | None = None


@router.post("/schedule", response_class=IvigJSONResponse, responses=JSON_OBJECT)
def post_schedule(query: ScheduleQuery, state: State, user: AnyUser) -> IvigJSONResponse:
    """The infusion schedule with its monitoring plan (as ``ivig schedule``)."""
    from ivig.app.products import schedule

    return IvigJSONResponse(schedule(state.kb, query.model_dump()))


@router.post("/scores/{score_id}", response_class=IvigJSONResponse, responses=JSON_OBJECT)
def post_score(
    score_id: str, body: ScoreItemsBody, state: State, user: AnyUser
) -> IvigJSONResponse:
    """A clinical score from its items, with bands, MCID and sources (as ``ivig score``)."""
    from ivig.app.scores import score

    return IvigJSONResponse(score(state.kb, score_id, body.items))


@router.post("/scores/{score_id}/change", response_class=IvigJSONResponse, responses=JSON_OBJECT)
def post_score_change(
    score_id: str, body: ScoreChangeBody, state: State, user: AnyUser
) -> IvigJSONResponse:
    """The change of a score between two assessments, improvement positive."""
    from ivig.app.scores import score_change

    return IvigJSONResponse(score_change(state.kb, score_id, body.baseline, body.follow_up))


@router.post("/review", response_class=IvigJSONResponse, responses=JSON_OBJECT)
def post_review(
    history: Annotated[dict[str, Any], Body(description="course history, as `ivig review`")],
    state: State,
    user: AnyUser,
) -> IvigJSONResponse:
    """Is the immunoglobulin working? Verdict, reasons, next steps, next review."""
    from ivig.app.scores import review

    return IvigJSONResponse(review(state.kb, history))
