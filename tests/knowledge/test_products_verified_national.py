"""Product numbers verified against a national regulator's copy of the EU label (issue 19).

The sources are France's official medicines database (base de données publique des
médicaments, the ANSM's authorised RCP), read in sections 2 and 3 as far as the stored copy
went:

- ``oc10-fr-rcp`` (OCTAGAM 100 mg/ml, updated 04/08/2023), section 2: vials of 20, 50, 60, 100,
  200 and 300 ml holding 2, 5, 6, 10, 20 and 30 g; "La teneur maximale en IgA est de 400
  microgrammes/ml".
- ``gn-fr-rcp`` (GAMMANORM 165 mg/ml, updated 05/03/2021), section 2: 165 mg per ml; vials of 6,
  10, 12, 20, 24 and 48 ml holding 1, 1.65, 2, 3.3, 4 and 8 g; maximum IgA 82.5 micrograms/ml.
- ``cv-fr-rcp`` (CUVITRU 200 mg/ml, updated 08/03/2024), section 2: vials of 5, 10, 20, 40 and
  50 ml holding 1, 2, 4, 8 and 10 g; maximum IgA 280 micrograms/ml; section 3: pH 4.6 to 5.1.
- ``xb-fr-rcp`` (XEMBIFY 200 mg/mL, updated 12/01/2023), section 2: vials of 5, 10, 20 and 50 mL
  holding 1, 2, 4 and 10 g; maximum IgA 160 micrograms/mL.

A French RCP is an EU label, so it verifies ``region: eu`` records only; where the knowledge base
held the value for another region (or without a region, from a UK copy), an EU record was added
beside it rather than the other record being changed.
"""

from __future__ import annotations

from typing import Any

import pytest

from ivig.core.catalogue import iga_representative, vial_sizes_g
from ivig.core.ranking import rank_products
from ivig.knowledge import KnowledgeBase

#: (product, field, expected values of the record, source key); the record is the EU one citing
#: the source (or the single record, for ``concentration``)
ROWS: list[tuple[str, str, dict[str, Any], str]] = [
    ("octagam-10", "iga", {"metric": "max", "iga_ug_per_ml": 400}, "oc10-fr-rcp"),
    ("octagam-10", "packs", {"sizes_g": [2, 5, 6, 10, 20, 30]}, "oc10-fr-rcp"),
    ("gammanorm", "concentration", {"percent": 16.5}, "gn-fr-rcp"),
    ("gammanorm", "iga", {"metric": "max", "iga_ug_per_ml": 82.5}, "gn-fr-rcp"),
    ("gammanorm", "packs", {"sizes_g": [1, 1.65, 2, 3.3, 4, 8]}, "gn-fr-rcp"),
    ("cuvitru", "iga", {"metric": "max", "iga_ug_per_ml": 280}, "cv-fr-rcp"),
    ("cuvitru", "packs", {"sizes_g": [1, 2, 4, 8, 10]}, "cv-fr-rcp"),
    ("cuvitru", "ph", {"min": 4.6, "max": 5.1}, "cv-fr-rcp"),
    ("xembify", "iga", {"metric": "max", "iga_ug_per_ml": 160}, "xb-fr-rcp"),
    ("xembify", "packs", {"sizes_g": [1, 2, 4, 10]}, "xb-fr-rcp"),
]

NEW_SOURCES = ("oc10-fr-rcp", "gn-fr-rcp", "cv-fr-rcp", "xb-fr-rcp")

IGA_DEFICIENT = ["iga_deficiency"]


def _source_ids(fact: dict[str, Any]) -> list[str]:
    return [ref if isinstance(ref, str) else ref["id"] for ref in fact["sources"]]


def _facts_citing(kb: KnowledgeBase, product_id: str, field: str, source_id: str) -> list[Any]:
    node: Any = kb.product(product_id)[field]  # type: ignore[literal-required]
    facts = node if isinstance(node, list) else [node]
    return [f for f in facts if source_id in _source_ids(f)]


@pytest.mark.parametrize(("product_id", "field", "expected", "source_id"), ROWS)
def test_national_label_value_is_held_for_the_eu_and_verified(
    kb: KnowledgeBase,
    product_id: str,
    field: str,
    expected: dict[str, Any],
    source_id: str,
) -> None:
    """Exactly one record cites the French RCP; it holds the value read there, is verified and,
    unless it is a region-free field (concentration, a pH already held for all regions), is
    tagged ``eu``."""
    facts = _facts_citing(kb, product_id, field, source_id)
    assert len(facts) == 1, (product_id, field)
    fact = facts[0]
    for key, value in expected.items():
        assert fact[key] == value, (product_id, field, key)
    assert fact["verified"] is True
    if field in ("iga", "packs"):
        assert fact["region"] == "eu"


@pytest.mark.parametrize("source_id", NEW_SOURCES)
def test_sources_are_primary_pages_of_the_french_medicines_database(
    kb: KnowledgeBase, source_id: str
) -> None:
    """Each new source is primary, a product label, on base-donnees-publique.medicaments.gouv.fr
    and names the RCP (typedoc=R) of one product."""
    source = next(s for s in kb.data["sources"] if s["id"] == source_id)
    assert source["tier"] == "primary"
    assert source["kind"] == "product_label"
    assert "base-donnees-publique.medicaments.gouv.fr/affichageDoc.php?specid=" in source["url"]
    assert source["url"].endswith("&typedoc=R")


def test_other_regions_records_are_left_as_they_were(kb: KnowledgeBase) -> None:
    """The US averages (oc10-dip, cv-desc) and the UK maxima stay, unverified or verified as
    before; only EU records were added (oc10-fr-rcp, cv-fr-rcp)."""
    octagam = {r.get("region"): r for r in kb.product("octagam-10")["iga"]}
    assert (octagam["us"]["metric"], octagam["us"]["iga_ug_per_ml"]) == ("average", 106)
    assert octagam["us"]["verified"] is False
    assert (octagam["uk"]["iga_ug_per_ml"], octagam["eu"]["iga_ug_per_ml"]) == (400, 400)
    cuvitru = {r.get("region"): r for r in kb.product("cuvitru")["iga"]}
    assert (cuvitru["us"]["metric"], cuvitru["us"]["iga_ug_per_ml"]) == ("average", 80)
    assert cuvitru["us"]["verified"] is False
    assert cuvitru["uk"]["iga_ug_per_ml"] == cuvitru["eu"]["iga_ug_per_ml"] == 280


def test_eu_iga_comparison_uses_the_eu_label_maximum(kb: KnowledgeBase) -> None:
    """Before the EU records, an EU comparison fell back to the US averages (Cuvitru 80,
    Octagam 10 % 106 µg/mL, both unverified); it now uses the EU maxima read in the French RCPs
    (cv-fr-rcp 280, oc10-fr-rcp 400), verified."""
    for product_id, value in (("cuvitru", 280), ("octagam-10", 400)):
        record = iga_representative(kb.product(product_id), "eu")
        assert record is not None
        assert (record["region"], record["metric"], record["iga_ug_per_ml"]) == ("eu", "max", value)
        assert record["verified"] is True
    us = iga_representative(kb.product("cuvitru"), "us")
    assert us is not None and (us["metric"], us["iga_ug_per_ml"]) == ("average", 80)


def test_eu_sc_ranking_for_iga_deficiency_follows_the_eu_labels(kb: KnowledgeBase) -> None:
    """EU SC stock for an IgA-deficient patient: Gammanorm ≤82.5 (gn-fr-rcp), Xembify ≤160
    (xb-fr-rcp), Cuvitru ≤280 (cv-fr-rcp). With the US average of 80 Cuvitru sorted first."""
    stock = ["cuvitru", "xembify", "gammanorm"]
    ranked = rank_products(kb, IGA_DEFICIENT, formulary=stock, region="eu")
    assert [r["id"] for r in ranked] == ["gammanorm", "xembify", "cuvitru"]
    assert [r["iga_ug_per_ml"] for r in ranked] == [82.5, 160, 280]
    cuvitru = ranked[-1]
    iga_reason = next(x for x in cuvitru["reasons"] if "IgA" in x["text"] and x["sources"])
    assert "cv-fr-rcp" in iga_reason["sources"]
    assert iga_reason["verified"] is True


def test_eu_vial_sizes_include_the_french_label_packs(kb: KnowledgeBase) -> None:
    """Octagam 10 % in the EU offers the 6 g vial of the French RCP (oc10-fr-rcp); Cuvitru's EU
    packs equal its UK ones (cv-fr-rcp, cv-uk)."""
    assert 6.0 in vial_sizes_g(kb.product("octagam-10"), "eu")
    assert vial_sizes_g(kb.product("cuvitru"), "eu") == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert vial_sizes_g(kb.product("cuvitru"), "uk") == [1.0, 2.0, 4.0, 8.0, 10.0]
