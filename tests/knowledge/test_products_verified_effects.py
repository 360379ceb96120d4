"""What the label values verified in issue 19 change in the product ranking.

- ``hq-uk-smpc`` (HyQvia UK SmPC, emc 9197, section 2): "The maximum IgA content is 140
  micrograms/mL". Before it was entered HyQvia had no IgA value and, for a patient with IgA
  deficiency, sorted among the products whose IgA is unknown (after Xembify, ≤160 µg/mL);
  now it sorts by its labelled maximum, between Gammanorm (≤82.5) and Xembify (≤160).
- ``gp10-uk-smpc`` (Gammaplex 10 % UK SmPC, emc 11857, section 2): maximum IgA "<20
  micrograms/ml", held as a maximum of 20 µg/mL; it now sorts after Gammaplex 5 % (≤10).
- ``cq-uk-smpc``, ``cq-at-fi`` and ``cq-de-fi`` (Cutaquig UK SmPC and the label holder's Austrian
  and German Fachinformation, section 2): maximum IgA 600 µg/mL. Cutaquig had no IgA value
  (an older label version read 300); it now sorts by ≤600, after Xembify (≤160), and the older
  300 is not held (the representative IgA is the lowest record, so 300 would understate it).
"""

from __future__ import annotations

from ivig.core.catalogue import iga_representative
from ivig.core.ranking import rank_products
from ivig.knowledge import KnowledgeBase

IGA_DEFICIENT = ["iga_deficiency"]


def test_hyqvia_sorts_by_its_labelled_iga_maximum(kb: KnowledgeBase) -> None:
    """SC stock for an IgA-deficient patient: lowest labelled IgA first (hq-uk-smpc)."""
    stock = ["xembify", "cutaquig", "hyqvia", "gammanorm"]
    ranked = rank_products(kb, IGA_DEFICIENT, formulary=stock)
    assert [r["id"] for r in ranked] == ["gammanorm", "hyqvia", "xembify", "cutaquig"]
    hyqvia = next(r for r in ranked if r["id"] == "hyqvia")
    assert (hyqvia["iga_ug_per_ml"], hyqvia["iga_metric"]) == (140, "max")
    iga_reason = next(x for x in hyqvia["reasons"] if "IgA" in x["text"] and x["sources"])
    assert "hq-uk-smpc" in iga_reason["sources"]
    assert iga_reason["verified"] is True


def test_gammaplex_10_sorts_after_gammaplex_5(kb: KnowledgeBase) -> None:
    """Gammaplex 5 % ≤10 µg/mL (gp5-eu) before Gammaplex 10 % <20 µg/mL (gp10-uk-smpc), both
    before Privigen ≤25 µg/mL (pv-eu-es)."""
    stock = ["privigen", "gammaplex-10", "gammaplex-5"]
    ranked = rank_products(kb, IGA_DEFICIENT, formulary=stock)
    assert [r["id"] for r in ranked] == ["gammaplex-5", "gammaplex-10", "privigen"]
    assert [r["iga_ug_per_ml"] for r in ranked] == [10, 20, 25]


def test_cutaquig_sorts_by_its_current_labelled_iga_maximum(kb: KnowledgeBase) -> None:
    """Cutaquig ≤600 µg/mL (cq-uk-smpc; cq-at-fi, cq-de-fi) is compared by that label value and
    sorts after Xembify ≤160 µg/mL (xb-eu); the older 300 is not held."""
    for region in ("eu", None):
        ranked = rank_products(kb, IGA_DEFICIENT, formulary=["cutaquig", "xembify"], region=region)
        assert [r["id"] for r in ranked] == ["xembify", "cutaquig"]
        cutaquig = next(r for r in ranked if r["id"] == "cutaquig")
        assert (cutaquig["iga_ug_per_ml"], cutaquig["iga_metric"]) == (600, "max")
    held = [r["iga_ug_per_ml"] for r in kb.product("cutaquig")["iga"]]
    assert held == [600, 600]
    uk = iga_representative(kb.product("cutaquig"), "uk")
    assert uk is not None and uk["region"] == "uk" and uk["iga_ug_per_ml"] == 600
