"""What the patient page shows, read from the registry: requests, courses, infusions with
lots, adverse events, outcome scores and the IgG the PK model predicts from the infusions.

Read-only. Requests and reviews come through :mod:`ivig.registry.api`; infusions, outcomes
and adverse events of one patient are read from the registry's tables (the public API has no
per-patient history yet). The IgG curve is :func:`ivig.core.pk.simulate_regimen` over the
infusions given, with the population's typical values; nothing is recomputed here.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ivig.knowledge.base import KnowledgeBase

__all__ = ["igg_prediction", "list_patients", "patient_history"]


def list_patients(session: Session, query: str = "") -> list[dict[str, Any]]:
    """Patients with their number of requests and latest request status, by reference."""
    from ivig.registry import api

    rows: dict[str, dict[str, Any]] = {}
    for req in api.list_requests(session):
        ref = req["patient_ref"]
        if query and query.lower() not in ref.lower():
            continue
        row = rows.setdefault(
            ref, {"patient_ref": ref, "requests": 0, "latest": req, "conditions": []}
        )
        row["requests"] += 1
        if req["condition"] not in row["conditions"]:
            row["conditions"].append(req["condition"])
    return sorted(rows.values(), key=lambda r: r["patient_ref"])


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def patient_history(
    session: Session,
    patient_ref: str,
    *,
    today: dt.date | None = None,
    reviews: list[dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """Everything recorded for ``patient_ref``; ``None`` when the registry does not know it.

    ``reviews`` is ``api.reviews_due`` for the whole registry when the caller has it already.
    """
    from sqlalchemy import select

    from ivig.registry import api
    from ivig.registry.models import AdverseEvent, Course, Infusion, OutcomeAssessment, Patient

    patient = session.scalar(select(Patient).where(Patient.local_ref == patient_ref))
    if patient is None:
        return None
    requests = api.list_requests(session, patient_ref=patient_ref)
    bodies = {r["request_id"]: api.get_request(session, r["request_id"]) for r in requests}
    courses = []
    for course in session.scalars(
        select(Course).where(Course.patient_id == patient.id).order_by(Course.start_date)
    ):
        infusions = session.scalars(
            select(Infusion).where(Infusion.course_id == course.id).order_by(Infusion.date)
        ).all()
        outcomes = session.scalars(
            select(OutcomeAssessment)
            .where(OutcomeAssessment.course_id == course.id)
            .order_by(OutcomeAssessment.date, OutcomeAssessment.id)
        ).all()
        detail = bodies.get(course.request_id, {})
        courses.append(
            {
                "id": course.id,
                "request_id": course.request_id,
                "condition": course.request.condition,
                "indication": course.request.indication,
                "phase": course.request.phase,
                "status": course.status,
                "product": course.product,
                "start_date": course.start_date.isoformat(),
                "next_review_date": _iso(course.next_review_date),
                "end_date": _iso(course.end_date),
                "end_reason": course.end_reason,
                "request": detail.get("request") or {},
                "recommendation": detail.get("recommendation") or {},
                "infusions": [
                    {
                        "id": i.id,
                        "date": i.date.isoformat(),
                        "product": i.product,
                        "lot_number": i.lot_number,
                        "grams": i.grams,
                        "rate_ml_per_h": i.rate_ml_per_h,
                        "duration_min": i.duration_min,
                        "reactions": i.reactions,
                    }
                    for i in infusions
                ],
                "outcomes": [
                    {
                        "score_id": o.score_id,
                        "value": o.value,
                        "timing": o.timing,
                        "date": o.date.isoformat(),
                    }
                    for o in outcomes
                ],
            }
        )
    events = session.scalars(
        select(AdverseEvent)
        .where(AdverseEvent.patient_id == patient.id)
        .order_by(AdverseEvent.date)
    ).all()
    course_ids = {c["id"] for c in courses}
    if reviews is None:
        reviews = api.reviews_due(session, today=today)
    reviews = [r for r in reviews if r["course_id"] in course_ids]
    return {
        "patient_ref": patient.local_ref,
        "sex": patient.sex,
        "birth_year": patient.birth_year,
        "requests": requests,
        "courses": courses,
        "adverse_events": [
            {
                "date": e.date.isoformat(),
                "event_type": e.event_type,
                "severity": e.severity,
                "outcome": e.outcome,
                "product": e.product,
                "lot_number": e.lot_number,
                "course_id": e.course_id,
                "description": e.description,
            }
            for e in events
        ],
        "reviews": reviews,
    }


def _population(kb: KnowledgeBase, condition: str) -> Any:
    from ivig.core.pk import pk_population

    for pop in kb.data["pk"]["populations"]:
        if pop.get("condition") == condition:
            return pop
    return pk_population(kb)


def _band(kb: KnowledgeBase, population_id: str, interval_days: float | None) -> Any:
    """The population's steady-state trough reference nearest the maintenance interval."""
    refs = [
        r
        for r in kb.data["pk"]["references"]
        if r["population"] == population_id and r["kind"] == "trough" and {"min", "max"} <= set(r)
    ]
    if not refs or interval_days is None:
        return None  # a trough band belongs to a maintenance interval
    return min(refs, key=lambda r: abs(r.get("interval_days", 0.0) - interval_days))


def igg_prediction(
    kb: KnowledgeBase, course: dict[str, Any], *, until: dt.date | None = None
) -> dict[str, Any] | None:
    """Predicted total IgG (g/L) by date over the course's infusions, with the reference band.

    ``None`` when the course has no infusion or no weight. Infusions on the same date are one
    dose; route comes from the product's catalogue routes.
    """
    from ivig.core.pk import Dose, default_infusion_hours, simulate_regimen

    infusions = course["infusions"]
    weight_kg = (course["request"].get("patient") or {}).get("weight_kg")
    if not infusions or not weight_kg:
        return None
    first = dt.date.fromisoformat(infusions[0]["date"])
    by_day: dict[int, float] = {}
    routes: dict[int, Literal["iv", "sc"]] = {}
    products: dict[str, Any] = {p["id"]: p for p in kb.data["products"]}
    for inf in infusions:
        day = (dt.date.fromisoformat(inf["date"]) - first).days
        by_day[day] = by_day.get(day, 0.0) + float(inf["grams"])
        product_routes = (products.get(inf["product"]) or {}).get("routes", ["iv"])
        routes[day] = "iv" if "iv" in product_routes else "sc"
    hours = default_infusion_hours(kb)
    doses = [
        Dose(
            day=float(day),
            amount_g_per_kg=grams / float(weight_kg),
            route=routes[day],
            infusion_hours=hours if routes[day] == "iv" else 0.0,
        )
        for day, grams in sorted(by_day.items())
    ]
    last_day = max(by_day)
    end_day = float(last_day + 28)
    if until is not None:
        end_day = max(end_day, float((until - first).days))
    population = _population(kb, course["condition"])
    sim = simulate_regimen(population, doses, float(weight_kg), end_day=end_day, step_days=1.0)
    points = [
        (first + dt.timedelta(days=int(t)), float(v))
        for t, v in zip(sim.times_days, sim.total_igg_g_per_l, strict=True)
    ]
    dose = course["recommendation"].get("dose") or {}
    interval_weeks = dose.get("interval_weeks")
    band = _band(kb, population["id"], interval_weeks * 7 if interval_weeks else None)
    measured = []
    labs = (course["request"].get("patient") or {}).get("labs") or {}
    if isinstance(labs.get("igg_g_per_l"), int | float):
        measured.append((first, float(labs["igg_g_per_l"])))
    return {
        "population": {
            "id": population["id"],
            "name": population["name"],
            "verified": population["verified"],
            "warnings": list(population.get("warnings", [])),
        },
        "points": points,
        "measured": measured,
        "band": band,
        "doses": len(doses),
    }
