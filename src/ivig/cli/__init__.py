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

__all__ = ["COMMANDS", "main"]

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


def _build_parser(only: str | None) -> argparse.ArgumentParser:
    import argparse
    import importlib

    from ivig import __version__

    parser = argparse.ArgumentParser(
        prog="ivig",
        description="Decision support and stewardship for immunoglobulin therapy in neurology.",
    )
    parser.add_argument("--version", action="version", version=f"ivig {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = [COMMANDS[only]] if only else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        try:
            module = importlib.import_module(name)
            module.add_parsers(sub)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # a command not built yet
            if only is None and _missing_extra(exc) is not None:
                continue  # its extra is not installed: `ivig COMMAND` says which
            raise
    return parser


def _missing_extra(exc: ModuleNotFoundError) -> Exception | None:
    from ivig.extras import missing_extra

    return missing_extra(exc)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ivig`` console script; returns the exit status."""
    from ivig.errors import IvigError

    args_in = sys.argv[1:] if argv is None else argv
    first = next((a for a in args_in if not a.startswith("-")), None)
    try:
        parser = _build_parser(first if first in COMMANDS else None)
        args = parser.parse_args(args_in)
        func = getattr(args, "func", None)
        if func is None:
            parser.print_help()
            return 2
        status: int = func(args)
    except IvigError as exc:
        print(f"ivig: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:  # an adapter's extra is not installed
        missing = _missing_extra(exc)
        if missing is None:
            raise
        print(f"ivig: error: {missing}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `ivig kb list | head`
        return 0
    return status
