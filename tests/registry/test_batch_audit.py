"""``ivig audit``: totals equal an independent row-by-row computation with the core."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from ivig.core.dose import compute_dose_plan
from ivig.core.eligibility import evaluate_eligibility
from ivig.core.weight import compute_dosing_weight
from ivig.errors import InputError, IvigError
from ivig.knowledge import KnowledgeBase
from ivig.registry.batch_audit import AuditOptions, audit_orders, audit_rows
from ivig.registry.orders_gen import HEADER, generate_order_lines

OPTIONS = AuditOptions(jurisdiction="au", policy="au-2026")


def _independent(kb: KnowledgeBase, lines: list[str]) -> dict[str, Any]:
    """Totals computed directly, row by row, with no cache, chunks or processes."""
    totals: dict[str, Any] = {
        "orders": 0,
        "bad": 0,
        "by_status": {},
        "prescribed": 0.0,
        "policy": 0.0,
        "over": 0.0,
        "outside": 0.0,
    }
    for row in csv.DictReader(lines):
        try:
            age, weight, grams = (float(row[k]) for k in ("age_years", "weight_kg", "grams"))
            if row["sex"] not in ("female", "male") or grams <= 0 or row["height_cm"] is None:
                raise ValueError
            cid = kb.resolve_condition(row["condition"])
            if cid is None:
                if kb.non_neuro_use(row["condition"]) is None:
                    raise ValueError
                status, indication = "out_of_scope", None
            else:
                findings = json.loads(row["findings_json"] or "{}")
                findings.update(age_years=age, sex=row["sex"], pregnant=False)
                ind = f"{cid}.{row['indication']}" if row["indication"] else None
                result = evaluate_eligibility(
                    kb, cid, findings, jurisdiction="au", indication_id=ind, phase=row["phase"]
                )
                status, indication = result["status"], result["indication"]
        except (ValueError, TypeError, IvigError):  # TypeError: a short row
            totals["bad"] += 1
            continue
        totals["orders"] += 1
        totals["by_status"][status] = totals["by_status"].get(status, 0) + 1
        totals["prescribed"] += grams
        if status in ("not_supported", "out_of_scope"):
            totals["outside"] += grams
        if status not in ("supported", "supported_with_conditions"):
            continue
        assert indication is not None, row  # a supported order names its indication
        dosing = compute_dosing_weight(
            kb,
            policy_id="au-2026",
            sex=row["sex"],
            age_years=age,
            weight_kg=weight,
            height_cm=float(row["height_cm"]),
        )
        try:
            plan = compute_dose_plan(
                kb,
                indication_id=indication,
                phase=row["phase"],
                dosing_weight_kg=dosing["kg"],
                rounding="none",
            )
        except InputError:
            continue
        totals["policy"] += plan["total_g"]
        totals["over"] += max(0.0, grams - plan["total_g"])
    return totals


@pytest.fixture(scope="module")
def lines(kb: KnowledgeBase) -> list[str]:
    return list(generate_order_lines(kb, 4000, seed=7, bad_rate=0.02))


@pytest.mark.parametrize("workers", [1, 2])
def test_totals_equal_an_independent_computation(
    kb: KnowledgeBase, lines: list[str], workers: int
) -> None:
    """Policy doses come from the au-2026 policy and the regimens (dosing.yaml, conditions/)."""
    result = audit_rows(lines, kb, OPTIONS, workers=workers, chunk_size=500)
    expected = _independent(kb, lines)
    assert result["orders"] == expected["orders"]
    assert result["bad_rows"] == expected["bad"] > 0
    assert result["by_status"] == dict(sorted(expected["by_status"].items()))
    for key, mine in (
        ("grams_prescribed", "prescribed"),
        ("grams_by_policy", "policy"),
        ("grams_over_policy", "over"),
        ("grams_outside_criteria", "outside"),
    ):
        assert math.isclose(result[key], expected[mine], rel_tol=1e-12), key
    assert result["saving_percent"] == pytest.approx(
        100 * expected["over"] / expected["prescribed"]
    )


def test_details_have_one_row_per_order_and_bad_rows_name_their_line(
    kb: KnowledgeBase, lines: list[str]
) -> None:
    details, errors = io.StringIO(), io.StringIO()
    result = audit_rows(lines, kb, OPTIONS, details=details, errors_out=errors, chunk_size=300)
    rows = list(csv.DictReader(io.StringIO(details.getvalue())))
    assert len(rows) == len(lines) - 1
    assert [int(r["line"]) for r in rows] == list(range(2, len(lines) + 1))
    bad = list(csv.DictReader(io.StringIO(errors.getvalue())))
    assert len(bad) == result["bad_rows"]
    for err in bad:
        assert lines[int(err["line"]) - 1].startswith(err["order_id"] or "O")
    over = sum(float(r["over_g"]) for r in rows if r["over_g"])
    assert over == pytest.approx(result["grams_over_policy"])


def test_stop_on_error_names_the_first_bad_line(kb: KnowledgeBase) -> None:
    lines = [
        HEADER,
        "A1,2024-01-01,male,50,170,70,gbs,induction,140,,\n",
        "A2,2024-01-01,male,50,170,seventy,gbs,induction,140,,\n",
    ]
    with pytest.raises(InputError, match="line 3") as info:
        audit_rows(lines, kb, OPTIONS, on_error="stop")
    assert "weight_kg" in str(info.value)
    skipped = audit_rows(lines, kb, OPTIONS)
    assert (skipped["orders"], skipped["bad_rows"]) == (1, 1)
    assert skipped["errors"][0]["line"] == 3


def test_optional_columns_may_be_absent_and_required_ones_may_not(kb: KnowledgeBase) -> None:
    head = "order_id,date,sex,age_years,height_cm,weight_kg,condition,phase,grams\n"
    result = audit_rows([head, "A1,2024-01-01,female,40,,60,gbs,induction,120\n"], kb, OPTIONS)
    assert result["orders"] == 1 and result["bad_rows"] == 0
    with pytest.raises(InputError, match="missing: grams"):
        audit_rows([head.replace(",grams", "")], kb, OPTIONS)
    with pytest.raises(InputError, match="on_error"):
        audit_rows([head], kb, OPTIONS, on_error="ignore")


def test_audit_orders_reads_a_file(kb: KnowledgeBase, lines: list[str], tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("".join(lines[:200]), encoding="utf-8")
    assert (
        audit_orders(str(path), kb, OPTIONS)["orders"]
        + audit_orders(str(path), kb, OPTIONS)["bad_rows"]
        == 199
    )
    with pytest.raises(InputError, match="readable"):
        audit_orders(str(tmp_path / "missing.csv"), kb, OPTIONS)


HAND_WORKED = """\
order_id,date,sex,age_years,height_cm,weight_kg,condition,phase,grams,indication,findings_json
o1,2026-01-05,female,54,160,90,gbs,induction,180,,"{""able_to_walk_unaided"": false, ""days_since_onset"": 5}"
o2,2026-01-06,male,40,175,70,gbs,induction,140,,"{""able_to_walk_unaided"": false, ""days_since_onset"": 3}"
o3,2026-01-07,female,66,165,60,als,induction,120,,
o4,2026-01-08,male,50,170,ninety,gbs,induction,150,,
o5,2026-01-09,female,16,165,85,gbs,induction,200,,"{""able_to_walk_unaided"": false, ""days_since_onset"": 10}"
"""  # noqa: E501


def test_totals_of_a_hand_worked_file(kb: KnowledgeBase) -> None:
    """Worked by hand with the au-2026 rules (au-lifeblood-abw-2026, au-nba-ddw-calculator) and
    GBS 2 g/kg (efns-2008):
    o1: IBW 52.38, DDW 67.43 kg -> 134.86 g; prescribed 180 -> 45.14 g over policy.
    o2: IBW 70.46, DDW 70.28 > actual 70 -> actual weight -> 140 g; prescribed 140 -> 0 over.
    o3: ALS is not supported -> 120 g outside the criteria.
    o4: weight 'ninety' -> bad row on line 5.
    o5: age 16 -> actual weight 85 kg -> 170 g; prescribed 200 -> 30 g over.
    Totals: 4 orders, 640 g prescribed, 444.86 g by policy, 75.14 g over (11.74 %)."""
    totals = audit_rows(HAND_WORKED.splitlines(keepends=True), kb, OPTIONS)
    assert totals["orders"] == 4 and totals["bad_rows"] == 1
    assert totals["by_status"] == {"supported": 3, "not_supported": 1}
    assert totals["grams_prescribed"] == pytest.approx(640)
    assert totals["grams_by_policy"] == pytest.approx(444.86)
    assert totals["grams_over_policy"] == pytest.approx(75.14)
    assert totals["orders_over_policy"] == 2
    assert totals["grams_outside_criteria"] == pytest.approx(120)
    assert totals["saving_percent"] == pytest.approx(75.14 / 640 * 100)
    assert totals["errors"][0]["line"] == 5 and "weight_kg" in totals["errors"][0]["error"]
