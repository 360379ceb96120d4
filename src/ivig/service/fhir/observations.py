"""Observations in: body measures, laboratory results, findings — with units, comparators, dates.

The latest active Observation per field is used. Weight is required; an unusable height or
laboratory result is skipped with a note, never failing the request. A comparator is honoured:
a laboratory value written ``<5 mg/dL`` settles a rule "IgA below 0.05 g/L" (the risk factor is
recorded) and is otherwise left out with a note saying the rule stays open. Findings come from
ivig's own code system or from the standard codes mapped in ``medication_codes.yaml``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivig.errors import InputError, MissingFieldError, UnknownIdError
from ivig.service.fhir import codes as C
from ivig.service.fhir import units as U
from ivig.service.fhir.record import Record, Resource, codings, parse_date, when

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["active", "check_data_age", "read_observations", "standard_findings"]

_SKIP_STATUS = {"entered-in-error", "cancelled"}
_INACTIVE = {"inactive", "resolved", "remission", "refuted", "entered-in-error"}
_BODY = ("weight_kg", "height_cm")
_PRECISION = {"weight_kg": 3, "height_cm": 3}


def active(resource: Resource) -> bool:
    """Not entered in error, cancelled, resolved or refuted."""
    if resource.get("status") in _SKIP_STATUS:
        return False
    for key in ("clinicalStatus", "verificationStatus"):
        if {c.get("code") for c in codings(resource.get(key))} & _INACTIVE:
            return False
    return True


def _field_of(coding: dict[str, Any]) -> str | None:
    if coding.get("system") in C.LOINC_SYSTEMS:
        return C.OBSERVATION_FIELDS.get(str(coding.get("code")))
    if coding.get("system") == C.IVIG_FINDING and isinstance(coding.get("code"), str):
        return "finding:" + str(coding["code"])
    return None


def _latest(record: Record) -> dict[str, Resource]:
    """The latest Observation per field; at the same time, the one of the preferred code
    (``C.CODE_RANK``: a race-free eGFR before the "among blacks" one reported with it)."""
    latest: dict[str, tuple[tuple[str, int], Resource]] = {}
    for res in record.of_type("Observation"):
        if not active(res):
            continue
        for coding in codings(res.get("code")):
            name = _field_of(coding)
            if not name:
                continue
            key = (when(res), -C.CODE_RANK.get(str(coding.get("code")), 0))
            if name not in latest or key > latest[name][0]:
                latest[name] = (key, res)
    return {name: res for name, (_, res) in sorted(latest.items())}


def _quantity(record: Record, obs: Resource, name: str) -> tuple[float, str, str | None]:
    where = f"{record.ref(obs)}.valueQuantity"
    qty = obs.get("valueQuantity")
    if not isinstance(qty, dict):
        raise MissingFieldError(where, f"{name} from {record.ref(obs)}")
    value = qty.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}.value", value, "a number")
    unit = qty.get("code") if qty.get("system") in (None, *C.UCUM_SYSTEMS) else None
    unit = unit or qty.get("unit")
    if not isinstance(unit, str) or not unit:
        raise MissingFieldError(f"{where}.code", f"{name} (UCUM unit)")
    return float(value), unit, U.comparator_of(qty, where)


def _finding_value(kb: KnowledgeBase, record: Record, obs: Resource, name: str) -> object:
    try:
        kb.finding(name)
    except UnknownIdError as exc:
        raise InputError(
            f"{record.ref(obs)}.code", name, exc.allowed, detail="unknown finding"
        ) from None
    for key in ("valueBoolean", "valueInteger", "valueString"):
        if key in obs:
            return obs[key]
    if isinstance(obs.get("valueQuantity"), dict):
        return obs["valueQuantity"].get("value")
    found = codings(obs.get("valueCodeableConcept"))
    if found:
        return found[0].get("code")
    raise MissingFieldError(f"{record.ref(obs)}.value[x]", f"finding {name}")


def _rules_on(kb: KnowledgeBase, name: str) -> list[tuple[str, str, float]]:
    """(risk factor, op, threshold) of every numeric derivation from ``labs.<name>``."""
    rules: list[tuple[str, str, float]] = []
    for factor in kb.data["risk_factors"]:
        for rule in factor.get("derive", []):
            value = rule["value"]
            if rule["input"] != f"labs.{name}" or isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                rules.append((factor["id"], str(rule["op"]), float(value)))
    return rules


def _bounded_lab(
    kb: KnowledgeBase, record: Record, obs: Resource, name: str, value: float, comparator: str
) -> tuple[float | None, list[str]]:
    """A lab written with a comparator: the risk factors it settles, or a note that it cannot."""
    settled: list[str] = []
    open_rules: list[str] = []
    for factor, op, threshold in _rules_on(kb, name):
        outcome = U.decide(comparator, value, op, threshold)
        if outcome is None:
            open_rules.append(f"{factor} ({op} {threshold:g})")
        elif outcome:
            settled.append(factor)
    shown = f"{comparator}{value:g} {U.FIELD_UNITS[name]}"
    label = name.split("_", maxsplit=1)[0]
    record.add_input(
        name, f"{label} {shown}" + (f" ({', '.join(settled)})" if settled else ""), obs
    )
    if open_rules:
        record.notes.append(
            f"{name} {shown} from {record.ref(obs)} leaves undecided: "
            + ", ".join(open_rules)
            + "; the value is not used — record an exact result"
        )
        return None, settled
    if settled:
        record.notes.append(
            f"{name} {shown} from {record.ref(obs)} is within the rule of "
            + ", ".join(settled)
            + ": recorded as a risk factor (the bound itself is not used as a value)"
        )
        return None, settled
    record.notes.append(f"{name} {shown} from {record.ref(obs)}: no rule depends on it")
    return (value if comparator in (">", ">=") else None), settled


def _measure(
    kb: KnowledgeBase, record: Record, obs: Resource, name: str
) -> tuple[float | None, list[str]]:
    """The converted value of one measure (``None``: not usable) and risk factors it settles."""
    value, unit, comparator = _quantity(record, obs, name)
    converted = U.convert(kb, value, unit, name, f"{record.ref(obs)}.valueQuantity.code")
    by_mass = name == "creatinine_umol_per_l" and unit.strip() not in ("umol/L", "mmol/L")
    if by_mass and not _reading_verified(kb, "creatinine_molar_mass_g_per_mol"):
        record.unverified.append("creatinine molar mass (mass to substance conversion)")
    if comparator is None:
        return converted, []
    if name in _BODY:
        raise InputError(
            f"{record.ref(obs)}.valueQuantity.comparator", comparator, "none (an exact measure)"
        )
    return _bounded_lab(kb, record, obs, name, converted, comparator)


def _reading_verified(kb: KnowledgeBase, reading_id: str) -> bool:
    return any(
        r["id"] == reading_id and r["verified"] for r in kb.data["medication_codes"]["readings"]
    )


def read_observations(
    kb: KnowledgeBase, record: Record
) -> tuple[dict[str, float], dict[str, float], dict[str, object], list[str]]:
    """(body measures, labs, findings, risk factors) from the latest Observation of each field."""
    body: dict[str, float] = {}
    labs: dict[str, float] = {}
    findings: dict[str, object] = {}
    risks: list[str] = []
    for name, obs in _latest(record).items():
        if name.startswith("finding:"):
            findings[name[8:]] = _finding_value(kb, record, obs, name[8:])
            record.add_input(name[8:], f"{name[8:]} = {findings[name[8:]]}", obs)
            continue
        try:
            value, settled = _measure(kb, record, obs, name)
        except InputError as exc:
            if name == "weight_kg":
                raise
            record.notes.append(f"{name} from {record.ref(obs)} skipped: {exc}")
            continue
        risks += settled
        if value is None:
            continue
        record.references[name] = record.ref(obs)
        target = body if name in _BODY else labs
        target[name] = round(value, _PRECISION.get(name, 4))
        shown = "mL/min/1.73 m2" if name.startswith("egfr") else U.FIELD_UNITS[name]
        record.add_input(name, f"{name.split('_')[0]} {target[name]:.4g} {shown}", obs)
    return body, labs, findings, risks


def standard_findings(kb: KnowledgeBase, record: Record, findings: dict[str, object]) -> None:
    """Findings set by standard codes (``finding_codes``); recorded findings win."""
    for entry in kb.data["medication_codes"]["finding_codes"]:
        if entry["finding"] in findings:
            continue
        for kind in entry["resources"]:
            hit = next(
                (r for r in record.of_type(kind) if _coded(kb, r, entry) and _current(r)), None
            )
            if hit is None:
                continue
            findings[entry["finding"]] = entry["value"]
            record.add_input(entry["finding"], f"{entry['finding']} = {entry['value']}", hit)
            record.notes.append(
                f"{entry['finding']} = {entry['value']} from {record.ref(hit)} "
                f"({entry['system']} {entry['code']} {entry['display']})"
                + ("" if entry["verified"] else "; the code mapping is not verified")
            )
            break


def _coded(kb: KnowledgeBase, res: Resource, entry: Mapping[str, Any]) -> bool:
    from ivig.service.fhir.medication import code_system

    return any(
        code_system(kb, c.get("system")) == entry["system"] and c.get("code") == entry["code"]
        for c in codings(res.get("code"))
    )


def _current(res: Resource) -> bool:
    if res.get("resourceType") == "Procedure":
        return res.get("status") in ("in-progress", "completed") and active(res)
    return active(res)


def check_data_age(kb: KnowledgeBase, record: Record, phase: str, today: dt.date) -> None:
    """A warning for a weight or laboratory result older than the knowledge base allows."""
    limits = {
        "weight_kg": U.reading_value(
            kb,
            "weight_max_age_days_maintenance"
            if phase == "maintenance"
            else "weight_max_age_days_induction",
        ),
    }
    lab_limit = U.reading_value(kb, "lab_max_age_days")
    for item in record.inputs:
        limit = limits.get(item.field, lab_limit if item.field in U.FIELD_UNITS else None)
        if limit is None:
            continue
        span = parse_date(item.date) if item.date != "undated" else None
        if span is None:
            record.stale.append(f"{item.text} ({item.reference}) has no date")
            continue
        age_days = (today - span[1]).days
        if age_days > limit:
            record.stale.append(
                f"{item.text} is from {item.date} ({age_days} days ago, {item.reference}); "
                f"older than {limit:g} days for {'an' if phase[:1] in 'aeiou' else 'a'} {phase} "
                "dose: record a current value"
            )
