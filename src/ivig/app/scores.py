"""Use cases: a clinical score from its items, the change between two assessments, and the
review of a course (is the immunoglobulin working?)."""

from __future__ import annotations

from typing import Any

from ivig.core.scores import item_allowed_text, list_scores

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "item_allowed_text",
    "list_scores",
    "review",
    "review_history",
    "score",
    "score_change",
]


def score(kb: KnowledgeBase, score_id: str, items: dict[str, Any]) -> dict[str, Any]:
    """The score's total, band, MCID and sources from its items."""
    from ivig.core.scores import compute_score

    return {"knowledge_version": kb.version, **compute_score(kb, score_id, items)}


def score_change(kb: KnowledgeBase, score_id: str, baseline: Any, follow_up: Any) -> dict[str, Any]:
    """The change of a score between two assessments, improvement positive."""
    from ivig.core.scores import compute_change

    return {"knowledge_version": kb.version, **compute_change(kb, score_id, baseline, follow_up)}


def review(kb: KnowledgeBase, history: dict[str, Any]) -> dict[str, Any]:
    """Verdict, reasons, next steps and next review of a course history."""
    from ivig.core.review import review_course

    return {"knowledge_version": kb.version, **review_course(kb, history)}


def review_history(kb: KnowledgeBase, history: dict[str, Any]) -> dict[str, Any]:
    """The review of a course history as the core gives it (``ivig review``)."""
    from ivig.core.review import review_course

    return dict(review_course(kb, history))
