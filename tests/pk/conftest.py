"""Fixtures of the pharmacokinetics tests (the knowledge base fixture ``kb`` is shared)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ivig.knowledge import KnowledgeBase

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def calibration() -> dict[str, Any]:
    with (DATA / "calibration.yaml").open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


@pytest.fixture(scope="session")
def reference(kb: KnowledgeBase) -> Callable[[str], dict[str, Any]]:
    def find(ref_id: str) -> dict[str, Any]:
        for ref in kb.data["pk"]["references"]:
            if ref["id"] == ref_id:
                return dict(ref)
        raise KeyError(ref_id)

    return find
