"""The findings that would decide an undecided eligibility (``insufficient_information``):
merged over the candidate indications, and grouped by candidate with the next step for each.

:mod:`ivig.core.eligibility` imports this module only when a finding is missing.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["merged_missing", "missing_groups"]


def missing_groups(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The missing findings grouped by candidate indication, each finding once (in the first
    group that needs it), with the next step that would decide each candidate."""
    placed: set[str] = set()
    groups: list[dict[str, Any]] = []
    for result in results:
        own = [item for item in result["missing"] if item["name"] not in placed]
        placed.update(item["name"] for item in own)
        names = ", ".join(item["name"] for item in own)
        count = "this finding" if len(own) == 1 else f"these {len(own)} findings"
        step = f"add `indication: {result['indication']}`"
        step += f" and {count}: {names}" if own else " (its findings are listed above)"
        groups.append(
            {
                "indication": result["indication"],
                "indication_name": result["indication_name"],
                "findings": own,
                "next_step": step,
            }
        )
    return groups


def merged_missing(undecided: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The missing findings of every undecided candidate, each once, with every criterion of
    every candidate that needs it (``needed_by``: ``indication:criterion``)."""
    merged: dict[str, Any] = {}
    for r in undecided:
        for item in r["missing"]:
            merged.setdefault(item["name"], dict(item, needed_by=[]))
            merged[item["name"]]["needed_by"] += [
                f"{r['indication']}:{c}" for c in item["needed_by"]
            ]
    return list(merged.values())
