"""Schema of IgG pharmacokinetic models, their parameters and calibration references (``pk.yaml``).

The model is linear: total serum IgG = endogenous IgG (a steady baseline, constant production)
+ infused IgG (a two-compartment model with first-order elimination from the central
compartment, zero-order IV infusions and first-order SC absorption with a bioavailability).
Every parameter is a :class:`PkValue` with its sources and ``verified`` flag; numbers derived by
arithmetic from confirmed inputs carry the arithmetic in ``derivation`` and ``verified: false``.

The FcRn-saturation (concentration-dependent catabolism) mechanism is recorded in ``fcrn`` as a
statement with its evidence; it is not a model until its equations and parameters are sourced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, NotRequired

from annotated_types import Ge, Gt, Le, MinLen
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

__all__ = [
    "CHECKS",
    "FcrnStatus",
    "PkConventions",
    "PkModelSet",
    "PkPopulation",
    "PkReference",
    "PkValue",
    "ScConversion",
    "Variability",
]

FORBID = ConfigDict(extra="forbid")
Id = Annotated[str, MinLen(1)]

#: Parameters of a population that may carry between-patient variability.
PK_PARAMETERS = (
    "clearance",
    "volumes",
    "intercompartmental_clearance",
    "baseline",
    "sc_absorption_rate",
)
PkParameterName = Literal[
    "clearance", "volumes", "intercompartmental_clearance", "baseline", "sc_absorption_rate"
]


@with_config(FORBID)
class _SourceRef(TypedDict):
    id: Id
    locator: NotRequired[str]


_Sources = Annotated[list[_SourceRef], MinLen(1)]


@with_config(FORBID)
class PkValue(TypedDict):
    """One number with its provenance; ``sd``/``min``/``max`` as published, same unit."""

    value: float
    sd: NotRequired[Annotated[float, Ge(0)]]
    min: NotRequired[float]
    max: NotRequired[float]
    derivation: NotRequired[str]
    note: NotRequired[str]
    sources: _Sources
    verified: bool


@with_config(FORBID)
class Variability(TypedDict):
    """Log-normal between-patient variability of one parameter (``cv`` as a fraction)."""

    parameter: PkParameterName
    cv: Annotated[float, Gt(0), Le(3)]
    derivation: NotRequired[str]
    note: NotRequired[str]
    sources: _Sources
    verified: bool


@with_config(FORBID)
class PkPopulation(TypedDict):
    """Typical parameters of one population (per kg of body weight, days, g/L)."""

    id: Id
    name: str
    condition: NotRequired[str]
    description: str
    model: Literal["linear_two_compartment"]
    clearance_ml_per_kg_per_day: PkValue
    central_volume_ml_per_kg: PkValue
    peripheral_volume_ml_per_kg: PkValue
    intercompartmental_clearance_ml_per_kg_per_day: PkValue
    baseline_igg_g_per_l: PkValue
    sc_bioavailability: PkValue
    sc_absorption_rate_per_day: PkValue
    variability: list[Variability]
    residual_cv: NotRequired[PkValue]
    #: Shown to the user with every result that uses this population.
    warnings: NotRequired[list[str]]
    sources: _Sources
    verified: bool


@with_config(FORBID)
class PkCaveat(TypedDict):
    """What a reader must know when a result misses a reference target (with its source)."""

    text: str
    sources: _Sources
    verified: bool


@with_config(FORBID)
class PkReference(TypedDict):
    """A published figure a result is compared with (and a calibration target for tests).

    ``kind``: ``delta_igg`` (rise in total IgG ``day`` days after the start of a course),
    ``delta_igg_target`` (a threshold on that rise), ``level`` (total IgG on ``day``),
    ``trough``/``peak`` (steady state of a maintenance regimen), ``half_life_days``,
    ``clearance_ml_per_kg_per_day``.
    """

    id: Id
    population: Id
    kind: Literal[
        "delta_igg",
        "delta_igg_target",
        "level",
        "trough",
        "peak",
        "half_life_days",
        "clearance_ml_per_kg_per_day",
    ]
    description: str
    unit: Literal["g/L", "days", "mL/kg/day"]
    day: NotRequired[Annotated[float, Ge(0)]]
    course_g_per_kg: NotRequired[Annotated[float, Gt(0)]]
    course_days: NotRequired[Annotated[int, Ge(1)]]
    interval_days: NotRequired[Annotated[float, Gt(0)]]
    mean: NotRequired[float]
    sd: NotRequired[Annotated[float, Ge(0)]]
    median: NotRequired[float]
    min: NotRequired[float]
    max: NotRequired[float]
    n: NotRequired[Annotated[int, Ge(1)]]
    note: NotRequired[str]
    #: shown when a result does not reach a ``delta_igg_target`` (GBS: SID-GBS)
    when_not_met: NotRequired[PkCaveat]
    sources: _Sources
    verified: bool


@with_config(FORBID)
class ScConversion(TypedDict):
    """A rule from a label or guideline turning an IV regimen into a weekly SC dose.

    weekly SC dose (g) = IV dose (g) / weeks between IV doses x ``factor``.
    """

    id: Id
    name: str
    factor: PkValue
    bioavailability: NotRequired[PkValue]
    applies_to: str
    sources: _Sources
    verified: bool


@with_config(FORBID)
class PkConventions(TypedDict):
    """Modelling conventions (not clinical data); each says so in its note."""

    default_iv_infusion_hours: PkValue
    distribution_equilibrium_days: PkValue
    distribution_equilibrium_fraction: PkValue


@with_config(FORBID)
class FcrnEvidence(TypedDict):
    id: Id
    finding: str
    sources: _Sources
    verified: bool


@with_config(FORBID)
class FcrnStatus(TypedDict):
    """Where the FcRn-saturation model stands: implemented or not, and why."""

    implemented: bool
    statement: str
    evidence: list[FcrnEvidence]
    missing: list[str]


@with_config(FORBID)
class PkModelSet(TypedDict):
    """Everything in ``pk.yaml``."""

    default_population: Id
    conventions: PkConventions
    populations: Annotated[list[PkPopulation], MinLen(1)]
    references: list[PkReference]
    sc_conversions: list[ScConversion]
    fcrn: FcrnStatus


Report = Callable[[str, str, str], None]
_FILE = "pk.yaml"


_POSITIVE = (
    "clearance_ml_per_kg_per_day",
    "central_volume_ml_per_kg",
    "peripheral_volume_ml_per_kg",
    "intercompartmental_clearance_ml_per_kg_per_day",
    "sc_absorption_rate_per_day",
)


def _duplicate_ids(records: list[dict[str, Any]], where: str, what: str, report: Report) -> None:
    ids = [r["id"] for r in records]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        report(_FILE, f"{where}.{dup}", f"duplicate {what} id")


def _check_population(pop: dict[str, Any], report: Report) -> None:
    loc = f"populations.{pop['id']}"
    for key in _POSITIVE:
        if pop[key]["value"] <= 0:
            report(_FILE, f"{loc}.{key}", "must be above 0")
    if pop["baseline_igg_g_per_l"]["value"] < 0:
        report(_FILE, f"{loc}.baseline_igg_g_per_l", "must not be negative")
    if not 0 < pop["sc_bioavailability"]["value"] <= 1:
        report(_FILE, f"{loc}.sc_bioavailability", "a fraction in (0, 1]")
    seen: set[str] = set()
    for var in pop["variability"]:
        if var["parameter"] in seen:
            report(_FILE, f"{loc}.variability", f"{var['parameter']!r} given twice")
        seen.add(var["parameter"])
    for key, value in pop.items():
        bounded = isinstance(value, dict) and "min" in value and "max" in value
        if bounded and value["min"] > value["max"]:
            report(_FILE, f"{loc}.{key}", "min above max")
    if not pop["verified"] and not pop.get("warnings"):
        report(_FILE, loc, "an unverified population needs 'warnings' for the user")


def _check_references(pk: dict[str, Any], ids: list[str], report: Report) -> None:
    _duplicate_ids(pk.get("references", []), "references", "reference", report)
    for ref in pk.get("references", []):
        if ref["population"] not in ids:
            report(_FILE, f"references.{ref['id']}", f"unknown population {ref['population']!r}")
        if ref["kind"] in ("delta_igg", "delta_igg_target", "level") and "day" not in ref:
            report(_FILE, f"references.{ref['id']}", f"a {ref['kind']} reference needs 'day'")


def _check_pk(data: dict[str, Any], report: Report) -> None:
    """Ids unique and resolvable; ranges ordered; volumes, clearances and fractions sane."""
    pk = data.get("pk")
    if not pk:
        return
    populations = pk.get("populations", [])
    ids = [p["id"] for p in populations]
    _duplicate_ids(populations, "populations", "population", report)
    if pk.get("default_population") not in ids:
        report(_FILE, "default_population", f"unknown population {pk.get('default_population')!r}")
    for pop in populations:
        _check_population(pop, report)
    _check_references(pk, ids, report)
    _duplicate_ids(pk.get("sc_conversions", []), "sc_conversions", "conversion", report)
    conventions = pk.get("conventions") or {}
    frac = conventions.get("distribution_equilibrium_fraction", {}).get("value")
    if frac is not None and not 0 < frac < 1:
        report(_FILE, "conventions.distribution_equilibrium_fraction", "a fraction in (0, 1)")


#: Cross-reference checks run by ``validate_directory`` (see ``schema_products.CHECKS``).
CHECKS: list[Callable[[dict[str, Any], Callable[[str, str, str], None]], None]] = [_check_pk]
