"""ivig.core and ivig.knowledge import no adapter and no web, database, FHIR or plotting library."""

from __future__ import annotations

import ast
from pathlib import Path

import ivig

FORBIDDEN = (
    "ivig.cli",
    "ivig.api",
    "ivig.web",
    "ivig.registry",
    "ivig.service",
    "fastapi",
    "starlette",
    "uvicorn",
    "flask",
    "django",
    "httpx",
    "requests",
    "jinja2",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "psycopg2",
    "sqlite3",
    "fhir",
    "fhir_resources",
    "fhirclient",
    "matplotlib",
    "plotly",
    "rich",
)

ROOT = Path(ivig.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _breaches(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imports(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_core_imports_no_adapter() -> None:
    assert _breaches("core") == []


def test_knowledge_imports_no_adapter() -> None:
    assert _breaches("knowledge") == []


def test_the_walker_sees_a_breach(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("import matplotlib.pyplot\nfrom ivig.cli import main\n")
    assert {"matplotlib.pyplot", "ivig.cli"} <= _imports(bad)
