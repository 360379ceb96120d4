"""One vocabulary (issue 13): the closed lists are defined once, in ``ivig.vocabulary`` and
``ivig.permissions``, and agree with the knowledge base and every interface."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ivig.knowledge import KnowledgeBase
from ivig.permissions import ROLES
from ivig.vocabulary import JURISDICTIONS, PHASES, ROUNDINGS, ROUTES

SRC = Path(__file__).resolve().parents[2] / "src" / "ivig"


def test_the_vocabulary_is_the_knowledge_bases(kb: KnowledgeBase) -> None:
    assert {j["id"] for j in kb.data["jurisdictions"]} == set(JURISDICTIONS)
    assert {r["id"] for r in kb.data["dosing"]["rounding"]} == set(ROUNDINGS)
    regimens = [r for c in kb.conditions() for i in c["indications"] for r in i.get("regimens", [])]
    assert {r["phase"] for r in regimens} <= set(PHASES)
    assert {r["route"] for r in regimens} <= set(ROUTES)


def test_no_module_writes_a_closed_list_out_again() -> None:
    """The lists of jurisdictions, phases, roundings and roles appear only where defined."""
    spelled = {
        '"international", "au"': "vocabulary.py",
        '"induction", "maintenance", "one_off"': "vocabulary.py",
        '"none", "nearest-5g"': "vocabulary.py",
        '"clinician", "pharmacist", "nurse"': "permissions.py",
    }
    files = {path: path.read_text(encoding="utf-8") for path in SRC.rglob("*.py")}
    assert len(files) > 100
    for text, home in spelled.items():
        found = sorted(path.name for path, source in files.items() if text in source)
        assert found == [home], (text, found)


def test_the_cli_offers_the_vocabulary() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ivig.cli", "dose", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "{" + ",".join(JURISDICTIONS) + "}" in out
    assert "{" + ",".join(PHASES) + "}" in out
    assert set(ROLES) == {"clinician", "pharmacist", "nurse", "steward", "admin"}
