"""Use case: which findings the criteria need, for a form or a missing-finding list."""

from __future__ import annotations

from ivig.core.eligibility import candidate_indications, criterion_finding_names, implied_findings
from ivig.core.recommend import PATIENT_FACTS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["needed_findings"]


def needed_findings(
    kb: KnowledgeBase,
    condition_id: str | None,
    indication_id: str | None = None,
    phase: str | None = None,
) -> list[str]:
    """Finding names the criteria of the indication (or of the condition's candidate
    indications for ``phase``) test, in order; patient facts and the findings a named
    indication implies are left out (the request gives them already)."""
    if not condition_id:
        return []
    if indication_id:
        indications = [kb.indication(indication_id)]
        known = set(implied_findings(kb, indication_id))
    else:
        indications = candidate_indications(kb, condition_id, phase)
        known = set()
    names: list[str] = []
    for ind in indications:
        for crit in [*ind.get("qualifying", []), *ind.get("exclusion", [])]:
            for name in criterion_finding_names(crit):
                if name not in names and name not in PATIENT_FACTS and name not in known:
                    names.append(name)
    return names
