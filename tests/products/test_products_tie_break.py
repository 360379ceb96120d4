"""Products that rank equal on every criterion are ordered by the tie-breaks of
``ranking_settings.yaml`` (local setting ivig-ranking-settings, unverified), and each says which
one decided: marketed in the jurisdiction, labelled there for a neurological indication, fewest
vials and least waste for the plan's dose, the name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ivig.contract import validate_request
from ivig.core.ranking import rank_products
from ivig.core.recommend import recommend
from ivig.knowledge import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]


def _recommend(kb: KnowledgeBase, example: str, jurisdiction: str | None = None) -> Any:
    data = yaml.safe_load((ROOT / "examples" / example).read_text())
    if jurisdiction is not None:
        data["jurisdiction"] = jurisdiction
    return recommend(kb, validate_request(data))


def _tie_reason(product: Any) -> Any:
    return next(r for r in product["reasons"] if r["rule"] == "tie-break")


def test_the_tie_break_order_is_a_local_unverified_setting(kb: KnowledgeBase) -> None:
    setting = kb.data["ranking_settings"]["tie_break"]
    assert setting["order"] == [
        "marketed_in_jurisdiction",
        "labelled_neuro",
        "fewest_vials",
        "least_waste",
        "name",
    ]
    assert setting["verified"] is False
    source = next(s for s in kb.data["sources"] if s["id"] == "ivig-ranking-settings")
    assert source["kind"] == "local_policy"


def test_us_gbs_puts_neurologically_labelled_products_first_then_the_fewest_vials(
    kb: KnowledgeBase,
) -> None:
    """US GBS (gbs-non-ambulant, 85 kg, actual weight under us-120): 170 g over 5 days, 34 g a
    day, also the regimen maximum, rounded to the nearest whole vial within 5 % (from 32.3 g).
    No US product is labelled for GBS, so every IV product ties on the criteria. Products with a
    US neurological label come first (Asceniv, PI only, used to lead on the alphabet); among
    them Octagam 10 % makes 34 g of 1 x 30 + 2 x 2 g (3 vials a day, 15 in all) and Privigen
    32.5 g of 20 + 10 + 2.5 g (3 a day, 15), both with nothing left, so the name decides;
    Gammagard Liquid needs 30 + 4 x 1 g (5 a day, 25)."""
    rec = _recommend(kb, "gbs-non-ambulant.yaml", "us")
    rows = rec["products"]
    ids = [p["id"] for p in rows]
    assert ids[:3] == ["octagam-10", "privigen", "gammagard-liquid"]
    assert rec["dose"]["product"] == "octagam-10" and rec["dose"]["total_g"] == 170
    assert rec["dose"]["days"][0]["vials"] == [
        {"size_g": 30.0, "count": 1},
        {"size_g": 2.0, "count": 2},
    ]
    assert "Tie-break (name)" in _tie_reason(rows[1])["text"]
    gammagard = _tie_reason(rows[2])
    assert gammagard["text"].startswith("Tie-break (fewest vials for the plan's dose): 25 vial(s)")
    assert "Privigen 10 % (15 vial(s), 0 g left over)" in gammagard["text"]
    assert gammagard["source"] == "ivig-ranking-settings" and gammagard["verified"] is False
    asceniv = next(p for p in rows if p["id"] == "asceniv")
    labelled = [p for p in rows if "US for" in _tie_reason(p)["text"]]
    assert labelled and all(p["rank"] < asceniv["rank"] for p in labelled)


def test_cidp_induction_orders_ties_by_the_fewest_vials(kb: KnowledgeBase) -> None:
    """CIDP induction (cidp-induction, international, not rounded): 2 g/kg x 72 kg = 144 g over
    5 days, 28.8 g a day, covered by whole vials. Gammaplex 10 % opens 20 + 10 g (2 vials a day,
    10 in all, 1.2 g x 5 = 6 g left), as Gammaplex 5 % and Privigen do (the name decides
    between them); Gammagard Liquid, first on the alphabet before, opens 20 + 5 + 4 x 1 g
    (6 a day, 30 in all, 0.2 g x 5 = 1 g left)."""
    rec = _recommend(kb, "cidp-induction.yaml")
    ids = [p["id"] for p in rec["products"]]
    assert ids[:3] == ["gammaplex-10", "gammaplex-5", "privigen"]
    assert rec["dose"]["product"] == "gammaplex-10"
    assert rec["dose"]["days"][0]["vials"] == [
        {"size_g": 20.0, "count": 1},
        {"size_g": 10.0, "count": 1},
    ]
    gammagard = next(p for p in rec["products"] if p["id"] == "gammagard-liquid")
    assert gammagard["rank"] > ids.index("privigen") + 1
    assert "30 vial(s), 1 g left over" in _tie_reason(gammagard)["text"]


def test_us_cidp_ties_on_vials_fall_to_the_name(kb: KnowledgeBase) -> None:
    """US CIDP induction (72 kg, 165 cm: adjusted 62.95 kg under us-120): 125.9 g, 25.18 g a
    day; the nearest whole-vial amount at or below it is 25 g = 20 + 5 g for each US product
    labelled for CIDP (2 vials a day, 10 in all, nothing left), so the name decides and
    Gammagard Liquid stays first. Its label's 'not studied in Ig-naive CIDP' is free text in
    the knowledge base (labelled_uses.other), which no tie-break reads."""
    rec = _recommend(kb, "cidp-induction.yaml", "us")
    rows = rec["products"][:5]
    assert [p["id"] for p in rows] == [
        "gammagard-liquid",
        "gammaked",
        "gamunex-c",
        "panzyga",
        "privigen",
    ]
    assert all("Tie-break (name)" in _tie_reason(p)["text"] for p in rows)
    assert rec["dose"]["total_g"] == 125 and rec["dose"]["given_g_per_kg"] == 1.986


def test_a_product_not_marketed_in_the_jurisdiction_comes_after_one_that_is(
    kb: KnowledgeBase,
) -> None:
    """A local formulary lifts the region filter: for a US patient Octagam 10 % (sold in the US)
    comes before Kiovig (EU, UK, Australia), though both tie on every criterion and Kiovig comes
    first on the alphabet."""
    rows = rank_products(kb, [], formulary=["kiovig", "octagam-10"], labelling_region="us")
    assert [p["id"] for p in rows] == ["octagam-10", "kiovig"]
    assert _tie_reason(rows[1])["text"] == (
        "Tie-break (marketed in the jurisdiction): not marketed in US (marketed in EU, UK, AU); "
        "placed after Octagam 10 % (marketed in US)"
    )


def test_the_text_and_the_order_sheet_say_what_rounding_changed(kb: KnowledgeBase) -> None:
    """US CIDP: 125.9 g (2 g/kg x 62.95 kg) rounded to 5 x 25 g = 125 g: 125 / 62.95 = 1.986
    g/kg given, on the terminal and on the order sheet."""
    import io

    from rich.console import Console

    from ivig.render.html import render_order_sheet
    from ivig.render.terminal import print_recommendation

    rec = _recommend(kb, "cidp-induction.yaml", "us")
    buf = io.StringIO()
    print_recommendation(Console(file=buf, width=200, color_system=None), dict(rec))
    line = "rounded from 125.9 g (2 g/kg) to 125 g: 1.986 g/kg given"
    assert line in buf.getvalue() and line in render_order_sheet(dict(rec))
