"""``ivig recommend REQUEST`` and ``ivig schema request|recommendation``."""

from __future__ import annotations

import sys

from ivig.cli._common import console, emit_json, kb

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import argparse
    from typing import Any

__all__ = ["add_parsers", "load_request_file"]


def load_request_file(path: str) -> object:
    """Parse a JSON or YAML request from ``path`` (``-`` for standard input).

    Plain YAML (the request files' usual form) is read by :mod:`ivig.cli.plain_yaml`, to the
    same result; PyYAML reads the rest and names any error.
    """
    from ivig.cli.plain_yaml import load as load_plain_yaml
    from ivig.errors import InputError

    if path == "-":
        text, name = sys.stdin.read(), "<stdin>"
    else:
        try:
            with open(path, encoding="utf-8") as fh:
                text, name = fh.read(), path
        except OSError as exc:
            raise InputError(
                "REQUEST", path, "a readable JSON or YAML file", detail=exc.strerror
            ) from None
    if text.lstrip().startswith(("{", "[")):
        import json  # imported here: a YAML request does not need it (nor the re module it needs)

        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                "REQUEST",
                name,
                "valid JSON",
                detail=f"line {exc.lineno}, column {exc.colno}: {exc.msg}",
            ) from None
    plain = load_plain_yaml(text)
    if plain is not None:
        return plain
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise InputError(
            "REQUEST", name, "valid YAML", detail=f"{where}{getattr(exc, 'problem', exc)}"
        ) from None


def _run(args: argparse.Namespace) -> int:
    from ivig.app.recommend import recommend

    if args.compare:
        from ivig.cli.compare import run_compare  # the side-by-side table: imported on use

        return run_compare(args)

    rec: dict[str, Any] = dict(recommend(kb(), load_request_file(args.request)))
    if args.html:
        from ivig.render.html import render_order_sheet

        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(render_order_sheet(rec, patient_ref=args.patient_ref))
    if args.json:
        emit_json(rec)
    else:
        from ivig.render.terminal import print_recommendation

        print_recommendation(console(), rec)
    return 0


def _schema(args: argparse.Namespace) -> int:
    from ivig.contract import recommendation_json_schema, request_json_schema

    emit_json(request_json_schema() if args.which == "request" else recommendation_json_schema())
    return 0


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("recommend", help="one explainable recommendation for a request file")
    p.add_argument("request", help="request as JSON or YAML (- for standard input)")
    p.add_argument("--json", action="store_true", help="print the recommendation object as JSON")
    p.add_argument("--html", metavar="FILE", help="also write a printable order sheet")
    p.add_argument(
        "--patient-ref",
        default="",
        metavar="REF",
        help="the patient identifier printed on the order sheet (--html); a blank line otherwise",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="the same patient under every jurisdiction's policy and evidence, side by side",
    )
    p.set_defaults(func=_run)
    p = sub.add_parser("schema", help="JSON Schema of the request or the recommendation")
    p.add_argument("which", choices=["request", "recommendation"])
    p.set_defaults(func=_schema)
