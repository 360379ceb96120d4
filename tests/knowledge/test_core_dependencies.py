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

from ivig.extras import EXTRA_OF_MODULE

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


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
ADAPTER_EXTRAS = ("service", "web", "registry", "plot")


def _core_closure() -> set[str]:
    """Canonical names of the core requirements and everything they require (no extras)."""
    return _closure([Requirement(r) for r in PROJECT["dependencies"]])


def _extra_requirements(extra: str) -> list[Requirement]:
    """The requirements an extra adds, its ``ivig[...]`` references expanded."""
    found: list[Requirement] = []
    for text in PROJECT["optional-dependencies"][extra]:
        req = Requirement(text)
        if canonicalize_name(req.name) == "ivig":
            for sub in sorted(req.extras):
                found += _extra_requirements(sub)
        else:
            found.append(req)
    return found


def _closure(todo: list[Requirement]) -> set[str]:
    """Canonical names of ``todo`` and everything they require, installed metadata followed."""
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


def test_every_adapter_library_names_the_extra_that_installs_it() -> None:
    """``ivig.extras`` (the error message's table) agrees with pyproject.toml's extras."""
    core = _core_closure()
    modules_of: dict[str, set[str]] = {}
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            modules_of.setdefault(canonicalize_name(dist), set()).add(module)
    for module, extra in EXTRA_OF_MODULE.items():
        providers = {canonicalize_name(d) for d in metadata.packages_distributions()[module]}
        assert providers & _closure(_extra_requirements(extra)), (module, extra)
        assert not providers & core, f"{module} comes with the core, not with {extra!r}"
    for extra in ADAPTER_EXTRAS:
        own = {canonicalize_name(r.name) for r in _extra_requirements(extra)}
        if extra == "web":
            own -= {canonicalize_name(r.name) for r in _extra_requirements("service")}
        for dist in own:
            named = {EXTRA_OF_MODULE.get(m) for m in modules_of[dist]}
            assert extra in named, f"no module of {dist} (extra {extra!r}) in EXTRA_OF_MODULE"


def test_help_lists_the_core_commands_with_core_dependencies_only(tmp_path: Path) -> None:
    result = _run_core_only("from ivig.cli import main; main(['--help'])", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dose" in result.stdout and "recommend" in result.stdout


def test_a_command_of_a_missing_extra_says_what_to_install(tmp_path: Path) -> None:
    code = """
from ivig.cli import main
print("STATUS", main(["serve"]))
print("STATUS", main(["db", "upgrade"]))
"""
    result = _run_core_only(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["STATUS", "2", "STATUS", "2"]
    assert "comes with the 'service' extra: pip install 'ivig[service]'" in result.stderr
    assert "comes with the 'registry' extra: pip install 'ivig[registry]'" in result.stderr
