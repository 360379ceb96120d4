"""Public Python API of the registry (used by the CLI and by the REST service).

Every function takes an open SQLAlchemy :class:`~sqlalchemy.orm.Session` first and returns plain,
JSON-ready data (dicts, lists, ISO date strings). A function that changes data writes its rows and
one audit-log entry and flushes; it does **not** commit: the caller owns the transaction, one
workflow step per transaction::

    from ivig.registry.db import make_engine, session_scope, upgrade
    engine = make_engine()            # IVIG_DATABASE_URL or the SQLite file in the data dir
    upgrade(engine)                   # alembic upgrade head
    with session_scope(engine) as session:   # commits on success, rolls back on error
        user = api.verify_token(session, token)          # None when unknown or revoked
        out = api.create_request(session, request, patient_ref="P-0001", actor=user["username"])

``actor`` is always the username of an existing, active user; a function that needs a role
raises :class:`RoleError` (an ``IvigError``; the service answers 403).
Bad input raises ``ivig.errors.InputError`` (field, value, allowed, unit); an unknown id raises
``UnknownIdError``. Dates are ``datetime.date`` or ``YYYY-MM-DD`` strings.

Roles (``ROLES``): clinician (requests, outcomes), pharmacist (infusions, lots, reports),
nurse (infusions, adverse events, outcomes), steward (authorise, shortage, reviews, reports),
admin (everything, users and tokens).
"""

# Signatures (all keyword arguments after the first two are keyword-only):
#
# users and tokens (ivig.registry.users)
#   create_user(session, username, role, *, actor, display_name=None) -> UserOut
#   list_users(session) -> list[UserOut]
#   set_user_active(session, username, active, *, actor) -> UserOut
#   issue_token(session, username, *, actor, label=None)
#       -> {"token": str (shown once), "token_id": int, "username", "label"}
#   revoke_token(session, token_id, *, actor) -> dict
#   verify_token(session, token) -> UserOut | None         (only a SHA-256 hash is stored)
#   require_role(session, username, *roles) -> UserOut     (raises RoleError)
#   UserOut = {"id", "username", "role", "display_name", "active"}
#
# workflow (ivig.registry.workflow: requests, authorisation, courses;
#           ivig.registry.care: infusions, events, outcomes, reviews, trial off, CDS feedback)
#   create_request(session, request, *, patient_ref, actor, recommendation=None, knowledge=None)
#       -> {"request_id", "decision_id", "patient_ref", "status", "recommendation"}
#       request: the ivig.contract.Request dict as submitted (validated here); recommendation: the
#       object returned by ivig.core.recommend.recommend (computed here when None); stored as is
#       with its knowledge_version and engine_version and never recomputed.
#   get_request(session, request_id) -> dict (request, decision, authorisations, courses)
#   list_requests(session, *, status=None, patient_ref=None) -> list[dict]
#   authorise(session, request_id, *, outcome, reason, actor, review_date=None, expiry_date=None,
#             changes=None) -> dict        outcome: approve | decline | approve_with_changes
#   start_course(session, request_id, *, start_date, actor, product=None) -> dict
#   record_infusion(session, course_id, *, date, product, lot_number, grams, actor,
#                   rate_ml_per_h=None, duration_min=None, reactions=None) -> dict
#   record_adverse_event(session, *, patient_ref, date, event_type, severity, outcome, actor,
#                        product=None, lot_number=None, course_id=None, infusion_id=None,
#                        description=None) -> dict
#   record_outcome(session, course_id, *, score_id, value, date, actor, timing="routine",
#                  items=None, knowledge=None) -> dict   timing: baseline|pre_dose|post_dose|routine
#   record_igg_level(session, course_id, *, date, kind, igg_g_per_l, actor, note=None,
#                    knowledge=None) -> dict   kind: baseline | trough | peak | random
#   igg_levels(session, course_id) -> list[dict]   measured serum IgG of a course, by date
#   review_course(session, course_id, *, date, action, reason, actor, next_review_date=None,
#                 knowledge=None) -> dict
#       action: continue | change | trial_off | stop; stores the ivig.core.review result
#   start_trial_off(session, course_id, *, start_date, actor, reason=None) -> dict
#   end_trial_off(session, trial_off_id, *, end_date, result, actor, next_review_date=None)
#       result: stable (course stops) | relapsed (course resumes)
#   stop_course(session, course_id, *, date, reason, actor) -> dict
#   record_cds_feedback(session, *, card_id, outcome, actor=None, service_id=None,
#                       override_reasons=None, outcome_timestamp=None, payload=None) -> dict
#
# queries (ivig.registry.queries)
#   recall_lot(session, lot_number) -> {"lot_number", "patients": [...], "infusions": [...],
#                                        "adverse_events": [...]}
#   reviews_due(session, *, today=None, within_days=14) -> list[dict]  (due / overdue /
#       missing baseline / missing follow-up, one row per active course)
#   shortage_triage(session, knowledge, *, system="uk_dh_colour") -> list[dict]
#       active and pending requests ranked by the evidence-level rank of ``system`` in the
#       knowledge base, with grams per week under each plan
#
# reports (ivig.registry.reports)
#   report_usage(session, *, by="condition", since=None, until=None, knowledge=None) -> list[dict]
#       by: condition | indication | product | month | prescriber; grams and cost
#   report_maintenance(session) -> list[dict]
#   report_responders(session) -> list[dict]
#   report_adverse_events(session) -> list[dict]   (rate per product, per infusion, per 1,000 g)
#   report_weight_savings(session, knowledge, *, policy) -> dict
#
# audit (ivig.registry.audit)
#   verify_audit(session) -> {"ok": bool, "entries": int, "head": str | None,
#                             "first_bad_seq": int | None, "problem": str | None}
#   list_audit(session, *, limit=100, entity=None, entity_id=None) -> list[dict]
#
# demonstration data (ivig.registry.demo)
#   seed_demo(session, knowledge, *, seed=0, patients=40, today=None) -> dict (counts)

from __future__ import annotations

from ivig.registry.audit import list_audit, verify_audit
from ivig.registry.care import (
    end_trial_off,
    igg_levels,
    record_adverse_event,
    record_cds_feedback,
    record_igg_level,
    record_infusion,
    record_outcome,
    review_course,
    start_trial_off,
)
from ivig.registry.demo import seed_demo
from ivig.registry.queries import recall_lot, reviews_due, shortage_triage
from ivig.registry.reports import (
    report_adverse_events,
    report_maintenance,
    report_responders,
    report_usage,
    report_weight_savings,
)
from ivig.registry.users import (
    ROLES,
    RoleError,
    create_user,
    issue_token,
    list_users,
    require_permission,
    require_role,
    revoke_token,
    set_user_active,
    verify_token,
)
from ivig.registry.workflow import (
    authorise,
    create_request,
    get_request,
    list_requests,
    start_course,
    stop_course,
)

__all__ = [
    "ROLES",
    "RoleError",
    "authorise",
    "create_request",
    "create_user",
    "end_trial_off",
    "get_request",
    "igg_levels",
    "issue_token",
    "list_audit",
    "list_requests",
    "list_users",
    "recall_lot",
    "record_adverse_event",
    "record_cds_feedback",
    "record_igg_level",
    "record_infusion",
    "record_outcome",
    "report_adverse_events",
    "report_maintenance",
    "report_responders",
    "report_usage",
    "report_weight_savings",
    "require_permission",
    "require_role",
    "review_course",
    "reviews_due",
    "revoke_token",
    "seed_demo",
    "set_user_active",
    "shortage_triage",
    "start_course",
    "start_trial_off",
    "stop_course",
    "verify_audit",
    "verify_token",
]
