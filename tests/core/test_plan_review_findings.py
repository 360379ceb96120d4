"""A clinical pharmacist's review of the plan's renderings (issue: plan review 2).

An IV plan shows no reason about the SC route and an SC plan none about the IV route; the
terminal report and the order sheet show every monitoring item, grouped by the plan's sections;
the plan's "unverified" list names every unverified knowledge item the plan used, and the order
sheet lists the same; no line is printed twice.
"""

from __future__ import annotations

import copy
import html
import io
import re
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from ivig.app.recommend import recommend
from ivig.knowledge import KnowledgeBase
from ivig.render.fmt import MONITORING_HEADINGS
from ivig.render.html import render_order_sheet
from ivig.render.terminal import print_recommendation

ROOT = Path(__file__).resolve().parents[2]


def _example(name: str, *, patient: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(yaml.safe_load((ROOT / "examples" / name).read_text()))
    data["patient"].update(patient or {})
    data.update(top)
    return data


def _terminal(rec: Any) -> str:
    buf = io.StringIO()
    print_recommendation(Console(file=buf, width=400, color_system=None), dict(rec))
    return buf.getvalue()


def _sheet_text(rec: Any) -> str:
    page = render_order_sheet(dict(rec))
    page = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


# -- route-specific ranking reasons ------------------------------------------------------------


def test_an_iv_plan_gives_no_reason_about_the_sc_route(kb: KnowledgeBase) -> None:
    """Thrombosis history fires the SC-route preference (ammann, guo); on an IV plan the products
    are given IV, so no product gets it as a reason or a score."""
    rec = recommend(
        kb, _example("cidp-induction.yaml", patient={"risk_factors": ["thrombosis_history"]})
    )
    assert rec["dose"] is not None and rec["dose"]["route"] == "iv"
    both = [p for p in rec["products"] if set(p["routes"]) == {"iv", "sc"}]
    assert both, "the catalogue has products given both ways (Gamunex-C, Gammagard Liquid)"
    for product in rec["products"]:
        rules = [r["rule"] for r in product["reasons"]]
        assert "thrombosis-sc-route" not in rules, product["id"]
        assert not any("Subcutaneous" in r["text"] or "SC rates" in r["text"]
                       for r in product["reasons"]), product["id"]  # fmt: skip
    assert "Subcutaneous route gives smaller IgG peaks" not in _terminal(rec)


def test_an_sc_plan_keeps_the_sc_route_reason_and_no_iv_rate_reason(kb: KnowledgeBase) -> None:
    rec = recommend(
        kb,
        _example(
            "cidp-maintenance.yaml", patient={"risk_factors": ["thrombosis_history"]}, route="sc"
        ),
    )
    assert rec["dose"] is not None and rec["dose"]["route"] == "sc"
    hizentra = next(p for p in rec["products"] if p["id"] == "hizentra")
    assert "thrombosis-sc-route" in [r["rule"] for r in hizentra["reasons"]]
    for product in rec["products"]:
        assert not any("IV rates" in r["text"] for r in product["reasons"]), product["id"]


# -- monitoring: every item, grouped -----------------------------------------------------------


def test_the_terminal_report_shows_every_monitoring_item_under_its_section(
    kb: KnowledgeBase,
) -> None:
    """The GBS plan has 21 monitoring items (10 actions, 11 adverse effects to watch for); the
    report used to show the first 12 actions and none of the adverse effects."""
    rec = recommend(kb, _example("gbs-non-ambulant.yaml"))
    assert len(rec["monitoring"]) > 12
    text = _terminal(rec)
    assert f"Monitoring ({len(rec['monitoring'])} items)" in text
    for item in rec["monitoring"]:
        assert item["text"] in text, item["id"]
    positions = [text.index(MONITORING_HEADINGS[p]) for p in ("before", "during", "after", "risks")]
    assert positions == sorted(positions)
    before = text.index(MONITORING_HEADINGS["before"])
    during = text.index(MONITORING_HEADINGS["during"])
    renal = next(m for m in rec["monitoring"] if m["id"] == "before-renal")
    assert before < text.index(renal["text"]) < during


def test_the_order_sheet_shows_every_monitoring_action_and_every_effect_to_watch_for(
    kb: KnowledgeBase,
) -> None:
    rec = recommend(kb, _example("gbs-non-ambulant.yaml"))
    text = _sheet_text(rec)
    for item in rec["monitoring"]:
        shown = item["text"].split(" (", 1)[0] if item["phase"] == "risks" else item["text"]
        assert shown in text, item["id"]
    assert "Before the infusion:" in text and "After the infusion:" in text
    assert "Watch for:" in text


# -- the unverified list -------------------------------------------------------------------------


def _record(kb: KnowledgeBase, product_id: str, record_id: str) -> dict[str, Any]:
    product = kb.product(product_id)
    records = [*product.get("iv_rates", []), *product.get("sc_rates", [])]
    return dict(next(r for r in records if r["id"] == record_id))


def test_the_gbs_plan_lists_every_unverified_fact_it_used(kb: KnowledgeBase) -> None:
    """GBS, 85 kg, Australia: Gamunex-C's ITP rate record (unverified: the 30-minute first step is
    in secondary copies only), the engine's doubling step rule and 30-minute default interval, the
    2.5 g pack (gx-hl only) the day's vials use, the derived immobility risk and the unverified
    monitoring items - each was used and each is listed by its id."""
    rec = recommend(kb, _example("gbs-non-ambulant.yaml"))
    assert rec["infusion"] is not None and rec["dose"] is not None
    infusion, unverified = rec["infusion"], rec["unverified"]
    assert infusion["rate_record"] == "gamunex-c-us-pi-itp"
    assert _record(kb, "gamunex-c", "gamunex-c-us-pi-itp")["verified"] is False
    rules = kb.data["schedule_rules"]
    assert rules["max_step_ratio"]["verified"] is False
    assert rules["default_step_interval_min"]["verified"] is False
    assert 2.5 in {v["size_g"] for d in rec["dose"]["days"] for v in d.get("vials", [])}
    expected = [
        "rate record gamunex-c-us-pi-itp of gamunex-c (first rate, steps, maximum 8 mg/kg/min)",
        "schedule setting max_step_ratio (2x)",
        "schedule setting default_step_interval_min (30 min)",
        "pack size 2.5 g of gamunex-c",
        "risk factor immobility (findings.able_to_walk_unaided is False)",
        "ranking reason labelled-indication for gamunex-c: Labelled for gbs in AU",
        "monitoring before-renal",
        "monitoring during-vitals",
    ]
    for item in expected:
        assert item in unverified
    for entry in rec["monitoring"]:
        assert (f"monitoring {entry['id']}" in unverified) is (not entry["verified"])
    # verified facts are not listed: the concentration and the at-risk ceiling of 3.3 mg/kg/min
    assert kb.product("gamunex-c")["concentration"]["verified"] is True
    assert not any(u.startswith(("concentration", "at-risk ceiling")) for u in unverified)


def test_the_cidp_induction_plan_lists_the_step_rule_and_the_monitoring_it_used(
    kb: KnowledgeBase,
) -> None:
    # Gammagard Liquid (ranked first before the tie-breaks) has no label steps: the doubling
    # schedule and its step-ratio setting are used
    rec = recommend(kb, {**_example("cidp-induction.yaml"), "product": "gammagard-liquid"})
    infusion = rec["infusion"]
    assert infusion is not None and infusion["titration"] is not None
    assert infusion["titration"]["method"] == "doubling"
    record = _record(kb, infusion["product"], infusion["rate_record"])
    listed = any(u.startswith(f"rate record {record['id']} ") for u in rec["unverified"])
    assert listed is (not record["verified"])
    assert "schedule setting max_step_ratio (2x)" in rec["unverified"]
    assert "monitoring before-renal" in rec["unverified"]


def test_the_order_sheet_lists_the_same_unverified_facts(kb: KnowledgeBase) -> None:
    for name in ("gbs-non-ambulant.yaml", "cidp-induction.yaml"):
        rec = recommend(kb, _example(name))
        text = _sheet_text(rec)
        assert f"Not yet confirmed in a source ({len(rec['unverified'])})" in text
        for item in rec["unverified"]:
            assert item in text, item


# -- no line twice -------------------------------------------------------------------------------


def test_a_hizentra_first_infusion_plan_shows_the_first_infusion_watch_once(
    kb: KnowledgeBase,
) -> None:
    """The Hizentra label's 'monitor the whole first infusion and 1 h after ...' is the beginning
    of the class item during-first-infusion: shown once, citing the label too (hz-ci)."""
    rec = recommend(
        kb, _example("cidp-maintenance.yaml", patient={"first_infusion": True}, route="sc")
    )
    assert rec["infusion"] is not None and rec["infusion"]["product"] == "hizentra"
    texts = [m["text"] for m in rec["monitoring"]]
    assert len(texts) == len(set(texts))
    watch = [t for t in texts if t.startswith("Monitor the whole first infusion")]
    assert len(watch) == 1
    item = next(m for m in rec["monitoring"] if m["id"] == "during-first-infusion")
    assert "hz-ci" in item["sources"] and "Hizentra" in item["why"]
    report = _terminal(rec)
    assert report.count("Monitor the whole first infusion") == 1


def test_a_provisional_plan_states_what_to_confirm_once(kb: KnowledgeBase) -> None:
    rec = recommend(kb, _example("iga-deficient.yaml"))
    assert rec["plan_status"] == "provisional"
    report = _terminal(rec)
    first = rec["to_confirm"][0]
    assert report.count(first) == 1


def test_no_example_prints_a_line_twice(kb: KnowledgeBase) -> None:
    """Apart from table borders and wrapped table cells, no line of a report repeats."""
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        report = _terminal(recommend(kb, yaml.safe_load(path.read_text())))
        lines = [
            line.strip() for line in report.splitlines()
            if line.strip() and line.strip()[0] not in "┃│┏┡└┗┌├╇━─"
        ]  # fmt: skip
        repeated = {line for line in lines if lines.count(line) > 1}
        assert repeated == set(), path.name


def test_the_report_and_the_order_sheet_name_the_rule_that_chose_the_split(
    kb: KnowledgeBase,
) -> None:
    rec = recommend(
        kb, _example("dermatomyositis-refractory.yaml", patient={"risk_factors": ["heart_failure"]})
    )
    assert rec["dose"] is not None
    two = next(o for o in rec["dose"]["split"]["options"] if o["days"] == 2)
    offered = (
        f"2 days of {two['grams_per_day']:g} g a day (1 g/kg/day, {two['volume_ml_per_day']:g} mL)"
    )
    for text in (_terminal(rec), _sheet_text(rec)):
        assert "Split over 5 day(s): rule split-volume-longest (heart_failure)" in text
        assert offered + ": also possible" in text
