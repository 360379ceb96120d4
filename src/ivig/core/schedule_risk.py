"""What a schedule rests on besides the label's steps: first-infusion inference and ceilings.

* :func:`infer_first_infusion` decides whether the first-infusion rules apply (induction phase,
  no previous immunoglobulin, a product switch, a long gap since the last infusion, or the
  request stating it) and says why.
* :func:`applicable_ceilings` lists every at-risk rate ceiling that applies to this patient on
  this rate record: the label's own ceiling and the class ceilings of ``schedule_rules.yaml``
  (a label's ceiling for a risk applies to every product for that risk; the product's own label
  wins when stricter). The lowest governs.

Pure functions over the knowledge base and plain values; no clinical number lives here.
"""

from __future__ import annotations

import math

from ivig.errors import InputError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable

    from typing_extensions import TypedDict

    from ivig.knowledge import KnowledgeBase
    from ivig.knowledge.schema_products import RateSchedule, ScheduleSetting

    class FirstInfusionDecision(TypedDict):
        """Whether the first-infusion rules apply, the rule that decided and why."""

        first_infusion: bool
        rule: str
        reason: str
        sources: list[str]
        verified: bool

    # one definition of an applied ceiling: the output contract's
    from ivig.results import CeilingOut as Ceiling


__all__ = ["DEFAULT_AT_RISK_GROUPS", "applicable_ceilings", "governing", "infer_first_infusion"]

#: label risk groups a record's own ceiling applies to when it does not say
DEFAULT_AT_RISK_GROUPS = ("renal", "thrombosis")
_SWITCH_SOURCES = ["pv-admin", "ggl-pidd-switch"]


def _setting(kb: KnowledgeBase, name: str) -> ScheduleSetting:
    setting: ScheduleSetting = kb.data["schedule_rules"][name]  # type: ignore[literal-required]
    return setting


def _check_weeks(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError("weeks_since_last_infusion", value, "a finite number >= 0", "weeks")
    if value < 0:
        raise InputError("weeks_since_last_infusion", value, ">= 0", "weeks")
    return float(value)


def infer_first_infusion(
    kb: KnowledgeBase,
    *,
    phase: str | None,
    stated: bool | None = None,
    product_switch: bool | None = None,
    previous_ig: bool | None = None,
    weeks_since_last_infusion: float | None = None,
    route: str | None = None,
) -> FirstInfusionDecision:
    """Whether the first-infusion rules apply, in a stated order of rules (first match wins).

    1. a product switch; 2. more than the gap setting (8 weeks) since the last infusion; 3. the
    request says first infusion; 4. the request says not first; 5. no previous immunoglobulin;
    6. a subcutaneous plan with nothing stated (the usual switch from IVIg, a week after the last
    IV dose: the label's first SC rates); 7. a last infusion within the gap; 8. induction phase
    with nothing else known; 9. otherwise (maintenance) the phase implies previous
    immunoglobulin. Facts that demand first-infusion rules (switch, long gap) win over a request
    that says otherwise.
    """
    weeks = _check_weeks(weeks_since_last_infusion)
    gap = _setting(kb, "first_infusion_gap_weeks")
    gap_weeks = gap["value"]
    gap_sources = [s["id"] for s in gap["sources"]]
    said = "the request states it is not a first infusion, but " if stated is False else ""
    rules: list[tuple[bool, bool, str, str, list[str], bool]] = [
        (
            bool(product_switch),
            True,
            "product_switch",
            said + "the patient switches from another immunoglobulin product: restart at the "
            "label's first rate",
            _SWITCH_SOURCES,
            True,
        ),
        (
            weeks is not None and weeks > gap_weeks,
            True,
            "long_gap",
            f"{said}the last infusion was {weeks or 0:g} weeks ago (more than {gap_weeks:g})",
            gap_sources,
            gap["verified"],
        ),
        (stated is True, True, "stated", "the request states a first infusion", [], True),
        (
            stated is False,
            False,
            "stated",
            "the request states it is not a first infusion",
            [],
            True,
        ),
        (previous_ig is False, True, "no_previous_ig", "no previous immunoglobulin", [], True),
        (
            route == "sc",
            True,
            "first_sc",
            "a subcutaneous plan and the request does not say the patient already infuses SC: "
            "the label's first SC infusion rules apply (state first_infusion: false if so)",
            [],
            True,
        ),
        (
            weeks is not None,
            False,
            "recent_infusion",
            f"the last infusion was {weeks or 0:g} weeks ago (within {gap_weeks:g})",
            gap_sources,
            gap["verified"],
        ),
        (
            phase == "induction",
            True,
            "induction",
            "induction phase and no previous immunoglobulin in the request: first-infusion "
            "rules apply (state otherwise in the request if the patient has had it)",
            [],
            True,
        ),
    ]
    for applies, first, rule, reason, sources, verified in rules:
        if applies:
            return {
                "first_infusion": first,
                "rule": rule,
                "reason": reason,
                "sources": sources,
                "verified": verified,
            }
    return {
        "first_infusion": False,
        "rule": "maintenance",
        "reason": f"{phase or 'this'} phase implies previous immunoglobulin; no switch or gap "
        f"of more than {gap_weeks:g} weeks is given",
        "sources": [],
        "verified": True,
    }


def _factors(kb: KnowledgeBase, ids: set[str], hit: list[str]) -> list[str]:
    """The patient's risk factors that are, or belong to a group in, ``hit``."""
    wanted = set(hit)
    return sorted(
        rid for rid in ids if rid in wanted or set(kb.risk_factor(rid).get("groups", [])) & wanted
    )


def _own_ceiling(
    record: RateSchedule,
    to_mg: Callable[[float], float],
    groups: set[str],
) -> list[Ceiling]:
    applies = set(record.get("at_risk_applies_to", DEFAULT_AT_RISK_GROUPS))
    hit = sorted(groups & applies)
    if not hit or "at_risk_max_rate" not in record:
        return []
    ids = [s["id"] for s in record.get("at_risk_sources", record["sources"])]
    return [
        {
            "id": f"{record['id']}-at-risk",
            "rate_mg_per_kg_per_min": to_mg(record["at_risk_max_rate"]),
            "strict": bool(record.get("at_risk_strict")),
            "origin": "label",
            "risks": hit,
            "risk_factors": [],
            "basis": "this product's label ceiling for patients at risk",
            "site_overridable": False,
            "sources": ids,
            "verified": record["verified"] and record.get("at_risk_verified", True),
        }
    ]


def applicable_ceilings(
    kb: KnowledgeBase,
    record: RateSchedule,
    to_mg: Callable[[float], float],
    *,
    ids: set[str],
    groups: set[str],
) -> list[Ceiling]:
    """Every ceiling for this patient: the record's own, then the class ceilings, lowest first.

    ``to_mg`` converts a rate in the record's unit to mg/kg/min; ``ids`` are the patient's risk
    factor ids and ``groups`` their label risk groups.
    """
    found = _own_ceiling(record, to_mg, groups)
    for own in found:
        own["risk_factors"] = _factors(kb, ids, own["risks"])
    for ceiling in kb.data["schedule_rules"]["at_risk_ceilings"]:
        hit = sorted(
            (set(ceiling.get("groups", [])) & groups) | (set(ceiling.get("risk_factors", [])) & ids)
        )
        if not hit:
            continue
        found.append(
            {
                "id": ceiling["id"],
                "rate_mg_per_kg_per_min": float(ceiling["rate_mg_per_kg_per_min"]),
                "strict": bool(ceiling.get("strict")),
                "origin": "class",
                "risks": hit,
                "risk_factors": _factors(kb, ids, hit),
                "basis": ceiling["basis"],
                "site_overridable": bool(ceiling.get("site_overridable")),
                "sources": [s["id"] for s in ceiling["sources"]],
                "verified": ceiling["verified"],
            }
        )
    found.sort(key=lambda c: (c["rate_mg_per_kg_per_min"], not c["strict"]))
    return found


def governing(ceilings: list[Ceiling]) -> Ceiling | None:
    """The ceiling that limits the schedule (lowest rate; a strict one first on a tie)."""
    return ceilings[0] if ceilings else None
