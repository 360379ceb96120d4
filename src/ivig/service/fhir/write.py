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

from ivig.service.fhir import codes as C

__all__ = ["to_fhir_bundle", "to_fhir_careplan", "to_fhir_medication_request"]


def _qty(value: float, unit: str) -> dict[str, Any]:
    return {"value": round(float(value), 4), "unit": unit, "system": C.UCUM, "code": unit}


def _rate_type(code: str) -> dict[str, Any]:
    return {"coding": [{"system": C.DOSE_RATE_TYPE, "code": code}]}


def _g(value: float) -> str:
    return f"{value:g}"


def _knowledge_ext(rec: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"url": C.IVIG_KNOWLEDGE_VERSION, "valueString": str(rec["knowledge_version"])}]


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
    out: list[dict[str, Any]] = []
    for n, group in enumerate(groups, start=1):
        grams = group[0]["grams"]
        when = f"daily for {len(group)} day(s)" if same else f"on day {group[0]['day']}"
        text = (
            f"{_g(dose['g_per_kg_per_day'])} g/kg/day ({weight}) = {_g(grams)} g {when}"
            + _rate_text(infusion)
        )
        if dose.get("interval_weeks"):
            text += f"; repeat the course every {_g(dose['interval_weeks'])} weeks"
        calculated: dict[str, Any] = {
            "type": _rate_type("calculated"),
            "doseQuantity": _qty(grams, "g"),
        }
        if rate is not None:
            calculated["rateQuantity"] = rate
        dosage: dict[str, Any] = {
            "sequence": n,
            "text": text,
            "timing": {
                "repeat": {"count": len(group), "frequency": 1, "period": 1, "periodUnit": "d"}
            },
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
            "extension": _knowledge_ext(rec),
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
    if "condition" in refs:
        resource["reasonReference"] = [{"reference": refs["condition"]}]
    support = [refs[k] for k in ("weight_kg", "height_cm", "iga_g_per_l") if k in refs]
    if support:
        resource["supportingInformation"] = [{"reference": r} for r in support]
    notes = list(rec.get("warnings", [])) + [f"unverified: {u}" for u in rec.get("unverified", [])]
    notes.append(str(rec["disclaimer"]))
    resource["note"] = [{"text": n} for n in notes]
    return resource


def to_fhir_careplan(rec: Mapping[str, Any], *, patient_ref: str) -> dict[str, Any]:
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
        "extension": _knowledge_ext(rec),
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
) -> dict[str, Any]:
    """A collection Bundle: the MedicationRequest (when there is a dose) and the CarePlan."""
    entries = []
    if rec.get("dose") is not None:
        order = to_fhir_medication_request(
            rec,
            patient_ref=patient_ref,
            references=references,
            draft=draft,
            product_name=product_name,
        )
        entries.append({"resource": order})
    entries.append({"resource": to_fhir_careplan(rec, patient_ref=patient_ref)})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
