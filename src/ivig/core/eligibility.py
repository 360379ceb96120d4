"""Eligibility: a request's findings against an indication's criteria, three-valued.

A criterion is met (true), unmet (false) or undecided (a finding it needs is missing). The status:

* ``not_supported`` - the indication's role is ``not_recommended``, an exclusion criterion holds,
  or a qualifying criterion fails (``unmet`` lists them);
* ``insufficient_information`` - nothing fails yet but some finding is missing (``missing`` lists
  exactly those findings with their names, types and units);
* ``supported_with_conditions`` - every criterion holds, but the role is adjunct or insufficient
  evidence, or a criterion used is unverified (``conditions`` says which);
* ``supported`` - every criterion holds for a first-line, second-line or rescue indication.
"""

from __future__ import annotations

from ivig.knowledge.predicates import evaluate, parse

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from ivig.knowledge.base import KnowledgeBase
    from ivig.knowledge.schema import Criterion, Indication

__all__ = [
    "STATUSES",
    "candidate_indications",
    "criterion_finding_names",
    "evaluate_criterion",
    "evaluate_eligibility",
    "evaluate_indication",
    "implied_findings",
]

STATUSES = (
    "supported",
    "supported_with_conditions",
    "not_supported",
    "insufficient_information",
    "out_of_scope",
)
_STRONG_ROLES = ("first_line", "second_line", "rescue")


def evaluate_criterion(criterion: Criterion, findings: dict[str, object]) -> bool | None:
    """True, false, or ``None`` when a finding the criterion needs is missing."""
    if "when" in criterion:
        return evaluate(parse(criterion["when"]), findings)
    results = [evaluate(parse(text), findings) for text in criterion.get("any_of", [])]
    if any(r is True for r in results):
        return True
    if all(r is False for r in results):
        return False
    return None


def criterion_finding_names(criterion: Criterion) -> list[str]:
    """The finding names a criterion tests."""
    return _names(criterion)


def _names(criterion: Criterion) -> list[str]:
    texts = [criterion["when"]] if "when" in criterion else criterion.get("any_of", [])
    return [parse(t).name for t in texts]


def _crit_out(criterion: Criterion) -> dict[str, Any]:
    return {
        "id": criterion["id"],
        "text": criterion["text"],
        "test": criterion.get("when") or " or ".join(criterion.get("any_of", [])),
        "sources": [r["id"] for r in criterion["sources"]],
        "verified": criterion["verified"],
    }


def _ordered_evidence(kb: KnowledgeBase, indication: Indication, jurisdiction: str) -> list[Any]:
    first = kb.jurisdiction(jurisdiction)["evidence_systems"]
    rank = {sid: n for n, sid in enumerate(first)}
    items = list(enumerate(indication["evidence"]))
    items.sort(key=lambda pair: (rank.get(pair[1]["system"], len(rank)), pair[0]))
    out = []
    for _, ev in items:
        system = kb.evidence_system(ev["system"])
        label = next(lv["label"] for lv in system["levels"] if lv["id"] == ev["level"])
        out.append(
            {
                "system": ev["system"],
                "system_name": system["name"],
                "level": ev["level"],
                "label": label,
                "note": ev.get("note"),
                "source": ev["sources"][0]["id"],
                "sources": [r["id"] for r in ev["sources"]],
                "verified": ev["verified"],
                "jurisdiction_system": ev["system"] in rank,
            }
        )
    return out


def _sort_criteria(
    indication: Indication, findings: dict[str, object]
) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """The indication's criteria as (met, unmet, excluded, undecided)."""
    met: list[Any] = []
    unmet: list[Any] = []
    excluded: list[Any] = []
    undecided: list[Any] = []
    for crit in indication.get("qualifying", []):
        value = evaluate_criterion(crit, findings)
        (met if value is True else unmet if value is False else undecided).append(crit)
    for crit in indication.get("exclusion", []):
        value = evaluate_criterion(crit, findings)
        if value is True:
            excluded.append(crit)
        elif value is None:
            undecided.append(crit)
    return met, unmet, excluded, undecided


def _missing(
    kb: KnowledgeBase, undecided: list[Any], findings: dict[str, object]
) -> list[dict[str, Any]]:
    """The findings the undecided criteria need, with their declaration (type, unit, range)."""
    missing_names: dict[str, list[str]] = {}
    for crit in undecided:
        for name in _names(crit):
            if findings.get(name) is None:
                missing_names.setdefault(name, []).append(crit["id"])
    missing = []
    for name, needed_by in missing_names.items():
        decl = kb.finding(name)
        entry: dict[str, Any] = {
            "name": name,
            "type": decl["type"],
            "description": decl["description"],
            "needed_by": needed_by,
        }
        for key in ("unit", "allowed", "min", "max"):
            if key in decl:
                entry[key] = decl[key]
        missing.append(entry)
    return missing


def _status(
    indication: Indication,
    criteria: tuple[list[Any], list[Any], list[Any], list[Any]],
    missing: list[dict[str, Any]],
) -> tuple[str, str, list[str]]:
    """(status, reason, conditions) of an indication from its sorted criteria."""
    met, unmet, excluded, undecided = criteria
    role = indication["role"]
    if role == "not_recommended":
        return (
            "not_supported",
            "the sources do not recommend immunoglobulin for this indication",
            [],
        )
    if role == "insufficient_evidence" and not indication.get("regimens"):
        reason = "the evidence is insufficient and the sources give no regimen for this indication"
        return "not_supported", reason, []
    if excluded or unmet:
        return "not_supported", "; ".join(c["text"] for c in excluded + unmet), []
    if undecided:
        names = list(dict.fromkeys(m["name"] for m in missing))
        return "insufficient_information", "findings needed to decide: " + ", ".join(names), []
    conditions: list[str] = []
    if role not in _STRONG_ROLES:
        conditions.append(
            f"role in therapy is {role}: a time-limited trial with an objective measure at "
            "baseline and at review"
        )
    conditions += [
        f"criterion {c['id']} is unverified: {c['text']}" for c in met if not c["verified"]
    ]
    if conditions:
        return "supported_with_conditions", "; ".join(conditions), conditions
    return "supported", "every criterion holds", conditions


def evaluate_indication(
    kb: KnowledgeBase, indication_id: str, findings: dict[str, object], jurisdiction: str
) -> dict[str, Any]:
    """Eligibility of one indication (see the module docstring for the statuses)."""
    indication = kb.indication(indication_id)
    criteria = _sort_criteria(indication, findings)
    met, unmet, excluded, undecided = criteria
    missing = _missing(kb, undecided, findings)
    status, reason, conditions = _status(indication, criteria, missing)
    return {
        "status": status,
        "reason": reason,
        "indication": indication_id,
        "indication_name": indication["name"],
        "role": indication["role"],
        "evidence": _ordered_evidence(kb, indication, jurisdiction),
        "met": [_crit_out(c) for c in met],
        "unmet": [_crit_out(c) for c in unmet],
        "exclusions": [_crit_out(c) for c in excluded],
        "missing": missing,
        "conditions": conditions,
        "diagnosed_by": indication.get("diagnosed_by", []),
        "alternatives": [
            {
                "name": a["name"],
                "note": a.get("note"),
                "sources": [r["id"] for r in a["sources"]],
                "verified": a["verified"],
            }
            for a in indication.get("alternatives", [])
        ],
        "sources": [r["id"] for r in indication["sources"]],
    }


def candidate_indications(kb: KnowledgeBase, condition_id: str, phase: str | None) -> list[Any]:
    """The condition's indications with a regimen for ``phase`` (all of them when none has one,
    so that the answer can say why not), those whose first regimen is for ``phase`` first."""
    indications = list(kb.condition(condition_id)["indications"])
    if phase is None:
        return indications
    with_regimen = [
        ind for ind in indications if any(r["phase"] == phase for r in ind.get("regimens", []))
    ]
    # indications made for this phase (their first regimen is for it) before those that reach
    # it later (an initial authorisation's first maintenance doses)
    with_regimen.sort(key=lambda ind: ind["regimens"][0]["phase"] != phase)
    return with_regimen or indications


def implied_findings(kb: KnowledgeBase, indication_id: str) -> dict[str, object]:
    """The findings that naming ``indication_id`` establishes (knowledge ``implies``)."""
    return dict(kb.indication(indication_id).get("implies", {}))


def _named(
    kb: KnowledgeBase, indication_id: str, findings: dict[str, object], jurisdiction: str
) -> dict[str, Any]:
    implied = implied_findings(kb, indication_id)
    result = evaluate_indication(kb, indication_id, {**implied, **findings}, jurisdiction)
    result["considered"] = [indication_id]
    result["missing_groups"] = []
    if result["missing"]:  # the grouping's module is imported only when a finding is missing
        from ivig.core.missing_findings import missing_groups

        result["missing_groups"] = missing_groups([result])
    if implied:
        result["implied_findings"] = implied
    return result


def evaluate_eligibility(
    kb: KnowledgeBase,
    condition_id: str,
    findings: dict[str, object],
    *,
    jurisdiction: str = "international",
    indication_id: str | None = None,
    phase: str | None = None,
) -> dict[str, Any]:
    """Eligibility for the named indication, or the one of the condition the findings fit.

    A named indication adds the findings it implies. Without one, the candidates are the
    condition's indications with a regimen for ``phase`` (:func:`candidate_indications`),
    evaluated in the knowledge base's order: the first supported one is chosen; else, if some
    are undecided, the result is ``insufficient_information`` with the findings that would
    decide, grouped by candidate; else the first not-supported one is reported.
    """
    if indication_id is not None:
        return _named(kb, indication_id, findings, jurisdiction)
    candidates = candidate_indications(kb, condition_id, phase)
    results = [evaluate_indication(kb, ind["id"], findings, jurisdiction) for ind in candidates]
    considered = [r["indication"] for r in results]
    for result in results:
        if result["status"] in ("supported", "supported_with_conditions"):
            return {**result, "considered": considered, "missing_groups": []}
    undecided = [r for r in results if r["status"] == "insufficient_information"]
    if not undecided:
        return {**results[0], "considered": considered, "missing_groups": []}
    from ivig.core.missing_findings import merged_missing, missing_groups

    chosen = dict(undecided[0])
    chosen["missing"] = merged_missing(undecided)
    chosen["missing_groups"] = missing_groups(undecided)
    if len(undecided) > 1:
        chosen["reason"] = (
            "the indication is not given and the findings do not decide between "
            + ", ".join(r["indication"] for r in undecided)
        )
    chosen["considered"] = considered
    chosen["undecided"] = [r["indication"] for r in undecided]
    return chosen
