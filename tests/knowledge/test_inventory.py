"""Pinned inventory of condition and indication ids: ids are a public contract.

If you added, renamed or removed a condition or an indication on purpose, update
tests/data/indication_ids.txt in the same commit (and say so in CHANGELOG.md).
"""

from __future__ import annotations

from pathlib import Path

from ivig.knowledge import KnowledgeBase

#: The ids issue 2 names as a public contract; they must exist exactly.
CONTRACT_CONDITION_IDS = {
    "gbs", "cidp", "mmn", "mg", "lems", "dermatomyositis", "polymyositis", "imnm", "ibm", "sps",
    "rrms", "progressive_ms", "optic_neuritis", "nmosd", "mogad", "adem", "autoimmune_encephalitis",
    "paraneoplastic", "rasmussen", "oms", "igm_paraproteinaemic_neuropathy", "pandas",
    "sydenham_chorea", "als", "post_polio", "alzheimer", "cerebellar_ataxia",
    "critical_illness_neuropathy", "diabetic_radiculoplexus_neuropathy",
    "autoimmune_autonomic_ganglionopathy", "epilepsy_autoimmune", "crps", "neuropathic_pain",
    "narcolepsy", "susac", "ischaemic_stroke", "hiv_myelopathy",
}  # fmt: skip

PINNED = Path(__file__).resolve().parents[1] / "data" / "indication_ids.txt"


def test_contract_condition_ids_exist(kb: KnowledgeBase) -> None:
    ids = {c["id"] for c in kb.conditions()}
    assert CONTRACT_CONDITION_IDS - ids == set()


def test_indication_inventory_is_pinned(kb: KnowledgeBase) -> None:
    ids = sorted(i["id"] for c in kb.conditions() for i in c["indications"])
    pinned = [line for line in PINNED.read_text().split() if line]
    assert ids == pinned


def test_each_condition_has_an_indication_and_a_source(kb: KnowledgeBase) -> None:
    for cond in kb.conditions():
        assert cond["indications"], cond["id"]
        assert cond["sources"], cond["id"]


def test_seed_statements_are_in_the_data(kb: KnowledgeBase) -> None:
    """seed-000, seed-001: first-line at 2 g/kg in GBS, CIDP and MMN; seed-002: the two splits."""
    for cid in ("gbs", "cidp", "mmn"):
        first = [i for i in kb.condition(cid)["indications"] if i["role"] == "first_line"]
        assert first, cid
        assert any(
            e["system"] == "seed_reviews" and e["level"] == "first_line"
            for i in first
            for e in i["evidence"]
        ), cid
        induction = [r for i in first for r in i.get("regimens", []) if r["phase"] == "induction"]
        assert any(r["dose_g_per_kg"]["max"] == 2 for r in induction), cid
    for cid in ("als", "alzheimer"):
        roles = {i["role"] for i in kb.condition(cid)["indications"]}
        assert roles <= {"not_recommended", "insufficient_evidence"}, cid
        assert not any(i.get("regimens") for i in kb.condition(cid)["indications"]), cid
    gbs = kb.indication("gbs.initial")
    splits = {(r["dose_g_per_kg"]["default"], r["days"]["default"]) for r in gbs["regimens"]}
    assert (2, 5) in splits


def test_search_suggests_nearest_ids(kb: KnowledgeBase) -> None:
    assert "gbs" in kb.search_conditions("guillain_barre")
    assert kb.resolve_condition("Miller Fisher syndrome") == "gbs"
    assert kb.resolve_condition("G61.0") == "gbs"
