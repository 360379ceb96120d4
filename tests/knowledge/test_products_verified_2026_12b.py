"""Product numbers verified in the second December 2026 pass (issue 19), pinned to the label text.

The sources (``sources/verify-products-2026-12b.yaml`` and the openFDA records of
``labels-primary-2026b.yaml``) were read only as far as the search corpus showed them:

- openFDA NDC directory (FDA): package rows give volume and strength, so pack size in grams is
  volume x strength. ``gx-fda-ndc`` Gamunex-C 13533-805: 50, 100, 200 mL at 10 g/100mL (5, 10,
  20 g). ``gk-fda-ndc`` Gammaked 76125-900: 10, 100, 200 mL at 10 g/100mL (1, 10, 20 g).
  ``oc5-fda-ndc`` Octagam 5 % 68982-840: 20, 50, 100 mL at 50 mg/mL (1, 2.5, 5 g);
  ``oc5-pfizer-fda-ndc`` 0069-8476: 200 mL at 50 mg/mL (10 g). ``oc10-fda-ndc`` Octagam 10 %
  0069-6550: 50 mL at 100 mg/mL (5 g). ``pz-fda-ndc`` Panzyga 68982-822: 10 and 25 mL at
  100 mg/mL (1, 2.5 g). ``xb-fda-ndc`` Xembify 13533-810: 5, 10, 20 mL at 200 mg/mL (1, 2, 4 g).
  ``cv-fda-ndc`` Cuvitru 0944-2850: 5 and 10 mL vials. ``hz-fda-ndc`` Hizentra 44206-454: 20 mL
  at .2 g/mL (4 g). ``gp5-fda-ndc`` Gammaplex 5 % 64208-8234: 100 and 200 mL at 5 g/100mL (5,
  10 g).
- CIMA (Spanish medicines agency) fichas técnicas: ``oc10-es-ft`` Octagamocta 100 mg/ml
  (Octagam 10 %), section 2 "69 mg de sodio por cada 100 ml", section 3 "El pH del preparado
  líquido es 4,5 – 5,0; la osmolalidad es ≥ 240 mosmol/kg". ``gx-es-ft`` Gamunex 100 mg/ml
  (Gamunex-C in the EU), section 2: vials of 10 and 400 ml hold 1 and 40 g.
"""

from __future__ import annotations

from typing import Any

import pytest

from ivig.core.catalogue import vial_sizes_g
from ivig.knowledge import KnowledgeBase
from tests._helpers.label_facts import assert_label_value

#: (product, field, values the verified fact holds, source key)
ROWS: list[tuple[str, str, dict[str, Any], str]] = [
    ("gamunex-c", "packs", {"sizes_g": [5, 10, 20]}, "gx-fda-ndc"),
    ("gamunex-c", "packs", {"sizes_g": [1, 40]}, "gx-es-ft"),
    ("gammaked", "packs", {"sizes_g": [1, 10, 20]}, "gk-fda-ndc"),
    ("octagam-5", "packs", {"sizes_g": [1, 2.5, 5, 10], "region": "us"}, "oc5-fda-ndc"),
    ("octagam-5", "packs", {"sizes_g": [1, 2.5, 5, 10], "region": "us"}, "oc5-pfizer-fda-ndc"),
    ("octagam-10", "packs", {"sizes_g": [5]}, "oc10-fda-ndc"),
    ("panzyga", "packs", {"sizes_g": [1, 2.5]}, "pz-fda-ndc"),
    ("xembify", "packs", {"sizes_g": [1, 2, 4]}, "xb-fda-ndc"),
    ("cuvitru", "packs", {"sizes_ml": [5, 10], "region": "us"}, "cv-fda-ndc"),
    ("hizentra", "packs", {"sizes_g": [4]}, "hz-fda-ndc"),
    ("gammaplex-5", "packs", {"sizes_g": [5, 10]}, "gp5-fda-ndc"),
    ("octagam-10", "ph", {"min": 4.5, "max": 5.0}, "oc10-es-ft"),
    ("octagam-10", "osmolality_mosm_per_kg", {"min": 240, "region": "eu"}, "oc10-es-ft"),
    ("octagam-10", "sodium", {"value": 0.69, "unit": "mg/mL", "region": "eu"}, "oc10-es-ft"),
]

#: where each verifying source lives (the regulator's own site)
SOURCE_HOSTS = {
    "gx-fda-ndc": "api.fda.gov/drug/ndc.json",
    "gk-fda-ndc": "api.fda.gov/drug/ndc.json",
    "oc5-fda-ndc": "api.fda.gov/drug/ndc.json",
    "oc5-pfizer-fda-ndc": "api.fda.gov/drug/ndc.json",
    "oc10-fda-ndc": "api.fda.gov/drug/ndc.json",
    "pz-fda-ndc": "api.fda.gov/drug/ndc.json",
    "xb-fda-ndc": "api.fda.gov/drug/ndc.json",
    "cv-fda-ndc": "api.fda.gov/drug/ndc.json",
    "hz-fda-ndc": "api.fda.gov/drug/ndc.json",
    "gp5-fda-ndc": "api.fda.gov/drug/ndc.json",
    "oc10-es-ft": "cima.aemps.es/cima/dochtml/ft/71501/",
    "gx-es-ft": "cima.aemps.es/cima/dochtml/ft/82255/",
}

#: vial sizes (g) the dose rounding offers, unchanged by splitting the pack facts
VIAL_SIZES_G: dict[str, list[float]] = {
    "gamunex-c": [1, 2.5, 5, 10, 20, 40],
    "gammaked": [1, 2.5, 5, 10, 20],
    "octagam-10": [2, 5, 6, 10, 20, 30],
    "panzyga": [1, 2.5, 5, 6, 10, 20, 30],
    "xembify": [1, 2, 4, 10],
    "hizentra": [1, 2, 4, 10],
    "gammaplex-5": [2.5, 5, 10, 20],
}


@pytest.mark.parametrize(("product_id", "field", "expected", "source_id"), ROWS)
def test_label_value_is_held_verified_and_cites_the_label(
    kb: KnowledgeBase, product_id: str, field: str, expected: dict[str, Any], source_id: str
) -> None:
    """A fact with the value read in the label exists, cites that label and is verified."""
    assert_label_value(kb, product_id, field, expected, source_id)


@pytest.mark.parametrize("source_id", sorted(SOURCE_HOSTS))
def test_verifying_sources_are_primary_regulator_records(kb: KnowledgeBase, source_id: str) -> None:
    """Every source that verifies a row is primary and hosted by the FDA or the Spanish agency."""
    source = next(s for s in kb.data["sources"] if s["id"] == source_id)
    assert source["tier"] == "primary"
    assert SOURCE_HOSTS[source_id] in source.get("url", "")


@pytest.mark.parametrize(("product_id", "sizes_g"), sorted(VIAL_SIZES_G.items()))
def test_split_pack_facts_keep_the_vial_sizes_offered(
    kb: KnowledgeBase, product_id: str, sizes_g: list[float]
) -> None:
    """Splitting a pack fact into a verified and an unverified part changes no vial size."""
    assert vial_sizes_g(kb.product(product_id)) == [float(s) for s in sizes_g]
