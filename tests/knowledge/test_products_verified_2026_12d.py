"""Product numbers checked in the fourth December 2026 pass (issue 19), pinned to the label text.

The sources (``sources/verify-products-2026-12d.yaml`` and ``gk-isi``, already in the knowledge
base) were read only as far as the search corpus showed them (about the first 2,000 characters):

- ``gk-isi``: Kedrion's GAMMAKED program site, Important Safety Information: "GAMMAKED contains
  trace amounts of IgA (average 46 micrograms/mL)".
- ``oc5-usa-dosing``: Octapharma USA's octagam 5% dosage page: initial 0.5 mg/kg/min, maintenance
  3.33 mg/kg/min. The intermediate steps were not shown, so the rate record stays unverified.
"""

from __future__ import annotations

from typing import Any

from ivig.knowledge import KnowledgeBase
from tests._helpers.label_facts import assert_label_value, source_ids


def test_gammaked_iga_is_the_label_holders_and_verified(kb: KnowledgeBase) -> None:
    """Gammaked's average IgA is 46 µg/mL on the label holder's safety information (gk-isi)."""
    assert_label_value(kb, "gammaked", "iga", {"metric": "average", "iga_ug_per_ml": 46}, "gk-isi")


def test_octagam_5_us_rates_cite_the_us_page_but_stay_unverified(kb: KnowledgeBase) -> None:
    """The US page confirms only the first and last rate, so the stepped record is not verified.

    Source: oc5-usa-dosing (0.5 mg/kg/min = 30 mg/kg/h initial; 3.33 mg/kg/min = 200 mg/kg/h).
    """
    rates: list[dict[str, Any]] = [dict(r) for r in kb.product("octagam-5")["iv_rates"]]
    record = next(r for r in rates if r["id"] == "octagam-5-us-pi")
    assert "oc5-usa-dosing" in source_ids(record)
    assert record["steps"][0]["rate"] == 30
    assert record["max_rate"] == 200
    assert record["verified"] is False


def test_new_source_is_primary_and_on_the_label_holders_site(kb: KnowledgeBase) -> None:
    """oc5-usa-dosing is a primary page on Octapharma USA's own site, not a mirror."""
    source = next(s for s in kb.data["sources"] if s["id"] == "oc5-usa-dosing")
    assert source["tier"] == "primary"
    assert "octagamusa.com/octagam5/" in source["url"]
