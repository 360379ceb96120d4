"""Fixtures of the products tests: the real knowledge base."""

from __future__ import annotations

import pytest

from ivig.knowledge import KnowledgeBase, load_knowledge


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge()
