"""The core installs alone: with every installed distribution outside the closure of
``[project.dependencies]`` made unimportable, the knowledge base validates from scratch, every
module of ``ivig.core`` and ``ivig.knowledge`` imports, and ``ivig dose`` and ``ivig recommend``
answer. (``make check-core`` proves the same in a fresh venv built from requirements-core.lock.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]

#: run in a child interpreter: refuse the blocked top-level modules, then run the given code
BLOCKER = """
import importlib.abc, sys
BLOCKED = frozenset(sys.argv[1].split(","))
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{name} is not a core dependency", name=name)
        return None
sys.meta_path.insert(0, Refuse())
exec(sys.argv[2])
"""


def _core_closure() -> set[str]:
    """Canonical names of the core requirements and everything they require (no extras)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        for text in metadata.requires(req.name) or []:
            sub = Requirement(text)
            for extra in req.extras:  # the extras the requirement asks for, e.g. PyJWT[crypto]
                if sub.marker is not None and sub.marker.evaluate({"extra": extra}):
                    sub.marker = None
            todo.append(sub)
    return seen


def _blocked_modules() -> set[str]:
    closure = _core_closure() | {"ivig"}
    blocked = set()
    for module, dists in metadata.packages_distributions().items():
        if not any(canonicalize_name(d) in closure for d in dists):
            blocked.add(module)
    return blocked


def _run_core_only(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, IVIG_CACHE_DIR=str(tmp_path / "cache"))
    return subprocess.run(
        [sys.executable, "-c", BLOCKER, ",".join(sorted(_blocked_modules())), code],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_closure_is_the_core() -> None:
    """The blocker refuses the adapters' libraries and lets the core's through."""
    blocked = _blocked_modules()
    assert {"fastapi", "sqlalchemy", "matplotlib", "jinja2", "httpx", "uvicorn"} <= blocked
    assert not {"numpy", "scipy", "yaml", "pydantic", "ivig"} & blocked


def test_the_blocker_refuses_an_adapter_library(tmp_path: Path) -> None:
    result = _run_core_only("import sqlalchemy", tmp_path)
    assert result.returncode == 1
    assert "sqlalchemy is not a core dependency" in result.stderr


def test_core_and_knowledge_import_and_validate_with_core_dependencies_only(
    tmp_path: Path,
) -> None:
    code = """
import importlib, pkgutil
import ivig.core, ivig.knowledge
from ivig.knowledge import load_knowledge
for package in (ivig.core, ivig.knowledge):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
kb = load_knowledge()
print(len(kb.data["conditions"]))
"""
    result = _run_core_only(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) > 0


def test_ivig_dose_and_recommend_run_with_core_dependencies_only(tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps(
            {
                "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85},
                "condition": "gbs",
                "phase": "induction",
                "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
                "jurisdiction": "au",
            }
        )
    )
    dose = [
        "dose", "--sex", "female", "--age", "54", "--height-cm", "160", "--weight-kg", "90",
        "--condition", "cidp", "--phase", "maintenance", "--policy", "au-2026", "--json",
    ]  # fmt: skip
    code = f"""
import sys
from ivig.cli import main
status = main({dose!r})
print("STATUS", status)
status = main(["recommend", {str(request)!r}])
print("STATUS", status)
"""
    result = _run_core_only(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("STATUS 0") == 2, result.stdout + result.stderr
    first = result.stdout.split("STATUS")[0]
    assert json.loads(first)["dose"]
