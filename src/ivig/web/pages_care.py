"""The care forms' handlers: record an infusion, an outcome assessment or a measured IgG level
on a course, and an adverse event of a patient, through :mod:`ivig.registry.api` (which checks
every value and the role). Success returns to the patient page; a problem shows the form
again, the message next to its field, with status 422."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ivig.errors import InputError, IvigError
from ivig.web import care_forms
from ivig.web.care_forms import ACTION_OF, Submitted
from ivig.web.deps import config_of, guard, page, state_of
from ivig.web.pages_registry import patient_page
from ivig.web.session import COOKIE_NAME, check_csrf

__all__ = ["router"]

router = APIRouter()

#: an unknown knowledge id (``UnknownIdError`` names its kind) -> the form field that gave it
_FIELD_OF_KIND = {"score": "score_id"}


def _error(request: Request, title: str, message: str, status: int) -> Response:
    return page(request, "error.html", {"title": title, "message": message}, status)


def _item_score(request: Request, kind: str, values: dict[str, str]) -> str | None:
    """The score of an item-by-item outcome form (``item.<id>`` fields), when it is one."""
    if kind != "outcome" or not any(k.startswith(care_forms.ITEM_PREFIX) for k in values):
        return None
    score_id = values.get("score_id", "")
    known = {s["id"] for s in state_of(request).kb.data["scores"]}
    return score_id if score_id in known else None


def _fields(
    request: Request, kind: str, patient_ref: str, values: dict[str, str]
) -> list[care_forms.CareField]:
    kb = state_of(request).kb
    if kind == "infusion":
        return care_forms.infusion_fields(kb)
    item_score = _item_score(request, kind, values)
    if item_score is not None:
        return care_forms.score_item_fields(kb, item_score)
    if kind == "outcome":
        return care_forms.outcome_fields(kb)
    if kind == "igg":
        return care_forms.igg_fields()
    courses: list[dict[str, Any]] = []
    registry = state_of(request).registry
    if registry is not None:
        from ivig.web.patient_data import patient_history

        with registry.session() as session:
            history = patient_history(session, patient_ref, reviews=[])
        courses = history["courses"] if history else []
    return care_forms.adverse_event_fields(kb, courses)


def _course_of_patient(session: Any, course_id: int, patient_ref: str) -> bool:
    from ivig.registry.models import Course

    course = session.get(Course, course_id)
    return course is not None and course.patient.local_ref == patient_ref


def _record(session: Any, kind: str, args: dict[str, Any], **ids: Any) -> None:
    from ivig.registry import api

    actor, knowledge = ids["actor"], ids["knowledge"]
    if kind == "infusion":
        api.record_infusion(session, ids["course_id"], actor=actor, **args)
    elif kind == "outcome":
        value = args.pop("value", None)
        args["items"] = care_forms.items_of(args) or args.get("items")
        api.record_outcome(
            session, ids["course_id"], actor=actor, knowledge=knowledge, value=value, **args
        )
    elif kind == "igg":
        api.record_igg_level(session, ids["course_id"], actor=actor, knowledge=knowledge, **args)
    else:
        api.record_adverse_event(session, patient_ref=ids["patient_ref"], actor=actor, **args)


class _NotFound(Exception):
    """The course is not one of the patient's."""


def _store(
    registry: Any, kb: Any, kind: str, args: dict[str, Any], ids: dict[str, Any]
) -> dict[str, str]:
    """Record the form in the registry; the problems by field (empty when stored)."""
    errors: dict[str, str] = {}
    try:
        with registry.session() as session:
            course_id = ids["course_id"]
            if course_id is not None and not _course_of_patient(
                session, course_id, ids["patient_ref"]
            ):
                raise _NotFound
            _record(session, kind, args, knowledge=kb, **ids)
    except InputError as exc:
        field = exc.field.split("[", 1)[0]
        errors[_FIELD_OF_KIND.get(field, field)] = str(exc)
    except IvigError as exc:
        from ivig.registry.users import RoleError

        if isinstance(exc, RoleError):
            raise
        errors["(form)"] = str(exc)
    return errors


def _refused(request: Request, csrf: str) -> Response | None:
    """The refusal of a form whose token has expired, or of a server without a registry."""
    if not check_csrf(config_of(request), request.cookies.get(COOKIE_NAME), csrf):
        return _error(request, "Form expired", "Reload the page and try again.", 403)
    if state_of(request).registry is None:
        return _error(request, "No registry", "This server runs without a registry.", 404)
    return None


async def _submit(
    request: Request, kind: str, patient_ref: str, course_id: int | None = None
) -> Response:
    user = guard(request, ACTION_OF[kind])
    if isinstance(user, Response):
        return user
    data = await request.form()
    values = {key: str(data.get(key) or "") for key in data}
    refused = _refused(request, values.pop("csrf", ""))
    if refused is not None:
        return refused
    state = state_of(request)
    from ivig.registry.users import RoleError

    fields = _fields(request, kind, patient_ref, values)
    args, errors = care_forms.parse_care_form(fields, values)
    ids = {"course_id": course_id, "patient_ref": patient_ref, "actor": user.username}
    try:
        errors = errors or _store(state.registry, state.kb, kind, args, ids)
    except RoleError as exc:
        return _error(request, "Not allowed", str(exc), 403)
    except _NotFound:
        message = f"No course {course_id} of patient {patient_ref!r}."
        return _error(request, "Not found", message, 404)
    if errors:
        return _again(request, Submitted(kind, course_id, values, errors), patient_ref)
    return RedirectResponse(
        f"/app/patients/{quote(patient_ref, safe='')}?recorded={kind}", status_code=303
    )


def _again(request: Request, submitted: Submitted, patient_ref: str) -> Response:
    """The form sent back with its problems: the item-by-item page or the patient page."""
    item_score = _item_score(request, submitted.kind, submitted.values)
    if item_score is not None and submitted.course_id is not None:
        return _item_page(request, patient_ref, submitted.course_id, item_score, submitted)
    return patient_page(request, patient_ref, submitted, status=422)


def _item_page(
    request: Request,
    patient_ref: str,
    course_id: int,
    score_id: str,
    submitted: Submitted | None = None,
) -> Response:
    state = state_of(request)
    today = state.settings.today().isoformat()
    form = care_forms.item_form(
        state.kb, patient_ref, course_id, score_id, today=today, submitted=submitted
    )
    context = {"form": form, "patient_ref": patient_ref, "course_id": course_id,
               "score": state.kb.score(score_id)}  # fmt: skip
    return page(request, "outcome_items.html", context, 422 if submitted else 200)


@router.get("/app/patients/{patient_ref}/courses/{course_id}/outcomes/new")
def outcome_items(request: Request, patient_ref: str, course_id: int, score: str = "") -> Response:
    """The outcome form of one score, item by item (the score's own items and choices)."""
    user = guard(request, ACTION_OF["outcome"])
    if isinstance(user, Response):
        return user
    if score not in {s["id"] for s in state_of(request).kb.data["scores"]}:
        return _error(request, "Not found", f"No score {score!r} in the knowledge base.", 404)
    return _item_page(request, patient_ref, course_id, score)


@router.post("/app/patients/{patient_ref}/courses/{course_id}/infusions")
async def record_infusion(request: Request, patient_ref: str, course_id: int) -> Response:
    """Record an infusion (product, lot, grams, rate, duration, reactions) on an active course."""
    return await _submit(request, "infusion", patient_ref, course_id)


@router.post("/app/patients/{patient_ref}/courses/{course_id}/outcomes")
async def record_outcome(request: Request, patient_ref: str, course_id: int) -> Response:
    """Record an outcome assessment (a score of the knowledge base) on a course."""
    return await _submit(request, "outcome", patient_ref, course_id)


@router.post("/app/patients/{patient_ref}/courses/{course_id}/igg-levels")
async def record_igg_level(request: Request, patient_ref: str, course_id: int) -> Response:
    """Record a measured serum IgG (baseline, trough, peak or random) on a course."""
    return await _submit(request, "igg", patient_ref, course_id)


@router.post("/app/patients/{patient_ref}/adverse-events", response_class=HTMLResponse)
async def record_adverse_event(request: Request, patient_ref: str) -> Response:
    """Record an adverse event of the patient (type, severity, outcome, product, lot)."""
    return await _submit(request, "adverse_event", patient_ref)
