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


def _imports(path: Path, package: str = "ivig") -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    names: set[str] = set()
    here = (
        [package, *path.relative_to(ROOT).with_suffix("").parts]
        if path.is_relative_to(ROOT)
        else [package]
    )
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                names.add(node.module)
            elif node.level > 0:
                base = here[: len(here) - node.level]
                targets = [node.module] if node.module else [a.name for a in node.names]
                names.update(".".join([*base, t]) for t in targets)
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


def test_the_walker_resolves_relative_imports() -> None:
    dose = ROOT / "core" / "dose.py"
    original = dose.read_text()
    assert "ivig.web" in _imports_of_text(original + "\nfrom ..web import pages\n", dose)
    assert "ivig.cli" in _imports_of_text(original + "\nfrom .. import cli\n", dose)


def _imports_of_text(text: str, where: Path) -> set[str]:
    """``_imports`` of ``text`` as if it stood at ``where`` (written next to it, then removed)."""
    probe = where.with_name("_layering_probe.py")
    probe.write_text(text)
    try:
        return _imports(probe)
    finally:
        probe.unlink()
