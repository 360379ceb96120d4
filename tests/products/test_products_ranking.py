"""Product ranking: the issue's done-when cases, every product x profiles, properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivig.core.ranking import STATUSES, rank_products
from ivig.errors import InputError, UnknownIdError
from ivig.knowledge import KnowledgeBase, load_knowledge

_KB = load_knowledge()
RISK_IDS = [r["id"] for r in _KB.data["risk_factors"]]
PRODUCT_IDS = [p["id"] for p in _KB.data["products"]]
#: reasons that state an absence in the knowledge base ("not labelled", "no rate data"): no source
ABSENCE_FACTS = {"labelled-indication", "supply", "rate-data", "risk-excipients"}
PROLINE = [
    p["id"] for p in _KB.data["products"] if any(e["name"] == "proline" for e in p["excipients"])
]


def test_hyperprolinaemia_excludes_every_proline_product(kb: KnowledgeBase) -> None:
    """Proline-stabilised products are contraindicated in hyperprolinaemia (pv-nhs, hz-ci)."""
    ranked = rank_products(kb, ["hyperprolinaemia"], include_discontinued=True)
    by_id = {r["id"]: r for r in ranked}
    assert set(PROLINE) >= {"privigen", "hizentra"}
    for pid in [*PROLINE, "privigen-au"]:
        assert by_id[pid]["status"] == "excluded"
        assert by_id[pid]["reasons"][0]["source"] in {"pv-nhs", "hz-ci"}
    assert ranked[0]["status"] != "excluded"


def test_iga_antibodies_get_lowest_iga_product_first(kb: KnowledgeBase) -> None:
    """Lowest IgA first (rheum, drugsaf); Gammagard S/D <1 µg/mL (gsd-dm)."""
    formulary = ["privigen", "gamunex-c", "octagam-10", "gammagard-sd", "kiovig"]
    ranked = rank_products(kb, ["iga_deficiency", "anti_iga_antibodies"], formulary=formulary)
    assert ranked[0]["id"] == "gammagard-sd"
    values = [r["iga_ug_per_ml"] for r in ranked]
    assert None not in values
    assert values == sorted(v for v in values if v is not None)
    assert any(r["source"] == "gsd-dm" for r in ranked[0]["reasons"])


def test_iga_ordering_in_a_formulary_without_gammagard(kb: KnowledgeBase) -> None:
    ranked = rank_products(
        kb, ["iga_deficiency", "anti_iga_antibodies"], formulary=["octagam-10", "privigen"]
    )
    assert [r["id"] for r in ranked] == ["privigen", "octagam-10"]


def test_heart_failure_never_gets_a_5_percent_product_first(kb: KnowledgeBase) -> None:
    """5 % products give twice the volume per gram (nuf-2, rheum)."""
    ranked = rank_products(kb, ["heart_failure"])
    assert ranked[0]["concentration_percent"] is not None
    assert ranked[0]["concentration_percent"] >= 10
    five = [r for r in ranked if r["concentration_percent"] == 5]
    assert five and all(r["status"] in ("caution", "excluded") for r in five)


def test_renal_impairment_puts_no_sucrose_product_above_caution(kb: KnowledgeBase) -> None:
    """Renal failure is more common with sucrose products (pv-box, cm-dose)."""
    ranked = rank_products(kb, ["renal_impairment"], include_discontinued=True)
    sucrose = [
        r for r in ranked if any(e["name"] == "sucrose" for e in kb.product(r["id"])["excipients"])
    ]
    assert {r["id"] for r in sucrose} >= {"carimune-nf", "vigam", "sandoglobulin"}
    for row in sucrose:
        assert row["status"] in ("caution", "excluded")
        assert any(reason["rule"] == "renal-sucrose" for reason in row["reasons"])


def test_hfi_excludes_sorbitol_products(kb: KnowledgeBase) -> None:
    ranked = {r["id"]: r for r in rank_products(kb, ["hereditary_fructose_intolerance"])}
    for pid in ("flebogamma-dif-5", "flebogamma-dif-10", "gammaplex-5"):
        assert ranked[pid]["status"] == "excluded"


def test_corn_allergy_excludes_octagam(kb: KnowledgeBase) -> None:
    ranked = {r["id"]: r for r in rank_products(kb, ["corn_allergy"])}
    assert ranked["octagam-5"]["status"] == "excluded"
    assert ranked["octagam-10"]["status"] == "excluded"
    assert ranked["cutaquig"]["status"] == "caution"
    assert ranked["cutaquig"]["unverified"] is True


def test_diabetes_cautions_maltose_and_glucose(kb: KnowledgeBase) -> None:
    ranked = {r["id"]: r for r in rank_products(kb, ["diabetes"])}
    for pid in ("octagam-10", "gammagard-sd", "cutaquig"):
        assert ranked[pid]["status"] == "caution"


def test_sc_preference_needs_a_labelled_indication(kb: KnowledgeBase) -> None:
    ranked = {r["id"]: r for r in rank_products(kb, ["thrombosis_risk"], indication="cidp")}
    assert ranked["hizentra"]["status"] == "preferred"
    assert ranked["cuvitru"]["status"] == "acceptable"


def test_formulary_region_and_route_filter(kb: KnowledgeBase) -> None:
    assert {r["id"] for r in rank_products(kb, [], region="au", route="sc")} <= {
        p["id"] for p in kb.data["products"] if "au" in p["regions"] and "sc" in p["routes"]
    }
    assert [r["id"] for r in rank_products(kb, [], formulary=["kiovig"])] == ["kiovig"]
    with pytest.raises(UnknownIdError):
        rank_products(kb, [], formulary=["no-such-product"])
    with pytest.raises(InputError, match="route"):
        rank_products(kb, [], route="oral")
    with pytest.raises(UnknownIdError):
        rank_products(kb, ["not_a_risk"])


def test_discontinued_left_out_unless_asked(kb: KnowledgeBase) -> None:
    assert "carimune-nf" not in {r["id"] for r in rank_products(kb, [])}
    assert "carimune-nf" in {r["id"] for r in rank_products(kb, [], include_discontinued=True)}


@pytest.mark.parametrize("pid", PRODUCT_IDS)
@pytest.mark.parametrize(
    "risks",
    [
        [],
        ["hyperprolinaemia"],
        ["iga_deficiency", "anti_iga_antibodies"],
        ["heart_failure"],
        ["renal_impairment", "diabetes"],
        RISK_IDS,
    ],
    ids=lambda r: "+".join(r)[:40] or "none",
)
def test_every_product_is_ranked_under_every_profile(
    kb: KnowledgeBase, pid: str, risks: list[str]
) -> None:
    ranked = rank_products(kb, risks, formulary=[pid])
    assert len(ranked) == 1
    assert ranked[0]["status"] in STATUSES
    assert ranked[0]["reasons"], "every product line shows at least one reason"
    for reason in ranked[0]["reasons"]:
        if reason["source"] or reason["rule"] not in ABSENCE_FACTS:
            assert kb.source(reason["source"])


@settings(max_examples=100, deadline=None)
@given(risks=st.lists(st.sampled_from(RISK_IDS), max_size=6, unique=True))
def test_ranking_properties(risks: list[str]) -> None:
    """Deterministic; an excluded product is never preferred; statuses in order."""
    first = rank_products(_KB, risks, include_discontinued=True)
    again = rank_products(_KB, list(reversed(risks)), include_discontinued=True)
    assert [r["id"] for r in first] == [r["id"] for r in again]
    order = [STATUSES.index(r["status"]) for r in first]
    assert order == sorted(order)
    for row in first:
        if any(reason["rule"] in _exclusions() for reason in row["reasons"]):
            fired = [x for x in row["reasons"] if x["rule"] in _exclusions()]
            if not all(x["text"].startswith("Formulation not fully known") for x in fired):
                assert row["status"] == "excluded"
    assert [r["rank"] for r in first] == list(range(1, len(first) + 1))


def _exclusions() -> set[str]:
    return {r["id"] for r in _KB.data["ranking_rules"] if r["effect"] == "exclude"}
