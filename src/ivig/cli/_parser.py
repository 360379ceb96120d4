"""The argument parser of the ``ivig`` command: argparse's, with the help width computed as
:func:`shutil.get_terminal_size` computes it, without importing :mod:`shutil` (argparse imports
it, with ``bz2``, ``lzma`` and ``fnmatch``, each time it builds a help formatter, which it does
for every argument it adds)."""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["HelpFormatter", "Parser", "help_width"]


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
