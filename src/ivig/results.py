"""The typed results of the use cases: these types *are* the output contract.

Every key the engine emits is declared here; ``ivig schema recommendation`` is generated from
:class:`Recommendation`, and ``tests/app/test_results_contract.py`` validates every bundled
example and every condition x phase x jurisdiction result against it with extra keys forbidden,
so a key added to the engine without its type fails the tests.

The core builds these as plain dicts (it imports this module only for type checking).
"""

from __future__ import annotations

from typing import Literal, NotRequired

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from ivig.contract import Request
from ivig.vocabulary import Phase, Route

__all__ = [
    "Comparison",
    "CriterionOut",
    "DoseOut",
    "DoseResult",
    "DosingWeightOut",
    "Eligibility",
    "EvidenceOut",
    "InfusionOut",
    "InfusionStep",
    "MissingFinding",
    "MissingGroup",
    "MonitoringItem",
    "PlanStatus",
    "ProductOut",
    "PrognosisRow",
    "Recommendation",
    "ReviewPlan",
    "RiskOut",
    "SourceOut",
    "TraceStep",
]

FORBID = ConfigDict(extra="forbid")

#: ``ready``: authorisable as it stands; ``provisional``: the dose is computed but criteria
#: findings must be confirmed first; ``none``: no dose (not supported, out of scope, no regimen)
PlanStatus = Literal["ready", "provisional", "none"]
Scalar = float | int | str | bool | None
TraceValue = Scalar | list[float] | list[str]


@with_config(FORBID)
class TraceStep(TypedDict):
    """One step of a calculation trace: the formula, its inputs and the result."""

    step: str
    formula: str
    inputs: dict[str, TraceValue]
    result: float | str
    unit: str
    source: NotRequired[str]


@with_config(FORBID)
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


@with_config(FORBID)
class CriterionOut(TypedDict):
    id: str
    text: str
    test: str
    sources: list[str]
    verified: bool


@with_config(FORBID)
class MissingFinding(TypedDict):
    name: str
    type: str
    description: str
    #: ``indication:criterion`` ids (or criterion ids) that need the finding
    needed_by: list[str]
    unit: NotRequired[str]
    allowed: NotRequired[list[str]]
    min: NotRequired[float]
    max: NotRequired[float]


@with_config(FORBID)
class MissingGroup(TypedDict):
    """The findings one candidate indication still needs, and the next step to decide it."""

    indication: str
    indication_name: str
    findings: list[MissingFinding]
    next_step: str


@with_config(FORBID)
class Alternative(TypedDict):
    name: str
    note: str | None
    sources: list[str]
    verified: bool


@with_config(FORBID)
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
    missing_groups: list[MissingGroup]
    condition: NotRequired[str]
    indication_name: NotRequired[str]
    met: NotRequired[list[CriterionOut]]
    exclusions: NotRequired[list[CriterionOut]]
    conditions: NotRequired[list[str]]
    diagnosed_by: NotRequired[list[str]]
    alternatives: NotRequired[list[Alternative]]
    sources: NotRequired[list[str]]
    considered: NotRequired[list[str]]
    #: candidate indications the findings leave undecided (no indication named)
    undecided: NotRequired[list[str]]
    #: findings the named indication implies (knowledge ``implies``), added to the request's
    implied_findings: NotRequired[dict[str, Scalar]]


@with_config(FORBID)
class WeightRuleOut(TypedDict):
    id: str
    reason: str
    sources: list[str]
    verified: bool


@with_config(FORBID)
class DosingWeightOut(TypedDict):
    kg: float
    method: Literal["actual", "ideal", "adjusted", "pre_pregnancy"]
    actual_kg: float
    ideal_kg: float | None
    adjusted_kg: float | None
    bmi_kg_per_m2: float | None
    policy: str
    rule: WeightRuleOut
    opt_out_justification: str | None
    steps: list[TraceStep]
    verified: bool


@with_config(FORBID)
class Vials(TypedDict):
    count: int
    size_g: float


@with_config(FORBID)
class DoseDay(TypedDict):
    day: int
    grams: float
    volume_ml: NotRequired[float]
    vials: NotRequired[list[Vials]]


@with_config(FORBID)
class RegimenRef(TypedDict):
    id: str
    label: str
    sources: list[str]
    verified: bool


@with_config(FORBID)
class RoundingOut(TypedDict):
    method: str
    detail: str
    waste_g: float


@with_config(FORBID)
class ScEquivalent(TypedDict):
    label: str
    conversion: str
    factor: float
    formula: str
    weekly_g: float
    sources: list[str]
    verified: bool


@with_config(FORBID)
class SplitOption(TypedDict):
    """One split of the course the regimen allows."""

    days: int
    grams_per_day: float
    g_per_kg_per_day: float
    volume_ml_per_day: float | None
    chosen: bool
    #: ``chosen``, ``offered: lowers the daily dose ...`` or ``also possible``
    note: str


@with_config(FORBID)
class SplitOut(TypedDict):
    """How many days the course is split over, the rule that chose it and the other splits."""

    days: int
    #: a ``daily_split_rules`` id of ``schedule_rules.yaml``, or ``regimen-default``
    rule: str
    risks: list[str]
    reason: str
    offer: int | None
    #: the rule moved the days off the regimen's default or offered another split
    changed: bool
    sources: list[str]
    verified: bool
    options: list[SplitOption]


@with_config(FORBID)
class DoseOut(TypedDict):
    indication: str
    phase: Phase
    route: Route
    regimen: RegimenRef
    g_per_kg: float
    g_per_kg_per_day: float
    dosing_weight_kg: float
    target_total_g: float
    total_g: float
    #: the grams per kg the rounded total gives (``total_g / dosing_weight_kg``), present
    #: only when rounding changed the dose
    given_g_per_kg: NotRequired[float]
    max_total_g: float
    days: list[DoseDay]
    interval_weeks: float | None
    rounding: RoundingOut
    product: str | None
    concentration_g_per_ml: float | None
    steps: list[TraceStep]
    unverified: list[str]
    sc_equivalent: NotRequired[ScEquivalent]
    #: the daily split and why (a recommendation's plan)
    split: NotRequired[SplitOut]


@with_config(FORBID)
class ReasonOut(TypedDict):
    rule: str
    text: str
    source: str
    sources: list[str]
    verified: bool


@with_config(FORBID)
class ScoreComponents(TypedDict):
    """The ranking criteria of one product, in the order they count (issue 15)."""

    rules_score: float
    labelled_for_indication: bool | None
    supply: str | None
    rate_data: bool
    risk_excipients: list[str]
    #: ``None`` when no excipient matters for the patient; ``False``: they matter and the
    #: knowledge base does not hold the whole formulation
    formulation_known: bool | None


@with_config(FORBID)
class ProductOut(TypedDict):
    rank: int
    id: str
    name: str
    status: Literal["preferred", "acceptable", "caution", "excluded"]
    score: float
    routes: list[Route]
    concentration_percent: float | None
    iga_ug_per_ml: float | None
    iga_metric: str | None
    market_status: str
    unverified: bool
    reasons: list[ReasonOut]
    score_components: ScoreComponents
    schedulable: bool
    note: NotRequired[str]
    tie_break: NotRequired[str]


@with_config(FORBID)
class InfusionStep(TypedDict):
    start_min: float
    duration_min: float
    rate_mg_per_kg_per_min: float
    rate_ml_per_h: float
    grams: float
    cumulative_ml: float
    cumulative_g: float
    basis: str


@with_config(FORBID)
class ScPlan(TypedDict):
    sites: int
    sessions: int
    volume_ml_per_site: float
    rate_ml_per_h_per_site: float
    max_volume_ml_per_site: float | None
    max_rate_ml_per_h_per_site: float | None
    max_sites: int | None


@with_config(FORBID)
class CeilingOut(TypedDict):
    """An at-risk rate ceiling that applies to the schedule (the first one governs)."""

    id: str
    rate_mg_per_kg_per_min: float
    strict: bool
    origin: Literal["label", "class"]
    risks: list[str]
    risk_factors: list[str]
    basis: str
    site_overridable: bool
    sources: list[str]
    verified: bool


@with_config(FORBID)
class TitrationOut(TypedDict):
    method: Literal["label steps", "label increment", "doubling"]
    interval_min: float | None
    interval_basis: str
    max_step_ratio: float | None
    rule: str
    sources: list[str]
    verified: bool


@with_config(FORBID)
class SplitOffer(TypedDict):
    days: int
    grams_per_day: float
    volume_ml_per_day: float
    duration_min: float
    within_practical_duration: bool
    reason: str


@with_config(FORBID)
class InfusionOut(TypedDict):
    product: str
    product_name: str
    route: Route
    rate_record: str
    region: str
    weight_kg: float
    dose_g: float
    concentration_g_per_ml: float
    volume_ml: float
    first_infusion: bool
    first_infusion_reason: str
    at_risk: list[str]
    steps: list[InfusionStep]
    max_rate_mg_per_kg_per_min: float
    label_max_rate_mg_per_kg_per_min: float
    at_risk_ceiling_mg_per_kg_per_min: float | None
    ceilings: list[CeilingOut]
    titration: TitrationOut | None
    duration_min: float
    duration_at_label_max_min: float
    practical_duration_min: float
    split_offer: SplitOffer | None
    notes: list[str]
    sources: list[str]
    verified: bool
    weight_basis: str
    actual_weight_kg: float | None
    actual_weight_max_rate_ml_per_h: float | None
    sc: NotRequired[ScPlan]


@with_config(FORBID)
class MonitoringItem(TypedDict):
    id: str
    phase: str
    text: str
    why: str
    sources: list[str]
    verified: bool


@with_config(FORBID)
class RiskOut(TypedDict):
    id: str
    reason: str
    sources: list[str]
    verified: bool


@with_config(FORBID)
class MeasureRef(TypedDict):
    id: str
    name: str


@with_config(FORBID)
class WeeksRange(TypedDict):
    min: float
    max: float


@with_config(FORBID)
class ReviewPlan(TypedDict):
    first_review_weeks: WeeksRange | None
    interval_weeks: WeeksRange | None
    measures: list[MeasureRef]
    baseline_required: list[str]
    response_definition: str
    trial_off: str | None
    stop_rule: str | None
    sources: list[str]
    verified: bool


@with_config(FORBID)
class PrognosisRow(TypedDict):
    """One prognostic score version for the condition (EGRIS, mEGOS, EGOS in GBS): computed
    from the request's findings, or the findings it still needs, or why it was refused."""

    score: str
    name: str
    version: str
    #: the score's own result (``ivig score``: total, items with points, bands, sources)
    result: NotRequired[dict[str, object]]
    missing: NotRequired[list[str]]
    refused: NotRequired[str]


@with_config(FORBID)
class SourceOut(TypedDict):
    id: str
    citation: str


@with_config(FORBID)
class Recommendation(TypedDict):
    """What ``ivig recommend`` returns (``ivig schema recommendation``)."""

    request: Request
    plan_status: PlanStatus
    #: what must be confirmed before authorisation (empty when the plan is ready)
    to_confirm: list[str]
    eligibility: Eligibility
    dosing_weight: DosingWeightOut | None
    dose: DoseOut | None
    risk_profile: list[RiskOut]
    products: list[ProductOut]
    infusion: InfusionOut | None
    monitoring: list[MonitoringItem]
    review: ReviewPlan | None
    #: the condition's prognostic scores from the findings (empty when it has none)
    prognosis: list[PrognosisRow]
    warnings: list[str]
    unverified: list[str]
    sources: list[SourceOut]
    knowledge_version: str
    engine_version: str
    disclaimer: str


@with_config(FORBID)
class DoseResult(TypedDict):
    """What ``ivig dose`` returns."""

    condition: str
    indication: str
    jurisdiction: str
    #: the indications the phase left (the dose is the same for each: see ``ivig recommend``)
    candidates: list[str]
    dosing_weight: DosingWeightOut
    dose: DoseOut
    unverified: list[str]
    sources: list[SourceOut]
    knowledge_version: str
    engine_version: str
    disclaimer: str


@with_config(FORBID)
class JurisdictionView(TypedDict):
    """One jurisdiction's answer for the same patient (``ivig recommend --compare``)."""

    jurisdiction: str
    jurisdiction_name: str
    policy: str | None
    dosing_weight_kg: float | None
    weight_method: str | None
    weight_rule_id: str | None
    weight_rule: str | None
    total_g: float | None
    g_per_kg: float | None
    rounding: str | None
    status: str
    plan_status: PlanStatus
    role: str | None
    #: the jurisdiction's own rating systems: ``system id: level``
    evidence: list[str]
    cliff: str | None
    error: str | None


@with_config(FORBID)
class Comparison(TypedDict):
    """The same patient under every jurisdiction's policy and evidence, side by side."""

    request: Request
    rows: list[JurisdictionView]
    knowledge_version: str
    engine_version: str
    disclaimer: str
