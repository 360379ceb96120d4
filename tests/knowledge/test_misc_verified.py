"""Risk factors, monitoring, mechanisms and codes checked against primary sources (issue 19).

Each test names the source key (bibliography file ``sources/verify-misc-2026-12.yaml`` or an
existing primary label entry) and the place in it where the value was read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pytest

from ivig.core.monitoring import build_monitoring_plan
from ivig.core.risk import derive_risk_profile
from ivig.knowledge import KnowledgeBase

NEW_SOURCES = (
    "fda-privigen-slc-2012",
    "keh-2020-jns-pubmed",
    "ivig-mci-bmc-neurosci-2021",
    "emc-privigen-atc",
)


def _item(kb: KnowledgeBase, section: str, item_id: str) -> dict[str, Any]:
    items: list[dict[str, Any]] = list(kb.data[section])  # type: ignore[literal-required]
    return next(i for i in items if i["id"] == item_id)


def _source_ids(record: Mapping[str, object]) -> list[str]:
    sources = cast("list[Any]", record["sources"])
    return [s if isinstance(s, str) else s["id"] for s in sources]


def _has_primary(kb: KnowledgeBase, record: Mapping[str, object]) -> bool:
    return any(kb.source(s)["tier"] == "primary" for s in _source_ids(record))


@pytest.mark.parametrize("source_id", NEW_SOURCES)
def test_new_sources_are_primary_and_cited(kb: KnowledgeBase, source_id: str) -> None:
    """Every entry of verify-misc-2026-12 is primary and backs at least one fact."""
    assert kb.source(source_id)["tier"] == "primary"
    assert source_id in repr(kb.data["monitoring"]) + repr(kb.data["risk_factors"]) + repr(
        kb.data["mechanisms"]
    ) + repr(kb.data["medication_codes"])


def test_haemoglobin_check_follows_a_course_of_2_g_per_kg_or_more(kb: KnowledgeBase) -> None:
    """fda-privigen-slc-2012 (Hemolysis): high doses (e.g. >= 2 g/kg) are a risk factor;
    haemoglobin or haematocrit before and within about 36 to 96 h after the infusion."""
    item = _item(kb, "monitoring", "after-haemoglobin")
    assert item["min_course_g_per_kg"] == 2
    assert item["verified"] is True and "fda-privigen-slc-2012" in _source_ids(item)
    high = {e["id"]: e for e in build_monitoring_plan(kb, [], "privigen", course_g_per_kg=2)}
    assert "36-96 h" in high["after-haemoglobin"]["text"]
    assert high["after-haemoglobin"]["verified"] is True
    below = build_monitoring_plan(kb, [], "privigen", course_g_per_kg=1.9)
    assert "after-haemoglobin" not in {e["id"] for e in below}


def test_haemoglobin_text_no_longer_ranks_blood_groups(kb: KnowledgeBase) -> None:
    """Correction (fda-privigen-slc-2012, Hemolysis): the label names non-O blood group as a risk
    factor; the former text called A, B and AB 'at highest risk', which the label does not say."""
    text = _item(kb, "monitoring", "after-haemoglobin")["text"]
    assert "highest" not in text and "non-O" in text


@pytest.mark.parametrize(("group", "expected"), [("A", True), ("AB", True), ("O", False)])
def test_non_o_blood_group_is_a_verified_haemolysis_risk(
    kb: KnowledgeBase, group: str, expected: bool
) -> None:
    """fda-privigen-slc-2012 (Hemolysis): non-O blood group is a risk factor for haemolysis."""
    patient: Any = {"sex": "female", "age_years": 40, "weight_kg": 60}
    patient["labs"] = {"blood_group": group}
    found = {r["id"]: r for r in derive_risk_profile(kb, patient)}
    assert ("non_o_blood_group" in found) is expected
    rule = kb.risk_factor("non_o_blood_group")["derive"][0]
    assert rule["verified"] is True and _has_primary(kb, rule)


def test_hydration_is_asked_before_administration(kb: KnowledgeBase) -> None:
    """Correction (hz-dm, boxed warning in the highlights: 'Ensure adequate hydration in patients
    before administration'; pv-isi: fluids before administration): the item said 'before and
    during the infusion', and no primary text read says 'during'."""
    item = _item(kb, "monitoring", "hydration")
    assert item["text"] == "Ensure adequate hydration before the infusion"
    assert item["verified"] is True and {"hz-dm", "pv-isi"} <= set(_source_ids(item))


@pytest.mark.parametrize("item_id", ["before-iga", "before-fbc"])
def test_iga_screening_and_blood_count_rest_on_the_keh_abstract(
    kb: KnowledgeBase, item_id: str
) -> None:
    """keh-2020-jns-pubmed (PMID 31677558, abstract Background): pre-treatment IgA screening and
    close monitoring of the full blood count are recommended with IVIg in neurology."""
    item = _item(kb, "monitoring", item_id)
    assert item["verified"] is True and "keh-2020-jns-pubmed" in _source_ids(item)
    assert kb.source("keh-2020-jns-pubmed").get("pmid") == "31677558"


def test_hyperviscosity_claims_only_what_the_boxed_warning_says(kb: KnowledgeBase) -> None:
    """hz-dm and qivigy-fda-label (boxed warning): hyperviscosity is a thrombosis risk factor;
    assess blood viscosity in patients at risk. The list of who is at risk (cryoglobulins,
    triglycerides, monoclonal gammopathy) was read only in secondary copies and stays out of the
    verified description; the before-viscosity item that uses it stays unverified."""
    factor: Any = kb.risk_factor("hyperviscosity")
    assert factor["verified"] is True and "thrombosis" in factor["groups"]
    assert "cryoglobulin" not in factor["description"]
    assert _item(kb, "monitoring", "before-viscosity")["verified"] is False


def test_anti_amyloid_mechanism_has_a_primary_source(kb: KnowledgeBase) -> None:
    """ivig-mci-bmc-neurosci-2021 (Background: naturally occurring antibodies to amyloid-beta and
    tau in IVIg) and seed-000 (abstract: the controlled Alzheimer study was disappointing)."""
    item = _item(kb, "mechanisms", "anti_amyloid_tau")
    assert item["verified"] is True
    assert {"seed-000", "ivig-mci-bmc-neurosci-2021"} <= set(_source_ids(item))


def test_atc_j06ba02_is_verified_and_j06ba01_is_not(kb: KnowledgeBase) -> None:
    """emc-privigen-atc: the emc page of Privigen (IV normal immunoglobulin) gives ATC J06BA02.
    No primary page giving J06BA01 was read, so it stays unverified."""
    codes = {
        c["code"]: c
        for cls in kb.data["medication_codes"]["classes"]
        for c in cls["codes"]
        if c["system"] == "atc"
    }
    assert codes["J06BA02"]["verified"] is True and _has_primary(kb, codes["J06BA02"])
    assert codes["J06BA01"]["verified"] is False
