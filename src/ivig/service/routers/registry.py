"""Registry endpoints: requests and authorisation, courses, infusions, outcomes, reviews,
reports, audit log, users and tokens, and the batch audit upload.

Each endpoint declares the roles it allows (``admin`` may do everything) and passes the caller
as the ``actor`` the registry's audit log records. One call is one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from ivig.contract import Request as IvigRequest
from ivig.permissions import Action, Role, allowed, roles_for
from ivig.service.auth import Principal, require_permission
from ivig.service.errors import ERROR_RESPONSES, IvigJSONResponse
from ivig.service.logs import security_event
from ivig.service.state import ServiceState, state_of
from ivig.vocabulary import Jurisdiction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["audit_router", "router"]

router = APIRouter(prefix="/api/registry", tags=["registry"], responses=ERROR_RESPONSES)
audit_router = APIRouter(prefix="/api", tags=["registry"], responses=ERROR_RESPONSES)
State = Annotated[ServiceState, Depends(state_of)]
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
IggRecorder = Annotated[Principal, Depends(require_permission("record_igg_level"))]
Reviewer = Annotated[Principal, Depends(require_permission("review_course"))]
Reporter = Annotated[Principal, Depends(require_permission("read_reports"))]
Auditor = Annotated[Principal, Depends(require_permission("read_audit_log"))]
Admin = Annotated[Principal, Depends(require_permission("manage_users"))]


def _roles(action: Action) -> str:
    return ", ".join(sorted(roles_for(action)))


FREE = ConfigDict(extra="forbid", allow_inf_nan=False)
#: a database row id (bounded to the INTEGER column of PostgreSQL and SQLite)
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
BodyRowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
#: a free text of the registry (bounded; NUL and lone surrogates refused in ``_call``)
Text = Annotated[str, Field(max_length=2000)]
ShortText = Annotated[str, Field(max_length=200)]


@contextmanager
def _session(state: ServiceState, *, read_only: bool = False) -> Iterator[Session]:
    if state.registry is None:  # the router is only included with a registry
        from ivig.errors import InputError

        raise InputError("registry", None, "a configured registry (IVIG_DATABASE_URL)")
    opened = state.registry.read_session() if read_only else state.registry.session()
    with opened as session:
        yield session


def _storable(value: Any, field: str) -> None:
    """Refuse text no database stores faithfully: NUL bytes and lone surrogates."""
    from ivig.errors import InputError

    if isinstance(value, str):
        if "\x00" in value:
            raise InputError(field, value[:40], "text without NUL characters")
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            raise InputError(field, None, "text without lone surrogates (invalid Unicode)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key, field)
            _storable(item, f"{field}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _storable(item, f"{field}.{index}")


def _call(state: ServiceState, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    for name, value in kwargs.items():
        _storable(value, name)
    for index, value in enumerate(args):
        _storable(value, f"({index})")
    with _session(state) as session:
        return fn(session, *args, **kwargs)


def _forget_tokens(state: ServiceState) -> None:
    if state.registry is not None:
        state.registry.forget_tokens()


def _act(state: ServiceState, name: str, row_id: int, user: Principal, body: BaseModel) -> Any:
    """The registry step ``name`` on row ``row_id`` by ``user``, with the knowledge base."""
    fn = getattr(_api(), name)
    return _call(state, fn, row_id, actor=user.username, knowledge=state.kb, **body.model_dump())


def _read(state: ServiceState, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    for name, value in kwargs.items():
        _storable(value, name)
    with _session(state, read_only=True) as session:
        return fn(session, *args, **kwargs)


def _api() -> Any:
    from ivig.registry import api

    return api


class NewRequest(BaseModel):
    model_config = FREE
    request: IvigRequest
    patient_ref: Annotated[str, Field(max_length=80)]


class ChangesIn(BaseModel):
    model_config = FREE
    total_g: Annotated[float, Field(gt=0)] | None = None
    interval_weeks: Annotated[float, Field(gt=0)] | None = None
    product: ShortText | None = None
    regimen: ShortText | None = None
    note: Text | None = None


class Authorisation(BaseModel):
    model_config = FREE
    outcome: Literal["approve", "decline", "approve_with_changes"]
    reason: Text
    review_date: ShortText | None = None
    expiry_date: ShortText | None = None
    changes: ChangesIn | None = None


class CourseStart(BaseModel):
    model_config = FREE
    start_date: ShortText
    product: ShortText | None = None
    substitution_reason: Text | None = None


class InfusionIn(BaseModel):
    model_config = FREE
    date: ShortText
    product: ShortText
    lot_number: ShortText
    grams: float
    rate_ml_per_h: float | None = None
    duration_min: float | None = None
    reactions: Annotated[list[Text], Field(max_length=50)] | Text | None = None
    substitution_reason: Text | None = None
    override_reason: Text | None = None


class OutcomeIn(BaseModel):
    model_config = FREE
    score_id: ShortText
    value: float
    date: ShortText
    timing: Literal["baseline", "pre_dose", "post_dose", "routine"] = "routine"
    items: Annotated[dict[ShortText, int | float | ShortText], Field(max_length=100)] | None = None


class IggLevelIn(BaseModel):
    model_config = FREE
    date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    kind: Literal["baseline", "trough", "peak", "random"]
    #: a JSON number (not a string, not true/false); the plausible range is the registry's check
    igg_g_per_l: Annotated[float, Field(strict=True)]
    note: Text | None = None


class ReviewIn(BaseModel):
    model_config = FREE
    date: ShortText
    action: Literal["continue", "change", "trial_off", "stop"]
    reason: Text


class StopIn(BaseModel):
    model_config = FREE
    date: ShortText
    reason: Text


class AdverseEventIn(BaseModel):
    model_config = FREE
    patient_ref: ShortText
    date: ShortText
    event_type: ShortText
    severity: ShortText
    outcome: ShortText
    product: ShortText | None = None
    lot_number: ShortText | None = None
    course_id: BodyRowId | None = None
    infusion_id: BodyRowId | None = None
    description: Text | None = None


class UserIn(BaseModel):
    model_config = FREE
    username: Annotated[str, Field(max_length=80)]
    role: Role
    display_name: ShortText | None = None


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
    response: Response,
    state: State,
    user: AnyUser,
    status: Annotated[str | None, Query(max_length=40)] = None,
    patient_ref: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> Any:
    """Requests, newest first, filtered by status or patient; one page of at most ``limit``.
    The ``X-Next-Cursor`` header (when there is more) is the ``cursor`` of the next page."""
    rows = _read(
        state,
        _api().list_requests,
        status=status,
        patient_ref=patient_ref,
        limit=limit + 1,
        before_id=cursor,
    )
    if len(rows) > limit:
        rows = rows[:limit]
        response.headers["X-Next-Cursor"] = str(rows[-1]["request_id"])
    return rows


@router.get("/requests/{request_id}", response_class=IvigJSONResponse, responses=OK)
def get_request(request_id: RowId, state: State, user: AnyUser) -> Any:
    """One request with its decision, authorisations and courses."""
    return _read(state, _api().get_request, request_id)


@router.post("/requests/{request_id}/authorise", response_class=IvigJSONResponse, responses=OK)
def authorise(request_id: RowId, body: Authorisation, state: State, user: Steward) -> Any:
    """Approve, decline or approve with changes (stewards; never one's own request unless the
    site allows it)."""
    fields = body.model_dump()
    if body.changes is not None:
        fields["changes"] = body.changes.model_dump(exclude_none=True)
    return _call(
        state,
        _api().authorise,
        request_id,
        actor=user.username,
        knowledge=state.kb,
        allow_self=state.settings.allow_self_authorisation,
        **fields,
    )


@router.post("/requests/{request_id}/courses", response_class=IvigJSONResponse, responses=OK)
def start_course(request_id: RowId, body: CourseStart, state: State, user: CourseStarter) -> Any:
    """Start the authorised course."""
    return _act(state, "start_course", request_id, user, body)


@router.post("/courses/{course_id}/infusions", response_class=IvigJSONResponse, responses=OK)
def record_infusion(course_id: RowId, body: InfusionIn, state: State, user: Giver) -> Any:
    """Record one infusion with its lot number."""
    out = _act(state, "record_infusion", course_id, user, body)
    if out.get("override_reason") or out.get("substitution_reason"):
        security_event(
            "authorisation_override", user=user.username, entity="infusion", entity_id=out["id"]
        )
    return out


@router.post("/courses/{course_id}/outcomes", response_class=IvigJSONResponse, responses=OK)
def record_outcome(course_id: RowId, body: OutcomeIn, state: State, user: Assessor) -> Any:
    """Record an outcome measure."""
    return _call(state, _api().record_outcome, course_id, actor=user.username, **body.model_dump())


@router.post("/courses/{course_id}/igg-levels", response_class=IvigJSONResponse, responses=OK)
def record_igg_level(course_id: RowId, body: IggLevelIn, state: State, user: IggRecorder) -> Any:
    """Record a measured total serum IgG (g/L) of the course (a baseline may precede its start)."""
    return _act(state, "record_igg_level", course_id, user, body)


@router.get("/courses/{course_id}/igg-levels", response_class=IvigJSONResponse, responses=OK)
def igg_levels(course_id: RowId, state: State, user: AnyUser) -> Any:
    """The course's measured IgG levels, by date."""
    return _read(state, _api().igg_levels, course_id)


@router.post("/courses/{course_id}/review", response_class=IvigJSONResponse, responses=OK)
def review_course(course_id: RowId, body: ReviewIn, state: State, user: Reviewer) -> Any:
    """Review the course (continue, change, trial off, stop) with the core's review stored."""
    return _act(state, "review_course", course_id, user, body)


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
    return _read(state, _api().reviews_due, today=state.settings.today(), within_days=within_days)


@router.get("/recall/{lot_number}", response_class=IvigJSONResponse, responses=OK)
def recall_lot(
    lot_number: Annotated[str, Path(max_length=80)], state: State, user: Reporter
) -> Any:
    """Patients, infusions and adverse events of one lot."""
    return _read(state, _api().recall_lot, lot_number=lot_number)


@router.get("/reports/{kind}", response_class=IvigJSONResponse, responses=OK)
def report(
    kind: Literal[
        "usage", "maintenance", "responders", "adverse-events", "shortage", "weight-savings"
    ],
    state: State,
    user: Reporter,
    by: Literal["condition", "indication", "product", "month", "prescriber"] = "condition",
    policy: str = Query(
        "au-2026", max_length=80, description="dosing-weight policy (weight-savings)"
    ),
) -> Any:
    """Stewardship reports."""
    api = _api()
    if kind == "usage":
        return _read(state, api.report_usage, by=by)
    if kind == "maintenance":
        return _read(state, api.report_maintenance, today=state.settings.today())
    if kind == "shortage":
        if not allowed(user.role, "shortage"):
            raise HTTPException(403, f"this operation needs one of the roles: {_roles('shortage')}")
        return _read(state, api.shortage_triage, state.kb)
    if kind == "weight-savings":
        state.kb.dosing_policy(policy)
        return _read(state, api.report_weight_savings, state.kb, policy=policy)
    fn = {"responders": api.report_responders, "adverse-events": api.report_adverse_events}[kind]
    return _read(state, fn)


@router.get("/overrides", response_class=IvigJSONResponse, responses=OK)
def list_overrides(
    state: State, user: Reporter, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Any:
    """Infusions recorded past their authorisation and courses with a substituted product."""
    from ivig.registry.enforce import list_overrides as overrides

    return _read(state, overrides, limit=limit)


@router.get("/audit-log", response_class=IvigJSONResponse, responses=OK)
def audit_log(
    state: State,
    user: Auditor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    verify: Literal["none", "new", "full"] = "new",
) -> Any:
    """The audit-log entries before ``cursor`` (default: the newest), newest first. ``verify``:
    ``new`` checks the entries since the last verified checkpoint (cheap), ``full`` the whole
    chain and every table, ``none`` nothing."""
    api = _api()
    checked = None
    if verify != "none":
        checked = _read(state, api.verify_audit, full=verify == "full")
    return {
        "verify": checked,
        "entries": _read(state, api.list_audit, limit=limit, before_seq=cursor),
    }


@router.get("/users", response_class=IvigJSONResponse, responses=OK)
def list_users(
    response: Response,
    state: State,
    user: Admin,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(min_length=1, max_length=80)] = None,
) -> Any:
    """Users and roles (admin), by username; one page of at most ``limit``. The
    ``X-Next-Cursor`` header (when there is more) is the ``cursor`` of the next page."""
    rows = _read(state, _api().list_users, limit=limit + 1, after=cursor)
    if len(rows) > limit:
        rows = rows[:limit]
        response.headers["X-Next-Cursor"] = str(rows[-1]["username"])
    return rows


@router.post("/users/{username}/deactivate", response_class=IvigJSONResponse, responses=OK)
def deactivate_user(
    username: Annotated[str, Path(max_length=80)], state: State, user: Admin
) -> Any:
    """Deactivate a user (admin): their web sessions end and their tokens stop working at once
    on this worker, on the others within ``IVIG_TOKEN_CACHE_S`` (5 s by default)."""
    out = _call(state, _api().set_user_active, username, False, actor=user.username)
    _forget_tokens(state)  # this worker refuses it at once (others: api_token_cache_s)
    security_event("user_deactivated", user=user.username, target_user=username)
    return out


@router.post("/users/{username}/activate", response_class=IvigJSONResponse, responses=OK)
def activate_user(username: Annotated[str, Path(max_length=80)], state: State, user: Admin) -> Any:
    """Activate a user again (admin)."""
    out = _call(state, _api().set_user_active, username, True, actor=user.username)
    _forget_tokens(state)  # this worker refuses it at once (others: api_token_cache_s)
    security_event("user_activated", user=user.username, target_user=username)
    return out


@router.post("/tokens/{token_id}/revoke", response_class=IvigJSONResponse, responses=OK)
def revoke_token(token_id: RowId, state: State, user: Admin) -> Any:
    """Revoke an API token (admin): it stops working at once on this worker, on the others
    within ``IVIG_TOKEN_CACHE_S`` (5 s by default)."""
    out = _call(state, _api().revoke_token, token_id, actor=user.username)
    _forget_tokens(state)  # this worker refuses it at once (others: api_token_cache_s)
    security_event("token_revoked", user=user.username, token_id=token_id)
    return out


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
    username: Annotated[str, Path(max_length=80)],
    state: State,
    user: Admin,
    label: Annotated[str | None, Body(embed=True, max_length=200)] = None,
) -> Any:
    """Issue an API token for a user; the token is shown once (admin)."""
    out = _call(state, _api().issue_token, username, actor=user.username, label=label)
    security_event(
        "token_created", user=user.username, target_user=username, token_id=out["token_id"]
    )
    return out


@audit_router.post("/audit", response_class=IvigJSONResponse, responses=OK)
async def upload_audit(
    file: UploadFile,
    state: State,
    user: Reporter,
    jurisdiction: Jurisdiction = "international",
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
