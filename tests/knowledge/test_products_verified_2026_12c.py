"""Product numbers verified in the third December 2026 pass (issue 19), pinned to the label text.

The sources (``sources/verify-products-2026-12c.yaml``) were read only as far as the search
corpus showed them (about the first 2,000 characters of each page):

- ``gsd-uk-emc-smpc``: GAMMAGARD S/D 10 g UK SmPC on the electronic Medicines Compendium,
  section 2: "Maximum immunoglobulin A (IgA) content: not more than 3 microgram per mL in a 5%
  solution" (the UK IgA row of Gammagard S/D, region ``uk``).
- ``fb10-us-dailymed-archive``: archived FLEBOGAMMA DIF US label on DailyMed (Instituto
  Grifols), Highlights title: "Flebogamma 10% DIF ... 10% Liquid Preparation" (the product's
  concentration; a US document, so the fact's note says the EU and AU labels were not seen).
- ``igp-nzbs-tmh``: New Zealand Blood Service Transfusion Medicine Handbook 5.4.10, Intragam P:
  "6 g of human protein ... in each 100 mL", vials of "50 mL (3 g)" (the NZ distributor's
  handbook citing the NZ data sheet; the fact's note says the Australian PI was not seen).
- ``au-bloodservice-scig``: Australian Red Cross Blood Service SCIg page: Evogam "a 16% solution
  in vial sizes 0.8g/5 mL and 3.2g/20 mL"; Hizentra vials of 1 g/5 mL, 2 g/10 mL and 10 g/50 mL.
- ``ascia2023`` (already in the knowledge base, ASCIA IVIg infusion-rate guideline): "Intragam 10
  (CSL Behring) - 10% w/v solution of IgG".
"""

from __future__ import annotations

from typing import Any

import pytest

from ivig.knowledge import KnowledgeBase
from tests._helpers.label_facts import assert_label_value, source_ids

#: (product, field, values the verified fact holds, source key)
LIST_ROWS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "gammagard-sd",
        "iga",
        {"metric": "max", "iga_ug_per_ml": 3, "region": "uk"},
        "gsd-uk-emc-smpc",
    ),
    ("intragam-p", "packs", {"sizes_g": [3]}, "igp-nzbs-tmh"),
    ("evogam", "packs", {"sizes_g": [0.8, 3.2]}, "au-bloodservice-scig"),
    ("hizentra", "packs", {"sizes_g": [1, 2, 10]}, "au-bloodservice-scig"),
]

#: (product, concentration in %, source key)
CONCENTRATION_ROWS: list[tuple[str, float, str]] = [
    ("flebogamma-dif-10", 10, "fb10-us-dailymed-archive"),
    ("intragam-p", 6, "igp-nzbs-tmh"),
    ("evogam", 16, "au-bloodservice-scig"),
    ("intragam-10", 10, "ascia2023"),
]

#: where each verifying source lives (the regulator's own site)
SOURCE_HOSTS = {
    "gsd-uk-emc-smpc": "medicines.org.uk/emc/product/9195/smpc",
    "fb10-us-dailymed-archive": "dailymed.nlm.nih.gov/dailymed/archives/",
    "igp-nzbs-tmh": "nzblood.co.nz/healthcare-professionals/transfusion-medicine/",
    "au-bloodservice-scig": "transfusion.com.au/blood_products/fractionated_plasma/SCIg",
    "ascia2023": "allergy.org.au/hp/papers/",
}


@pytest.mark.parametrize(("product_id", "field", "expected", "source_id"), LIST_ROWS)
def test_label_value_is_held_verified_and_cites_the_label(
    kb: KnowledgeBase, product_id: str, field: str, expected: dict[str, Any], source_id: str
) -> None:
    """A fact with the value read in the label exists, cites that label and is verified."""
    assert_label_value(kb, product_id, field, expected, source_id)


@pytest.mark.parametrize(("product_id", "percent", "source_id"), CONCENTRATION_ROWS)
def test_concentration_is_the_labels_and_verified(
    kb: KnowledgeBase, product_id: str, percent: float, source_id: str
) -> None:
    """The product's concentration is the label's, cites that label and is verified."""
    concentration: dict[str, Any] = dict(kb.product(product_id)["concentration"])
    assert concentration["percent"] == percent
    assert source_id in source_ids(concentration)
    assert concentration["verified"] is True


def test_other_region_sources_are_named_in_the_facts_note(kb: KnowledgeBase) -> None:
    """Intragam P (AU, NZ) rests on the NZ handbook; its concentration note says so.

    Source: igp-nzbs-tmh. The Australian PI was not seen, and the product's regions stay.
    """
    product = kb.product("intragam-p")
    assert set(product["regions"]) == {"au", "nz"}
    note = str(dict(product["concentration"]).get("note", ""))
    assert "New Zealand" in note and "not seen" in note


def test_us_label_used_for_a_multi_region_fact_says_so(kb: KnowledgeBase) -> None:
    """Flebogamma DIF 10 % is sold in the EU, US and AU; its concentration rests on the US label.

    Source: fb10-us-dailymed-archive. The fact's note must say which region's label was read.
    """
    product = kb.product("flebogamma-dif-10")
    assert set(product["regions"]) == {"eu", "us", "au"}
    note = str(dict(product["concentration"]).get("note", ""))
    assert "US label" in note and "not seen" in note


@pytest.mark.parametrize("source_id", sorted(SOURCE_HOSTS))
def test_verifying_sources_are_primary_regulator_records(kb: KnowledgeBase, source_id: str) -> None:
    """Every verifying source is primary and hosted by its publisher, not a mirror."""
    source = next(s for s in kb.data["sources"] if s["id"] == source_id)
    assert source["tier"] == "primary"
    assert SOURCE_HOSTS[source_id] in source.get("url", "")
