"""Registry pages: patients, one patient (courses, infusions with lots, adverse events,
outcome trends, IgG over time, reviews due) and the stewardship dashboard."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ivig.web import svg
from ivig.web.access import allowed
from ivig.web.care_forms import Submitted, attach_forms
from ivig.web.deps import cache_of, guard, page, state_of, user_of
from ivig.web.glossary import names_of
from ivig.web.patient_data import igg_prediction, list_patients, patient_history

__all__ = ["patient_page", "router"]

router = APIRouter()

_NO_REGISTRY = {"title": "No registry", "message": "This server runs without a registry."}


def _score_name(kb: Any, score_id: str) -> str:
    try:
        return str(kb.score(score_id)["name"])
    except Exception:  # an id the knowledge base no longer holds is shown as stored
        return score_id


def _score_range(kb: Any, score_id: str) -> tuple[float | None, float | None]:
    """The score's range from its record (the chart's y-axis), when the record gives one."""
    try:
        rng = kb.score(score_id).get("range") or {}
    except Exception:  # an id the knowledge base no longer holds: the values' own range
        return None, None
    return rng.get("min"), rng.get("max")


def score_charts(kb: Any, course: dict[str, Any]) -> list[dict[str, Any]]:
    """One trend chart per outcome score recorded in the course."""
    by_score: dict[str, list[tuple[dt.date, float]]] = {}
    for o in course["outcomes"]:
        by_score.setdefault(o["score_id"], []).append(
            (dt.date.fromisoformat(o["date"]), o["value"])
        )
    charts = []
    for score_id, points in by_score.items():
        name = _score_name(kb, score_id)
        scale = _score_range(kb, score_id)
        charts.append(
            {
                "score_id": score_id,
                "name": name,
                "points": points,
                "svg": svg.line_chart(
                    [svg.Series(name, points)],
                    title=f"{name}: course {course['id']}",
                    y_label="score",
                    chart_id=f"score-{course['id']}-{score_id}",
                    y_min=scale[0],
                    y_max=scale[1],
                ),
            }
        )
    return charts


def igg_chart(kb: Any, course: dict[str, Any], today: dt.date) -> dict[str, Any] | None:
    """Predicted and fitted IgG over the course, measured levels and the target band, as SVG."""
    pred = igg_prediction(kb, course, until=today)
    if pred is None:
        return None
    series = [svg.Series("predicted (population)", pred["points"], markers=False, dashed=True)]
    if pred["fitted"]:
        series.append(svg.Series("fitted to the measured levels", pred["fitted"], markers=False))
    if pred["measured"]:
        points = [(day, value) for day, value, _kind in pred["measured"]]
        series.append(svg.Series("measured IgG", points, line=False))
    band = None
    ref = pred["band"]
    if ref is not None:
        sources = ", ".join(s["id"] for s in ref["sources"])
        band = svg.Band(ref["min"], ref["max"], f"{ref['description']} [{sources}]")
    pred["svg"] = svg.line_chart(
        series,
        title=f"Serum IgG, course {course['id']}",
        y_label="IgG (g/L)",
        band=band,
        chart_id=f"igg-{course['id']}",
        y_min=0.0,
    )
    return pred


@router.get("/app/patients", response_class=HTMLResponse)
def patients(request: Request, q: str = "") -> Response:
    """Patients in the registry (pseudonymous references), searchable by reference."""
    user = guard(request, "patients")
    if isinstance(user, Response):
        return user
    state = state_of(request)
    if state.registry is None:
        return page(request, "error.html", _NO_REGISTRY, 404)
    cache = cache_of(request)
    with state.registry.session() as session:
        rows = cache.get(session, ("patients", q), lambda: list_patients(session, q))
    return page(request, "patients.html", {"rows": rows, "q": q})


def patient_page(
    request: Request, patient_ref: str, submitted: Submitted | None = None, status: int = 200
) -> Response:
    """The patient page; ``submitted`` shows a care form again with its problems."""
    state = state_of(request)
    user = user_of(request)
    if state.registry is None:
        return page(request, "error.html", _NO_REGISTRY, 404)
    from ivig.registry import api

    today = state.settings.today()
    cache = cache_of(request)
    with state.registry.session() as session:
        reviews = cache.get(
            session, ("reviews", today), lambda: api.reviews_due(session, today=today)
        )
        history = patient_history(session, patient_ref, reviews=reviews)
        for course in (history or {}).get("courses", []):
            # the PK fit to measured levels is the page's costly part: kept until a change
            course["igg"] = cache.get(
                session,
                ("igg", patient_ref, course["id"], today),
                partial(igg_chart, state.kb, course, today),
            )
    if history is None:
        message = f"No patient {patient_ref!r}."
        return page(request, "error.html", {"title": "Not found", "message": message}, 404)
    for course in history["courses"]:
        course["score_charts"] = score_charts(state.kb, course)
    ae_form = attach_forms(
        state.kb,
        history,
        role=user.role if user else "",
        today=today.isoformat(),
        submitted=submitted,
    )
    context = {"h": history, "today": today.isoformat(), "ae_form": ae_form}
    return page(request, "patient.html", context, status)


@router.get("/app/patients/{patient_ref}", response_class=HTMLResponse)
def patient(request: Request, patient_ref: str) -> Response:
    """One patient's courses, infusions, adverse events, outcomes and IgG, with the forms
    that record them for the roles that may."""
    user = guard(request, "patients")
    if isinstance(user, Response):
        return user
    return patient_page(request, patient_ref)


@router.get("/app/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request, policy: str = "", shortage: int = 0, system: str = "uk_dh_colour"
) -> Response:
    """Pending requests, reviews due, usage, dosing-weight savings, adverse events, shortage."""
    user = guard(request, "dashboard")
    if isinstance(user, Response):
        return user
    state = state_of(request)
    if state.registry is None:
        return page(request, "error.html", _NO_REGISTRY, 404)
    from ivig.errors import InputError
    from ivig.registry import api

    kb = state.kb
    policies = [p["id"] for p in kb.data["dosing"]["policies"]]
    policy = policy if policy in policies else policies[0]
    prices, prices_error = _prices(state)
    systems = [s["id"] for s in kb.data["evidence_systems"]]
    system = system if system in systems else systems[0]
    today = state.settings.today()
    cache = cache_of(request)
    with state.registry.session() as session:

        def get(key: tuple[Any, ...], compute: Any) -> Any:
            return cache.get(session, key, compute)

        pending = get(("pending",), lambda: api.list_requests(session, status="pending"))
        reviews = [
            r
            for r in get(("reviews", today), lambda: api.reviews_due(session, today=today))
            if r["status"] in ("overdue", "due", "upcoming", "no_date")
        ]
        priced = tuple(sorted((prices or {}).items()))
        by_month = get(
            ("usage", "month", priced), lambda: api.report_usage(session, by="month", prices=prices)
        )
        by_condition = get(
            ("usage", "condition", priced),
            lambda: api.report_usage(session, by="condition", prices=prices),
        )
        events = get(("events",), lambda: api.report_adverse_events(session))
        triage: list[dict[str, Any]] = []
        triage_error = ""
        if shortage and allowed(user.role, "shortage"):
            try:
                triage = get(
                    ("triage", system), lambda: api.shortage_triage(session, kb, system=system)
                )
            except InputError as exc:
                triage_error = str(exc)
    names = names_of(kb)
    charts = {
        "month": svg.bar_chart(
            [(r["month"], r["grams"]) for r in by_month],
            title="Grams infused by month", unit="g", chart_id="usage-month",
        ),
        "condition": svg.bar_chart(
            [(names.get(r["condition"], r["condition"]), r["grams"]) for r in by_condition],
            title="Grams infused by condition", unit="g", chart_id="usage-condition",
        ),
        "events": svg.bar_chart(
            [(names.get(r["product"], r["product"]), float(r["events"])) for r in events
             if r.get("events")],
            title="Adverse events by product", unit="events", chart_id="ae-product",
        ),
    }  # fmt: skip
    return page(
        request,
        "dashboard.html",
        {
            "pending": pending,
            "reviews": reviews,
            "by_month": by_month,
            "by_condition": by_condition,
            "condition_names": names,
            "events": events,
            "charts": charts,
            "policy": policy,
            "policies": kb.data["dosing"]["policies"],
            "shortage": bool(shortage),
            "system": system,
            "systems": kb.data["evidence_systems"],
            "triage": triage,
            "triage_error": triage_error,
            "today": today.isoformat(),
            "prices": prices,
            "prices_error": prices_error,
            "usage_cost": _cost_summary(by_condition),
        },
    )


def _prices(state: Any) -> tuple[dict[str, float] | None, str]:
    """The local prices per gram (or None) and the problem with the prices file, if any."""
    from ivig.errors import InputError
    from ivig.web.prices import load_prices

    try:
        return load_prices(state.kb, state.settings.prices_file), ""
    except InputError as exc:
        return None, str(exc)


def _cost_summary(rows: list[dict[str, Any]]) -> dict[str, float] | None:
    """Total cost, grams priced and the mean price per gram of the priced infusions."""
    if all(r.get("cost") is None for r in rows):
        return None  # no prices set, or none of the products given has one
    priced_cost = sum(r["cost"] or 0.0 for r in rows)
    unpriced = sum(r.get("unpriced_grams", 0.0) for r in rows)
    priced_grams = sum(r["grams"] for r in rows) - unpriced
    if priced_grams <= 0:
        return None
    return {
        "cost": priced_cost,
        "priced_grams": priced_grams,
        "unpriced_grams": unpriced,
        "per_g": priced_cost / priced_grams,
    }


@router.get("/app/dashboard/savings", response_class=HTMLResponse)
def savings(request: Request, policy: str = "") -> Response:
    """Grams prescribed against grams under a dosing-weight policy (loaded into the dashboard)."""
    user = guard(request, "dashboard")
    if isinstance(user, Response):
        return user
    state = state_of(request)
    if state.registry is None:
        return page(request, "error.html", _NO_REGISTRY, 404)
    from ivig.registry import api

    kb = state.kb
    policies = [p["id"] for p in kb.data["dosing"]["policies"]]
    policy = policy if policy in policies else policies[0]
    prices, _error = _prices(state)
    with state.registry.session() as session:
        result = cache_of(request).get(
            session,
            ("savings", policy),
            lambda: api.report_weight_savings(session, kb, policy=policy),
        )
        usage = cache_of(request).get(
            session,
            ("usage", "condition", tuple(sorted((prices or {}).items()))),
            lambda: api.report_usage(session, by="condition", prices=prices),
        )
    return page(
        request,
        "savings.html",
        {
            "savings": result,
            "policy": policy,
            "policy_name": next(
                p["name"] for p in kb.data["dosing"]["policies"] if p["id"] == policy
            ),
            "policies": kb.data["dosing"]["policies"],
            "usage_cost": _cost_summary(usage),
        },
    )
