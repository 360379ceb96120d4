"""Registry endpoints: requests and authorisation, courses, infusions, outcomes, reviews,
reports, audit log, users and tokens, and the batch audit upload.

Each endpoint declares the roles it allows (``admin`` may do everything) and passes the caller
as the ``actor`` the registry's audit log records. One call is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from ivig.contract import Request as IvigRequest
from ivig.permissions import Action, Role, allowed, roles_for
from ivig.service.auth import Principal, require_permission
from ivig.service.errors import ERROR_RESPONSES, IvigJSONResponse
from ivig.service.state import ServiceState, get_state

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["audit_router", "router"]

router = APIRouter(prefix="/api/registry", tags=["registry"], responses=ERROR_RESPONSES)
audit_router = APIRouter(prefix="/api", tags=["registry"], responses=ERROR_RESPONSES)
State = Annotated[ServiceState, Depends(get_state)]
OK: dict[int | str, dict[str, Any]] = {200: {"model": Any}}


# one dependency per action of the permission table (``ivig.permissions``)
AnyUser = Annotated[Principal, Depends(require_permission("read_registry"))]
Requester = Annotated[Principal, Depends(require_permission("create_request"))]
Steward = Annotated[Principal, Depends(require_permission("authorise"))]
CourseStarter = Annotated[Principal, Depends(require_permission("start_course"))]
CourseStopper = Annotated[Principal, Depends(require_permission("stop_course"))]
Giver = Annotated[Principal, Depends(require_permission("record_infusion"))]
EventRecorder = Annotated[Principal, Depends(require_permission("record_adverse_event"))]
Assessor = Annotated[Principal, Depends(require_permission("record_outcome"))]
Reviewer = Annotated[Principal, Depends(require_permission("review_course"))]
Reporter = Annotated[Principal, Depends(require_permission("read_reports"))]
Auditor = Annotated[Principal, Depends(require_permission("read_audit_log"))]
Admin = Annotated[Principal, Depends(require_permission("manage_users"))]


def _roles(action: Action) -> str:
    return ", ".join(sorted(roles_for(action)))


FREE = ConfigDict(extra="forbid", allow_inf_nan=False)
#: a database row id (bounded so that no database refuses it)
RowId = Annotated[int, Path(ge=1, le=2**62)]
BodyRowId = Annotated[int, Field(ge=1, le=2**62)]


@contextmanager
def _session(state: ServiceState) -> Iterator[Session]:
    if state.registry is None:  # the router is only included with a registry
        from ivig.errors import InputError

        raise InputError("registry", None, "a configured registry (IVIG_DATABASE_URL)")
    with state.registry.session() as session:
        yield session


def _call(state: ServiceState, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with _session(state) as session:
        return fn(session, *args, **kwargs)


def _api() -> Any:
    from ivig.registry import api

    return api


class NewRequest(BaseModel):
    model_config = FREE
    request: IvigRequest
    patient_ref: str


class Authorisation(BaseModel):
    model_config = FREE
    outcome: Literal["approve", "decline", "approve_with_changes"]
    reason: str
    review_date: str | None = None
    expiry_date: str | None = None
    changes: dict[str, Any] | None = None


class CourseStart(BaseModel):
    model_config = FREE
    start_date: str
    product: str | None = None


class InfusionIn(BaseModel):
    model_config = FREE
    date: str
    product: str
    lot_number: str
    grams: float
    rate_ml_per_h: float | None = None
    duration_min: float | None = None
    reactions: list[str] | None = None


class OutcomeIn(BaseModel):
    model_config = FREE
    score_id: str
    value: float
    date: str
    timing: Literal["baseline", "pre_dose", "post_dose", "routine"] = "routine"
    items: dict[str, int | float | str] | None = None


class ReviewIn(BaseModel):
    model_config = FREE
    date: str
    action: Literal["continue", "change", "trial_off", "stop"]
    reason: str


class StopIn(BaseModel):
    model_config = FREE
    date: str
    reason: str


class AdverseEventIn(BaseModel):
    model_config = FREE
    patient_ref: str
    date: str
    event_type: str
    severity: str
    outcome: str
    product: str | None = None
    lot_number: str | None = None
    course_id: BodyRowId | None = None
    infusion_id: BodyRowId | None = None
    description: str | None = None


class UserIn(BaseModel):
    model_config = FREE
    username: str
    role: Role
    display_name: str | None = None


@router.post("/requests", response_class=IvigJSONResponse, responses=OK)
def create_request(body: NewRequest, state: State, user: Requester) -> Any:
    """Store a request with its recommendation (computed now, stored as is)."""
    return _call(
        state,
        _api().create_request,
        body.request,
        patient_ref=body.patient_ref,
        actor=user.username,
        knowledge=state.kb,
    )


@router.get("/requests", response_class=IvigJSONResponse, responses=OK)
def list_requests(
    state: State, user: AnyUser, status: str | None = None, patient_ref: str | None = None
) -> Any:
    """Requests, filtered by status or patient."""
    return _call(state, _api().list_requests, status=status, patient_ref=patient_ref)


@router.get("/requests/{request_id}", response_class=IvigJSONResponse, responses=OK)
def get_request(request_id: RowId, state: State, user: AnyUser) -> Any:
    """One request with its decision, authorisations and courses."""
    return _call(state, _api().get_request, request_id)


@router.post("/requests/{request_id}/authorise", response_class=IvigJSONResponse, responses=OK)
def authorise(request_id: RowId, body: Authorisation, state: State, user: Steward) -> Any:
    """Approve, decline or approve with changes (stewards)."""
    return _call(state, _api().authorise, request_id, actor=user.username, **body.model_dump())


@router.post("/requests/{request_id}/courses", response_class=IvigJSONResponse, responses=OK)
def start_course(request_id: RowId, body: CourseStart, state: State, user: CourseStarter) -> Any:
    """Start the authorised course."""
    return _call(state, _api().start_course, request_id, actor=user.username, **body.model_dump())


@router.post("/courses/{course_id}/infusions", response_class=IvigJSONResponse, responses=OK)
def record_infusion(course_id: RowId, body: InfusionIn, state: State, user: Giver) -> Any:
    """Record one infusion with its lot number."""
    return _call(state, _api().record_infusion, course_id, actor=user.username, **body.model_dump())


@router.post("/courses/{course_id}/outcomes", response_class=IvigJSONResponse, responses=OK)
def record_outcome(course_id: RowId, body: OutcomeIn, state: State, user: Assessor) -> Any:
    """Record an outcome measure."""
    return _call(state, _api().record_outcome, course_id, actor=user.username, **body.model_dump())


@router.post("/courses/{course_id}/review", response_class=IvigJSONResponse, responses=OK)
def review_course(course_id: RowId, body: ReviewIn, state: State, user: Reviewer) -> Any:
    """Review the course (continue, change, trial off, stop) with the core's review stored."""
    return _call(
        state,
        _api().review_course,
        course_id,
        actor=user.username,
        knowledge=state.kb,
        **body.model_dump(),
    )


@router.post("/courses/{course_id}/stop", response_class=IvigJSONResponse, responses=OK)
def stop_course(course_id: RowId, body: StopIn, state: State, user: CourseStopper) -> Any:
    """Stop the course."""
    return _call(state, _api().stop_course, course_id, actor=user.username, **body.model_dump())


@router.post("/adverse-events", response_class=IvigJSONResponse, responses=OK)
def record_adverse_event(body: AdverseEventIn, state: State, user: EventRecorder) -> Any:
    """Record an adverse event."""
    return _call(state, _api().record_adverse_event, actor=user.username, **body.model_dump())


@router.get("/reviews-due", response_class=IvigJSONResponse, responses=OK)
def reviews_due(
    state: State,
    user: AnyUser,
    within_days: Annotated[int, Query(ge=0, le=3650)] = 14,
) -> Any:
    """Running courses by review status, most urgent first."""
    return _call(state, _api().reviews_due, today=state.settings.today(), within_days=within_days)


@router.get("/recall/{lot_number}", response_class=IvigJSONResponse, responses=OK)
def recall_lot(lot_number: str, state: State, user: Reporter) -> Any:
    """Patients, infusions and adverse events of one lot."""
    return _call(state, _api().recall_lot, lot_number)


@router.get("/reports/{kind}", response_class=IvigJSONResponse, responses=OK)
def report(
    kind: Literal[
        "usage", "maintenance", "responders", "adverse-events", "shortage", "weight-savings"
    ],
    state: State,
    user: Reporter,
    by: Literal["condition", "indication", "product", "month", "prescriber"] = "condition",
    policy: str = Query("au-2026", description="dosing-weight policy (weight-savings)"),
) -> Any:
    """Stewardship reports."""
    api = _api()
    if kind == "usage":
        return _call(state, api.report_usage, by=by)
    if kind == "maintenance":
        return _call(state, api.report_maintenance, today=state.settings.today())
    if kind == "shortage":
        if not allowed(user.role, "shortage"):
            raise HTTPException(403, f"this operation needs one of the roles: {_roles('shortage')}")
        return _call(state, api.shortage_triage, state.kb)
    if kind == "weight-savings":
        state.kb.dosing_policy(policy)
        return _call(state, api.report_weight_savings, state.kb, policy=policy)
    fn = {"responders": api.report_responders, "adverse-events": api.report_adverse_events}[kind]
    return _call(state, fn)


@router.get("/audit-log", response_class=IvigJSONResponse, responses=OK)
def audit_log(
    state: State, user: Auditor, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Any:
    """The latest audit-log entries, and whether the hash chain verifies."""
    api = _api()
    return {
        "verify": _call(state, api.verify_audit),
        "entries": _call(state, api.list_audit, limit=limit),
    }


@router.get("/users", response_class=IvigJSONResponse, responses=OK)
def list_users(state: State, user: Admin) -> Any:
    """Users and roles (admin)."""
    return _call(state, _api().list_users)


@router.post("/users", response_class=IvigJSONResponse, responses=OK)
def create_user(body: UserIn, state: State, user: Admin) -> Any:
    """Create a user (admin)."""
    return _call(
        state,
        _api().create_user,
        body.username,
        body.role,
        actor=user.username,
        display_name=body.display_name,
    )


@router.post("/users/{username}/tokens", response_class=IvigJSONResponse, responses=OK)
def issue_token(
    username: str, state: State, user: Admin, label: Annotated[str | None, Body(embed=True)] = None
) -> Any:
    """Issue an API token for a user; the token is shown once (admin)."""
    return _call(state, _api().issue_token, username, actor=user.username, label=label)


@audit_router.post("/audit", response_class=IvigJSONResponse, responses=OK)
async def upload_audit(
    file: UploadFile,
    state: State,
    user: Reporter,
    jurisdiction: Literal["international", "au", "ontario", "uk", "us", "br"] = "international",
    policy: str | None = None,
) -> Any:
    """Audit historical orders (CSV upload, as ``ivig audit``): grams over policy and outside
    the criteria."""
    import io

    from starlette.concurrency import run_in_threadpool

    from ivig.errors import InputError
    from ivig.registry.batch_audit import AuditOptions, audit_rows

    raw = await file.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("file", file.filename, "a UTF-8 CSV file") from None
    options = AuditOptions(jurisdiction=jurisdiction, policy=policy)
    return await run_in_threadpool(audit_rows, io.StringIO(text, newline=""), state.kb, options)
