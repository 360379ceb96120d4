"""docs/knowledge.md is generated and current; every clinical number carries a source."""

from __future__ import annotations

from pathlib import Path

from ivig.knowledge import KnowledgeBase
from ivig.knowledge.docs import render_knowledge_markdown
from ivig.knowledge.stats import compute_stats, unsourced_numbers

DOC = Path(__file__).resolve().parents[2] / "docs" / "knowledge.md"


def test_docs_knowledge_md_is_current(kb: KnowledgeBase) -> None:
    assert DOC.read_text() == render_knowledge_markdown(kb), "run `make docs` and commit the result"


def test_every_number_has_a_source(kb: KnowledgeBase) -> None:
    assert unsourced_numbers(kb) == []
    assert compute_stats(kb)["numbers_with_source_share"] == 1.0


def test_stats_count_what_is_there(kb: KnowledgeBase) -> None:
    stats = compute_stats(kb)
    assert stats["conditions"] == len(kb.conditions())
    assert stats["indications"] == sum(len(c["indications"]) for c in kb.conditions())
    assert 0 < stats["facts_verified"] <= stats["facts"]
