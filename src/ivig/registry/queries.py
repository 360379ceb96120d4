"""Stewardship queries: lot recall, reviews due and overdue, shortage triage."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ivig.errors import InputError
from ivig.registry._rows import as_date, required_text, today_utc
from ivig.registry.models import (
    AdverseEvent,
    Authorisation,
    Course,
    CourseReview,
    Infusion,
    OutcomeAssessment,
    Patient,
    RequestRecord,
)
from ivig.registry.workflow import weekly_grams

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ivig.knowledge.base import KnowledgeBase

__all__ = ["plan_of", "recall_lot", "reviews_due", "shortage_triage"]


def recall_lot(session: Session, lot_number: str) -> dict[str, Any]:
    """Every patient and infusion that received ``lot_number``, and adverse events on it."""
    lot = required_text(lot_number, "lot_number", 80)
    rows = session.execute(
        select(Infusion, Course, Patient)
        .join(Course, Infusion.course_id == Course.id)
        .join(Patient, Course.patient_id == Patient.id)
        .where(Infusion.lot_number == lot)
        .order_by(Infusion.date, Infusion.id)
    ).all()
    infusions = [
        {
            "infusion_id": inf.id,
            "patient_ref": patient.local_ref,
            "course_id": course.id,
            "date": inf.date.isoformat(),
            "product": inf.product,
            "grams": inf.grams,
            "reactions": inf.reactions,
        }
        for inf, course, patient in rows
    ]
    patients: dict[str, dict[str, Any]] = {}
    item: dict[str, Any]
    for item in infusions:
        ref = str(item["patient_ref"])
        entry = patients.setdefault(
            ref,
            {"patient_ref": item["patient_ref"], "infusions": 0, "grams": 0.0, "first": None},
        )
        entry["infusions"] += 1
        entry["grams"] += item["grams"]
        entry["first"] = entry["first"] or item["date"]
        entry["last"] = item["date"]
    events = session.execute(
        select(AdverseEvent, Patient)
        .join(Patient, AdverseEvent.patient_id == Patient.id)
        .where(AdverseEvent.lot_number == lot)
        .order_by(AdverseEvent.date)
    ).all()
    return {
        "lot_number": lot,
        "patients": list(patients.values()),
        "infusions": infusions,
        "grams": sum(i["grams"] for i in infusions),
        "adverse_events": [
            {
                "adverse_event_id": ev.id,
                "patient_ref": patient.local_ref,
                "date": ev.date.isoformat(),
                "event_type": ev.event_type,
                "severity": ev.severity,
                "outcome": ev.outcome,
            }
            for ev, patient in events
        ],
    }


def _window(recommendation: dict[str, Any], key: str) -> tuple[float, float] | None:
    review = recommendation.get("review") or {}
    window = review.get(key)
    if not window or window.get("min") is None:
        return None
    low = float(window["min"])
    return low, float(window.get("max", low))


def reviews_due(
    session: Session, *, today: dt.date | str | None = None, within_days: int = 14
) -> list[dict[str, Any]]:
    """One row per running course: its review status and missing measures.

    ``status`` is ``overdue`` (past the end of the review window the stored plan gives, or past
    the due date when the plan gives no window), ``due`` (due date reached), ``upcoming``
    (within ``within_days``) or ``scheduled``; ``no_date`` when nothing sets a date. ``problems``
    lists a missing baseline measure, a missing follow-up measure and an expired authorisation.
    Sorted most urgent first.
    """
    day = as_date(today, "today", default=today_utc())
    if isinstance(within_days, bool) or not isinstance(within_days, int) or within_days < 0:
        raise InputError("within_days", within_days, "a whole number of days, 0 or more", "days")
    courses = session.scalars(
        select(Course).where(Course.status.in_(("active", "trial_off"))).order_by(Course.id)
    ).all()
    out: list[dict[str, Any]] = []
    for course in courses:
        rec = course.request.decision.recommendation if course.request.decision else {}
        reviews = session.scalars(
            select(CourseReview).where(CourseReview.course_id == course.id)
        ).all()
        window = _window(rec, "interval_weeks" if reviews else "first_review_weeks")
        due = course.next_review_date
        overdue_from = due
        if due is not None and window is not None:
            overdue_from = due + dt.timedelta(weeks=window[1] - window[0])
        if due is None:
            status = "no_date"
        elif overdue_from is not None and day > overdue_from:
            status = "overdue"
        elif day >= due:
            status = "due"
        elif (due - day).days <= within_days:
            status = "upcoming"
        else:
            status = "scheduled"
        problems = _problems(session, course, rec, reviews, day, status)
        out.append(
            {
                "course_id": course.id,
                "request_id": course.request_id,
                "patient_ref": course.patient.local_ref,
                "condition": course.request.condition,
                "indication": course.request.indication,
                "course_status": course.status,
                "start_date": course.start_date.isoformat(),
                "next_review_date": due.isoformat() if due else None,
                "overdue_after": overdue_from.isoformat() if overdue_from else None,
                "status": status,
                "days_to_review": (due - day).days if due else None,
                "problems": problems,
            }
        )
    order = {"overdue": 0, "due": 1, "no_date": 2, "upcoming": 3, "scheduled": 4}
    out.sort(key=lambda r: (order[r["status"]], r["days_to_review"] or 0, r["course_id"]))
    return out


def _problems(
    session: Session,
    course: Course,
    rec: dict[str, Any],
    reviews: list[CourseReview] | Any,
    day: dt.date,
    status: str,
) -> list[str]:
    problems: list[str] = []
    measures = list((rec.get("review") or {}).get("baseline_required") or [])
    assessments = session.scalars(
        select(OutcomeAssessment).where(OutcomeAssessment.course_id == course.id)
    ).all()
    baseline = [a for a in assessments if a.timing == "baseline" or a.date <= course.start_date]
    if not baseline:
        wanted = ", ".join(measures) if measures else "an outcome measure"
        problems.append(f"missing baseline measure (one of: {wanted})")
    last_review = max((r.date for r in reviews), default=course.start_date)
    follow_up = [a for a in assessments if a.date > last_review and a.timing != "baseline"]
    if status in ("due", "overdue") and not follow_up:
        problems.append("missing follow-up measure since the last review or the start")
    auth = session.scalar(
        select(Authorisation)
        .where(Authorisation.request_id == course.request_id)
        .order_by(Authorisation.id.desc())
        .limit(1)
    )
    if auth is not None and auth.expiry_date is not None and auth.expiry_date < day:
        problems.append(f"authorisation expired on {auth.expiry_date.isoformat()}")
    return problems


def plan_of(session: Session, record: RequestRecord) -> dict[str, Any]:
    """The plan in force for a request: the decision's dose, with approved changes applied."""
    decision = record.decision
    total_g = decision.total_g if decision else None
    interval = decision.interval_weeks if decision else None
    auth = session.scalar(
        select(Authorisation)
        .where(Authorisation.request_id == record.id)
        .order_by(Authorisation.id.desc())
        .limit(1)
    )
    source = "decision"
    if auth is not None and auth.changes:
        total_g = auth.changes.get("total_g", total_g)
        interval = auth.changes.get("interval_weeks", interval)
        source = "authorisation"
    return {
        "total_g": total_g,
        "interval_weeks": interval,
        "grams_per_week": weekly_grams(total_g, interval),
        "plan_source": source,
    }


def _evidence_level(
    knowledge: KnowledgeBase, rec: dict[str, Any], indication_id: str | None, system: str
) -> str | None:
    for ev in (rec.get("eligibility") or {}).get("evidence") or []:
        if ev.get("system") == system:
            return str(ev["level"])
    if indication_id:
        try:
            indication = knowledge.indication(indication_id)
        except InputError:
            return None
        for ev in indication.get("evidence", []):
            if ev["system"] == system:
                return str(ev["level"])
    return None


def shortage_triage(
    session: Session, knowledge: KnowledgeBase, *, system: str = "uk_dh_colour"
) -> list[dict[str, Any]]:
    """Active and pending requests ranked by the evidence-level rank of ``system``.

    The level is the one stored with the decision (else the indication's level in the knowledge
    base); its rank comes from the evidence system's record. Highest rank first; within a rank,
    running courses before approved before pending, then oldest first. Each row shows the grams
    per week of its plan and the running total down the list.
    """
    known = [s["id"] for s in knowledge.data["evidence_systems"]]
    if system not in known:
        raise InputError("system", system, ", ".join(known))
    evidence = knowledge.evidence_system(system)
    levels = {lv["id"]: lv for lv in evidence["levels"]}
    records = session.scalars(
        select(RequestRecord)
        .where(RequestRecord.status.in_(("pending", "approved", "approved_with_changes", "active")))
        .order_by(RequestRecord.id)
    ).all()
    state_order = {"active": 0, "approved": 1, "approved_with_changes": 1, "pending": 2}
    rows = []
    for record in records:
        rec = record.decision.recommendation if record.decision else {}
        level = _evidence_level(knowledge, rec, record.indication, system)
        info = levels.get(level) if level is not None else None
        rows.append(
            {
                "request_id": record.id,
                "patient_ref": record.patient.local_ref,
                "condition": record.condition,
                "indication": record.indication,
                "phase": record.phase,
                "status": record.status,
                "eligibility_status": record.decision.eligibility_status
                if record.decision
                else None,
                "system": system,
                "level": level,
                "level_label": info["label"] if info else f"no {system} level",
                "rank": info["rank"] if info else None,
                "level_verified": info["verified"] if info else None,
                **plan_of(session, record),
            }
        )
    rows.sort(
        key=lambda r: (
            -(r["rank"] if r["rank"] is not None else -1),
            state_order[r["status"]],
            r["request_id"],
        )
    )
    running = 0.0
    for position, row in enumerate(rows, start=1):
        running += row["grams_per_week"] or 0.0
        row["position"] = position
        row["cumulative_grams_per_week"] = running
    return rows
