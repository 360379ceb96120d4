"""Start-up of the command line: the overview imports no command module, and JSON output is
compact unless ``--pretty``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from ivig.cli import COMMAND_HELP, COMMANDS, main
from ivig.cli._parser import build_parser as _build_parser


def _help_lines(parser: argparse.ArgumentParser) -> dict[str, str]:
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {c.dest: str(c.help) for c in sub._choices_actions}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_overview_help_matches_each_command_module(command: str) -> None:
    assert _help_lines(_build_parser(command))[command] == COMMAND_HELP[command]


def test_every_command_has_an_overview_line() -> None:
    assert set(COMMAND_HELP) == set(COMMANDS)
    assert set(_help_lines(_build_parser(None))) == set(COMMANDS)


def test_help_imports_no_heavy_module() -> None:
    code = (
        "import sys\n"
        "from ivig.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('sqlalchemy', 'numpy', 'pydantic', 'yaml', 'rich', 'ivig.cli.kb')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
    assert "recommend" in out.stdout


def test_json_is_compact_by_default_and_indented_with_pretty(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ivig.cli._common import OUTPUT

    assert main(["kb", "sources", "--json"]) == 0
    compact = capsys.readouterr().out
    try:
        assert main(["kb", "sources", "--json", "--pretty"]) == 0
    finally:
        OUTPUT["pretty"] = False
    pretty = capsys.readouterr().out
    assert compact.count("\n") == 1
    assert pretty.count("\n") > 10
    assert json.loads(compact) == json.loads(pretty)
