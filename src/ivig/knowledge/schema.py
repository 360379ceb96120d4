"""Schema of the knowledge base: typed records validated by pydantic.

Every record is a ``TypedDict``. At run time the knowledge base is plain data (dicts and lists)
so that the fast command-line paths need neither pydantic nor YAML; at build and test time the
YAML files are validated against these types with pydantic (``ivig.knowledge.validate``).
Modules that only need the types import this module under ``TYPE_CHECKING``.

Conventions:

* ``sources`` is a list of :class:`SourceRef` (``id`` into the bibliography, optional
  ``locator`` naming the section, table or page). In YAML a bare string is accepted.
* ``verified`` is true only when the value was seen in the cited source. Every record that
  carries a clinical number has both ``sources`` and ``verified``.
* Units are in field names (``dose_g_per_kg``, ``interval_weeks``) or in a ``unit`` field whose
  value is one of :data:`UNITS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, NotRequired

from annotated_types import Ge, Gt, Le, MinLen
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from ivig.knowledge.schema_codes import MedicationCodes
from ivig.knowledge.schema_pk import PkModelSet
from ivig.knowledge.schema_products import (
    AdverseEffect,
    MonitoringItem,
    Product,
    RankingRule,
    RiskFactor,
    ScheduleRules,
)
from ivig.knowledge.schema_scores import ReviewRule, Score
from ivig.vocabulary import Jurisdiction as JurisdictionId
from ivig.vocabulary import Phase, Rounding

__all__ = [
    "ROLES",
    "UNITS",
    "Alternative",
    "Code",
    "Condition",
    "Criterion",
    "DosingPolicy",
    "EvidenceRating",
    "EvidenceSystem",
    "Finding",
    "Indication",
    "Jurisdiction",
    "KnowledgeData",
    "Mechanism",
    "Meta",
    "NonNeuroUse",
    "PlausibilityLimit",
    "PregnancyRule",
    "Range",
    "RankingSettings",
    "Regimen",
    "RegulatoryEntry",
    "Review",
    "RoundingRule",
    "Source",
    "SourceRef",
    "SpecificCondition",
    "TieBreak",
    "TieBreakOrder",
]

FORBID = ConfigDict(extra="forbid")

Id = Annotated[str, MinLen(1)]
NonNeg = Annotated[float, Ge(0)]
Pos = Annotated[float, Gt(0)]

#: Units a data file may name. Conversions live in :mod:`ivig.core.units`.
UNITS = (
    "kg",
    "g",
    "mg",
    "cm",
    "in",
    "lb",
    "years",
    "days",
    "weeks",
    "hours",
    "min",
    "g/kg",
    "g/kg/day",
    "g/L",
    "mg/dL",
    "mg/mL",
    "g/dL",
    "umol/L",
    "mL/min/1.73m2",
    "mL/min",
    "kPa",
    "kg_force",
    "points",
    "percent",
    "mg/kg/min",
    "mL/kg/min",
    "mL/h",
    "mL/h/site",
    "mL/site",
    "mOsm/kg",
    "mOsm/L",
    "mmol/L",
    "relapses/year",
    "ratio",
    "count",
    "none",
)
Unit = Literal[
    "kg",
    "kg/m2",
    "g",
    "mg",
    "cm",
    "in",
    "lb",
    "years",
    "days",
    "weeks",
    "hours",
    "min",
    "g/kg",
    "g/kg/day",
    "g/L",
    "mg/dL",
    "mg/mL",
    "g/dL",
    "umol/L",
    "mL/min/1.73m2",
    "mL/min",
    "kPa",
    "kg_force",
    "points",
    "percent",
    "mg/kg/min",
    "mL/kg/min",
    "mL/h",
    "mL/h/site",
    "mL/site",
    "mOsm/kg",
    "mOsm/L",
    "mmol/L",
    "relapses/year",
    "ratio",
    "count",
    "none",
]

#: Role in therapy of an indication.
ROLES = (
    "first_line",
    "second_line",
    "rescue",
    "adjunct",
    "not_recommended",
    "insufficient_evidence",
)
Role = Literal[
    "first_line",
    "second_line",
    "rescue",
    "adjunct",
    "not_recommended",
    "insufficient_evidence",
]

SourceKind = Literal[
    "review",
    "systematic_review",
    "guideline",
    "consensus",
    "national_criteria",
    "product_label",
    "trial",
    "cohort",
    "score_paper",
    "pk_study",
    "regulatory",
    "web_page",
    "local_policy",
]


SourceTier = Literal["primary", "secondary"]


@with_config(FORBID)
class SourceRef(TypedDict):
    id: Id
    locator: NotRequired[str]


Sources = Annotated[list[SourceRef], MinLen(1)]


@with_config(FORBID)
class Source(TypedDict):
    """One entry of the bibliography."""

    id: Id
    kind: SourceKind
    #: ``primary``: the label, guideline, criteria or paper itself (from its publisher, the
    #: regulator or the label holder, or identified by PMID/DOI). ``secondary``: a mirror, drug
    #: database, handout, reproduction or unnamed local document; it may stay as a locator but
    #: cannot on its own make a fact verified (``ivig kb validate`` refuses that).
    tier: SourceTier
    citation: Id
    year: NotRequired[Annotated[int, Ge(1900), Le(2100)]]
    pmid: NotRequired[str]
    doi: NotRequired[str]
    url: NotRequired[str]
    note: NotRequired[str]


@with_config(FORBID)
class Meta(TypedDict):
    """Knowledge-base release information (``meta.yaml``)."""

    #: version of the data's layout; the loader refuses data of another version (see
    #: ``ivig.knowledge.loader.SCHEMA_VERSION``)
    schema_version: int
    title: str
    date: str
    disclaimer: str
    maintainers: NotRequired[str]


FindingType = Literal["bool", "int", "float", "enum", "str", "date"]


@with_config(FORBID)
class Finding(TypedDict):
    """A named fact about a request that criteria may test (``findings.yaml``)."""

    name: Id
    type: FindingType
    description: str
    unit: NotRequired[Unit]
    allowed: NotRequired[list[str]]
    min: NotRequired[float]
    max: NotRequired[float]


@with_config(FORBID)
class Range(TypedDict):
    """A numeric range with an optional default (units in the containing field's name)."""

    min: NonNeg
    max: NonNeg
    default: NotRequired[NonNeg]


@with_config(FORBID)
class EvidenceSystem(TypedDict):
    """A rating system (NBA category, Ontario status, UK DH colour, EFNS level...)."""

    id: Id
    name: str
    kind: Literal["evidence_level", "funding_status", "priority", "role"]
    jurisdiction: str
    #: ``superseded`` (replaced by ``superseded_by``) and ``retired`` systems are shown as such
    #: and listed after every current system of a jurisdiction (never ranked first)
    status: Literal["current", "superseded", "retired"]
    #: year of the edition the levels come from
    year: NotRequired[Annotated[int, Ge(1900), Le(2100)]]
    superseded_by: NotRequired[Id]
    note: NotRequired[str]
    levels: Annotated[list[EvidenceLevel], MinLen(1)]
    sources: Sources
    verified: bool


@with_config(FORBID)
class EvidenceLevel(TypedDict):
    id: Id
    label: str
    verified: bool
    #: Higher is stronger support; used to sort and to give shortage priority.
    rank: NotRequired[int]


@with_config(FORBID)
class Jurisdiction(TypedDict):
    id: JurisdictionId
    name: str
    evidence_systems: list[Id]
    default_dosing_weight_policy: Id
    default_rounding: Rounding
    #: region code of product labels and marketing (``us``, ``eu``, ``uk``, ``au``, ``ca``, ``br``)
    product_region: NotRequired[str]
    sources: Sources
    verified: bool
    note: NotRequired[str]


@with_config(FORBID)
class Code(TypedDict):
    system: Literal["icd10cm", "icd10", "snomedct", "icd11", "rxnorm", "atc"]
    code: Id
    display: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class SpecificCondition(TypedDict):
    """A variant or named form grouped under a condition (e.g. Miller Fisher under GBS)."""

    id: Id
    name: str
    synonyms: NotRequired[list[str]]
    codes: NotRequired[list[Code]]
    note: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class EvidenceRating(TypedDict):
    """The level or status one rating system gives one indication."""

    system: Id
    level: Id
    note: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class Criterion(TypedDict):
    """A machine-checkable predicate over request findings.

    ``when`` is ``"<finding> <op> <literal>"`` with op one of ``== != < <= > >= in``; literals
    are numbers, ``true``/``false``, quoted strings or ``[a, b]`` lists. ``any_of`` holds
    alternatives of the same form (true when one is true). Exactly one of the two is given.
    """

    id: Id
    text: str
    when: NotRequired[str]
    any_of: NotRequired[Annotated[list[str], MinLen(2)]]
    sources: Sources
    verified: bool


@with_config(FORBID)
class Regimen(TypedDict):
    """A dosing regimen of one indication.

    ``dose_g_per_kg`` is the dose of one administration cycle (a whole induction course, one
    maintenance dose or one one-off dose); ``days`` is the number of days it is split over.
    """

    id: Id
    label: str
    phase: Phase
    route: Literal["iv", "sc"]
    dose_g_per_kg: Range
    days: Range
    interval_weeks: NotRequired[Range]
    max_g_per_kg_per_day: NotRequired[Pos]
    max_doses: NotRequired[Annotated[int, Ge(1)]]
    note: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class Review(TypedDict):
    first_review_weeks: NotRequired[Range]
    interval_weeks: NotRequired[Range]
    measures: list[Id]
    response_definition: str
    trial_off: NotRequired[str]
    stop_rule: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class Alternative(TypedDict):
    name: str
    note: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class Indication(TypedDict):
    id: Id
    name: str
    role: Role
    summary: NotRequired[str]
    evidence: Annotated[list[EvidenceRating], MinLen(1)]
    qualifying: NotRequired[list[Criterion]]
    exclusion: NotRequired[list[Criterion]]
    diagnosed_by: NotRequired[list[str]]
    regimens: NotRequired[list[Regimen]]
    #: findings that naming this indication establishes (mg.crisis => myasthenic_crisis true)
    implies: NotRequired[dict[str, bool | int | float | str]]
    review: NotRequired[Review]
    alternatives: NotRequired[list[Alternative]]
    #: UK DH demand-management colour for shortage triage, when known (with evidence).
    notes: NotRequired[list[str]]
    sources: Sources
    verified: bool


ConditionGroup = Literal[
    "peripheral_neuropathy",
    "neuromuscular_junction",
    "myopathy",
    "motor_neuron",
    "cns_demyelinating",
    "encephalitis",
    "paraneoplastic",
    "movement_disorder",
    "neuropsychiatric",
    "epilepsy",
    "dementia",
    "ataxia",
    "pain",
    "sleep",
    "vascular",
    "infection",
    "autonomic",
    "other",
]


@with_config(FORBID)
class Condition(TypedDict):
    id: Id
    name: str
    synonyms: NotRequired[list[str]]
    group: ConditionGroup
    summary: str
    codes: NotRequired[list[Code]]
    specific_conditions: NotRequired[list[SpecificCondition]]
    mechanisms: NotRequired[list[Id]]
    indications: Annotated[list[Indication], MinLen(1)]
    sources: Sources
    verified: bool


@with_config(FORBID)
class Mechanism(TypedDict):
    id: Id
    name: str
    description: str
    conditions: NotRequired[list[Id]]
    sources: Sources
    verified: bool


@with_config(FORBID)
class RegulatoryEntry(TypedDict):
    """A labelled or approved use in one region (FDA label, ANVISA approval, TGA label...)."""

    id: Id
    region: Literal["us", "eu", "uk", "au", "br", "ca"]
    authority: str
    use: str
    condition: NotRequired[Id]
    products: NotRequired[list[Id]]
    sources: Sources
    verified: bool


@with_config(FORBID)
class NonNeuroUse(TypedDict):
    """A recognised use outside neurology (seed 002 Table 1)."""

    id: Id
    name: str
    group: str
    synonyms: NotRequired[list[str]]
    sources: Sources
    verified: bool


@with_config(FORBID)
class WeightFormula(TypedDict):
    """Coefficients of the ideal and adjusted body-weight formulas (Devine; DDW)."""

    id: Id
    ibw_base_kg_male: Pos
    ibw_base_kg_female: Pos
    ibw_kg_per_inch_over: Pos
    ibw_height_threshold_in: Pos
    cm_to_in: Pos
    adjusted_factor: Annotated[float, Gt(0), Le(1)]
    sources: Sources
    verified: bool


@with_config(FORBID)
class PolicyRule(TypedDict):
    """One rule of a dosing-weight policy; rules are tried in order, the first that fires wins.

    ``when`` is a list of predicates (all must hold) in the criterion grammar over the inputs
    (``age_years``, ``height_cm``,
    ``pregnant``, ``bmi_kg_per_m2``, ``actual_over_ideal_ratio``, ``actual_below_adjusted``,
    ``sex``, ``weight_kg``); ``[always]`` fires unconditionally.
    """

    id: Id
    when: Annotated[list[str], MinLen(1)]
    use: Literal["actual", "ideal", "adjusted"]
    reason: str
    sources: Sources
    verified: bool


@with_config(FORBID)
class PregnancyRule(TypedDict):
    """Which weight a policy starts from in pregnancy.

    ``pre_pregnancy``: the pre-pregnancy weight replaces the measured weight before the rules and
    the adjusted-weight formula run (Ontario). ``actual``: nothing is replaced (the rules decide).
    """

    weight: Literal["pre_pregnancy", "actual"]
    text: str
    sources: Sources
    verified: bool


@with_config(FORBID)
class DosingPolicy(TypedDict):
    id: Id
    name: str
    jurisdiction: str
    formula: Id
    requires_height: bool
    rules: Annotated[list[PolicyRule], MinLen(1)]
    pregnancy: NotRequired[PregnancyRule]
    rounding: NotRequired[Rounding]
    opt_out: NotRequired[str]
    note: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class PlausibilityLimit(TypedDict):
    """A hard limit on an input or output; outside it the engine refuses."""

    field: Id
    unit: Unit
    min: float
    max: float
    #: the limit applies from this age (an adult-only limit: 18)
    min_age_years: NotRequired[Annotated[float, Ge(0)]]
    reason: str
    sources: Sources
    verified: bool


@with_config(FORBID)
class SubcutaneousConversion(TypedDict):
    id: Id
    label: str
    factor: Pos
    applies_to: str
    sources: Sources
    verified: bool


@with_config(FORBID)
class RoundingRule(TypedDict):
    """How a dose may be rounded: to a step in grams, or to whole vials within a tolerance."""

    id: Rounding
    label: str
    step_g: NotRequired[Pos]
    #: whole vials: ``nearest`` amount to the day's dose (a tie to the fewer grams) or the
    #: ``cheapest`` (fewest grams) within the tolerance; both never above the regimen maximum
    direction: NotRequired[Literal["nearest", "cheapest"]]
    tolerance_fraction: NotRequired[Annotated[float, Ge(0), Le(0.5)]]
    note: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class Dosing(TypedDict):
    formulas: Annotated[list[WeightFormula], MinLen(1)]
    policies: Annotated[list[DosingPolicy], MinLen(1)]
    limits: list[PlausibilityLimit]
    sc_conversions: list[SubcutaneousConversion]
    rounding: Annotated[list[RoundingRule], MinLen(1)]


#: the tie-breaks a ranking may use (``ranking_settings.yaml``), each a field the product
#: records hold: ``status`` and ``regions``, ``labelled_uses``, ``packs``, ``name``
TieBreak = Literal[
    "marketed_in_jurisdiction", "labelled_neuro", "fewest_vials", "least_waste", "name"
]


@with_config(FORBID)
class TieBreakOrder(TypedDict):
    """How products that tie on every ranking criterion are ordered (a local setting)."""

    order: Annotated[list[TieBreak], MinLen(1)]
    basis: str
    sources: Sources
    verified: bool


@with_config(FORBID)
class RankingSettings(TypedDict):
    """``ranking_settings.yaml``: settings of the product ranking a site may change."""

    tie_break: TieBreakOrder


def check_ranking_settings(data: dict[str, Any], report: Callable[[str, str, str], None]) -> None:
    """The tie-break order names each tie-break once and ends with ``name`` (a total order)."""
    order = ((data.get("ranking_settings") or {}).get("tie_break") or {}).get("order") or []
    if len(set(order)) != len(order):
        report("ranking_settings.yaml", "tie_break.order", "a tie-break is named twice")
    if order and order[-1] != "name":
        report("ranking_settings.yaml", "tie_break.order", "must end with name (a total order)")


@with_config(FORBID)
class KnowledgeData(TypedDict):
    """The whole knowledge base as loaded (``KnowledgeBase.data``)."""

    meta: Meta
    version: str
    sources: list[Source]
    findings: list[Finding]
    evidence_systems: list[EvidenceSystem]
    jurisdictions: list[Jurisdiction]
    conditions: list[Condition]
    mechanisms: list[Mechanism]
    regulatory: list[RegulatoryEntry]
    non_neuro_uses: list[NonNeuroUse]
    dosing: Dosing
    products: list[Product]
    risk_factors: list[RiskFactor]
    ranking_rules: list[RankingRule]
    ranking_settings: RankingSettings
    adverse_effects: list[AdverseEffect]
    monitoring: list[MonitoringItem]
    schedule_rules: ScheduleRules
    scores: list[Score]
    review_rules: list[ReviewRule]
    pk: PkModelSet
    medication_codes: MedicationCodes
