"""Synthetic historical orders for ``ivig audit`` (tests, the benchmark, demonstrations).

The orders are drawn from the knowledge base: each scenario is a condition, an indication and
a phase with a regimen, with random values for the findings its criteria ask for, so the
statuses spread over supported / with conditions / not supported / insufficient information.
Some orders name conditions with no regimen or non-neurological uses. Grams are the actual
weight times the regimen's default g/kg times a random prescribing factor (some above, some
below the policy). ``bad_rate`` adds malformed rows. All randomness comes from ``seed``.

``ordinary=True`` gives what a pharmacy system exports: only the required columns (no
indication, no findings), each row a condition and phase that have an IV regimen.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["HEADER", "ORDINARY_HEADER", "generate_order_lines", "order_scenarios"]

HEADER = (
    "order_id,date,sex,age_years,height_cm,weight_kg,condition,phase,grams,indication,"
    "findings_json\n"
)
ORDINARY_HEADER = "order_id,date,sex,age_years,height_cm,weight_kg,condition,phase,grams\n"
#: spread of prescribed grams around the regimen's default dose (a prescribing habit, not a
#: clinical value): some orders below, most at, some above
_FACTORS = (0.9, 1.0, 1.0, 1.0, 1.1, 1.25)
_BAD_ROWS = (
    "{id},2024-01-01,unknown,50,170,70,gbs,induction,140,,\n",
    "{id},2024-01-01,male,fifty,170,70,gbs,induction,140,,\n",
    "{id},2024-01-01,male,50,170,70,no-such-condition,induction,140,,\n",
    "{id},2024-01-01,male,50,170,70,gbs,induction,-5,,\n",
    "{id},2024-01-01,male,50,170\n",
)


def order_scenarios(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """(condition, indication, phase, regimen g/kg, findings asked for) from the knowledge."""
    from ivig.app.policy import criteria_verdict

    base = {"age_years": 50, "sex": "female", "pregnant": False}
    out: list[dict[str, Any]] = []
    for condition in kb.data["conditions"]:
        for indication in condition["indications"]:
            regimens = indication.get("regimens") or []
            if not regimens:
                out.append(
                    {
                        "condition": condition["id"],
                        "indication": "",
                        "phase": "induction",
                        "g_per_kg": None,
                        "missing": [],
                    }
                )
                continue
            for regimen in regimens:
                if regimen["route"] != "iv":
                    continue
                result = criteria_verdict(
                    kb,
                    condition["id"],
                    dict(base),
                    indication_id=indication["id"],
                    phase=regimen["phase"],
                )
                rng = regimen["dose_g_per_kg"]
                out.append(
                    {
                        "condition": condition["id"],
                        "indication": indication["id"].split(".", 1)[1],
                        "phase": regimen["phase"],
                        "g_per_kg": rng.get("default", rng["max"]),
                        "missing": result["missing"],
                    }
                )
    for use in kb.data["non_neuro_uses"][:3]:
        out.append(
            {
                "condition": use["id"],
                "indication": "",
                "phase": "induction",
                "g_per_kg": None,
                "missing": [],
            }
        )
    return out


def _finding_value(item: dict[str, Any], rnd: random.Random) -> object:
    kind = item.get("type")
    if item.get("allowed"):
        return rnd.choice(item["allowed"])
    if kind in ("int", "float", "number"):
        low = float(item.get("min", 0))
        high = float(item.get("max", low + 100))
        value = rnd.uniform(low, high)
        return round(value) if kind == "int" else round(value, 1)
    return rnd.random() < 0.8


def _ordinary_scenarios(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """One scenario per condition and phase with an IV regimen, without indication/findings."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for sc in order_scenarios(kb):
        if sc["g_per_kg"] is not None:
            seen.setdefault((sc["condition"], sc["phase"]), {**sc, "indication": "", "missing": []})
    return list(seen.values())


def generate_order_lines(
    kb: KnowledgeBase, n: int, *, seed: int = 0, bad_rate: float = 0.0, ordinary: bool = False
) -> Iterator[str]:
    """The header and ``n`` CSV order lines (streamed; nothing is held in memory)."""
    rnd = random.Random(seed)
    scenarios = _ordinary_scenarios(kb) if ordinary else order_scenarios(kb)
    yield ORDINARY_HEADER if ordinary else HEADER
    for k in range(n):
        order_id = f"O{k:07d}"
        if bad_rate and rnd.random() < bad_rate:
            yield rnd.choice(_BAD_ROWS).format(id=order_id)
            continue
        sc = rnd.choice(scenarios)
        sex = rnd.choice(("female", "male"))
        age = rnd.randint(18, 90)
        height = rnd.randint(150, 185) if sex == "female" else rnd.randint(160, 200)
        weight = round(rnd.uniform(45.0, 140.0), 1)
        g_per_kg = sc["g_per_kg"] if sc["g_per_kg"] is not None else 1.0
        grams = round(weight * g_per_kg * rnd.choice(_FACTORS) / 5.0) * 5.0 or 5.0
        findings = {m["name"]: _finding_value(m, rnd) for m in sc["missing"]}
        findings_json = json.dumps(findings, separators=(",", ":")).replace('"', '""')
        date = f"20{rnd.randint(23, 25)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
        if ordinary:
            yield (
                f"{order_id},{date},{sex},{age},{height},{weight},{sc['condition']},"
                f"{sc['phase']},{grams:g}\n"
            )
            continue
        yield (
            f"{order_id},{date},{sex},{age},{height},{weight},{sc['condition']},{sc['phase']},"
            f'{grams:g},{sc["indication"]},"{findings_json}"\n'
        )
