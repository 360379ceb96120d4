"""FHIR R4 out: a recommendation as a MedicationRequest and a CarePlan.

The MedicationRequest carries the dose as FHIR writes weight-based orders: one ``doseAndRate``
of type ``ordered`` in g/kg and one of type ``calculated`` in g with the starting rate in mL/h,
the stepped rates in the dosage text, the weight Observation in ``supportingInformation``. The
CarePlan holds the monitoring and review plan. Nothing is computed here: every number is read
from the recommendation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ivig.render import fmt
from ivig.service.fhir import codes as C

__all__ = ["to_fhir_bundle", "to_fhir_careplan", "to_fhir_medication_request", "updated_order"]


def _qty(value: float, unit: str) -> dict[str, Any]:
    return {"value": round(float(value), 4), "unit": unit, "system": C.UCUM, "code": unit}


def _rate_type(code: str) -> dict[str, Any]:
    return {"coding": [{"system": C.DOSE_RATE_TYPE, "code": code}]}


def _g(value: float) -> str:
    return f"{value:g}"


def _knowledge_ext(rec: Mapping[str, Any], base: str | None) -> list[dict[str, Any]]:
    url = C.knowledge_extension_url(base)
    return [{"url": url, "valueString": str(rec["knowledge_version"])}]


def _medication(rec: Mapping[str, Any], product_name: str | None) -> dict[str, Any]:
    dose = rec["dose"]
    concept: dict[str, Any] = {}
    if dose["route"] == "iv":
        code, display = C.ATC_IV
        concept["coding"] = [{"system": C.ATC, "code": code, "display": display}]
    route_text = "intravenous" if dose["route"] == "iv" else "subcutaneous"
    concept["text"] = product_name or f"Immunoglobulin, normal human ({route_text})"
    return concept


def _rate_text(infusion: Mapping[str, Any] | None) -> str:
    if not infusion or not infusion.get("steps"):
        return ""
    parts = [
        f"from {_g(round(s['start_min']))} min {_g(round(s['rate_ml_per_h'], 1))} mL/h "
        f"({_g(s['rate_mg_per_kg_per_min'])} mg/kg/min)"
        for s in infusion["steps"]
    ]
    return "; infusion rate " + ", ".join(parts) + " as tolerated"


def _timing(count: int, interval_weeks: float | None, course_days: int) -> dict[str, Any]:
    """Daily for ``count`` days; a one-day maintenance dose repeats every ``interval_weeks``.

    A course of several days repeated every few weeks cannot be one ``Timing.repeat``; its
    cycle is in ``dispenseRequest.dispenseInterval`` (see :func:`to_fhir_medication_request`).
    """
    if interval_weeks and course_days == 1:
        return {"repeat": {"frequency": 1, "period": interval_weeks, "periodUnit": "wk"}}
    return {"repeat": {"count": count, "frequency": 1, "period": 1, "periodUnit": "d"}}


def _dosages(rec: Mapping[str, Any]) -> list[dict[str, Any]]:
    dose = rec["dose"]
    infusion = rec.get("infusion")
    route = C.ROUTE_IV if dose["route"] == "iv" else C.ROUTE_SC
    route_concept = {"coding": [{"system": route[0], "code": route[1], "display": route[2]}]}
    days = dose["days"]
    same = len({d["grams"] for d in days}) == 1
    groups = [days] if same else [[d] for d in days]
    rate = None
    if infusion and infusion.get("steps"):
        rate = _qty(infusion["steps"][0]["rate_ml_per_h"], "mL/h")
    weight = f"dosing weight {_g(dose['dosing_weight_kg'])} kg"
    rate_text = _rate_text(infusion)  # the same for every day
    out: list[dict[str, Any]] = []
    for n, group in enumerate(groups, start=1):
        grams = group[0]["grams"]
        when = f"daily for {len(group)} day(s)" if same else f"on day {group[0]['day']}"
        text = (
            f"{_g(dose['g_per_kg_per_day'])} g/kg/day ({weight}) = {_g(grams)} g {when}" + rate_text
        )
        if dose.get("interval_weeks"):
            text += f"; repeat the course {fmt.every(dose['interval_weeks'])}"
        calculated: dict[str, Any] = {
            "type": _rate_type("calculated"),
            "doseQuantity": _qty(grams, "g"),
        }
        if rate is not None:
            calculated["rateQuantity"] = rate
        dosage: dict[str, Any] = {
            "sequence": n,
            "text": text,
            "timing": _timing(len(group), dose.get("interval_weeks"), len(days)),
            "route": route_concept,
            "doseAndRate": [
                {
                    "type": _rate_type("ordered"),
                    "doseQuantity": _qty(dose["g_per_kg_per_day"], "g/kg"),
                },
                calculated,
            ],
            "maxDosePerPeriod": {"numerator": _qty(grams, "g"), "denominator": _qty(1, "d")},
        }
        out.append(dosage)
    return out


def to_fhir_medication_request(
    rec: Mapping[str, Any],
    *,
    patient_ref: str,
    references: Mapping[str, str] | None = None,
    draft: Mapping[str, Any] | None = None,
    product_name: str | None = None,
    status: str = "draft",
    canonical_base: str | None = None,
) -> dict[str, Any]:
    """The recommendation's dose as a MedicationRequest (``None`` dose: raise ``ValueError``).

    ``draft`` is the EHR's draft order: its id, identifiers, requester and encounter are kept,
    so the result can replace it. ``references`` names the resources used (``condition``,
    ``weight_kg``, ``height_cm``, ``iga_g_per_l``...).
    """
    if rec.get("dose") is None:
        raise ValueError("the recommendation has no dose to order")
    refs = dict(references or {})
    resource: dict[str, Any] = {"resourceType": "MedicationRequest"}
    for key in ("id", "identifier", "requester", "encounter", "authoredOn", "recorder"):
        if draft is not None and key in draft:
            resource[key] = draft[key]
    phase = rec["dose"]["phase"]
    resource.update(
        {
            "extension": _knowledge_ext(rec, canonical_base),
            "status": status,
            "intent": str(draft.get("intent", "order")) if draft else "proposal",
            "courseOfTherapyType": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy",
                        "code": "continuous" if phase == "maintenance" else "acute",
                    }
                ]
            },
            "medicationCodeableConcept": _medication(rec, product_name),
            "subject": {"reference": patient_ref},
            "dosageInstruction": _dosages(rec),
        }
    )
    weeks = rec["dose"].get("interval_weeks")
    if weeks:
        resource["dispenseRequest"] = {
            "dispenseInterval": {"value": weeks, "unit": "wk", "system": C.UCUM, "code": "wk"}
        }
    if "condition" in refs:
        resource["reasonReference"] = [{"reference": refs["condition"]}]
    support = [refs[k] for k in ("weight_kg", "height_cm", "iga_g_per_l") if k in refs]
    if support:
        resource["supportingInformation"] = [{"reference": r} for r in support]
    notes = list(rec.get("warnings", [])) + [f"unverified: {u}" for u in rec.get("unverified", [])]
    notes.append(str(rec["disclaimer"]))
    resource["note"] = [{"text": n} for n in notes]
    return resource


def to_fhir_careplan(
    rec: Mapping[str, Any], *, patient_ref: str, canonical_base: str | None = None
) -> dict[str, Any]:
    """The monitoring plan and the review plan as a CarePlan (activities in plain text)."""
    activities: list[dict[str, Any]] = []
    for item in rec.get("monitoring", []):
        activities.append(
            {
                "detail": {
                    "status": "not-started",
                    "description": f"[{item['phase']}] {item['text']}",
                }
            }
        )
    review = rec.get("review")
    if review:
        first = review.get("first_review_weeks")
        when = (
            f"first review {_g(first['min'])}-{_g(first['max'])} weeks after the start"
            if isinstance(first, dict)
            else "review as the local criteria require"
        )
        measures = ", ".join(m["name"] for m in review.get("measures", []))
        text = f"Review: {when}; measure {measures or 'the agreed outcome'}. "
        text += str(review.get("response_definition", ""))
        if review.get("stop_rule"):
            text += f" Stop rule: {review['stop_rule']}"
        activities.append({"detail": {"status": "not-started", "description": text.strip()}})
    plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "extension": _knowledge_ext(rec, canonical_base),
        "status": "draft",
        "intent": "proposal",
        "title": "Immunoglobulin monitoring and review plan",
        "subject": {"reference": patient_ref},
        "note": [{"text": str(rec["disclaimer"])}],
    }
    if activities:
        plan["activity"] = activities
    return plan


def to_fhir_bundle(
    rec: Mapping[str, Any],
    *,
    patient_ref: str,
    references: Mapping[str, str] | None = None,
    draft: Mapping[str, Any] | None = None,
    product_name: str | None = None,
    canonical_base: str | None = None,
) -> dict[str, Any]:
    """A collection Bundle: the MedicationRequest (when there is a dose) and the CarePlan."""
    entries = []
    plan = to_fhir_careplan(rec, patient_ref=patient_ref, canonical_base=canonical_base)
    if rec.get("dose") is not None:
        order = to_fhir_medication_request(
            rec,
            patient_ref=patient_ref,
            references=references,
            draft=draft,
            product_name=product_name,
            canonical_base=canonical_base,
        )
        order_url = _full_url(order)
        entries.append({"fullUrl": order_url, "resource": order})
        weeks = rec["dose"].get("interval_weeks")
        if weeks:
            plan.setdefault("activity", []).insert(0, _cycle_activity(order_url, weeks))
    entries.append({"fullUrl": _full_url(plan), "resource": plan})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _full_url(resource: Mapping[str, Any]) -> str:
    import uuid

    return f"urn:uuid:{uuid.uuid4()}"


def _cycle_activity(order_url: str, weeks: float) -> dict[str, Any]:
    """The maintenance cycle as a CarePlan activity pointing at the order."""
    return {
        "reference": {"reference": order_url},
        "detail": {
            "status": "not-started",
            "description": f"Repeat the immunoglobulin course every {_g(weeks)} weeks",
            "scheduledTiming": {"repeat": {"frequency": 1, "period": weeks, "periodUnit": "wk"}},
        },
    }


def updated_order(
    rec: Mapping[str, Any],
    draft: Mapping[str, Any],
    *,
    patient_ref: str,
    references: Mapping[str, str] | None = None,
    product_name: str | None = None,
    canonical_base: str | None = None,
) -> dict[str, Any]:
    """The draft with only its dose, rate and timing changed (and product, if one is named).

    Every other element of the draft is kept as it is: category, priority, performer,
    dispenseRequest (its ``quantity`` becomes the suggested course's grams or volume, or is
    dropped when neither can be said), substitution, the prescriber's notes (only theirs: the
    card shows the warnings and the disclaimer), the medication's codings (ATC is added as an
    extra coding). The dosage keeps the draft's route and instructions.
    """
    import copy

    computed = to_fhir_medication_request(
        rec,
        patient_ref=patient_ref,
        references=references,
        draft=draft,
        product_name=product_name,
        canonical_base=canonical_base,
    )
    out = copy.deepcopy(dict(draft))
    old = [d for d in draft.get("dosageInstruction", []) or [] if isinstance(d, dict)]
    dosages = []
    for n, new in enumerate(computed["dosageInstruction"]):
        base = copy.deepcopy(old[min(n, len(old) - 1)]) if old else {}
        for key in ("sequence", "text", "timing", "doseAndRate", "maxDosePerPeriod"):
            base[key] = new[key]
        base.setdefault("route", new["route"])
        dosages.append(base)
    out["dosageInstruction"] = dosages
    weeks = rec["dose"].get("interval_weeks")
    dispense = dict(out.get("dispenseRequest") or {})
    if weeks:
        dispense["dispenseInterval"] = computed["dispenseRequest"]["dispenseInterval"]
    if "quantity" in dispense:
        quantity = _dispense_quantity(rec, dispense["quantity"], product_name)
        if quantity is None:
            del dispense["quantity"]
        else:
            dispense["quantity"] = quantity
    if dispense:
        out["dispenseRequest"] = dispense
    else:
        out.pop("dispenseRequest", None)
    if product_name or "medicationReference" not in out:
        out["medicationCodeableConcept"] = _medication_kept(
            out.get("medicationCodeableConcept"),
            computed["medicationCodeableConcept"],
            product_name,
        )
        out.pop("medicationReference", None)
    ours = _knowledge_ext(rec, canonical_base)
    out["extension"] = [
        e
        for e in out.get("extension", []) or []
        if e.get("url") not in (ours[0]["url"], C.IVIG_KNOWLEDGE_VERSION)
    ] + ours
    support = list(out.get("supportingInformation", []) or [])
    for ref in computed.get("supportingInformation", []):
        if ref not in support:
            support.append(ref)
    if support:
        out["supportingInformation"] = support
    # the prescriber's notes only: the warnings, unverified values and the disclaimer are on
    # the card, and an accepted suggestion would otherwise file them in the order
    return out


def _dispense_quantity(
    rec: Mapping[str, Any], quantity: object, product_name: str | None
) -> dict[str, Any] | None:
    """The draft's ``dispenseRequest.quantity`` for the suggested course: its grams when the
    draft gave a mass, its volume when it gave one and the product given is the plan's (whose
    volumes the plan holds); ``None`` (dropped) otherwise, as vials or a bare number."""
    from ivig.errors import InputError
    from ivig.service.fhir.units import quantity_code, ucum_quantity

    dose = rec["dose"]
    code = quantity_code(quantity) if isinstance(quantity, dict) else None
    if code is None:
        return None
    try:
        unit = ucum_quantity(1.0, code, "dispenseRequest.quantity")
    except InputError:
        return None
    if unit.check("[mass]"):
        return _qty(dose["total_g"], "g")
    same_product = product_name is not None or dose.get("product") == (
        rec.get("request") or {}
    ).get("product")
    volumes = [d.get("volume_ml") for d in dose["days"]]
    if unit.check("[length]**3") and same_product and all(v is not None for v in volumes):
        return _qty(round(sum(float(v) for v in volumes if v is not None), 1), "mL")
    return None


def _medication_kept(
    concept: object, computed: Mapping[str, Any], product_name: str | None
) -> dict[str, Any]:
    """The draft's medication with its codings kept and ATC added (a new product replaces)."""
    import copy

    if product_name or not isinstance(concept, dict):
        return dict(computed)
    out = copy.deepcopy(concept)
    codings = [c for c in out.get("coding", []) or [] if isinstance(c, dict)]
    for extra in computed.get("coding", []):
        if not any(
            (c.get("system"), c.get("code")) == (extra["system"], extra["code"]) for c in codings
        ):
            codings.append(extra)
    if codings:
        out["coding"] = codings
    return out
