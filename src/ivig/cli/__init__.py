"""The ``ivig`` command line.

Each command lives in its own module, imported only when that command runs, so that fast
commands (``ivig dose``) do not pay for the heavy ones. A module registers its sub-parsers with
``add_parsers(subparsers)`` and sets ``func`` on them; ``func(args)`` returns the exit status.
Errors of the :class:`~ivig.errors.IvigError` family print one clear message and exit with 2.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    import argparse

    from ivig.cli._fast_parser import Arguments

__all__ = ["COMMANDS", "COMMAND_HELP", "main"]

#: command name -> module that implements it
COMMANDS: dict[str, str] = {
    "kb": "ivig.cli.kb",
    "dose": "ivig.cli.dose",
    "products": "ivig.cli.products",
    "schedule": "ivig.cli.products",
    "recommend": "ivig.cli.recommend",
    "schema": "ivig.cli.recommend",
    "check-order": "ivig.cli.check_order",
    "score": "ivig.cli.scores",
    "review": "ivig.cli.scores",
    "pk": "ivig.cli.pk",
    "db": "ivig.cli.registry",
    "registry": "ivig.cli.registry",
    "report": "ivig.cli.registry",
    "audit": "ivig.cli.audit",
    "serve": "ivig.cli.serve",
}

#: command name -> one-line help, for ``ivig --help`` without importing any command module
#: (a test checks each line against the help its module registers)
COMMAND_HELP: dict[str, str] = {
    "kb": "browse the knowledge base",
    "dose": "dosing weight, dose and daily split with the trace",
    "products": "rank products for a patient, with reasons and sources",
    "schedule": "infusion-rate step table of one dose",
    "recommend": "one explainable recommendation for a request file",
    "schema": "JSON Schema of the request or the recommendation",
    "check-order": "check an ordered regimen against the policy plan (exit 1 when critical)",
    "score": "compute a clinical score (or `ivig score list`)",
    "review": "review a course history: is the Ig working?",
    "pk": "IgG pharmacokinetics: simulate and optimise",
    "db": "registry database: migrations and audit verification",
    "registry": "requests, authorisations, courses, lots, reviews",
    "report": "usage reports as tables, CSV and PNG/SVG charts",
    "audit": "audit historical orders (CSV) against criteria and policy",
    "serve": "run the REST API, CDS Hooks and FHIR service",
}


def _missing_extra(exc: ModuleNotFoundError) -> Exception | None:
    from ivig.extras import missing_extra

    return missing_extra(exc)


def _parse_plain(args_in: list[str]) -> Arguments | None:
    """``args_in`` parsed without argparse when it is a plain command line (see
    :mod:`ivig.cli._fast_parser`), else ``None``."""
    from ivig.cli._fast_parser import Commands, Unsupported, parse

    commands = Commands()
    __import__(COMMANDS[args_in[0]])
    try:
        sys.modules[COMMANDS[args_in[0]]].add_parsers(commands)
    except Unsupported:
        return None
    return parse(commands, args_in)


def _parse(
    args_in: list[str],
) -> tuple[argparse.ArgumentParser | None, argparse.Namespace | Arguments]:
    """The parser of the command line ``args_in`` names and the parsed arguments (no parser
    when the line is a plain one, read without argparse: it then names a function to run).

    The cyclic garbage collector is paused meanwhile: start-up creates only objects that live
    as long as the process (modules, the parser), so a collection would free nothing (see
    :func:`ivig.cli._common.kb`, which does the same for the knowledge base).
    """
    import gc

    first = next((a for a in args_in if not a.startswith("-")), None)
    enabled = gc.isenabled()
    gc.disable()
    try:
        plain = _parse_plain(args_in) if first in COMMANDS and args_in[0] == first else None
        if plain is not None:
            return None, plain
        from ivig.cli._parser import build_parser  # argparse: imported for other lines only

        parser = build_parser(first if first in COMMANDS else None)
        return parser, parser.parse_args(args_in)
    finally:
        if enabled:
            gc.enable()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ivig`` console script; returns the exit status."""
    args_in = sys.argv[1:] if argv is None else argv
    try:
        parser, args = _parse(args_in)
        if getattr(args, "pretty", False):
            from ivig.cli._common import OUTPUT

            OUTPUT["pretty"] = True
        func = getattr(args, "func", None)
        if func is None:  # (a plain line always names one)
            if parser is not None:
                parser.print_help()
            return 2
        status: int = func(args)
    except BrokenPipeError:  # e.g. `ivig kb list | head`
        return 0
    except ModuleNotFoundError as exc:  # an adapter's extra is not installed
        missing = _missing_extra(exc)
        if missing is None:
            raise
        print(f"ivig: error: {missing}", file=sys.stderr)
        return 2
    except Exception as exc:
        from ivig.errors import IvigError  # imported here: `ivig --help` never needs it

        if not isinstance(exc, IvigError):
            raise
        print(f"ivig: error: {exc}", file=sys.stderr)
        return 2
    return status
