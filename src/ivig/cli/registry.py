"""``ivig db ...``, ``ivig registry ...`` and ``ivig report ...``: the registry on the command line.

The database is ``IVIG_DATABASE_URL`` (default: a SQLite file in the user's data directory) or
``--database-url``. Steps that change data act as the user given by ``--as`` (default
``IVIG_USER``); each runs in one transaction and writes one audit entry.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ivig.cli._common import console, emit_json, kb, print_footer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["add_parsers"]


def _engine(args: argparse.Namespace) -> Any:
    from ivig.registry.db import make_engine

    return make_engine(args.database_url)


def _actor(args: argparse.Namespace) -> str:
    from ivig.errors import MissingFieldError

    actor = args.actor or os.environ.get("IVIG_USER")
    if not actor:
        raise MissingFieldError("--as", "this registry step (or set IVIG_USER)")
    return str(actor)


def _show(args: argparse.Namespace, title: str, data: Any) -> int:
    knowledge = kb()
    if args.json:
        emit_json({"result": data, "knowledge_version": knowledge.version})
        return 0
    from ivig.registry.output import print_table

    out = console()
    rows = data if isinstance(data, list) else [data]
    print_table(out, title, rows)
    print_footer(out, knowledge)
    return 0


def _in_session(args: argparse.Namespace, step: Callable[[Session], Any]) -> Any:
    from ivig.registry.db import session_scope

    with session_scope(_engine(args)) as session:
        return step(session)


# -- db ---------------------------------------------------------------------------------------
def _db_upgrade(args: argparse.Namespace) -> int:
    from ivig.registry.db import upgrade

    revision = upgrade(_engine(args))
    url = _engine(args).url.render_as_string(hide_password=True)
    return _show(args, "database", {"revision": revision, "url": url})


def _db_verify(args: argparse.Namespace) -> int:
    from ivig.registry.audit import verify_audit

    result = _in_session(args, lambda s: verify_audit(s, full=not args.new_only))
    _show(args, "audit chain", {k: v for k, v in result.items() if k != "decision_mismatches"})
    return 0 if result["ok"] else 1


# -- registry ---------------------------------------------------------------------------------
def _registry(args: argparse.Namespace) -> int:
    from ivig.registry import api

    a = args
    command = a.registry_command
    knowledge = kb()
    steps: dict[str, Callable[[Session], Any]] = {
        "users": api.list_users,
        "user-add": lambda s: api.create_user(
            s, a.username, a.role, actor=a.actor or "system", display_name=a.display_name
        ),
        "token": lambda s: _token_step(s, a),
        "user": lambda s: api.set_user_active(
            s, a.username, a.user_action == "activate", actor=_actor(a)
        ),
        "request": lambda s: _request_step(s, a, knowledge),
        "requests": lambda s: api.list_requests(
            s, status=a.status, patient_ref=a.patient, limit=a.limit
        ),
        "show": lambda s: api.get_request(s, a.request_id),
        "authorise": lambda s: api.authorise(
            s,
            a.request_id,
            outcome=a.outcome,
            reason=a.reason,
            actor=_actor(a),
            review_date=a.review_date,
            expiry_date=a.expiry_date,
            changes=json.loads(a.changes) if a.changes else None,
            knowledge=knowledge,
        ),
        "start-course": lambda s: api.start_course(
            s,
            a.request_id,
            start_date=a.start_date,
            actor=_actor(a),
            product=a.product,
            substitution_reason=a.substitution_reason,
            knowledge=knowledge,
        ),
        "infusion": lambda s: api.record_infusion(
            s,
            a.course_id,
            date=a.date,
            product=a.product,
            lot_number=a.lot,
            grams=a.grams,
            actor=_actor(a),
            rate_ml_per_h=a.rate_ml_per_h,
            duration_min=a.duration_min,
            reactions=a.reactions,
            substitution_reason=a.substitution_reason,
            override_reason=a.override_reason,
            knowledge=knowledge,
        ),
        "adverse-event": lambda s: api.record_adverse_event(
            s,
            patient_ref=a.patient,
            date=a.date,
            event_type=a.type,
            severity=a.severity,
            outcome=a.outcome,
            actor=_actor(a),
            product=a.product,
            lot_number=a.lot,
            course_id=a.course_id,
            infusion_id=a.infusion_id,
        ),
        "outcome": lambda s: api.record_outcome(
            s,
            a.course_id,
            score_id=a.score,
            value=a.value,
            date=a.date,
            actor=_actor(a),
            timing=a.timing,
            knowledge=knowledge,
        ),
        "review": lambda s: api.review_course(
            s,
            a.course_id,
            date=a.date,
            action=a.action,
            reason=a.reason,
            actor=_actor(a),
            knowledge=knowledge,
        ),
        "trial-off-end": lambda s: api.end_trial_off(
            s, a.trial_off_id, end_date=a.date, result=a.result, actor=_actor(a)
        ),
        "stop": lambda s: api.stop_course(
            s, a.course_id, date=a.date, reason=a.reason, actor=_actor(a)
        ),
        "lots": lambda s: api.recall_lot(s, a.lot),
        "reviews-due": lambda s: api.reviews_due(s, today=a.today, within_days=a.within_days),
        "shortage": lambda s: api.shortage_triage(s, knowledge, system=a.system),
        "demo": lambda s: _demo_step(s, a, knowledge),
        "overrides": _overrides,
        "audit-log": lambda s: api.list_audit(s, limit=a.limit),
    }
    result = _in_session(args, steps[command])
    if command == "lots" and not args.json:
        _show(args, f"lot {result['lot_number']}: patients", result["patients"])
        _show(args, "infusions", result["infusions"])
        return _show(args, "adverse events", result["adverse_events"])
    if command == "request" and not args.json:
        result = {k: v for k, v in result.items() if k != "recommendation"}
    return _show(args, f"registry {command}", result)


def _token_step(session: Session, args: argparse.Namespace) -> Any:
    from ivig.errors import InputError
    from ivig.registry import api

    if args.username == "revoke":
        if args.token_id is None:
            raise InputError("token_id", None, "the id of the token to revoke")
        return api.revoke_token(session, args.token_id, actor=_actor(args))
    if args.token_id is not None:
        raise InputError("token_id", args.token_id, "only after 'revoke'")
    return api.issue_token(session, args.username, actor=_actor(args), label=args.label)


def _overrides(session: Session) -> Any:
    from ivig.registry.enforce import list_overrides

    return list_overrides(session)


def _request_step(session: Session, args: argparse.Namespace, knowledge: Any) -> Any:
    from ivig.cli.recommend import load_request_file
    from ivig.registry import api

    data = load_request_file(args.file)
    if not isinstance(data, dict):
        from ivig.errors import InputError

        raise InputError("REQUEST", args.file, "a request object")
    return api.create_request(
        session, data, patient_ref=args.patient, actor=_actor(args), knowledge=knowledge
    )


def _demo_step(session: Session, args: argparse.Namespace, knowledge: Any) -> Any:
    from sqlalchemy import select

    from ivig.errors import InputError
    from ivig.registry.demo import seed_demo
    from ivig.registry.models import User

    if session.scalar(select(User.id).limit(1)) is not None:
        raise InputError("database", "not empty", "an empty registry (demo data seeds a new one)")
    return seed_demo(session, knowledge, seed=args.seed, patients=args.patients, today=args.today)


# -- report -----------------------------------------------------------------------------------
def _load_prices(path: str | None) -> dict[str, float] | None:
    if path is None:
        return None
    import csv

    from ivig.errors import InputError

    prices: dict[str, float] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            try:
                prices[row["product"].strip()] = float(row["price_per_g"])
            except (KeyError, ValueError, AttributeError):
                raise InputError(f"{path} line {n}", row, "columns product, price_per_g") from None
    return prices


_CHART_VALUE = {
    "usage": "grams",
    "maintenance": "grams",
    "responders": "responder_percent",
    "adverse-events": "per_1000_g",
    "savings": "grams_prescribed",
}


def _report(args: argparse.Namespace) -> int:
    from ivig.registry import api

    a = args
    knowledge = kb()
    steps: dict[str, Callable[[Session], Any]] = {
        "usage": lambda s: api.report_usage(
            s, by=a.by, since=a.since, until=a.until, prices=_load_prices(a.prices)
        ),
        "maintenance": api.report_maintenance,
        "responders": api.report_responders,
        "adverse-events": api.report_adverse_events,
        "savings": lambda s: api.report_weight_savings(s, knowledge, policy=a.policy),
    }
    result = _in_session(args, steps[a.report_command])
    rows = result["rows"] if a.report_command == "savings" else result
    if a.csv:
        from ivig.registry.output import write_csv

        write_csv(a.csv, rows)
    if a.chart:
        from ivig.registry.output import write_chart

        label = next(iter(rows[0])) if rows else "key"
        if a.report_command == "savings":
            label = "request_id"
        write_chart(
            a.chart,
            rows,
            label,
            _CHART_VALUE[a.report_command],
            f"{a.report_command} ({knowledge.version})",
        )
    if a.report_command == "savings" and not a.json:
        _show(a, f"dosing-weight savings under {a.policy}", rows)
        return _show(a, "totals", {k: v for k, v in result.items() if k != "rows"})
    return _show(a, f"report {a.report_command}", result)


# -- parsers ----------------------------------------------------------------------------------
def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", help="database URL (default: IVIG_DATABASE_URL or SQLite)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--as", dest="actor", metavar="USER", help="acting user (default IVIG_USER)")


def _add_db_parsers(sub: Any) -> None:
    db = sub.add_parser("db", help="registry database: migrations and audit verification")
    dbs = db.add_subparsers(dest="db_command", required=True)
    p = dbs.add_parser("upgrade", help="create or migrate the database to the latest schema")
    _common(p)
    p.set_defaults(func=_db_upgrade)
    p = dbs.add_parser("verify-audit", help="verify the keyed audit chain and every table")
    _common(p)
    p.add_argument(
        "--new-only", action="store_true", help="only the entries since the last checkpoint"
    )
    p.set_defaults(func=_db_verify)


Command = Callable[[str, str], "argparse.ArgumentParser"]


def _add_user_commands(cmd: Command) -> None:
    from ivig.permissions import ROLES

    cmd("users", "list the users")
    p = cmd("user-add", "add a user (the first one may be added without --as)")
    p.add_argument("username")
    p.add_argument("role", choices=ROLES)
    p.add_argument("--display-name")
    p = cmd("user", "deactivate or activate a user (admin): their tokens and sessions end")
    p.add_argument("user_action", choices=("deactivate", "activate"))
    p.add_argument("username")
    p = cmd("token", "issue an API token (shown once) or revoke one: token revoke TOKEN_ID")
    p.add_argument("username", help="the user to issue a token for, or 'revoke'")
    p.add_argument("token_id", nargs="?", type=int, help="with 'revoke': the token's id")
    p.add_argument("--label")


def _add_request_commands(cmd: Command) -> None:
    from ivig.registry.workflow import AUTHORISATION_OUTCOMES, REQUEST_STATUSES

    p = cmd("request", "register a request file and its recommendation")
    p.add_argument("file", help="request as JSON or YAML (- for standard input)")
    p.add_argument("--patient", required=True, help="pseudonymous patient reference")
    p = cmd("requests", "list requests")
    p.add_argument("--status", choices=REQUEST_STATUSES)
    p.add_argument("--patient")
    p.add_argument("--limit", type=int, help="at most this many (newest first)")
    p = cmd("show", "one request with its decision, authorisations and courses")
    p.add_argument("request_id", type=int)
    p = cmd("authorise", "steward's decision on a request (never on one's own request)")
    p.add_argument("request_id", type=int)
    p.add_argument("--outcome", required=True, choices=AUTHORISATION_OUTCOMES)
    p.add_argument("--reason", required=True)
    p.add_argument("--review-date")
    p.add_argument("--expiry-date")
    p.add_argument("--changes", help='JSON, e.g. {"total_g": 60, "interval_weeks": 4}')
    p = cmd("start-course", "start a course on an approved request")
    p.add_argument("request_id", type=int)
    p.add_argument("--start-date", required=True)
    p.add_argument("--product")
    p.add_argument("--substitution-reason", help="why another product than the authorised one")


def _add_care_commands(cmd: Command) -> None:
    from ivig.registry.care import AE_OUTCOMES, AE_SEVERITIES, TIMINGS

    p = cmd("infusion", "record an infusion with its lot number")
    p.add_argument("course_id", type=int)
    p.add_argument("--date", required=True)
    p.add_argument("--product", required=True)
    p.add_argument("--lot", required=True)
    p.add_argument("--grams", required=True, type=float)
    p.add_argument("--rate-ml-per-h", type=float)
    p.add_argument("--duration-min", type=float)
    p.add_argument("--reactions")
    p.add_argument("--substitution-reason", help="why another product than the course's")
    p.add_argument("--override-reason", help="why it is recorded past its authorisation")
    p = cmd("adverse-event", "record an adverse event")
    p.add_argument("--patient", required=True)
    p.add_argument("--date", required=True)
    p.add_argument("--type", required=True)
    p.add_argument("--severity", required=True, choices=AE_SEVERITIES)
    p.add_argument("--outcome", required=True, choices=AE_OUTCOMES)
    p.add_argument("--product")
    p.add_argument("--lot")
    p.add_argument("--course-id", type=int)
    p.add_argument("--infusion-id", type=int)
    p = cmd("outcome", "record an outcome assessment (score id and value)")
    p.add_argument("course_id", type=int)
    p.add_argument("--score", required=True)
    p.add_argument("--value", required=True, type=float)
    p.add_argument("--date", required=True)
    p.add_argument("--timing", default="routine", choices=TIMINGS)


def _add_course_commands(cmd: Command) -> None:
    from ivig.registry.care import REVIEW_ACTIONS

    p = cmd("review", "review a course: continue, change, trial_off or stop")
    p.add_argument("course_id", type=int)
    p.add_argument("--date", required=True)
    p.add_argument("--action", required=True, choices=REVIEW_ACTIONS)
    p.add_argument("--reason", required=True)
    p = cmd("trial-off-end", "end a trial off (stable stops the course, relapsed resumes it)")
    p.add_argument("trial_off_id", type=int)
    p.add_argument("--date", required=True)
    p.add_argument("--result", required=True, choices=("stable", "relapsed"))
    p = cmd("stop", "stop a course")
    p.add_argument("course_id", type=int)
    p.add_argument("--date", required=True)
    p.add_argument("--reason", required=True)


def _add_query_commands(cmd: Command) -> None:
    p = cmd("lots", "lot recall: every patient and infusion that received a lot")
    p.add_argument("lot")
    p = cmd("reviews-due", "reviews due and overdue, missing baseline or follow-up")
    p.add_argument("--today")
    p.add_argument("--within-days", type=int, default=14)
    p = cmd("shortage", "rank active and pending requests by the criteria's priority")
    p.add_argument("--system", default="uk_dh_colour", help="evidence system id (ivig kb)")
    cmd("overrides", "infusions recorded past their authorisation and product substitutions")
    p = cmd("demo", "seed an empty registry with demonstration data")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--patients", type=int, default=40)
    p.add_argument("--today")
    p = cmd("audit-log", "the newest audit-log entries")
    p.add_argument("--limit", type=int, default=20)


def _add_registry_parsers(sub: Any) -> None:
    reg = sub.add_parser("registry", help="requests, authorisations, courses, lots, reviews")
    rs = reg.add_subparsers(dest="registry_command", required=True)

    def cmd(name: str, text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = rs.add_parser(name, help=text)
        _common(p)
        p.set_defaults(func=_registry)
        return p

    for add in (
        _add_user_commands,
        _add_request_commands,
        _add_care_commands,
        _add_course_commands,
        _add_query_commands,
    ):
        add(cmd)


def _add_report_parsers(sub: Any) -> None:
    from ivig.registry.reports import USAGE_GROUPS

    rep = sub.add_parser("report", help="usage reports as tables, CSV and PNG/SVG charts")
    reps = rep.add_subparsers(dest="report_command", required=True)

    def rcmd(name: str, text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = reps.add_parser(name, help=text)
        _common(p)
        p.add_argument("--csv", metavar="FILE", help="also write the rows as CSV")
        p.add_argument("--chart", metavar="FILE", help="also draw a chart (.png or .svg)")
        p.set_defaults(func=_report)
        return p

    p = rcmd("usage", "grams (and cost) by condition, indication, product, month, prescriber")
    p.add_argument("--by", default="condition", choices=USAGE_GROUPS)
    p.add_argument("--since")
    p.add_argument("--until")
    p.add_argument("--prices", metavar="CSV", help="local prices: columns product, price_per_g")
    rcmd("maintenance", "patients on maintenance")
    rcmd("responders", "latest review verdicts per condition")
    rcmd("adverse-events", "adverse-event rates per product, per 100 infusions and per 1,000 g")
    p = rcmd("savings", "grams prescribed against grams under a dosing-weight policy")
    p.add_argument("--policy", default="au-2026")


def add_parsers(sub: Any) -> None:
    """The ``db``, ``registry`` and ``report`` commands."""
    _add_db_parsers(sub)
    _add_registry_parsers(sub)
    _add_report_parsers(sub)
