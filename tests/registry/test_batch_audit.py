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
                status = "out_of_scope"
            else:
                findings = json.loads(row["findings_json"] or "{}")
                findings.update(age_years=age, sex=row["sex"], pregnant=False)
                ind = f"{cid}.{row['indication']}" if row["indication"] else None
                result = evaluate_eligibility(
                    kb, cid, findings, jurisdiction="au", indication_id=ind, phase=row["phase"]
                )
                status = result["status"]
        except (ValueError, TypeError, IvigError):  # TypeError: a short row
            totals["bad"] += 1
            continue
        totals["orders"] += 1
        totals["by_status"][status] = totals["by_status"].get(status, 0) + 1
        totals["prescribed"] += grams
        if status in ("not_supported", "out_of_scope"):
            totals["outside"] += grams
        dosed = _regimen_indication(kb, cid, row["indication"], row["phase"])
        if dosed is None:
            continue
        try:
            dosing = compute_dosing_weight(
                kb,
                policy_id="au-2026",
                sex=row["sex"],
                age_years=age,
                weight_kg=weight,
                height_cm=float(row["height_cm"]) if row["height_cm"] else None,
            )
            plan = compute_dose_plan(
                kb,
                indication_id=dosed,
                phase=row["phase"],
                route="iv",
                dosing_weight_kg=dosing["kg"],
                rounding="none",
            )
        except InputError:
            continue
        totals["policy"] += plan["total_g"]
        totals["over"] += max(0.0, grams - plan["total_g"])
    return totals


def _regimen_indication(
    kb: KnowledgeBase, condition_id: str | None, indication: str, phase: str
) -> str | None:
    """The indication whose first IV regimen for ``phase`` doses the order, read straight from
    the knowledge data: the named one, or the first candidate when all candidates' regimens
    give the same plan (g/kg, days and interval as the dose engine picks them)."""
    if condition_id is None:
        return None
    condition = next(c for c in kb.data["conditions"] if c["id"] == condition_id)
    named = f"{condition_id}.{indication}" if indication else None
    plans: dict[str, tuple[object, ...]] = {}
    for ind in condition["indications"]:
        if named and ind["id"] != named:
            continue
        for regimen in ind.get("regimens") or []:
            if regimen["phase"] == phase and regimen["route"] == "iv":
                rng, days = regimen["dose_g_per_kg"], regimen["days"]
                weeks = regimen.get("interval_weeks")
                plans[ind["id"]] = (
                    rng.get("default", rng["min"]),
                    days.get("default", days["min"]),
                    None if weeks is None else weeks.get("default", weeks["max"]),
                )
                break
    if not plans or len(set(plans.values())) > 1:
        return None
    # the candidates whose first regimen is for this phase come first (as recommend orders them)
    first = sorted(plans, key=lambda i: kb.indication(i)["regimens"][0]["phase"] != phase)
    return first[0]


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


def _au_2026_dosing_weight_kg(
    kb: KnowledgeBase, sex: str, age: float, height: float, weight: float
) -> float:
    """The au-2026 dose-determining weight worked from its published rules, apart from the
    engine (au-lifeblood-abw-2026, au-nba-ddw-calculator): actual weight under 18 years or
    under 152 cm, or when below the adjusted weight; else IBW + 0.4 x (actual - IBW), Devine IBW
    with the coefficients of the devine-ddw formula in the knowledge base."""
    f = kb.weight_formula("devine-ddw")
    base = f["ibw_base_kg_male"] if sex == "male" else f["ibw_base_kg_female"]
    inches = height * f["cm_to_in"]
    ibw = base + f["ibw_kg_per_inch_over"] * (inches - f["ibw_height_threshold_in"])
    adjusted = ibw + f["adjusted_factor"] * (weight - ibw)
    if age < 18 or height < 152 or weight < adjusted:
        return weight
    return adjusted


ORDINARY_ROWS = 20_000  # the full 200,000 run is benchmarks/audit_batch.py --ordinary


def test_ordinary_orders_get_the_policy_dose_within_1_percent(kb: KnowledgeBase) -> None:
    """Pharmacy rows with no findings (issue 14): every row whose condition and phase have an IV
    regimen gets a policy dose under au-2026 (au-lifeblood-abw-2026), whatever the criteria;
    the total is within 1 % of g/kg per course (regimens in conditions/) x the dosing weight
    computed apart from the engine."""
    lines = list(generate_order_lines(kb, ORDINARY_ROWS, seed=11, ordinary=True))
    result = audit_rows(lines, kb, AuditOptions(policy="au-2026"), workers=2, chunk_size=4000)
    assert result["jurisdiction"] == "au"
    assert result["orders"] == ORDINARY_ROWS and result["bad_rows"] == 0
    assert result["orders_with_policy_dose"] == ORDINARY_ROWS
    assert set(result["by_criteria"]) <= {"met", "unmet", "not_documented"}
    assert result["by_criteria"]["not_documented"] > ORDINARY_ROWS // 2
    expected = 0.0
    for row in csv.DictReader(lines):
        cid = kb.resolve_condition(row["condition"])
        indication = _regimen_indication(kb, cid, "", row["phase"])
        assert indication is not None, row
        regimen = next(
            r
            for r in kb.indication(indication)["regimens"]
            if r["phase"] == row["phase"] and r["route"] == "iv"
        )
        g_per_kg = regimen["dose_g_per_kg"].get("default", regimen["dose_g_per_kg"]["min"])
        weight = _au_2026_dosing_weight_kg(
            kb,
            row["sex"],
            float(row["age_years"]),
            float(row["height_cm"]),
            float(row["weight_kg"]),
        )
        expected += g_per_kg * weight
    assert result["grams_by_policy"] > 0
    assert result["grams_by_policy"] == pytest.approx(expected, rel=0.01)


def test_every_order_without_a_policy_dose_says_why(kb: KnowledgeBase, lines: list[str]) -> None:
    details = io.StringIO()
    audit_rows(lines, kb, OPTIONS, details=details, chunk_size=700)
    rows = list(csv.DictReader(io.StringIO(details.getvalue())))
    undosed = [r for r in rows if not r["policy_g"]]
    assert undosed and len(undosed) < len(rows)
    for row in undosed:
        assert row["note"], row
    assert {r["criteria"] for r in rows} >= {"met", "unmet", "not_documented", "out_of_scope"}
    for row in rows:
        for column in ("grams", "policy_g", "over_g", "dosing_weight_kg"):
            value = row[column]
            assert not value or len(value.partition(".")[2]) <= 2, (column, value)


@pytest.mark.parametrize(
    ("policy", "jurisdiction"), [("au-2026", "au"), ("ontario", "ontario"), ("us-120", "us")]
)
def test_the_jurisdiction_follows_the_policy(
    kb: KnowledgeBase, policy: str, jurisdiction: str
) -> None:
    result = audit_rows([HEADER], kb, AuditOptions(policy=policy))
    assert (result["policy"], result["jurisdiction"]) == (policy, jurisdiction)
    named = audit_rows([HEADER], kb, AuditOptions(policy=policy, jurisdiction="international"))
    assert named["jurisdiction"] == "international"


def test_criteria_are_reported_apart_from_the_dose(kb: KnowledgeBase) -> None:
    """The hand-worked file: o1, o2, o5 met, o3 (ALS) unmet and without a regimen."""
    totals = audit_rows(HAND_WORKED.splitlines(keepends=True), kb, OPTIONS)
    assert totals["by_criteria"] == {"met": 3, "unmet": 1}
    assert totals["orders_without_policy_dose"] == 1


def test_the_sample_orders_file_is_audited(kb: KnowledgeBase) -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / "orders.csv"
    result = audit_orders(str(path), kb, AuditOptions(policy="au-2026"))
    assert result["bad_rows"] == 0 and result["orders"] >= 10
    assert result["grams_by_policy"] > 0
    assert result["by_criteria"]["not_documented"] >= result["orders"] // 2


def test_a_failed_audit_leaves_no_output_file(tmp_path: Path) -> None:
    from ivig.cli import main

    details, errors = tmp_path / "details.csv", tmp_path / "errors.csv"
    args = ["audit", "--details", str(details), "--errors", str(errors), "--no-progress"]
    assert main([*args[:1], str(tmp_path / "missing.csv"), *args[1:]]) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text(HAND_WORKED, encoding="utf-8")
    assert main([args[0], str(bad), *args[1:], "--on-error", "stop", "--workers", "1"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]
    assert main([args[0], str(bad), *args[1:], "--workers", "1", "--json"]) == 0
    assert details.read_text(encoding="utf-8").count("\n") == 6
    assert errors.read_text(encoding="utf-8").count("\n") == 2
