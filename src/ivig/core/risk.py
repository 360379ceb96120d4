"""Patient risk profile: named risk factors from the whole request.

A request may name risk factors directly (``patient.risk_factors``) or they follow from labs,
age, infusion history, the request's findings (``findings.able_to_walk_unaided``...) and the
condition itself (dermatomyositis) through the ``derive`` rules of ``risk_factors.yaml`` (each
threshold with its source). The result is one :class:`RiskFinding` per risk factor, in the order
of the data file.
"""

from __future__ import annotations

import math

from ivig.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from typing_extensions import TypedDict

    from ivig.contract import Patient
    from ivig.knowledge import KnowledgeBase
    from ivig.knowledge.schema_products import Derivation, RiskFactor

    class RiskFinding(TypedDict):
        """One risk factor of the patient, why it applies, and its sources."""

        id: str
        reason: str
        sources: list[str]
        verified: bool


__all__ = ["derive_risk_profile", "risk_groups", "risk_ids"]


def _lookup(facts: dict[str, Any], path: str) -> Any:
    node: Any = facts
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


_COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _holds(value: Any, derivation: Derivation) -> bool:
    op = derivation["op"]
    target = derivation["value"]
    if op == "==":
        return bool(value == target)
    if op == "in":
        return isinstance(target, list) and value in target
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(derivation["input"], value, "a number", derivation["unit"])
    if not math.isfinite(value) or value < 0:
        raise InputError(derivation["input"], value, "a finite number >= 0", derivation["unit"])
    if isinstance(target, bool) or not isinstance(target, int | float):
        return False
    return bool(_COMPARE[op](value, target))


def _num(value: Any) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)


def _describe(derivation: Derivation, value: Any) -> str:
    unit = "" if derivation["unit"] == "none" else f" {derivation['unit']}"
    target = derivation["value"]
    shown = ", ".join(map(str, target)) if isinstance(target, list) else _num(target)
    if derivation["op"] == "in":
        return f"{derivation['input']} = {value} (one of {shown})"
    if derivation["op"] == "==":
        return f"{derivation['input']} is {value}"
    return f"{derivation['input']} {_num(value)}{unit} {derivation['op']} {shown}{unit}"


def derive_risk_profile(
    kb: KnowledgeBase,
    patient: Patient,
    *,
    findings: Mapping[str, object] | None = None,
    condition: str | None = None,
) -> list[RiskFinding]:
    """Risk factors of ``patient``: named ones (validated ids) and those derived from facts.

    ``findings`` (the request's findings) and ``condition`` (the resolved condition id) let
    rules derive immobility (cannot walk unaided, bed-bound, ventilated, myasthenic crisis) and
    condition-borne risks (dermatomyositis).
    """
    factors: list[RiskFactor] = kb.data["risk_factors"]
    named = list(patient.get("risk_factors", []))
    for rid in named:
        kb.risk_factor(rid)  # raises UnknownIdError with suggestions
    facts: dict[str, Any] = {**patient, "findings": dict(findings or {}), "condition": condition}
    found: list[RiskFinding] = []
    for factor in factors:
        reasons: list[str] = []
        sources: list[str] = []
        verified = True
        if factor["id"] in named:
            reasons.append("named in the request")
            sources.extend(s["id"] for s in factor["sources"])
            verified = factor["verified"]
        for derivation in factor.get("derive", []):
            value = _lookup(facts, derivation["input"])
            if value is None or not _holds(value, derivation):
                continue
            reasons.append(_describe(derivation, value))
            sources.extend(s["id"] for s in derivation["sources"])
            verified = verified and derivation["verified"]
        if reasons:
            found.append(
                {
                    "id": factor["id"],
                    "reason": "; ".join(reasons),
                    "sources": list(dict.fromkeys(sources)),
                    "verified": verified,
                }
            )
    return found


def risk_ids(kb: KnowledgeBase, risks: list[RiskFinding] | list[str]) -> set[str]:
    """The ids of ``risks`` (findings or plain ids), each checked against the knowledge base."""
    ids: set[str] = set()
    for item in risks:
        rid = item if isinstance(item, str) else item["id"]
        kb.risk_factor(rid)
        ids.add(rid)
    return ids


def risk_groups(kb: KnowledgeBase, ids: set[str]) -> set[str]:
    """Label risk groups (renal, thrombosis, volume...) that the risk factors belong to."""
    groups: set[str] = set()
    for rid in ids:
        groups.update(kb.risk_factor(rid).get("groups", []))
    return groups
