"""Product numbers verified against the label itself (issue 19), pinned to the label text.

Each row names the product, the fact, the value read in the label and the source key. The
sources are UK summaries of product characteristics on medicines.org.uk (the electronic
Medicines Compendium), read in their opening sections:

- ``cv-uk`` (Cuvitru, emc 9191), section 3: "pH of 4.6 to 5.1 (measured by dilution at 1% in
  saline)".
- ``hq-uk-smpc`` (HyQvia, emc 9197), section 2: IG 10 % vials of 25, 50, 100, 200, 300 mL
  holding 2.5, 5, 10, 20, 30 g; "The maximum IgA content is 140 micrograms/mL".
- ``gp10-uk-smpc`` (Gammaplex 10 %, emc 11857), section 2: 100 mg/ml; vials of 50, 100 and
  200 ml holding 5, 10 and 20 g; maximum IgA "<20 micrograms/ml" (held as a maximum of 20); up to
  0.005 mmol sodium per ml; section 3: pH 4.9-5.2, osmolality not less than 240 and typically
  280 mOsmol/kg.
- ``cq-uk-smpc`` (Cutaquig, emc 12686), section 2: vials of 6, 10, 12, 20, 24 and 48 ml;
  section 3: osmolality 310 to 380 mosmol/kg, pH 5-5.5.

- ``it5-uk-pil`` (Intratect 50 g/l, emc 576, patient leaflet): the product name gives the
  strength, 50 g/l (5 % w/v).

Two further primary sources are the label holder's and the regulator's own pages:

- ``pz-com-api`` (panzyga.com abbreviated prescribing information), Presentation: "IgA content
  ≤ 0.3 mg/ml".
- ``hz-ema-epar`` and ``hz-ema-chmp-2018`` (EMA): Hizentra is used for PID, SID and CIDP, the
  CIDP indication being maintenance therapy after stabilisation with IVIg.
Label holder's own copies of the national Fachinformation (the Swiss regulator's site,
swissmedicinfo.ch, was searched for but is not in the search corpora), read in sections 2 and 3:

- ``cq-at-fi`` (cutaquig.at) and ``cq-de-fi`` (cutaquig.de), section 2: "Der IgA-Gehalt beträgt
  maximal 600 Mikrogramm/ml" (an older cutaquig.de page reads 300; the current UK SmPC,
  ``cq-uk-smpc``, also reads 600, so Cutaquig is held at ≤600 µg/mL for the UK and the EU).
- ``pz-de-fi`` (panzyga.de), section 2: vials or bottles of 10, 25, 50, 60, 100, 200 and 300 ml
  holding 1, 2.5, 5, 6, 10, 20 and 30 g; maximum IgA 300 micrograms/ml; 69 mg sodium per 100 ml;
  section 3: pH 4.5 to 5.0.
"""

from __future__ import annotations

from typing import Any

import pytest

from ivig.knowledge import KnowledgeBase

#: (product, field, index or None for a single record, expected values, source key)
ROWS: list[tuple[str, str, int | None, dict[str, Any], str]] = [
    ("cuvitru", "ph", 0, {"min": 4.6, "max": 5.1}, "cv-uk"),
    ("hyqvia", "packs", 0, {"sizes_g": [2.5, 5, 10, 20, 30]}, "hq-uk-smpc"),
    ("hyqvia", "iga", 0, {"metric": "max", "iga_ug_per_ml": 140, "region": "uk"}, "hq-uk-smpc"),
    ("gammaplex-10", "concentration", None, {"percent": 10}, "gp10-uk-smpc"),
    ("gammaplex-10", "sodium", 0, {"max": 0.005, "unit": "mmol/mL"}, "gp10-uk-smpc"),
    ("gammaplex-10", "osmolality_mosm_per_kg", 0, {"min": 240, "value": 280}, "gp10-uk-smpc"),
    ("gammaplex-10", "ph", 0, {"min": 4.9, "max": 5.2}, "gp10-uk-smpc"),
    ("gammaplex-10", "iga", 0, {"metric": "max", "iga_ug_per_ml": 20}, "gp10-uk-smpc"),
    ("gammaplex-10", "packs", 0, {"sizes_g": [5, 10, 20], "region": "uk"}, "gp10-uk-smpc"),
    ("cutaquig", "packs", 0, {"sizes_ml": [6, 10, 12, 20, 24, 48]}, "cq-uk-smpc"),
    ("cutaquig", "osmolality_mosm_per_kg", 0, {"min": 310, "max": 380}, "cq-uk-smpc"),
    ("cutaquig", "ph", 0, {"min": 5, "max": 5.5}, "cq-uk-smpc"),
    ("panzyga", "iga", 0, {"metric": "max", "iga_ug_per_ml": 300}, "pz-com-api"),
    ("hizentra", "labelled_uses", 1, {"region": "eu", "neuro": ["cidp"]}, "hz-ema-chmp-2018"),
    ("intratect-5", "concentration", None, {"percent": 5}, "it5-uk-pil"),
    ("cutaquig", "iga", 0, {"metric": "max", "iga_ug_per_ml": 600, "region": "uk"}, "cq-uk-smpc"),
    ("cutaquig", "iga", 1, {"metric": "max", "iga_ug_per_ml": 600, "region": "eu"}, "cq-at-fi"),
    ("cutaquig", "iga", 1, {"metric": "max", "iga_ug_per_ml": 600, "region": "eu"}, "cq-de-fi"),
    ("panzyga", "iga", 0, {"metric": "max", "iga_ug_per_ml": 300}, "pz-de-fi"),
    ("panzyga", "ph", 1, {"min": 4.5, "max": 5.0, "region": "eu"}, "pz-de-fi"),
    ("panzyga", "sodium", 0, {"text": "69 mg per 100 mL (EU label)", "region": "eu"}, "pz-de-fi"),
    (
        "panzyga",
        "packs",
        2,
        {"sizes_g": [1, 2.5, 5, 6, 10, 20, 30], "region": "eu"},
        "pz-de-fi",
    ),
]

#: the bibliography entries added for this verification pass
NEW_SOURCES = (
    "hq-uk-smpc",
    "gp10-uk-smpc",
    "cq-uk-smpc",
    "pz-com-api",
    "hz-ema-epar",
    "hz-ema-chmp-2018",
    "it5-uk-pil",
    "cq-at-fi",
    "cq-de-fi",
    "pz-de-fi",
)

#: where each verifying source lives (the regulator's or the label holder's own site)
SOURCE_HOSTS = {
    "cv-uk": "medicines.org.uk/emc/product/",
    "hq-uk-smpc": "medicines.org.uk/emc/product/",
    "gp10-uk-smpc": "medicines.org.uk/emc/product/",
    "cq-uk-smpc": "medicines.org.uk/emc/product/",
    "pz-com-api": "panzyga.com/",
    "hz-ema-epar": "ema.europa.eu/",
    "hz-ema-chmp-2018": "ema.europa.eu/",
    "it5-uk-pil": "medicines.org.uk/emc/product/",
    "cq-at-fi": "cutaquig.at/",
    "cq-de-fi": "cutaquig.de/",
    "pz-de-fi": "panzyga.de/",
}


def _fact(kb: KnowledgeBase, product_id: str, field: str, index: int | None) -> dict[str, Any]:
    node: Any = kb.product(product_id)[field]  # type: ignore[literal-required]
    fact = node if index is None else node[index]
    assert isinstance(fact, dict)
    return fact


def _source_ids(fact: dict[str, Any]) -> list[str]:
    return [ref if isinstance(ref, str) else ref["id"] for ref in fact["sources"]]


@pytest.mark.parametrize(("product_id", "field", "index", "expected", "source_id"), ROWS)
def test_label_value_is_in_the_knowledge_base_and_verified(
    kb: KnowledgeBase,
    product_id: str,
    field: str,
    index: int | None,
    expected: dict[str, Any],
    source_id: str,
) -> None:
    """The value read in the label (see the module docstring for the section) is the one held,
    the fact cites that label and is verified."""
    fact = _fact(kb, product_id, field, index)
    for key, value in expected.items():
        assert fact[key] == value, (product_id, field, key)
    assert source_id in _source_ids(fact)
    assert fact["verified"] is True


@pytest.mark.parametrize("source_id", sorted({row[4] for row in ROWS}))
def test_cited_labels_are_primary_regulator_pages(kb: KnowledgeBase, source_id: str) -> None:
    """Every source that verifies a row is primary and hosted by the regulator or label holder."""
    source = next(s for s in kb.data["sources"] if s["id"] == source_id)
    assert source["tier"] == "primary"
    assert SOURCE_HOSTS[source_id] in source.get("url", "")


def test_new_sources_are_all_used(kb: KnowledgeBase) -> None:
    """No bibliography entry of this pass is left uncited by a product fact."""
    cited = {
        ref if isinstance(ref, str) else ref["id"]
        for product in kb.data["products"]
        for value in product.values()
        for fact in (value if isinstance(value, list) else [value])
        if isinstance(fact, dict) and "sources" in fact
        for ref in fact["sources"]
    }
    assert set(NEW_SOURCES) <= cited
