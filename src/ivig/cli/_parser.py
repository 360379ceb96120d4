"""The argument parser of the ``ivig`` command (:func:`build_parser`; a plain command line is read
without it, by :mod:`ivig.cli._fast_parser`): argparse's, with the help width computed as
:func:`shutil.get_terminal_size` computes it, without importing :mod:`shutil` (argparse imports
it, with ``bz2``, ``lzma`` and ``fnmatch``, each time it builds a help formatter, which it does
for every argument it adds)."""

from __future__ import annotations

import argparse
import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["HelpFormatter", "Parser", "add_pretty", "build_parser", "help_width"]


def help_width() -> int:
    """argparse's default help width: the terminal's columns (``COLUMNS`` first, then the size
    of standard output's terminal, else 80) less 2."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
        columns = columns or 80
    return columns - 2


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, given the width it would compute itself."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(
            prog, indent_increment, max_help_position, help_width() if width is None else width
        )


class Parser(argparse.ArgumentParser):
    """An argument parser whose help formatter (and its sub-parsers') is :class:`HelpFormatter`
    unless another is asked for (sub-parsers are made of the parent's class)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


def build_parser(only: str | None) -> argparse.ArgumentParser:
    """The parser of command ``only`` (its module imported), or the overview of every command."""
    from ivig import __version__
    from ivig.cli import COMMAND_HELP, COMMANDS

    parser = Parser(
        prog="ivig",
        description="Decision support and stewardship for immunoglobulin therapy in neurology.",
    )
    parser.add_argument("--version", action="version", version=f"ivig {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if only is None:  # the overview: names and help lines, no command module imported
        for command, text in COMMAND_HELP.items():
            sub.add_parser(command, help=text)
        return parser
    # __import__, not importlib.import_module: the importlib package (and warnings) is not
    # imported at start-up otherwise
    __import__(COMMANDS[only])
    sys.modules[COMMANDS[only]].add_parsers(sub)
    add_pretty(sub)
    return parser


def add_pretty(sub: argparse._SubParsersAction[Any]) -> None:
    """Give every (sub-)command that has ``--json`` a ``--pretty`` flag (indented JSON)."""
    for parser in sub.choices.values():
        options = {o for action in parser._actions for o in action.option_strings}
        if "--json" in options and "--pretty" not in options:
            parser.add_argument("--pretty", action="store_true", help="indent the JSON output")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                add_pretty(action)
