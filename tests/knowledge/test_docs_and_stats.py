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


VERIFICATION = DOC.parent / "verification.md"


def test_docs_verification_md_is_current(kb: KnowledgeBase) -> None:
    from ivig.app.kb_usage import main_paths
    from ivig.knowledge.verification import render_verification_markdown

    assert VERIFICATION.read_text() == render_verification_markdown(kb, main_paths(kb)), (
        "run `ivig kb verification > docs/verification.md` and commit the result"
    )


def test_verification_lists_every_unverified_fact_with_reason(kb: KnowledgeBase) -> None:
    """The us-120 policy rests on one unnamed order form (us-order-form-120, secondary)."""
    from ivig.knowledge.verification import unverified_facts

    facts = unverified_facts(kb)
    stats = compute_stats(kb)
    assert len(facts) == stats["facts"] - stats["facts_verified"]
    us120 = next(f for f in facts if f["where"] == "dosing › us-120")
    assert us120["why"].startswith("only secondary sources (us-order-form-120)")
    assert "DOI/PMID" in us120["settle"]
