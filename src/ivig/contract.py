"""The public request contract (issue 5): what a clinician or pharmacist sends to ivig.

These are ``TypedDict`` types: the core works on plain data and imports this module only for
type checking; adapters validate incoming JSON/YAML against it with pydantic
(``TypeAdapter(Request)``), which also generates the JSON Schema (``ivig schema request``).
The names are public and stable; add fields freely, never rename.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal, NotRequired, Required

from annotated_types import Ge, Gt
from pydantic import ConfigDict, TypeAdapter, with_config
from typing_extensions import TypedDict

__all__ = [
    "Eligibility",
    "Jurisdiction",
    "Labs",
    "Patient",
    "Phase",
    "Recommendation",
    "Request",
    "Rounding",
    "Sex",
    "recommendation_json_schema",
    "request_json_schema",
    "validate_request",
]

FORBID = ConfigDict(extra="forbid")

Sex = Literal["female", "male"]
Phase = Literal["induction", "maintenance", "one_off"]
Jurisdiction = Literal["international", "au", "ontario", "uk", "us", "br"]
Rounding = Literal["none", "nearest-5g", "vials"]


@with_config(FORBID)
class Labs(TypedDict):
    """Laboratory results; every field optional, units in the names.

    Plausibility limits are knowledge data (``dosing.limits``), checked by
    ``ivig.core.request_check``.
    """

    iga_g_per_l: NotRequired[Annotated[float, Ge(0)]]
    anti_iga_antibodies: NotRequired[bool]
    egfr_ml_per_min_1_73m2: NotRequired[Annotated[float, Ge(0)]]
    creatinine_umol_per_l: NotRequired[Annotated[float, Ge(0)]]
    haemoglobin_g_per_l: NotRequired[Annotated[float, Ge(0)]]
    igg_g_per_l: NotRequired[Annotated[float, Ge(0)]]
    blood_group: NotRequired[Literal["O", "A", "B", "AB"]]


@with_config(FORBID)
class Patient(TypedDict):
    """The patient as the dose engine, the product ranking and the criteria see them."""

    sex: Sex
    age_years: Annotated[float, Ge(0)]
    weight_kg: Annotated[float, Gt(0)]
    height_cm: NotRequired[Annotated[float, Gt(0)]]
    pregnant: NotRequired[bool]
    pre_pregnancy_weight_kg: NotRequired[Annotated[float, Gt(0)]]
    labs: NotRequired[Labs]
    #: ids from ``ivig kb risk-factors``
    risk_factors: NotRequired[list[str]]
    #: first immunoglobulin infusion ever, or first with this product
    first_infusion: NotRequired[bool]
    product_switch: NotRequired[bool]
    #: weeks since the last immunoglobulin infusion (more than 8: first-infusion rules apply)
    weeks_since_last_infusion: NotRequired[Annotated[float, Ge(0)]]


@with_config(FORBID)
class Request(TypedDict):
    """One request for immunoglobulin (``ivig recommend REQUEST``)."""

    patient: Patient
    condition: str
    indication: NotRequired[str]
    phase: Phase
    findings: NotRequired[dict[str, bool | int | float | str]]
    jurisdiction: NotRequired[Jurisdiction]
    dosing_weight_policy: NotRequired[str]
    rounding: NotRequired[Rounding]
    regimen: NotRequired[str]
    route: NotRequired[Literal["iv", "sc"]]
    formulary: NotRequired[list[str]]
    product: NotRequired[str]
    #: written justification when the prescriber opts out of the policy's weight rule
    policy_opt_out_justification: NotRequired[str]


# -- the recommendation (output) -------------------------------------------------------------


class EvidenceOut(TypedDict):
    system: str
    system_name: str
    level: str
    label: str
    note: str | None
    source: str
    sources: list[str]
    verified: bool
    jurisdiction_system: bool


class CriterionOut(TypedDict):
    id: str
    text: str
    test: str
    sources: list[str]
    verified: bool


class MissingFinding(TypedDict):
    name: str
    type: str
    description: str
    needed_by: list[str]
    unit: NotRequired[str]
    allowed: NotRequired[list[str]]
    min: NotRequired[float]
    max: NotRequired[float]


class Eligibility(TypedDict):
    status: Literal[
        "supported",
        "supported_with_conditions",
        "not_supported",
        "insufficient_information",
        "out_of_scope",
    ]
    reason: str
    indication: str | None
    role: str | None
    evidence: list[EvidenceOut]
    unmet: list[CriterionOut]
    missing: list[MissingFinding]
    condition: NotRequired[str]
    indication_name: NotRequired[str]
    met: NotRequired[list[CriterionOut]]
    exclusions: NotRequired[list[CriterionOut]]
    conditions: NotRequired[list[str]]
    diagnosed_by: NotRequired[list[str]]
    alternatives: NotRequired[list[dict[str, Any]]]
    sources: NotRequired[list[str]]
    considered: NotRequired[list[str]]


class DosingWeightOut(TypedDict):
    kg: float
    method: Literal["actual", "ideal", "adjusted", "pre_pregnancy"]
    actual_kg: float
    ideal_kg: float | None
    adjusted_kg: float | None
    bmi_kg_per_m2: float | None
    policy: str
    rule: dict[str, Any]
    opt_out_justification: str | None
    steps: list[dict[str, Any]]
    verified: bool


class DoseDay(TypedDict):
    day: int
    grams: float
    volume_ml: NotRequired[float]
    vials: NotRequired[list[dict[str, float]]]


class DoseOut(TypedDict):
    indication: str
    phase: Phase
    route: Literal["iv", "sc"]
    regimen: dict[str, Any]
    g_per_kg: float
    g_per_kg_per_day: float
    dosing_weight_kg: float
    target_total_g: float
    total_g: float
    max_total_g: float
    days: list[DoseDay]
    interval_weeks: float | None
    rounding: dict[str, Any]
    product: str | None
    concentration_g_per_ml: float | None
    steps: list[dict[str, Any]]
    unverified: list[str]
    sc_equivalent: NotRequired[dict[str, Any]]


class ProductOut(TypedDict, total=False):
    id: Required[str]
    name: Required[str]
    status: Required[Literal["preferred", "acceptable", "caution", "excluded"]]
    reasons: Required[list[dict[str, Any]]]


class InfusionStep(TypedDict, total=False):
    start_min: Required[float]
    rate_mg_per_kg_per_min: Required[float]
    rate_ml_per_h: Required[float]


class InfusionOut(TypedDict, total=False):
    product: Required[str]
    steps: Required[list[InfusionStep]]
    max_rate_mg_per_kg_per_min: Required[float]
    duration_min: Required[float]


class ReviewPlan(TypedDict):
    first_review_weeks: dict[str, float] | None
    interval_weeks: dict[str, float] | None
    measures: list[dict[str, str]]
    baseline_required: list[str]
    response_definition: str
    trial_off: str | None
    stop_rule: str | None
    sources: list[str]
    verified: bool


class SourceOut(TypedDict):
    id: str
    citation: str


class Recommendation(TypedDict):
    """What ``ivig recommend`` returns (``ivig schema recommendation``)."""

    request: Request
    eligibility: Eligibility
    dosing_weight: DosingWeightOut | None
    dose: DoseOut | None
    products: list[ProductOut]
    infusion: InfusionOut | None
    monitoring: list[Any]
    review: ReviewPlan | None
    warnings: list[str]
    unverified: list[str]
    sources: list[SourceOut]
    knowledge_version: str
    engine_version: str
    disclaimer: str
    risk_profile: NotRequired[list[dict[str, Any]]]


@cache
def _request_adapter() -> TypeAdapter[Request]:
    return TypeAdapter(Request)


def validate_request(data: object) -> Request:
    """``data`` as a :class:`Request`; raise ``InvalidRequestError`` naming every bad field."""
    from pydantic import ValidationError

    from ivig.errors import InvalidRequestError

    try:
        request: Request = _request_adapter().validate_python(data)
    except ValidationError as exc:
        problems: list[dict[str, object]] = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "(request)"
            value = err.get("input")
            shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
            problems.append({"field": field, "value": value, "message": f"{err['msg']}{shown}"})
        raise InvalidRequestError(problems) from None
    return request


def request_json_schema() -> dict[str, Any]:
    from pydantic import TypeAdapter

    return TypeAdapter(Request).json_schema()


def recommendation_json_schema() -> dict[str, Any]:
    from pydantic import TypeAdapter

    return TypeAdapter(Recommendation).json_schema()
