"""Workflow steps: request -> decision -> authorisation -> course -> stop.

Each function is one step: it checks the actor's role and the state of the records, writes its
rows and one audit entry, and flushes. The caller commits (see
:func:`ivig.registry.db.session_scope`).
Infusions, adverse events, outcomes, reviews and trial-off periods are in
:mod:`ivig.registry.care`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ivig.errors import InputError
from ivig.registry._rows import (
    as_date,
    get_or_fail,
    jsonable,
    positive,
    required_text,
    row_out,
    today_utc,
)
from ivig.registry.audit import append_audit, save_audited, sha256_json
from ivig.registry.enforce import (
    authorised_plan,
    check_changes,
    check_four_eyes,
    check_product,
    check_substitution,
    knowledge_or_default,
)
from ivig.registry.models import (
    Authorisation,
    Course,
    Decision,
    Patient,
    RequestRecord,
)
from ivig.registry.users import get_user, require_permission

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "AUTHORISATION_OUTCOMES",
    "REQUEST_STATUSES",
    "authorise",
    "create_request",
    "first_review_window",
    "get_request",
    "list_requests",
    "start_course",
    "stop_course",
    "weekly_grams",
]

AUTHORISATION_OUTCOMES = ("approve", "decline", "approve_with_changes")
REQUEST_STATUSES = ("pending", "approved", "approved_with_changes", "declined", "active", "stopped")
_STATUS_AFTER = {
    "approve": "approved",
    "decline": "declined",
    "approve_with_changes": "approved_with_changes",
}
_CHANGE_KEYS = ("total_g", "interval_weeks", "product", "regimen", "note")


def _patient(session: Session, patient_ref: str, sex: str | None) -> Patient:
    ref = required_text(patient_ref, "patient_ref", 80)
    patient = session.scalar(select(Patient).where(Patient.local_ref == ref))
    if patient is None:
        patient = Patient(local_ref=ref, sex=sex)
        session.add(patient)
        session.flush()
    return patient


def _recommend(knowledge: KnowledgeBase | None, request: Any) -> dict[str, Any]:
    """The recommendation use case (it checks the request against the knowledge base)."""
    from ivig.app.recommend import recommend_request

    if knowledge is None:
        from ivig.knowledge import load_knowledge

        knowledge = load_knowledge()
    return dict(recommend_request(knowledge, request))


def create_request(
    session: Session,
    request: dict[str, Any],
    *,
    patient_ref: str,
    actor: str,
    recommendation: dict[str, Any] | None = None,
    knowledge: KnowledgeBase | None = None,
) -> dict[str, Any]:
    """Register a request and its decision (the recommendation, stored as computed).

    ``request`` is validated against :class:`ivig.contract.Request` and stored as submitted.
    ``recommendation`` is the object from ``ivig.core.recommend.recommend`` for this request;
    when ``None`` it is computed here with ``knowledge`` (default: the installed knowledge).
    """
    from ivig.contract import validate_request

    require_permission(session, actor, "create_request")
    user = get_user(session, actor)
    validated = validate_request(request)
    if recommendation is None:
        recommendation = _recommend(knowledge, validated)
    for key in ("eligibility", "knowledge_version", "engine_version"):
        if key not in recommendation:
            raise InputError(
                f"recommendation.{key}", None, "a recommendation object from ivig recommend"
            )
    rec = jsonable(recommendation)
    patient = _patient(session, patient_ref, validated["patient"]["sex"])
    eligibility = rec["eligibility"]
    dose = rec.get("dose") or {}
    record = RequestRecord(
        patient_id=patient.id,
        submitted_by=user.id,
        condition=eligibility.get("condition") or validated["condition"],
        indication=eligibility.get("indication"),
        phase=validated["phase"],
        status="pending",
        body=jsonable(request),
    )
    session.add(record)
    session.flush()
    decision = Decision(
        request_id=record.id,
        knowledge_version=str(rec["knowledge_version"]),
        engine_version=str(rec["engine_version"]),
        eligibility_status=str(eligibility["status"]),
        indication=eligibility.get("indication"),
        total_g=dose.get("total_g"),
        interval_weeks=dose.get("interval_weeks"),
        product=dose.get("product"),
        recommendation_sha256=sha256_json(rec),
        recommendation=rec,
    )
    session.add(decision)
    session.flush()
    append_audit(
        session,
        actor=actor,
        action="create_request",
        entity="request",
        entity_id=record.id,
        payload={
            "patient_ref": patient.local_ref,
            "request": record.body,
            "decision_id": decision.id,
            "eligibility_status": decision.eligibility_status,
            "knowledge_version": decision.knowledge_version,
            "engine_version": decision.engine_version,
            "recommendation_sha256": decision.recommendation_sha256,
        },
    )
    return {
        "request_id": record.id,
        "decision_id": decision.id,
        "patient_ref": patient.local_ref,
        "status": record.status,
        "recommendation": rec,
    }


def _request_summary(record: RequestRecord) -> dict[str, Any]:
    decision = record.decision
    return {
        "request_id": record.id,
        "patient_ref": record.patient.local_ref,
        "submitted_by": record.submitter.username,
        "submitted_at": record.submitted_at.isoformat(),
        "condition": record.condition,
        "indication": record.indication,
        "phase": record.phase,
        "status": record.status,
        "eligibility_status": decision.eligibility_status if decision else None,
        "total_g": decision.total_g if decision else None,
        "interval_weeks": decision.interval_weeks if decision else None,
        "knowledge_version": decision.knowledge_version if decision else None,
    }


def get_request(session: Session, request_id: int) -> dict[str, Any]:
    """A request with its stored decision, authorisations and courses."""
    record: RequestRecord = get_or_fail(session, RequestRecord, request_id, "request_id")
    auths = session.scalars(
        select(Authorisation)
        .where(Authorisation.request_id == record.id)
        .order_by(Authorisation.id)
    )
    courses = session.scalars(select(Course).where(Course.request_id == record.id))
    return {
        **_request_summary(record),
        "request": record.body,
        "recommendation": record.decision.recommendation if record.decision else None,
        "authorisations": [row_out(a) for a in auths],
        "courses": [row_out(c) for c in courses],
    }


def list_requests(
    session: Session,
    *,
    status: str | None = None,
    patient_ref: str | None = None,
    limit: int | None = None,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    """Requests, newest first, optionally with one status or for one patient; at most ``limit``
    of them, with ids below ``before_id`` (the cursor of the next page)."""
    query = select(RequestRecord).order_by(RequestRecord.id.desc())
    if limit is not None:
        query = query.limit(limit)
    if before_id is not None:
        query = query.where(RequestRecord.id < before_id)
    if status is not None:
        if status not in REQUEST_STATUSES:
            raise InputError("status", status, ", ".join(REQUEST_STATUSES))
        query = query.where(RequestRecord.status == status)
    if patient_ref is not None:
        query = query.join(Patient).where(Patient.local_ref == patient_ref)
    return [_request_summary(r) for r in session.scalars(query)]


def first_review_window(recommendation: dict[str, Any] | None) -> tuple[float, float] | None:
    """(min, max) weeks to the first review from the stored review plan, if it has one."""
    review = (recommendation or {}).get("review") or {}
    window = review.get("first_review_weeks")
    if not window or window.get("min") is None:
        return None
    low = float(window["min"])
    return low, float(window.get("max", low))


def weekly_grams(total_g: float | None, interval_weeks: float | None) -> float | None:
    """Grams per week of a plan: the course total spread over its interval, if it repeats."""
    if total_g is None:
        return None
    if interval_weeks:
        return float(total_g) / float(interval_weeks)
    return float(total_g)


def _checked_changes(
    knowledge: KnowledgeBase | None,
    record: RequestRecord,
    outcome: str,
    changes: dict[str, Any] | None,
) -> dict[str, Any] | None:
    if outcome != "approve_with_changes":
        if changes:
            raise InputError(
                "changes", changes, "no changes unless the outcome is approve_with_changes"
            )
        return None
    if not changes:
        raise InputError("changes", changes, "the changes made (" + ", ".join(_CHANGE_KEYS) + ")")
    unknown = sorted(set(changes) - set(_CHANGE_KEYS))
    if unknown:
        raise InputError(f"changes.{unknown[0]}", changes[unknown[0]], ", ".join(_CHANGE_KEYS))
    for key, unit in (("total_g", "g"), ("interval_weeks", "weeks")):
        if changes.get(key) is not None:
            positive(changes[key], f"changes.{key}", unit)
    return check_changes(knowledge_or_default(knowledge), record, changes)


def authorise(
    session: Session,
    request_id: int,
    *,
    outcome: str,
    reason: str,
    actor: str,
    review_date: dt.date | str | None = None,
    expiry_date: dt.date | str | None = None,
    changes: dict[str, Any] | None = None,
    knowledge: KnowledgeBase | None = None,
    allow_self: bool | None = None,
) -> dict[str, Any]:
    """The steward's decision on a request: approve, decline or approve with changes.

    ``changes`` (required for ``approve_with_changes``) may hold total_g, interval_weeks,
    product, regimen and note; the product must be in the knowledge base and the total within
    its course limit. No one authorises their own request unless ``allow_self`` (default: the
    site setting ``IVIG_ALLOW_SELF_AUTHORISATION``). An active course's next review moves to
    ``review_date``.
    """
    require_permission(session, actor, "authorise")
    user = get_user(session, actor)
    if outcome not in AUTHORISATION_OUTCOMES:
        raise InputError("outcome", outcome, ", ".join(AUTHORISATION_OUTCOMES))
    text = required_text(reason, "reason", 2000)
    record: RequestRecord = get_or_fail(session, RequestRecord, request_id, "request_id")
    if record.status == "stopped":
        raise InputError("request_id", request_id, "a request that is not stopped")
    check_four_eyes(record, actor, allow_self=allow_self)
    changes = _checked_changes(knowledge, record, outcome, changes)
    active = session.scalars(
        select(Course).where(Course.request_id == record.id, Course.status != "stopped")
    ).all()
    if outcome == "decline" and active:
        raise InputError(
            "outcome", outcome, "approve or approve_with_changes", detail="stop the course first"
        )
    today = today_utc()
    review = as_date(review_date, "review_date") if review_date is not None else None
    expiry = as_date(expiry_date, "expiry_date") if expiry_date is not None else None
    if expiry is not None and review is not None and expiry < review:
        raise InputError("expiry_date", expiry.isoformat(), f"on or after {review.isoformat()}")
    auth = Authorisation(
        request_id=record.id,
        outcome=outcome,
        reason=text,
        changes=jsonable(changes) if changes else None,
        authorised_by=user.id,
        review_date=review,
        expiry_date=expiry,
    )
    session.add(auth)
    if record.status != "active":
        record.status = _STATUS_AFTER[outcome]
    for course in active:
        if review is not None:
            course.next_review_date = review
        if changes and changes.get("product"):
            course.product = str(changes["product"])
    session.flush()
    out = {**row_out(auth), "request_status": record.status, "authorised_by": actor}
    append_audit(
        session,
        actor=actor,
        action=f"authorise_{outcome}",
        entity="authorisation",
        entity_id=auth.id,
        payload={**out, "as_of": today.isoformat()},
    )
    return out


def _latest_authorisation(session: Session, request_id: int) -> Authorisation | None:
    return session.scalar(
        select(Authorisation)
        .where(Authorisation.request_id == request_id)
        .order_by(Authorisation.id.desc())
        .limit(1)
    )


def start_course(
    session: Session,
    request_id: int,
    *,
    start_date: dt.date | str,
    actor: str,
    product: str | None = None,
    substitution_reason: str | None = None,
    knowledge: KnowledgeBase | None = None,
) -> dict[str, Any]:
    """Start a course on an approved request; its first review date comes from the
    authorisation's review date or else the stored review plan (first review, earliest week).

    The product must be the authorised one unless ``substitution_reason`` is given (by a role
    that may substitute); any product must be in the knowledge base. The start may not be in
    the future or after the authorisation's expiry."""
    require_permission(session, actor, "start_course")
    user = get_user(session, actor)
    record: RequestRecord = get_or_fail(session, RequestRecord, request_id, "request_id")
    if record.status not in ("approved", "approved_with_changes"):
        raise InputError(
            "request_id", request_id, "an approved request", detail=f"its status is {record.status}"
        )
    start = as_date(start_date, "start_date")
    auth = _latest_authorisation(session, record.id)
    if auth is not None and auth.expiry_date is not None and start > auth.expiry_date:
        raise InputError(
            "start_date",
            start.isoformat(),
            f"on or before {auth.expiry_date.isoformat()}",
            detail="the authorisation has expired",
        )
    if start > today_utc():
        raise InputError(
            "start_date", start.isoformat(), f"on or before today ({today_utc().isoformat()})"
        )
    plan = authorised_plan(session, record) or {}
    expected = plan.get("product")
    chosen = product or expected
    if chosen is not None:
        chosen = check_product(knowledge_or_default(knowledge), chosen, "product")
    why = check_substitution(
        session,
        actor=actor,
        expected=expected,
        given=str(chosen),
        reason=substitution_reason,
        field="product",
    )
    next_review = auth.review_date if auth is not None else None
    window = first_review_window(record.decision.recommendation)
    if next_review is None and window is not None:
        next_review = start + dt.timedelta(weeks=window[0])
    course = Course(
        request_id=record.id,
        patient_id=record.patient_id,
        product=chosen,
        start_date=start,
        status="active",
        next_review_date=next_review,
        substitution_reason=why,
        started_by=user.id,
    )
    session.add(course)
    record.status = "active"
    return save_audited(session, course, actor=actor, action="start_course", entity="course")


def stop_course(
    session: Session,
    course_id: int,
    *,
    date: dt.date | str,
    reason: str,
    actor: str,
) -> dict[str, Any]:
    """Stop a course (the request is stopped when no other course of it is running)."""
    require_permission(session, actor, "stop_course")
    course: Course = get_or_fail(session, Course, course_id, "course_id")
    if course.status == "stopped":
        raise InputError("course_id", course_id, "a course that is not already stopped")
    end = as_date(date, "date")
    if end < course.start_date:
        raise InputError("date", end.isoformat(), f"on or after {course.start_date.isoformat()}")
    course.status = "stopped"
    course.end_date = end
    course.end_reason = required_text(reason, "reason", 2000)
    course.next_review_date = None
    session.flush()
    running = session.scalar(
        select(Course.id).where(Course.request_id == course.request_id, Course.status != "stopped")
    )
    if running is None:
        course.request.status = "stopped"
    return save_audited(session, course, actor=actor, action="stop_course", entity="course")
