"""Schema of products, patient risk factors, ranking rules, adverse effects and monitoring.

Kept apart from :mod:`schema` so that the two can grow without touching each other. Every
record that carries a clinical number has ``sources`` and ``verified``. Unknown values are
absent, never guessed: a product whose maximum infusion rate is not known simply has no rate
record, and the schedule engine refuses it with a clear message.

Units are in field names: rates in a :data:`RateUnit` named by the record, IgA in µg/mL
(``iga_ug_per_ml``), osmolality in mOsm/kg, sodium in the unit named by its record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, NotRequired

from annotated_types import Ge, Gt, MinLen
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

__all__ = [
    "CHECKS",
    "EXCIPIENTS",
    "RISK_FACTOR_IDS",
    "AdverseEffect",
    "AtRiskCeiling",
    "Concentration",
    "DailySplitRule",
    "Derivation",
    "Excipient",
    "Frequency",
    "IgaContent",
    "Indications",
    "MonitoringItem",
    "NumberRange",
    "PackSizes",
    "Product",
    "ProductMatch",
    "RankingRule",
    "RateSchedule",
    "RateStep",
    "RiskFactor",
    "ScRates",
    "ScheduleRules",
    "ScheduleSetting",
    "SeedTableValues",
    "Supply",
    "TextFact",
]

FORBID = ConfigDict(extra="forbid")

Id = Annotated[str, MinLen(1)]
NonNeg = Annotated[float, Ge(0)]
Pos = Annotated[float, Gt(0)]


@with_config(FORBID)
class _SourceRef(TypedDict):
    # Same shape as ``schema.SourceRef`` (defined here: ``schema`` imports this module).
    id: Id
    locator: NotRequired[str]


Sources = Annotated[list[_SourceRef], MinLen(1)]

Route = Literal["iv", "sc", "im"]
RiskGroup = Literal["renal", "thrombosis", "volume", "haemolysis", "hypersensitivity"]
Form = Literal["liquid", "lyophilised"]
Region = Literal["us", "eu", "uk", "au", "nz", "ch", "ca", "br", "hk", "international"]
#: Units a rate record may use; the schedule engine converts with the product concentration.
RateUnit = Literal["mg/kg/min", "mg/kg/h", "mL/kg/min", "mL/kg/h"]

#: Excipient vocabulary shared by products and ranking rules.
EXCIPIENTS = (
    "proline",
    "glycine",
    "maltose",
    "sorbitol",
    "sucrose",
    "glucose",
    "albumin",
    "polysorbate_80",
    "sodium_chloride",
    "sodium_acetate",
    "sodium_phosphate",
    "calcium_chloride",
    "caprylate",
    "hyaluronidase",
    "edta",
    "rodent_protein_traces",
)
ExcipientName = Literal[
    "proline",
    "glycine",
    "maltose",
    "sorbitol",
    "sucrose",
    "glucose",
    "albumin",
    "polysorbate_80",
    "sodium_chloride",
    "sodium_acetate",
    "sodium_phosphate",
    "calcium_chloride",
    "caprylate",
    "hyaluronidase",
    "edta",
    "rodent_protein_traces",
]

#: The public risk-factor ids (issue 4); ``risk_factors.yaml`` must define exactly these.
RISK_FACTOR_IDS = (
    "iga_deficiency",
    "anti_iga_antibodies",
    "renal_impairment",
    "diabetes",
    "age_over_65",
    "thrombosis_history",
    "thrombosis_risk",
    "heart_failure",
    "hyperprolinaemia",
    "hereditary_fructose_intolerance",
    "corn_allergy",
    "polysorbate_80_allergy",
    "hyaluronidase_allergy",
    "albumin_allergy",
    "prior_ig_reaction",
    "paraproteinaemia",
    "hyperviscosity",
    "non_o_blood_group",
    "pregnancy",
    "first_infusion",
    "product_switch",
    "immobility",
    "dermatomyositis",
    "oestrogen_use",
    "central_venous_catheter",
    "migraine_history",
)


@with_config(FORBID)
class TextFact(TypedDict):
    """A sourced statement (storage, warning, contraindication...)."""

    text: Id
    region: NotRequired[Region]
    sources: Sources
    verified: bool


@with_config(FORBID)
class NumberRange(TypedDict):
    """A sourced number or range; ``text`` keeps the label wording (e.g. ``"≤1 mmol/L"``)."""

    min: NotRequired[float]
    max: NotRequired[float]
    value: NotRequired[float]
    unit: NotRequired[Id]
    text: NotRequired[str]
    region: NotRequired[Region]
    sources: Sources
    verified: bool


@with_config(FORBID)
class Concentration(TypedDict):
    """IgG concentration in % w/v (g per 100 mL); reconstituted products list their options.

    ``percent`` is the one the schedule uses unless the caller picks another of ``options``.
    """

    percent: Pos
    options_percent: NotRequired[list[Pos]]
    note: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class Excipient(TypedDict):
    name: ExcipientName
    amount: NotRequired[str]
    role: NotRequired[Literal["stabiliser", "sugar", "surfactant", "salt", "other"]]
    note: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class IgaContent(TypedDict):
    """IgA content in µg/mL; ``metric`` says whether the label gives a maximum or an average."""

    metric: Literal["max", "average", "typical_below", "range", "other"]
    #: the maximum, average, typical upper value or range upper bound, in µg/mL
    iga_ug_per_ml: NotRequired[NonNeg]
    text: NotRequired[str]
    region: NotRequired[Region]
    sources: Sources
    verified: bool


@with_config(FORBID)
class PackSizes(TypedDict):
    sizes_g: NotRequired[list[Pos]]
    sizes_ml: NotRequired[list[Pos]]
    region: NotRequired[Region]
    sources: Sources
    verified: bool


@with_config(FORBID)
class Indications(TypedDict):
    """Labelled uses in one region: neurological condition ids plus a summary of others."""

    region: Region
    neuro: list[Id]
    other: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class Supply(TypedDict):
    """A national or regional supply arrangement (e.g. Australia: products the NBA supplies)."""

    region: Region
    program: Id
    status: Literal["current", "being_replaced", "provision"]
    sources: Sources
    verified: bool


@with_config(FORBID)
class RateStep(TypedDict):
    """One labelled step: ``rate`` (in the schedule's unit) held for ``duration_min``."""

    rate: Pos
    duration_min: NotRequired[Pos]


@with_config(FORBID)
class RateSchedule(TypedDict):
    """An IV infusion-rate rule of a label for some indications and infusions.

    ``steps`` are the labelled steps in order; the last is held until the dose is given unless
    ``max_rate`` is higher and ``increment``/``interval_min`` say how to climb to it. When the
    label gives no intermediate steps (``"as tolerated"``) ``titration`` is ``"as_tolerated"``.
    ``at_risk_max_rate`` is the label ceiling for renal or thrombotic risk; its absence means
    the label says only "minimum rate practicable".
    """

    id: Id
    region: Region
    indications: list[Id]
    infusions: Literal["first", "subsequent", "all"]
    unit: RateUnit
    steps: Annotated[list[RateStep], MinLen(1)]
    titration: Literal["stepped", "as_tolerated", "fixed_increment"]
    increment: NotRequired[Pos]
    interval_min: NotRequired[Pos]
    max_rate: Pos
    at_risk_max_rate: NotRequired[Pos]
    #: risk groups the ceiling applies to (default: renal and thrombosis)
    at_risk_applies_to: NotRequired[list[RiskGroup]]
    at_risk_strict: NotRequired[bool]
    #: when the at-risk ceiling has other sources than the rest of the record
    at_risk_sources: NotRequired[Sources]
    at_risk_verified: NotRequired[bool]
    note: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class ScRates(TypedDict):
    """Subcutaneous volume and rate per site for one group of infusions and patients."""

    id: Id
    region: Region
    indications: list[Id]
    infusions: Literal["first", "subsequent", "all"]
    min_weight_kg: NotRequired[NonNeg]
    below_weight_kg: NotRequired[Pos]
    min_age_years: NotRequired[NonNeg]
    max_volume_ml_per_site: NotRequired[Pos]
    max_rate_ml_per_h_per_site: NotRequired[Pos]
    min_rate_ml_per_h_per_site: NotRequired[Pos]
    max_sites: NotRequired[Annotated[int, Ge(1)]]
    max_rate_ml_per_h_total: NotRequired[Pos]
    note: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class SeedTableValues(TypedDict):
    """Values of seed 002 Table 2 for this product, as printed (kept beside label values)."""

    column: Id
    laboratory: NotRequired[str]
    form: NotRequired[str]
    concentration_percent: NotRequired[str]
    osmolarity: NotRequired[str]
    iga_mg_per_ml_as_printed: NotRequired[str]
    stabiliser: NotRequired[str]
    salt_mg_per_ml: NotRequired[str]
    infusion_time_hours: NotRequired[str]
    ph: NotRequired[str]
    note: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class Product(TypedDict):
    """One immunoglobulin product at one concentration."""

    id: Id
    name: str
    synonyms: NotRequired[list[str]]
    maker: str
    status: Literal["marketed", "discontinued", "phasing_out", "unknown"]
    regions: Annotated[list[Region], MinLen(1)]
    routes: Annotated[list[Route], MinLen(1)]
    form: Form
    concentration: NotRequired[Concentration]
    excipients: list[Excipient]
    #: true when the label's whole excipient list is known (absent sugars then mean none)
    excipients_complete: bool
    free_of: NotRequired[list[TextFact]]
    sodium: NotRequired[list[NumberRange]]
    osmolality_mosm_per_kg: NotRequired[list[NumberRange]]
    ph: NotRequired[list[NumberRange]]
    iga: NotRequired[list[IgaContent]]
    packs: NotRequired[list[PackSizes]]
    storage: NotRequired[list[TextFact]]
    #: labelled uses by region (not ``indications``: that name is the conditions' look-up key)
    labelled_uses: NotRequired[list[Indications]]
    #: supply arrangements by region (national supply lists)
    supply: NotRequired[list[Supply]]
    iv_rates: NotRequired[list[RateSchedule]]
    sc_rates: NotRequired[list[ScRates]]
    contraindications: NotRequired[list[TextFact]]
    warnings: NotRequired[list[TextFact]]
    seed_table: NotRequired[SeedTableValues]
    note: NotRequired[str]
    sources: Sources
    verified: bool


LabInput = Literal[
    "labs.iga_g_per_l",
    "labs.anti_iga_antibodies",
    "labs.egfr_ml_per_min_1_73m2",
    "labs.blood_group",
    "age_years",
    "pregnant",
    "first_infusion",
    "product_switch",
    "condition",
    "findings.able_to_walk_unaided",
    "findings.gbs_disability_score",
    "findings.myasthenic_crisis",
]


@with_config(FORBID)
class Derivation(TypedDict):
    """How a risk factor follows from request facts: ``input op value`` (unit named).

    Inputs are patient fields, ``findings.<name>`` (the request's findings) or ``condition``
    (the resolved condition id).
    """

    input: LabInput
    op: Literal["<", "<=", ">", ">=", "==", "in"]
    value: float | bool | list[str]
    unit: Id
    sources: Sources
    verified: bool


@with_config(FORBID)
class RiskFactor(TypedDict):
    id: Id
    name: str
    synonyms: NotRequired[list[str]]
    category: Literal[
        "allergy", "renal", "thrombosis", "volume", "metabolic", "history", "infusion", "other"
    ]
    description: str
    #: label risk groups this factor belongs to (e.g. age over 65: renal and thrombosis)
    groups: NotRequired[list[RiskGroup]]
    derive: NotRequired[list[Derivation]]
    note: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class ProductMatch(TypedDict):
    """Which products a rule applies to (all given conditions must hold; none = every product)."""

    products: NotRequired[list[Id]]
    excipients_any: NotRequired[list[ExcipientName]]
    concentration_percent_below: NotRequired[Pos]
    concentration_percent_at_least: NotRequired[Pos]
    routes_any: NotRequired[list[Route]]
    form: NotRequired[Form]


@with_config(FORBID)
class RankingRule(TypedDict):
    """A product-selection rule: when the patient has any of ``when_any`` risks, apply ``effect``.

    Effects: ``exclude`` (status excluded), ``caution`` (status at most caution), ``penalise``
    (score only), ``prefer`` (status preferred unless worse), ``order_by_iga`` (lowest IgA first,
    the lowest known gets ``weight`` as a bonus).
    """

    id: Id
    when_any: Annotated[list[Id], MinLen(1)]
    when_all: NotRequired[list[Id]]
    match: ProductMatch
    effect: Literal["exclude", "caution", "penalise", "prefer", "order_by_iga"]
    weight: NonNeg
    #: when the product's excipient list is incomplete, a non-matching product gets caution
    check_unknown_formulation: NotRequired[bool]
    requires_labelled_indication: NotRequired[bool]
    reason: Id
    sources: Sources
    verified: bool


@with_config(FORBID)
class Frequency(TypedDict):
    text: Id
    population: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class AdverseEffect(TypedDict):
    id: Id
    name: str
    description: str
    onset: NotRequired[Literal["immediate", "early", "delayed"]]
    frequencies: list[Frequency]
    risk_factors: NotRequired[list[Id]]
    #: only for products containing one of these excipients
    excipients_any: NotRequired[list[ExcipientName]]
    sources: Sources
    verified: bool


@with_config(FORBID)
class MonitoringItem(TypedDict):
    """One element of the monitoring plan; ``when_any`` empty means for everyone."""

    id: Id
    phase: Literal["before", "during", "after", "hydration", "on_reaction"]
    text: Id
    when_any: NotRequired[list[Id]]
    routes_any: NotRequired[list[Route]]
    excipients_any: NotRequired[list[ExcipientName]]
    #: only when the course dose is at least this (g/kg); with ``when_any`` either triggers
    min_course_g_per_kg: NotRequired[Pos]
    #: only when the schedule's top rate is above this (mg/kg/min); either trigger suffices
    min_rate_mg_per_kg_per_min: NotRequired[Pos]
    #: left out when the request gives this fact (e.g. ``labs.iga_g_per_l``)
    unless_known: NotRequired[Id]
    #: what triggers the item, shown beside it (e.g. "course >= 2 g/kg")
    trigger: NotRequired[str]
    #: the plan lists the schedule's rate-change times beside this item (vital signs)
    at_rate_changes: NotRequired[bool]
    sources: Sources
    verified: bool


@with_config(FORBID)
class AtRiskCeiling(TypedDict):
    """A rate ceiling that applies to every IV product for a risk (unless a label is stricter).

    It fires when the patient has a risk factor in ``risk_factors`` or of a risk group in
    ``groups``. ``basis`` says where the number comes from (which label states it).
    """

    id: Id
    groups: NotRequired[list[RiskGroup]]
    risk_factors: NotRequired[list[Id]]
    rate_mg_per_kg_per_min: Pos
    strict: NotRequired[bool]
    #: a chosen number for labels that say only "minimum rate practicable": a site or the
    #: prescriber may set another at-risk rate (never above a product's own label ceiling)
    site_overridable: NotRequired[bool]
    basis: Id
    sources: Sources
    verified: bool


@with_config(FORBID)
class ScheduleSetting(TypedDict):
    """A number the schedule engine uses that a site may override (with its basis)."""

    value: Pos
    unit: Id
    basis: Id
    sources: Sources
    verified: bool


@with_config(FORBID)
class ScheduleRules(TypedDict):
    """``schedule_rules.yaml``: titration rule, defaults and class at-risk ceilings."""

    #: each derived step at most this multiple of the previous (labels that say only
    #: "increase gradually")
    max_step_ratio: ScheduleSetting
    #: the step interval used when the label gives none
    default_step_interval_min: ScheduleSetting
    #: a day's infusion longer than this offers a split over more days
    practical_duration_h: ScheduleSetting
    #: more than this many weeks since the last infusion counts as a first infusion
    first_infusion_gap_weeks: ScheduleSetting
    at_risk_ceilings: list[AtRiskCeiling]
    #: the daily split of a course by risk (first matching rule wins)
    daily_split_rules: NotRequired[list[DailySplitRule]]


@with_config(FORBID)
class DailySplitRule(TypedDict):
    """How many days a course is split over for a risk (``default``: the split used, the
    regimen's or its longest; ``offer``: a split offered beside it)."""

    id: Id
    groups: NotRequired[list[RiskGroup]]
    risk_factors: NotRequired[list[Id]]
    default: Literal["regimen", "longest"]
    offer: NotRequired[Literal["longest"]]
    basis: Id
    sources: Sources
    verified: bool


Report = Callable[[str, str, str], None]


def _check_rate_record(
    product: dict[str, Any], k: int, rate: dict[str, Any], source_ids: set[str], report: Report
) -> None:
    loc = f"{product['id']}.iv_rates[{k}]"
    for ref in rate.get("at_risk_sources", []):
        if ref["id"] not in source_ids:
            report("products", loc, f"unknown source {ref['id']!r}")
    if "iv" not in product["routes"]:
        report("products", loc, "IV rates on a product without iv route")
    if max(step["rate"] for step in rate["steps"]) > rate["max_rate"]:
        report("products", loc, "a step is above max_rate")
    at_risk = rate.get("at_risk_max_rate")
    if at_risk is not None and at_risk > rate["max_rate"]:
        report("products", loc, "at_risk_max_rate above max_rate")
    if rate["titration"] == "fixed_increment" and not (
        "increment" in rate and "interval_min" in rate
    ):
        report("products", loc, "fixed_increment needs increment")


def _check_product(product: dict[str, Any], source_ids: set[str], report: Report) -> None:
    loc = product["id"]
    for k, rate in enumerate(product.get("iv_rates", [])):
        _check_rate_record(product, k, rate, source_ids, report)
    if product.get("sc_rates") and "sc" not in product["routes"]:
        report("products", f"{loc}.sc_rates", "SC rates on a product without sc route")
    for group in ("sodium", "osmolality_mosm_per_kg", "ph"):
        for k, rng in enumerate(product.get(group, [])):
            if "min" in rng and "max" in rng and rng["min"] > rng["max"]:
                report("products", f"{loc}.{group}[{k}]", "min above max")


def _check_products(data: dict[str, Any], report: Report) -> None:
    products = data.get("products") or []
    source_ids = {s["id"] for s in data.get("sources") or []}
    seen: set[str] = set()
    for product in products:
        if product["id"] in seen:
            report("products", product["id"], "duplicate product id")
        seen.add(product["id"])
        _check_product(product, source_ids, report)
    for entry in data.get("regulatory") or []:
        for pid in entry.get("products", []):
            if pid not in seen:
                report("regulatory.yaml", entry["id"], f"unknown product id {pid!r}")


def _check_schedule_rules(data: dict[str, Any], report: Report) -> None:
    rules = data.get("schedule_rules")
    if not rules:
        return
    known = {r["id"] for r in data.get("risk_factors") or []}
    for ceiling in rules["at_risk_ceilings"]:
        if not ceiling.get("groups") and not ceiling.get("risk_factors"):
            report("schedule_rules.yaml", ceiling["id"], "a ceiling needs groups or risk_factors")
        for rid in ceiling.get("risk_factors", []):
            if known and rid not in known:
                report("schedule_rules.yaml", ceiling["id"], f"unknown risk factor {rid!r}")
    for split in rules.get("daily_split_rules", []):
        if not split.get("groups") and not split.get("risk_factors"):
            report("schedule_rules.yaml", split["id"], "a split rule needs groups or risk_factors")
        for rid in split.get("risk_factors", []):
            if known and rid not in known:
                report("schedule_rules.yaml", split["id"], f"unknown risk factor {rid!r}")
    if rules["max_step_ratio"]["value"] <= 1:
        report("schedule_rules.yaml", "max_step_ratio", "must be above 1")


def _check_risks_and_rules(data: dict[str, Any], report: Report) -> None:
    risks = data.get("risk_factors") or []
    risk_ids = [r["id"] for r in risks]
    if risk_ids:
        for rid in RISK_FACTOR_IDS:
            if rid not in risk_ids:
                report("risk_factors.yaml", rid, "public risk-factor id missing")
    known = set(risk_ids)
    product_ids = {p["id"] for p in data.get("products") or []}
    rule_ids: set[str] = set()
    for rule in data.get("ranking_rules") or []:
        if rule["id"] in rule_ids:
            report("ranking_rules.yaml", rule["id"], "duplicate rule id")
        rule_ids.add(rule["id"])
        for rid in [*rule["when_any"], *rule.get("when_all", [])]:
            if rid not in known:
                report("ranking_rules.yaml", rule["id"], f"unknown risk factor {rid!r}")
        for pid in rule["match"].get("products", []):
            if pid not in product_ids:
                report("ranking_rules.yaml", rule["id"], f"unknown product id {pid!r}")
    for key, file in (
        ("adverse_effects", "adverse_effects.yaml"),
        ("monitoring", "monitoring.yaml"),
    ):
        seen: set[str] = set()
        for item in data.get(key) or []:
            if item["id"] in seen:
                report(file, item["id"], "duplicate id")
            seen.add(item["id"])
            for rid in [*item.get("risk_factors", []), *item.get("when_any", [])]:
                if rid not in known:
                    report(file, item["id"], f"unknown risk factor {rid!r}")


#: Cross-reference checks run by ``validate_directory``: ``check(data, report)`` where
#: ``report(file, location, message)`` records one error.
CHECKS: list[Callable[[dict[str, Any], Report], None]] = [
    _check_products,
    _check_risks_and_rules,
    _check_schedule_rules,
]
