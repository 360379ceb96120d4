"""pk.yaml validates, and its cross-reference check catches broken data."""

from __future__ import annotations

import copy
from typing import Any

from ivig.knowledge import KnowledgeBase
from ivig.knowledge.schema_pk import CHECKS


def _run(data: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    for check in CHECKS:
        check(data, lambda f, loc, msg: errors.append(f"{f}: {loc}: {msg}"))
    return errors


def test_bundled_pk_data_passes_its_checks(kb: KnowledgeBase) -> None:
    assert _run(dict(kb.data)) == []


def test_verified_flags_follow_the_research_notes(kb: KnowledgeBase) -> None:
    """Values ivig derived or fitted are never marked verified."""
    for pop in kb.data["pk"]["populations"]:
        for key, value in pop.items():
            if isinstance(value, dict) and "derivation" in value:
                assert value["verified"] is False, (pop["id"], key)
        assert pop["verified"] is False or not pop.get("warnings")


def test_broken_pk_data_is_reported(kb: KnowledgeBase) -> None:
    data: dict[str, Any] = copy.deepcopy(dict(kb.data))
    pk: dict[str, Any] = data["pk"]
    pk["populations"].append(copy.deepcopy(pk["populations"][0]))
    pk["populations"][1]["sc_bioavailability"]["value"] = 1.5
    pk["references"][0]["population"] = "unknown"
    pk["default_population"] = "missing"
    errors = "\n".join(_run(data))
    assert "duplicate population id" in errors
    assert "a fraction in (0, 1]" in errors
    assert "unknown population 'unknown'" in errors
    assert "default_population" in errors
