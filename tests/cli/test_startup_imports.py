"""What the fast commands load (issue 20): with the knowledge cache filled, ``ivig recommend FILE
--json``, ``ivig dose ... --json`` and ``ivig --help`` import none of the heavy libraries and none
of the modules only a slow path needs; and the fast paths give what the slow ones give."""

from __future__ import annotations

import argparse
import ast
import gc
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from ivig import vocabulary
from ivig.cli import main
from ivig.cli._parser import build_parser as _build_parser
from ivig.cli._parser import help_width

Run = Callable[..., tuple[int, str, str]]  # the `cli` fixture of conftest.py

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "ivig"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
#: libraries no fast command needs (the knowledge is read from the cache, the request file by
#: the plain-YAML reader and checked by ivig.fastcheck, the help formatter sized without shutil,
#: typing names imported for type checking only)
HEAVY = ("sqlalchemy", "numpy", "scipy", "pandas", "pydantic", "yaml", "jinja2", "rich",
         "fastapi", "starlette", "httpx", "matplotlib", "shutil", "pathlib", "typing")  # fmt: skip
#: ivig modules of the slow paths
SLOW = ("ivig.contract", "ivig.results", "ivig.knowledge.validate", "ivig.knowledge.schema",
        "ivig.registry", "ivig.service", "ivig.render", "ivig.core.pk", "ivig.cli.kb")  # fmt: skip
DOSE = ["dose", "--sex", "female", "--age", "54", "--height-cm", "160", "--weight-kg", "90",
        "--condition", "gbs", "--phase", "induction", "--policy", "au-2026", "--json"]  # fmt: skip
PROBE = """
import json, sys
from ivig.cli import main
try:
    status = main(json.loads(sys.argv[1]))
except SystemExit as exc:
    status = exc.code
print("\\nMODULES " + json.dumps([status, sorted(sys.modules)]))
"""


def _modules_loaded(argv: list[str], cache_dir: Path, stdin: str = "") -> set[str]:
    """The modules a run of ``ivig argv`` imported, after a first run filled the cache."""
    env = dict(os.environ, IVIG_CACHE_DIR=str(cache_dir))
    env.pop("IVIG_NO_CACHE", None)
    cmd = [sys.executable, "-c", PROBE, json.dumps(argv)]
    for _ in range(2):  # the first fills the knowledge cache (and may validate: PyYAML, pydantic)
        out = subprocess.run(
            cmd, input=stdin, env=env, cwd=ROOT, capture_output=True, text=True, check=True
        )
    status, modules = json.loads(out.stdout.rsplit("\nMODULES ", 1)[1])
    assert status in (0, None), out.stderr
    return set(modules)


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(SLOW))


@pytest.mark.parametrize(
    "argv",
    [
        ["recommend", "examples/cidp-maintenance.yaml", "--json"],
        ["recommend", "examples/gbs-non-ambulant.yaml", "--json"],
        ["recommend", "examples/renal-risk.yaml", "--json", "--pretty"],
        DOSE,
        ["--help"],
        ["recommend", "--help"],
    ],
    ids=" ".join,
)
def test_fast_commands_import_no_heavy_module(argv: list[str], tmp_path: Path) -> None:
    assert _heavy(_modules_loaded(argv, tmp_path / "cache")) == []


def test_the_score_engine_is_imported_only_to_compute_a_prognostic_model(tmp_path: Path) -> None:
    """CIDP has no prognostic model, so its recommendation does not compile the score engine;
    the GBS example's findings fill EGRIS and mEGOS, which it computes. (The vial arithmetic,
    ``ivig.core.rounding``, is used by both: a plan with a product lists the vials to open.)"""
    cache = tmp_path / "cache"
    cidp = _modules_loaded(["recommend", "examples/cidp-maintenance.yaml", "--json"], cache)
    gbs = _modules_loaded(["recommend", "examples/gbs-non-ambulant.yaml", "--json"], cache)
    assert "ivig.core.prognosis" in cidp
    assert "ivig.core.scores" not in cidp
    assert "ivig.core.scores" in gbs


@pytest.mark.parametrize("enabled", [True, False], ids=["collector on", "collector off"])
def test_the_command_line_leaves_the_garbage_collector_as_it_found_it(
    enabled: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """Start-up pauses the cyclic collector (parser, knowledge base) and turns it back on only
    if it was on, also when argparse exits (``--help``) or the command fails."""
    was = gc.isenabled()
    gc.enable() if enabled else gc.disable()
    try:
        assert main(["recommend", str(ROOT / "examples" / "cidp-maintenance.yaml"), "--json"]) == 0
        assert gc.isenabled() is enabled
        with pytest.raises(SystemExit):
            main(["--help"])
        assert gc.isenabled() is enabled
        assert main(["recommend", str(ROOT / "no-such-request.yaml")]) == 2
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
    capsys.readouterr()


def test_the_knowledge_base_is_frozen_out_of_later_collections(tmp_path: Path) -> None:
    """After the first load the start-up objects sit in the permanent generation (a full
    collection would otherwise walk the whole knowledge base again)."""
    probe = (
        "import gc, io, contextlib\nfrom ivig.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['recommend', 'examples/cidp-maintenance.yaml', '--json'])\n"
        "print(gc.isenabled(), gc.get_freeze_count())"
    )
    env = dict(os.environ, IVIG_CACHE_DIR=str(tmp_path / "cache"))
    for _ in range(2):  # the first fills the knowledge cache
        out = subprocess.run(
            [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True,
            check=True,
        )  # fmt: skip
    enabled, frozen = out.stdout.split()
    assert enabled == "True"
    assert int(frozen) > 1_000


def test_a_json_request_on_standard_input_imports_no_heavy_module(tmp_path: Path) -> None:
    request = json.dumps(yaml.safe_load((ROOT / "examples" / "mmn.yaml").read_text()))
    modules = _modules_loaded(["recommend", "-", "--json"], tmp_path / "cache", stdin=request)
    assert _heavy(modules) == []


def test_yaml_outside_the_plain_subset_is_read_by_pyyaml(tmp_path: Path) -> None:
    """An anchor is beyond the plain-YAML reader: PyYAML reads the file, to the same answer."""
    text = (ROOT / "examples" / "cidp-maintenance.yaml").read_text()
    path = tmp_path / "anchored.yaml"
    path.write_text(text.replace("jurisdiction: au", "jurisdiction: &where au"))
    assert "&where" in path.read_text()
    assert "yaml" in _modules_loaded(["recommend", str(path), "--json"], tmp_path / "cache")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_a_yaml_request_gives_the_recommendation_its_json_form_gives(
    path: Path, tmp_path: Path, cli: Run
) -> None:
    as_json = tmp_path / "request.json"
    as_json.write_text(json.dumps(yaml.safe_load(path.read_text())))
    from_yaml = cli("recommend", str(path), "--json")
    from_json = cli("recommend", str(as_json), "--json")
    assert from_yaml[0] == 0
    assert from_yaml == from_json


def test_the_recommendation_of_a_file_pyyaml_reads_equals_the_fast_readers(
    tmp_path: Path, cli: Run
) -> None:
    """The same request with an anchor (so PyYAML reads it) gives the same recommendation."""
    text = (ROOT / "examples" / "gbs-non-ambulant.yaml").read_text()
    anchored = tmp_path / "anchored.yaml"
    anchored.write_text(text.replace("condition: gbs", "condition: &c gbs"))
    assert cli("recommend", str(anchored), "--json") == cli(
        "recommend", str(ROOT / "examples" / "gbs-non-ambulant.yaml"), "--json"
    )


@pytest.mark.parametrize("columns", [None, "40", "57", "200", "0", "-3", "wide"])
def test_the_help_width_is_the_one_argparse_computes(
    columns: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert help_width() == shutil.get_terminal_size().columns - 2


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _subparsers(sub)
    return found


@pytest.mark.parametrize("command", [None, "recommend", "dose", "kb", "registry"])
def test_every_help_text_is_argparses_own(
    command: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "61")
    for parser in _subparsers(_build_parser(command)):
        ours = parser.format_help()
        parser.formatter_class = argparse.HelpFormatter
        assert ours == parser.format_help()


def _static_literals() -> dict[str, tuple[str, ...]]:
    """The ``Literal`` types of vocabulary.py's ``TYPE_CHECKING`` block, as mypy reads them."""
    found: dict[str, tuple[str, ...]] = {}
    for node in ast.parse((SRC / "vocabulary.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Subscript):
                    [target] = stmt.targets
                    assert (
                        isinstance(target, ast.Name) and ast.unparse(stmt.value.value) == "Literal"
                    )
                    found[target.id] = ast.literal_eval(stmt.value.slice)
    return found


def test_the_vocabulary_types_mypy_reads_are_the_run_times() -> None:
    """mypy reads each ``Literal`` from the ``TYPE_CHECKING`` block; the run time makes it from
    the tuple: the two spell the same values in the same order."""
    from typing import get_args

    static = _static_literals()
    assert set(static) == {"Sex", "Phase", "Jurisdiction", "Rounding", "Route"}
    for name, values in static.items():
        assert get_args(getattr(vocabulary, name)) == values, name
    assert static["Rounding"] == vocabulary.ROUNDINGS
