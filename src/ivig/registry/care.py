"""Care steps on a running course: infusions (with lot numbers), adverse events, outcome
assessments, reviews (continue / change / trial off / stop), trial-off periods, and the
feedback CDS Hooks clients send on cards. Each function writes one audit entry; the caller
commits.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ivig.errors import InputError, IvigError
from ivig.registry._rows import (
    as_date,
    get_or_fail,
    jsonable,
    optional_positive,
    positive,
    required_text,
    row_out,
)
from ivig.registry.audit import append_audit, save_audited
from ivig.registry.models import (
    AdverseEvent,
    CdsFeedback,
    Course,
    CourseReview,
    Infusion,
    OutcomeAssessment,
    Patient,
    TrialOff,
)
from ivig.registry.users import get_user, require_permission
from ivig.registry.workflow import stop_course

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "AE_OUTCOMES",
    "AE_SEVERITIES",
    "CDS_OUTCOMES",
    "REVIEW_ACTIONS",
    "TIMINGS",
    "course_history",
    "end_trial_off",
    "record_adverse_event",
    "record_cds_feedback",
    "record_infusion",
    "record_outcome",
    "review_course",
    "start_trial_off",
]

AE_SEVERITIES = ("mild", "moderate", "severe", "life_threatening", "fatal")
AE_OUTCOMES = ("resolved", "resolving", "ongoing", "sequelae", "fatal", "unknown")
TIMINGS = ("baseline", "pre_dose", "post_dose", "routine")
REVIEW_ACTIONS = ("continue", "change", "trial_off", "stop")
CDS_OUTCOMES = ("accepted", "overridden")


def _one_of(value: object, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InputError(field, value, ", ".join(allowed))
    return str(value)


def _course(session: Session, course_id: int, *statuses: str) -> Course:
    course: Course = get_or_fail(session, Course, course_id, "course_id")
    if statuses and course.status not in statuses:
        raise InputError(
            "course_id",
            course_id,
            f"a course that is {' or '.join(statuses)}",
            detail=f"its status is {course.status}",
        )
    return course


def _not_before(day: dt.date, course: Course, field: str) -> None:
    if day < course.start_date:
        raise InputError(
            field,
            day.isoformat(),
            f"on or after {course.start_date.isoformat()}",
            detail="the course start",
        )


def record_infusion(
    session: Session,
    course_id: int,
    *,
    date: dt.date | str,
    product: str,
    lot_number: str,
    grams: float,
    actor: str,
    rate_ml_per_h: float | None = None,
    duration_min: float | None = None,
    reactions: str | None = None,
) -> dict[str, Any]:
    """One infusion given on an active course, with its lot (batch) number."""
    require_permission(session, actor, "record_infusion")
    user = get_user(session, actor)
    course = _course(session, course_id, "active")
    day = as_date(date, "date")
    _not_before(day, course, "date")
    infusion = Infusion(
        course_id=course.id,
        date=day,
        product=required_text(product, "product", 80),
        lot_number=required_text(lot_number, "lot_number", 80),
        grams=positive(grams, "grams", "g"),
        rate_ml_per_h=optional_positive(rate_ml_per_h, "rate_ml_per_h", "mL/h"),
        duration_min=optional_positive(duration_min, "duration_min", "min"),
        reactions=reactions.strip() if reactions and reactions.strip() else None,
        recorded_by=user.id,
    )
    session.add(infusion)
    return save_audited(session, infusion, actor=actor, action="record_infusion", entity="infusion")


def record_adverse_event(
    session: Session,
    *,
    patient_ref: str,
    date: dt.date | str,
    event_type: str,
    severity: str,
    outcome: str,
    actor: str,
    product: str | None = None,
    lot_number: str | None = None,
    course_id: int | None = None,
    infusion_id: int | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """An adverse event; product and lot default to those of ``infusion_id`` when given."""
    require_permission(session, actor, "record_adverse_event")
    user = get_user(session, actor)
    patient = session.scalar(select(Patient).where(Patient.local_ref == patient_ref))
    if patient is None:
        raise InputError("patient_ref", patient_ref, "the reference of a registered patient")
    infusion: Infusion | None = None
    if infusion_id is not None:
        infusion = get_or_fail(session, Infusion, infusion_id, "infusion_id")
        course_id = course_id or infusion.course_id
        product = product or infusion.product
        lot_number = lot_number or infusion.lot_number
    if course_id is not None:
        course = _course(session, course_id)
        if course.patient_id != patient.id:
            raise InputError("course_id", course_id, f"a course of patient {patient_ref}")
    event = AdverseEvent(
        patient_id=patient.id,
        course_id=course_id,
        infusion_id=infusion.id if infusion else None,
        date=as_date(date, "date"),
        event_type=required_text(event_type, "event_type", 80),
        severity=_one_of(severity, "severity", AE_SEVERITIES),
        outcome=_one_of(outcome, "outcome", AE_OUTCOMES),
        product=product,
        lot_number=lot_number,
        description=description,
        recorded_by=user.id,
    )
    session.add(event)
    session.flush()
    out = {**row_out(event), "patient_ref": patient.local_ref}
    append_audit(
        session,
        actor=actor,
        action="record_adverse_event",
        entity="adverse_event",
        entity_id=event.id,
        payload=out,
    )
    return out


def _score_value(
    knowledge: KnowledgeBase | None, score_id: str, value: object, items: dict[str, Any] | None
) -> tuple[str, float]:
    """The score id and its value, checked against the score record when the knowledge has it."""
    if knowledge is None:
        from ivig.knowledge import load_knowledge

        knowledge = load_knowledge()
    from ivig.core.scores import compute_score, score_record

    score = score_record(knowledge, score_id)
    if items:
        result = compute_score(knowledge, score["id"], items)
        total = result["total"] if score["method"] != "class" else result["rank"]
        if value is not None and float(positive_or_zero(value, "value")) != float(total):
            raise InputError("value", value, f"the total of the items ({total})")
        return score["id"], float(total)
    number = positive_or_zero(value, "value")
    if len(score["items"]) == 1:
        compute_score(knowledge, score["id"], {score["items"][0]["id"]: value})
    return score["id"], number


def positive_or_zero(value: object, field: str) -> float:
    """``value`` as a finite number (scores may be 0 or negative)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(field, value, "a number")
    try:
        number = float(value)
    except ValueError:
        raise InputError(field, value, "a number") from None
    if not math.isfinite(number):
        raise InputError(field, value, "a finite number")
    return number


def record_outcome(
    session: Session,
    course_id: int,
    *,
    score_id: str,
    value: float | None,
    date: dt.date | str,
    actor: str,
    timing: str = "routine",
    items: dict[str, Any] | None = None,
    knowledge: KnowledgeBase | None = None,
) -> dict[str, Any]:
    """An outcome assessment (score id and value) on a course; baseline may precede its start."""
    require_permission(session, actor, "record_outcome")
    user = get_user(session, actor)
    course = _course(session, course_id)
    day = as_date(date, "date")
    timing = _one_of(timing, "timing", TIMINGS)
    if timing != "baseline":
        _not_before(day, course, "date")
    sid, number = _score_value(knowledge, score_id, value, items)
    row = OutcomeAssessment(
        course_id=course.id,
        score_id=sid,
        value=number,
        items=jsonable(items) if items else None,
        timing=timing,
        date=day,
        assessor=user.id,
    )
    session.add(row)
    return save_audited(
        session, row, actor=actor, action="record_outcome", entity="outcome_assessment"
    )


def _administrations(infusions: list[Infusion]) -> list[tuple[dt.date, float]]:
    """Infusions on consecutive days grouped into one administration (date, grams)."""
    out: list[tuple[dt.date, float]] = []
    last: dt.date | None = None
    for inf in sorted(infusions, key=lambda i: i.date):
        if out and last is not None and (inf.date - last).days <= 1:
            out[-1] = (out[-1][0], out[-1][1] + inf.grams)
        else:
            out.append((inf.date, inf.grams))
        last = inf.date
    return out


def course_history(session: Session, course: Course, as_of: dt.date) -> dict[str, Any]:
    """The course as the history ``ivig.core.review.review_course`` reads."""
    request = course.request.body
    infusions = list(session.scalars(select(Infusion).where(Infusion.course_id == course.id)))
    assessments = session.scalars(
        select(OutcomeAssessment).where(OutcomeAssessment.course_id == course.id)
    )
    return {
        "condition": course.request.condition,
        "indication": course.request.indication,
        "patient": {"weight_kg": request["patient"]["weight_kg"]},
        "courses": [
            {"date": day.isoformat(), "phase": course.request.phase, "dose_g": grams}
            for day, grams in _administrations(infusions)
        ],
        "assessments": [
            {
                "score": a.score_id,
                "date": a.date.isoformat(),
                "timing": a.timing,
                **({"items": a.items} if a.items else {"value": a.value}),
            }
            for a in assessments
        ],
        "as_of": as_of.isoformat(),
    }


def review_course(
    session: Session,
    course_id: int,
    *,
    date: dt.date | str,
    action: str,
    reason: str,
    actor: str,
    next_review_date: dt.date | str | None = None,
    knowledge: KnowledgeBase | None = None,
) -> dict[str, Any]:
    """Review a course: store the computed review (``ivig.core.review``) and the decision.

    ``action`` continue or change sets the next review (given, else the one the review
    computes); trial_off starts a trial-off period; stop stops the course.
    """
    require_permission(session, actor, "review_course")
    user = get_user(session, actor)
    course = _course(session, course_id, "active")
    day = as_date(date, "date")
    _not_before(day, course, "date")
    action = _one_of(action, "action", REVIEW_ACTIONS)
    text = required_text(reason, "reason", 2000)
    if knowledge is None:
        from ivig.knowledge import load_knowledge

        knowledge = load_knowledge()
    from ivig.core.review import review_course as compute_review

    try:
        computed: dict[str, Any] | None = jsonable(
            compute_review(knowledge, course_history(session, course, day))
        )
    except IvigError as exc:
        computed = {"error": str(exc)}
    verdict = (computed or {}).get("verdict")
    due = ((computed or {}).get("next_review") or {}).get("due")
    if next_review_date is not None:
        next_day: dt.date | None = as_date(next_review_date, "next_review_date")
    else:
        next_day = as_date(due, "next_review.due") if due else None
    row = CourseReview(
        course_id=course.id,
        date=day,
        action=action,
        reason=text,
        verdict=verdict,
        review=computed,
        next_review_date=next_day if action in ("continue", "change") else None,
        reviewed_by=user.id,
    )
    session.add(row)
    if action in ("continue", "change"):
        course.next_review_date = next_day
    session.flush()
    out = row_out(row)
    append_audit(
        session,
        actor=actor,
        action=f"review_{action}",
        entity="course_review",
        entity_id=row.id,
        payload=out,
    )
    if action == "trial_off":
        out["trial_off"] = start_trial_off(
            session, course.id, start_date=day, actor=actor, reason=text
        )
    elif action == "stop":
        out["course"] = stop_course(session, course.id, date=day, reason=text, actor=actor)
    return out


def start_trial_off(
    session: Session,
    course_id: int,
    *,
    start_date: dt.date | str,
    actor: str,
    reason: str | None = None,
) -> dict[str, Any]:
    """Pause an active course to see whether the patient stays stable without treatment."""
    require_permission(session, actor, "trial_off")
    course = _course(session, course_id, "active")
    start = as_date(start_date, "start_date")
    _not_before(start, course, "start_date")
    row = TrialOff(course_id=course.id, start_date=start, reason=reason)
    session.add(row)
    course.status = "trial_off"
    return save_audited(session, row, actor=actor, action="start_trial_off", entity="trial_off")


def end_trial_off(
    session: Session,
    trial_off_id: int,
    *,
    end_date: dt.date | str,
    result: str,
    actor: str,
    next_review_date: dt.date | str | None = None,
) -> dict[str, Any]:
    """End a trial off: ``stable`` stops the course, ``relapsed`` resumes it."""
    require_permission(session, actor, "trial_off")
    row: TrialOff = get_or_fail(session, TrialOff, trial_off_id, "trial_off_id")
    if row.end_date is not None:
        raise InputError("trial_off_id", trial_off_id, "a trial off that is still running")
    result = _one_of(result, "result", ("stable", "relapsed"))
    end = as_date(end_date, "end_date")
    if end < row.start_date:
        raise InputError("end_date", end.isoformat(), f"on or after {row.start_date.isoformat()}")
    row.end_date = end
    row.result = result
    course = _course(session, row.course_id, "trial_off")
    course.status = "active"
    session.flush()
    out = row_out(row)
    append_audit(
        session,
        actor=actor,
        action=f"end_trial_off_{result}",
        entity="trial_off",
        entity_id=row.id,
        payload=out,
    )
    if result == "stable":
        out["course"] = stop_course(
            session, course.id, date=end, reason="stable after trial off", actor=actor
        )
    else:
        course.next_review_date = (
            as_date(next_review_date, "next_review_date") if next_review_date else end
        )
        session.flush()
    return out


def record_cds_feedback(
    session: Session,
    *,
    card_id: str,
    outcome: str,
    actor: str | None = None,
    service_id: str | None = None,
    override_reasons: list[Any] | None = None,
    outcome_timestamp: str | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Feedback a CDS Hooks client sends on a card (accepted or overridden, with reasons)."""
    user_id = None
    if actor is not None:
        require_permission(session, actor, "cds_feedback")
        user_id = get_user(session, actor).id
    row = CdsFeedback(
        service_id=service_id,
        card_id=required_text(card_id, "card_id", 120),
        outcome=_one_of(outcome, "outcome", CDS_OUTCOMES),
        override_reasons=jsonable(override_reasons) if override_reasons else None,
        outcome_timestamp=outcome_timestamp,
        payload=jsonable(payload) if payload else None,
        user_id=user_id,
    )
    session.add(row)
    session.flush()
    out = row_out(row)
    append_audit(
        session,
        actor=actor or "cds-client",
        action="record_cds_feedback",
        entity="cds_feedback",
        entity_id=row.id,
        payload=out,
    )
    return out
