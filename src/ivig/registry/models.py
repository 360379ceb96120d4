"""The registry's tables (SQLAlchemy 2 ORM); the same schema on SQLite and PostgreSQL.

Patients are pseudonymous (a local reference, sex and year of birth; no names). A request keeps
the request object exactly as submitted; its decision keeps the recommendation object with the
knowledge and engine versions that produced it, never recomputed. Timestamps are UTC.
The audit log is append-only (database triggers refuse UPDATE and DELETE) and hash-chained.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "AdverseEvent",
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Authorisation",
    "Base",
    "CdsFeedback",
    "Course",
    "CourseReview",
    "Decision",
    "Infusion",
    "OutcomeAssessment",
    "Patient",
    "RequestRecord",
    "SignInAttempt",
    "TrialOff",
    "User",
    "WebSession",
    "utc_now",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> dt.datetime:
    """The current time in UTC (timezone-aware)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012
        dict[str, Any]: JSON,
        list[Any]: JSON,
        dt.datetime: DateTime(timezone=True),
    }


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: SHA-256 of the token, hex; the token itself is never stored
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[dt.datetime | None]
    user: Mapped[User] = relationship()


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: pseudonymous local reference (no names)
    local_ref: Mapped[str] = mapped_column(String(80), unique=True)
    sex: Mapped[str | None] = mapped_column(String(10))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class RequestRecord(Base):
    __tablename__ = "requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    condition: Mapped[str] = mapped_column(String(80), index=True)
    indication: Mapped[str | None] = mapped_column(String(120))
    phase: Mapped[str] = mapped_column(String(20))
    #: pending, approved, approved_with_changes, declined, active, stopped
    status: Mapped[str] = mapped_column(String(30), index=True, default="pending")
    #: the request object exactly as submitted
    body: Mapped[dict[str, Any]]
    patient: Mapped[Patient] = relationship()
    submitter: Mapped[User] = relationship()
    decision: Mapped[Decision] = relationship(back_populates="request", uselist=False)


class Decision(Base):
    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    knowledge_version: Mapped[str] = mapped_column(String(80))
    engine_version: Mapped[str] = mapped_column(String(40))
    eligibility_status: Mapped[str] = mapped_column(String(40))
    indication: Mapped[str | None] = mapped_column(String(120))
    total_g: Mapped[float | None] = mapped_column(Float)
    interval_weeks: Mapped[float | None] = mapped_column(Float)
    product: Mapped[str | None] = mapped_column(String(80))
    #: SHA-256 of the canonical JSON of ``recommendation`` (also in the audit entry)
    recommendation_sha256: Mapped[str] = mapped_column(String(64))
    #: the recommendation object as the engine returned it; never recomputed
    recommendation: Mapped[dict[str, Any]]
    request: Mapped[RequestRecord] = relationship(back_populates="decision")


class Authorisation(Base):
    __tablename__ = "authorisations"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    #: approve, decline, approve_with_changes
    outcome: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict[str, Any] | None]
    authorised_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    authorised_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    review_date: Mapped[dt.date | None] = mapped_column(Date)
    expiry_date: Mapped[dt.date | None] = mapped_column(Date)


class Course(Base):
    __tablename__ = "courses"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    product: Mapped[str | None] = mapped_column(String(80))
    start_date: Mapped[dt.date] = mapped_column(Date)
    #: active, trial_off, stopped
    status: Mapped[str] = mapped_column(String(20), index=True, default="active")
    next_review_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    #: why the course uses another product than the authorised one (None: the authorised one)
    substitution_reason: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    request: Mapped[RequestRecord] = relationship()
    patient: Mapped[Patient] = relationship()


class Infusion(Base):
    __tablename__ = "infusions"
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    product: Mapped[str] = mapped_column(String(80), index=True)
    lot_number: Mapped[str] = mapped_column(String(80), index=True)
    grams: Mapped[float] = mapped_column(Float)
    rate_ml_per_h: Mapped[float | None] = mapped_column(Float)
    duration_min: Mapped[float | None] = mapped_column(Float)
    reactions: Mapped[str | None] = mapped_column(Text)
    #: why the product differs from the course's (None: the course's product)
    substitution_reason: Mapped[str | None] = mapped_column(Text)
    #: why the infusion was recorded past its authorisation (None: within it)
    override_reason: Mapped[str | None] = mapped_column(Text)
    #: what the infusion passed (expiry, authorised grams), as recorded with the override
    over_runs: Mapped[list[Any] | None]
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    course: Mapped[Course] = relationship()


class AdverseEvent(Base):
    __tablename__ = "adverse_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"))
    infusion_id: Mapped[int | None] = mapped_column(ForeignKey("infusions.id"))
    date: Mapped[dt.date] = mapped_column(Date)
    event_type: Mapped[str] = mapped_column(String(80))
    #: mild, moderate, severe, life_threatening, fatal
    severity: Mapped[str] = mapped_column(String(30))
    #: resolved, resolving, ongoing, sequelae, fatal, unknown
    outcome: Mapped[str] = mapped_column(String(30))
    product: Mapped[str | None] = mapped_column(String(80))
    lot_number: Mapped[str | None] = mapped_column(String(80), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class OutcomeAssessment(Base):
    __tablename__ = "outcome_assessments"
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    score_id: Mapped[str] = mapped_column(String(80))
    value: Mapped[float] = mapped_column(Float)
    items: Mapped[dict[str, Any] | None]
    #: baseline, pre_dose, post_dose, routine
    timing: Mapped[str] = mapped_column(String(20), default="routine")
    date: Mapped[dt.date] = mapped_column(Date)
    assessor: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class CourseReview(Base):
    __tablename__ = "course_reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    #: continue, change, trial_off, stop
    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str | None] = mapped_column(String(30))
    #: the ivig.core.review result shown to the reviewer, stored as computed
    review: Mapped[dict[str, Any] | None]
    next_review_date: Mapped[dt.date | None] = mapped_column(Date)
    reviewed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)


class TrialOff(Base):
    __tablename__ = "trial_off_periods"
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    #: stable, relapsed (None while running)
    result: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)


class CdsFeedback(Base):
    __tablename__ = "cds_feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[str | None] = mapped_column(String(120))
    card_id: Mapped[str] = mapped_column(String(120), index=True)
    #: accepted, overridden
    outcome: Mapped[str] = mapped_column(String(20))
    override_reasons: Mapped[list[Any] | None]
    outcome_timestamp: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict[str, Any] | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    #: the feedback's identity (service, card, outcome, time): a repeat is not stored twice
    feedback_key: Mapped[str | None] = mapped_column(String(64), unique=True)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: position in the chain: 1, 2, 3, ... without gaps
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    #: ISO 8601 UTC timestamp, stored as text so the hash input is byte-exact on every engine
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    #: canonical JSON of what changed
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: canonical JSON of {"table:id": SHA-256 of the row's columns, or null when deleted} for
    #: every row this step wrote (what the verification compares the tables with)
    rows: Mapped[str | None] = mapped_column(Text)


class AuditHead(Base):
    """The newest audit entry (one row), updated with each append: a deleted tail shows."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class WebSession(Base):
    """A signed-in browser: only the SHA-256 of its cookie value is stored."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    #: the API token the user signed in with (its revocation ends the session)
    api_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    ended_at: Mapped[dt.datetime | None]
    user: Mapped[User] = relationship()


class SignInAttempt(Base):
    """A failed sign-in (for throttling); only the username is kept, never the password."""

    __tablename__ = "sign_in_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utc_now, index=True)


class IggLevel(Base):
    """A measured total serum IgG level of a course (trough, peak, baseline or random)."""

    __tablename__ = "igg_levels"
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    #: baseline, trough, peak, random
    kind: Mapped[str] = mapped_column(String(20))
    igg_g_per_l: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
