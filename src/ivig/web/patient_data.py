"""What the patient page shows, read from the registry: requests, courses, infusions with
lots, adverse events, outcome scores and the IgG the PK model predicts from the infusions.

Read-only. Requests and reviews come through :mod:`ivig.registry.api`; infusions, outcomes
and adverse events of one patient are read from the registry's tables (the public API has no
per-patient history yet). The IgG curve is :func:`ivig.core.pk.simulate_regimen` over the
infusions given and fitted to the measured levels (:mod:`ivig.app.patient` chooses the
population and the target band); nothing is computed here.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

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
                "igg_levels": api.igg_levels(session, course.id),
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
    latest = bodies[requests[0]["request_id"]] if requests else {}
    return {
        "patient_ref": patient.local_ref,
        "sex": patient.sex,
        "latest_patient": (latest.get("request") or {}).get("patient") or {},
        "latest_date": str(latest.get("submitted_at") or "")[:10],
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


def igg_prediction(
    kb: KnowledgeBase, course: dict[str, Any], *, until: dt.date | None = None
) -> dict[str, Any] | None:
    """The course's IgG as :func:`ivig.app.patient.igg_course` gives it, over the levels
    recorded in the registry; the request's pre-treatment IgG counts as the baseline when no
    baseline level was recorded."""
    from ivig.app.patient import igg_course

    levels = list(course.get("igg_levels", []))
    labs = (course["request"].get("patient") or {}).get("labs") or {}
    if isinstance(labs.get("igg_g_per_l"), int | float) and not any(
        lv["kind"] == "baseline" for lv in levels
    ):
        baseline = {"date": course["start_date"], "kind": "baseline"}
        levels.insert(0, {**baseline, "igg_g_per_l": labs["igg_g_per_l"]})
    return igg_course(kb, course, levels, until=until)
