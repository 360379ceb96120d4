"""The import contracts in pyproject.toml (the layer diagram of CONTRIBUTING.md) hold for the
package, and each one catches a breach planted in a copy of the package under ``tmp_path`` (the
tests never write into ``src/``). ``make test`` also runs ``lint-imports`` directly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "ivig"
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"

LAYERS = "Layers: adapters (cli | service | web, independent)"
CORE_PURE = "core, knowledge and the shared root modules import no adapter"
RENDER = "render imports no adapter and no web or database code"
REGISTRY = "registry imports neither cli, service nor web"
VIA_APP = "cli, service and web reach the core only through ivig.app"
NO_COMPOSITION = "the registry does not compose a recommendation or a dose"


def _lint(
    cwd: Path, pythonpath: Path | None = None, *config: str
) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on ``config`` (default: the pyproject.toml in ``cwd``), ``ivig`` imported
    from ``pythonpath``."""
    env = dict(os.environ, COLUMNS="200")
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", "--no-logo", *config],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _python_only(directory: str, names: list[str]) -> list[str]:
    """Names for ``shutil.copytree`` to skip: everything but packages and modules."""
    return [
        n
        for n in names
        if n == "__pycache__" or not (n.endswith(".py") or (Path(directory) / n).is_dir())
    ]


def test_the_import_contracts_hold() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " broken" in result.stdout and "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract", "breach"),
    [
        ("core", "from ivig.web import routes", CORE_PURE, "ivig.core -> ivig.web.routes"),
        ("core", "from .. import cli", CORE_PURE, "ivig.core -> ivig.cli"),
        ("core", "import matplotlib.pyplot", CORE_PURE, "ivig.core -> matplotlib"),
        ("knowledge", "import sqlite3", CORE_PURE, "ivig.knowledge -> sqlite3"),
        ("knowledge", "from ivig.core import units", LAYERS, "ivig.knowledge -> ivig.core.units"),
        ("service", "from ivig.web import mount", LAYERS, "ivig.service -> ivig.web"),
        ("cli", "import ivig.service.app", LAYERS, "ivig.cli -> ivig.service.app"),
        ("web", "from ivig.cli import dose", LAYERS, "ivig.web -> ivig.cli.dose"),
        ("render", "import sqlalchemy", RENDER, "ivig.render -> sqlalchemy"),
        ("render", "from ivig.web import routes", RENDER, "ivig.render -> ivig.web.routes"),
        ("registry", "from ivig.service import app", REGISTRY, "ivig.registry -> ivig.service"),
        ("web", "from ivig.core import eligibility", VIA_APP, "ivig.web -> ivig.core.eligibility"),
        ("cli", "import ivig.core.dose", VIA_APP, "ivig.cli -> ivig.core.dose"),
        (
            "registry",
            "from ivig.core import recommend",
            NO_COMPOSITION,
            "ivig.registry -> ivig.core.recommend",
        ),
    ],
)
def test_a_planted_breach_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str, breach: str
) -> None:
    copy = tmp_path / "ivig"
    shutil.copytree(SRC, copy, ignore=_python_only)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    init = copy / module / "__init__.py"
    init.write_text(init.read_text() + f"\n{line}\n")
    result = _lint(tmp_path, pythonpath=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
    assert breach in broken, result.stdout


def test_the_copy_is_what_is_linted(tmp_path: Path) -> None:
    """Without a breach, the copy passes: the planted line, not the copying, breaks a contract."""
    shutil.copytree(SRC, tmp_path / "ivig", ignore=_python_only)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    result = _lint(tmp_path, pythonpath=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
