"""Prognostic scores computed from a request's findings (EGRIS, mEGOS, EGOS for GBS).

Split from :mod:`ivig.core.scores`, which re-exports both functions: every recommendation asks
for its condition's prognosis, and most conditions have no prognostic model, so the score
engine (:func:`~ivig.core.scores.compute_score`) is imported only when a model's findings are
all given and it is computed.
"""

from __future__ import annotations

from ivig.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ivig.knowledge.base import KnowledgeBase
    from ivig.knowledge.schema_scores import Score, ScoreItem

__all__ = ["gbs_prognosis", "prognosis_from_findings"]


def _prognostic_models(kb: KnowledgeBase, condition_id: str) -> list[Score]:
    """The prognostic models of ``condition_id``, by id (as :func:`ivig.core.scores.list_scores`
    orders every score)."""
    scores: list[Score] = kb.data["scores"]
    return sorted(
        (
            s
            for s in scores
            if s["kind"] == "prognostic_model" and condition_id in s.get("conditions", [])
        ),
        key=lambda s: s["id"],
    )


def _finding_value(item: ScoreItem, raw: object) -> object:
    """A finding as the item expects it (booleans become the item's ``yes``/``no`` choices)."""
    if isinstance(raw, bool) and "choices" in item:
        return "yes" if raw else "no"
    return raw


def prognosis_from_findings(
    kb: KnowledgeBase, condition_id: str, findings: Mapping[str, object]
) -> list[dict[str, Any]]:
    """Every prognostic score of ``condition_id`` whose items the findings fill.

    A score record's ``from_findings`` maps its items to request findings (or fixed values,
    ``=day7``). Each version is computed when all its findings are given; otherwise it is
    listed with the findings that are missing, and a finding the score refuses is named with
    the reason. Nothing is guessed.
    """
    out: list[dict[str, Any]] = []
    for score in _prognostic_models(kb, condition_id):
        items_by_id = {i["id"]: i for i in score["items"]}
        for version in score.get("from_findings", []):
            row: dict[str, Any] = {"score": score["id"], "name": score["name"]}
            row["version"] = version["label"]
            items: dict[str, object] = {}
            missing: list[str] = []
            for item_id, name in version["items"].items():
                if name.startswith("="):
                    items[item_id] = name[1:]
                elif findings.get(name) is None:
                    missing.append(name)
                else:
                    items[item_id] = _finding_value(items_by_id[item_id], findings[name])
            if missing:
                row["missing"] = missing
            else:
                from ivig.core.scores import compute_score  # only when a model is computed

                try:
                    row["result"] = compute_score(kb, score["id"], items)
                except InputError as exc:
                    row["refused"] = str(exc)
            out.append(row)
    return out


def gbs_prognosis(kb: KnowledgeBase, findings: Mapping[str, object]) -> list[dict[str, Any]]:
    """EGRIS, mEGOS (admission and day 7) and EGOS from a GBS request's findings.

    ``findings`` are the request's findings with the patient's ``age_years`` (the recommendation
    passes ``{**findings, "age_years": patient["age_years"]}``).
    """
    return prognosis_from_findings(kb, "gbs", findings)
