"""The plain command-line reader (issue 20): a plain line gives the namespace argparse gives,
any other line is left to argparse; and ``ivig recommend FILE --json`` imports neither argparse
nor json, nor the regular expressions, enum, functools and collections modules they import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ivig.cli import COMMANDS, _parse_plain
from ivig.cli._parser import build_parser as _build_parser

ROOT = Path(__file__).resolve().parents[2]
DOSE = ["dose", "--sex", "female", "--age", "54", "--weight-kg", "90", "--condition", "gbs",
        "--phase", "induction"]  # fmt: skip

PLAIN = [
    ["recommend", "examples/cidp-maintenance.yaml", "--json"],
    ["recommend", "--json", "examples/cidp-maintenance.yaml", "--pretty"],
    ["recommend", "-", "--html", "sheet.html", "--patient-ref", "MRN 1"],
    ["recommend", "x.yaml", "--compare"],
    ["recommend", ""],
    ["schema", "request"],
    DOSE,
    [*DOSE, "--height-cm", "160", "--policy", "au-2026", "--json", "--rounding", "vials"],
    [*DOSE[:5], "--weight-lb", "200", *DOSE[7:], "--pregnant", "--days", "5"],
    [*DOSE, "--age", "60"],  # given twice: the last counts, as with argparse
]
#: lines the reader leaves to argparse (help, spelling it does not read, errors)
NOT_PLAIN = [
    ["recommend", "--help"],
    ["recommend", "-h"],
    ["recommend", "x.yaml", "--js"],  # an abbreviation
    ["recommend", "x.yaml", "--html=sheet.html"],
    ["recommend", "--", "x.yaml"],
    ["recommend", "x.yaml", "y.yaml"],  # one positional too many
    ["recommend"],  # the positional missing
    ["recommend", "x.yaml", "--html"],  # an option without its value
    ["recommend", "x.yaml", "--patient-ref", "-1"],  # a value that starts with -
    ["schema", "other"],  # not a choice
    DOSE[:-2],  # --phase (required) missing
    [*DOSE, "--age", "old"],  # not a number
    [*DOSE, "--weight-lb", "200"],  # two of an exclusive group
    [*DOSE[:5], *DOSE[7:]],  # none of a required exclusive group
    [*DOSE, "--phase", "later"],  # not a choice
    ["kb", "list"],  # sub-commands: not recorded
]


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_a_plain_line_gives_the_namespace_argparse_gives(argv: list[str]) -> None:
    plain = _parse_plain(argv)
    assert plain is not None
    assert vars(plain) == vars(_build_parser(argv[0]).parse_args(argv))


@pytest.mark.parametrize("argv", NOT_PLAIN, ids=" ".join)
def test_any_other_line_is_left_to_argparse(argv: list[str]) -> None:
    assert _parse_plain(argv) is None


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_is_read_or_left_to_argparse_without_error(command: str) -> None:
    """Recording a command's arguments never fails: it is read, or argparse reads it."""
    _parse_plain([command, "x"])


#: standard-library modules the recommend --json path does without
NOT_IMPORTED = ("argparse", "gettext", "locale", "json", "re", "enum", "functools", "collections",
                "operator", "types", "unicodedata", "zlib")  # fmt: skip


def test_recommend_json_imports_neither_argparse_nor_json(tmp_path: Path) -> None:
    env = dict(os.environ, IVIG_CACHE_DIR=str(tmp_path))
    env.pop("IVIG_NO_CACHE", None)
    code = (
        "import sys\nfrom ivig.cli import main\n"
        "main(['recommend', 'examples/cidp-maintenance.yaml', '--json'])\n"
        f"print(repr([m for m in {NOT_IMPORTED!r} if m in sys.modules]))"
    )
    for _ in range(2):  # the first fills the caches (and validates, with json and pydantic)
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
            check=True,
        )  # fmt: skip
    assert out.stdout.splitlines()[-1] == "[]"
