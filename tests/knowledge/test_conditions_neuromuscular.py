"""What the sources say about the neuromuscular and peripheral conditions is in the knowledge base.

Each row of the tables below pins one fact with the source id it comes from; the tests iterate
over the rows. Seed ids: seed-000 (Nat Rev Neurol review), seed-001 (Dalakas, JAMA 2004),
seed-002 (Souza et al. 2014, Table 3 and the ANVISA approvals), seed-003 (Jovanovich 2015, MMN).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivig.knowledge import KnowledgeBase
from ivig.knowledge.predicates import evaluate, parse

NEUROMUSCULAR_CONDITIONS = (
    "cidp", "mmn", "mg", "lems", "dermatomyositis", "polymyositis", "imnm", "ibm", "sps",
    "igm_paraproteinaemic_neuropathy", "als", "post_polio", "critical_illness_neuropathy",
    "diabetic_radiculoplexus_neuropathy", "autoimmune_autonomic_ganglionopathy", "crps",
    "neuropathic_pain",
)  # fmt: skip

#: (indication, role, seed_reviews levels (empty: not rated by the seeds), has a regimen, source)
ROLES: list[tuple[str, str, frozenset[str], bool, str]] = [
    ("cidp.initial", "first_line", frozenset({"first_line"}), True, "seed-001"),
    ("cidp.maintenance", "first_line", frozenset({"first_line"}), True, "seed-002"),
    ("cidp.relapse_after_trial_off", "first_line", frozenset(), True, "au-nba-criteria-cidp"),
    ("mmn.induction", "first_line", frozenset({"first_line"}), True, "seed-003"),
    ("mmn.maintenance", "first_line", frozenset({"first_line"}), True, "seed-003"),
    ("mg.crisis", "rescue", frozenset({"rescue"}), True, "seed-000"),
    ("mg.pre_thymectomy", "second_line", frozenset({"second_line"}), True, "seed-001"),
    ("mg.maintenance", "second_line", frozenset({"adjunct"}), True, "seed-002"),
    ("mg.mild_ocular", "not_recommended", frozenset(), False, "on-igum-mg"),
    ("lems.short_term", "second_line", frozenset({"second_line"}), True, "seed-001"),
    ("dermatomyositis.refractory", "second_line", frozenset({"second_line"}), True, "seed-000"),
    ("polymyositis.refractory", "adjunct", frozenset({"adjunct"}), True, "seed-002"),
    ("imnm.refractory", "second_line", frozenset(), True, "aanem-ivig"),
    ("ibm.treatment", "not_recommended", frozenset({"modest_not_significant"}), False,
     "seed-001"),
    ("ibm.dysphagia", "insufficient_evidence", frozenset({"studied"}), False, "seed-002"),
    ("sps.treatment", "second_line", frozenset({"second_line"}), True, "seed-000"),
    ("igm_paraproteinaemic_neuropathy.progressive", "insufficient_evidence",
     frozenset({"modest_not_significant", "first_line"}), False, "seed-001"),
    ("als.treatment", "not_recommended", frozenset({"no_benefit"}), False, "seed-002"),
    ("post_polio.treatment", "not_recommended", frozenset({"studied"}), False, "seed-002"),
    ("critical_illness_neuropathy.treatment", "insufficient_evidence", frozenset({"studied"}),
     False, "seed-002"),
    ("diabetic_radiculoplexus_neuropathy.treatment", "insufficient_evidence",
     frozenset({"studied"}), False, "seed-002"),
    ("autoimmune_autonomic_ganglionopathy.treatment", "insufficient_evidence",
     frozenset({"studied"}), False, "seed-002"),
    ("crps.treatment", "insufficient_evidence", frozenset({"studied"}), False, "seed-002"),
    ("neuropathic_pain.refractory", "not_recommended", frozenset({"studied"}), False, "seed-002"),
]  # fmt: skip

#: (indication, system, level, verified, source id) - ratings side by side.
RATINGS: list[tuple[str, str, str, bool, str]] = [
    ("cidp.initial", "au_nba_category", "1", True, "au-nba-criteria-cidp"),
    ("cidp.initial", "efns_2008", "A", True, "efns-2008"),
    ("cidp.initial", "ean_pns", "strong_for", True, "ean-pns-cidp-2021"),
    ("cidp.initial", "uk_dh_colour", "red", False, "uk-rcp-colour-table"),
    ("cidp.initial", "uk_nhse_commissioning", "routinely_commissioned", False, "uk-nhse-2021"),
    ("cidp.initial", "aanem", "recommended", True, "aanem-ivig"),
    ("cidp.maintenance", "uk_dh_colour", "blue", False, "uk-rcp-colour-table"),
    ("cidp.maintenance", "aan_2012", "A", True, "aan-2012"),
    ("mmn.induction", "ontario_igum", "recommended", True, "on-igum-neurology"),
    ("mmn.induction", "efns_2008", "A", True, "efns-2008"),
    ("mmn.induction", "aan_2012", "B", True, "aan-2012"),
    ("mmn.induction", "au_nba_category", "1", True, "au-nba-criteria-mmn-v3"),
    ("mmn.induction", "efns_pns_mmn", "A", True, "efns-pns-mmn"),
    ("mmn.maintenance", "efns_pns_mmn", "C", True, "efns-pns-mmn"),
    ("mg.crisis", "au_nba_category", "1", True, "au-nba-criteria-mg"),
    ("mg.crisis", "efns_2008", "A", True, "efns-2008"),
    ("mg.crisis", "uk_dh_colour", "blue", False, "uk-rcp-colour-table"),
    ("mg.maintenance", "aanem", "not_recommended", True, "aanem-ivig"),
    ("mg.mild_ocular", "ontario_igum", "do_not_use", True, "on-igum-mg"),
    ("lems.short_term", "aan_2012", "C", True, "aan-2012"),
    ("lems.short_term", "aanem", "recommended", True, "aanem-ivig"),
    ("dermatomyositis.refractory", "efns_2008", "B", True, "efns-2008"),
    ("dermatomyositis.refractory", "au_nba_category", "2a", False, "au-nba-criteria-myositis-v3"),
    ("polymyositis.refractory", "efns_2008", "C", True, "efns-2008"),
    ("polymyositis.refractory", "aanem", "insufficient_evidence", True, "aanem-ivig"),
    ("imnm.refractory", "aanem", "recommended", False, "aanem-ivig"),
    ("ibm.treatment", "aanem", "not_recommended", True, "aanem-ivig"),
    ("ibm.treatment", "efns_2008", "not_recommended", False, "efns-2008"),
    ("ibm.dysphagia", "au_nba_category", "2a", True, "au-nba-criteria-myositis-v2"),
    ("sps.treatment", "au_nba_category", "2a", True, "au-nba-criteria-sps"),
    ("sps.treatment", "efns_2008", "A", True, "efns-2008"),
    ("igm_paraproteinaemic_neuropathy.progressive", "au_nba_category", "2c", True,
     "au-nba-criteria-igm"),
    ("igm_paraproteinaemic_neuropathy.progressive", "ontario_igum", "recommended", True,
     "on-igum-neurology"),
    ("igm_paraproteinaemic_neuropathy.progressive", "aanem", "not_recommended", True,
     "aanem-ivig"),
    ("als.treatment", "ontario_igum", "do_not_use", True, "on-igum-neurology"),
    ("als.treatment", "au_nba_role", "not_supported", False, "au-nba-appendix-a"),
    ("post_polio.treatment", "aanem", "not_recommended", True, "aanem-ivig"),
    ("diabetic_radiculoplexus_neuropathy.treatment", "aanem", "insufficient_evidence", True,
     "aanem-ivig"),
    ("neuropathic_pain.refractory", "ontario_igum", "do_not_use", True, "on-igum-neurology"),
]  # fmt: skip

#: (indication, regimen id, phase, route, g/kg (min, max), days (min, max),
#:  interval weeks (min, max) or None, verified, source id)
RegimenRow = tuple[
    str, str, str, str, tuple[float, float], tuple[int, int], tuple[float, float] | None, bool, str
]
REGIMENS: list[RegimenRow] = [
    ("cidp.initial", "cidp-induction-2g", "induction", "iv", (2, 2), (2, 5), None, True,
     "efns-2008"),
    ("cidp.initial", "cidp-response-assessment", "maintenance", "iv", (1, 1), (1, 2), (3, 3),
     True, "ean-pns-cidp-2021"),
    ("cidp.maintenance", "cidp-maint-ice", "maintenance", "iv", (1, 1), (1, 2), (3, 3), True,
     "nm-ice-2008"),
    ("cidp.maintenance", "cidp-maint-iv-ean", "maintenance", "iv", (0.4, 1), (1, 2), (2, 6), True,
     "ean-pns-cidp-2021"),
    ("cidp.maintenance", "cidp-maint-sc", "maintenance", "sc", (0.2, 0.4), (1, 2), (1, 1), True,
     "hz-hcp"),
    ("mmn.induction", "mmn-induction-2g", "induction", "iv", (2, 2), (2, 5), None, True,
     "efns-pns-mmn"),
    ("mmn.maintenance", "mmn-maint-1g", "maintenance", "iv", (1, 1), (1, 2), (2, 4), True,
     "efns-pns-mmn"),
    ("mmn.maintenance", "mmn-maint-2g", "maintenance", "iv", (2, 2), (2, 5), (4, 8), True,
     "efns-pns-mmn"),
    ("mg.crisis", "mg-crisis-2g", "induction", "iv", (2, 2), (2, 5), None, True, "on-igum-mg"),
    ("mg.pre_thymectomy", "mg-preop-2g", "one_off", "iv", (2, 2), (2, 5), None, True,
     "on-igum-mg"),
    ("mg.maintenance", "mg-maint-au", "maintenance", "iv", (0.4, 1), (1, 2), (4, 6), False,
     "au-nba-criteria-mg"),
    ("lems.short_term", "lems-2g", "induction", "iv", (2, 2), (2, 5), None, True, "seed-001"),
    ("dermatomyositis.refractory", "dm-ontario-monthly", "maintenance", "iv", (2, 2), (2, 2),
     (4, 4), True, "on-igum-iim"),
    ("polymyositis.refractory", "pm-ontario-monthly", "maintenance", "iv", (2, 2), (2, 2), (4, 4),
     True, "on-igum-iim"),
    ("imnm.refractory", "imnm-2g-induction", "induction", "iv", (2, 2), (2, 5), None, False,
     "au-nba-swg-neurology"),
    ("sps.treatment", "sps-2g-induction", "induction", "iv", (2, 2), (2, 5), None, True,
     "seed-001"),
    ("sps.treatment", "sps-maint", "maintenance", "iv", (1, 2), (1, 5), (4, 8), False,
     "au-nba-criteria-sps"),
]  # fmt: skip

#: (indication, findings, expected: all qualifying criteria hold, any exclusion fires, source);
#: None means unknown because a finding the criteria need is missing.
CRITERIA_CASES: list[tuple[str, dict[str, Any], bool | None, bool | None, str]] = [
    ("cidp.initial", {"walking_compromised": False, "significant_disability": True,
                      "diagnosis_by_specialist": True, "meets_diagnostic_criteria": True,
                      "baseline_measure_recorded": True, "anti_mag_antibodies": False,
                      "poems_syndrome": False}, True, False, "au-nba-criteria-cidp"),
    ("cidp.initial", {"walking_compromised": False, "significant_disability": False,
                      "diagnosis_by_specialist": True, "meets_diagnostic_criteria": True,
                      "baseline_measure_recorded": True}, False, None, "au-nba-criteria-cidp"),
    ("cidp.initial", {"anti_mag_antibodies": True}, None, True, "ean-pns-cidp-2021"),
    ("cidp.relapse_after_trial_off", {"relapse_within_6_months_of_trial_off": True}, True, False,
     "au-nba-criteria-cidp"),
    ("mg.crisis", {"myasthenic_crisis": False, "rapidly_progressive": True}, True, False,
     "seed-002"),
    ("mg.pre_thymectomy", {"planned_thymectomy_or_surgery": True,
                           "mg_severity_moderate_to_severe": False,
                           "bulbar_or_respiratory_weakness": False}, False, False,
     "au-nba-criteria-mg"),
    ("mg.pre_thymectomy", {"planned_thymectomy_or_surgery": True,
                           "mg_severity_moderate_to_severe": False,
                           "bulbar_or_respiratory_weakness": True}, True, False,
     "au-nba-criteria-mg"),
    ("mg.maintenance", {"mg_severity_moderate_to_severe": True,
                        "other_treatments_failed_or_intolerable": True,
                        "previous_ig_response": True, "concurrent_fcrn_or_c5_inhibitor": False,
                        "ocular_only": False}, True, False, "au-intragam-artg"),
    ("mg.maintenance", {"mg_severity_moderate_to_severe": True,
                        "other_treatments_failed_or_intolerable": True,
                        "previous_ig_response": True, "concurrent_fcrn_or_c5_inhibitor": True,
                        "ocular_only": False}, True, True, "au-nba-updates-2026"),
    ("mg.mild_ocular", {"ocular_only": True}, True, False, "on-igum-mg"),
    ("lems.short_term", {"significant_disability": True, "symptomatic_treatment_failed": True},
     True, False, "au-intragam-artg"),
    ("dermatomyositis.refractory", {"significant_disability": True,
                                    "immunosuppressants_failed": False, "severe_myositis": True},
     True, False, "on-igum-iim"),
    ("ibm.dysphagia", {"dysphagia": True}, True, False, "au-nba-criteria-myositis-v2"),
    ("sps.treatment", {"significant_disability": True, "symptomatic_treatment_failed": False,
                       "diagnosis_by_specialist": True}, False, False, "au-nba-criteria-sps"),
    ("igm_paraproteinaemic_neuropathy.progressive",
     {"significant_disability": True, "disability_progressive": True,
      "other_treatments_failed_or_intolerable": True, "diagnosis_by_specialist": True}, True, False,
     "au-nba-criteria-igm"),
]  # fmt: skip

#: Search terms that must resolve to a condition (names, synonyms, older names, codes).
SEARCH: list[tuple[str, str]] = [
    ("chronic inflammatory demyelinating polyneuropathy", "cidp"),
    ("G61.81", "cidp"),
    ("Lewis-Sumner syndrome", "cidp"),
    ("IgA paraproteinaemic demyelinating neuropathy", "cidp"),
    ("multifocal motor neuropathy", "mmn"),
    ("G61.82", "mmn"),
    ("myasthenic crisis", "mg"),
    ("G70.01", "mg"),
    ("Lambert-Eaton myasthenic syndrome", "lems"),
    ("juvenile dermatomyositis", "dermatomyositis"),
    ("necrotising autoimmune myopathy", "imnm"),
    ("anti-HMGCR myopathy", "imnm"),
    ("sporadic inclusion body myositis", "ibm"),
    ("stiff-man syndrome", "sps"),
    ("Moersch-Woltman syndrome", "sps"),
    ("anti-MAG neuropathy", "igm_paraproteinaemic_neuropathy"),
    ("motor neurone disease", "als"),
    ("Lou Gehrig disease", "als"),
    ("postpolio syndrome", "post_polio"),
    ("critical illness myopathy", "critical_illness_neuropathy"),
    ("diabetic amyotrophy", "diabetic_radiculoplexus_neuropathy"),
    ("autoimmune autonomic neuropathy", "autoimmune_autonomic_ganglionopathy"),
    ("reflex sympathetic dystrophy", "crps"),
    ("Sudeck's atrophy", "crps"),
    ("small fibre neuropathy", "neuropathic_pain"),
]


def _rating(kb: KnowledgeBase, indication_id: str, system: str) -> dict[str, Any] | None:
    for rating in kb.indication(indication_id)["evidence"]:
        if rating["system"] == system:
            return dict(rating)
    return None


def _source_ids(record: dict[str, Any]) -> set[str]:
    return {ref["id"] for ref in record["sources"]}


def _criterion_value(crit: dict[str, Any], findings: dict[str, Any]) -> bool | None:
    """One criterion: ``when`` or any of ``any_of`` (three-valued)."""
    texts = [crit["when"]] if "when" in crit else list(crit["any_of"])
    values = [evaluate(parse(t), findings) for t in texts]
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def _all_qualifying(kb: KnowledgeBase, indication_id: str, findings: dict[str, Any]) -> bool | None:
    values = [
        _criterion_value(dict(c), findings)
        for c in kb.indication(indication_id).get("qualifying", [])
    ]
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def _any_exclusion(kb: KnowledgeBase, indication_id: str, findings: dict[str, Any]) -> bool | None:
    values = [
        _criterion_value(dict(c), findings)
        for c in kb.indication(indication_id).get("exclusion", [])
    ]
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def test_every_neuromuscular_condition_exists_with_a_source(kb: KnowledgeBase) -> None:
    """Issue 2 names these ids as a public contract; seed-002 Table 3 lists most of them."""
    for cid in NEUROMUSCULAR_CONDITIONS:
        condition = kb.condition(cid)
        assert condition["id"] == cid
        assert condition["indications"] and condition["sources"]
        for indication in condition["indications"]:
            assert indication["id"].startswith(cid + ".")


def test_roles_table_covers_every_indication(kb: KnowledgeBase) -> None:
    """Every indication of these conditions is pinned in ROLES (source ids in each row)."""
    ids = {i["id"] for cid in NEUROMUSCULAR_CONDITIONS for i in kb.condition(cid)["indications"]}
    assert ids == {row[0] for row in ROLES}


@pytest.mark.parametrize("row", ROLES, ids=[r[0] for r in ROLES])
def test_role_seed_level_and_regimen(
    kb: KnowledgeBase, row: tuple[str, str, frozenset[str], bool, str]
) -> None:
    """Role, seed-review levels and presence of a regimen, as the row's source id says.

    seed-000/seed-001: first-line in CIDP and MMN, rescue in worsening MG, second-line in SPS,
    DM, MG and LEMS, modest non-significant benefit in IBM and anti-MAG neuropathy; seed-002:
    no benefit in ALS, the other Table 3 uses studied, IgM MGUS neuropathy first-line (the
    seeds disagree and both levels are kept); seed-003: MMN.
    """
    indication_id, role, seed_levels, has_regimen, source = row
    indication = kb.indication(indication_id)
    assert indication["role"] == role
    levels = {e["level"] for e in indication["evidence"] if e["system"] == "seed_reviews"}
    assert levels == set(seed_levels)
    assert bool(indication.get("regimens")) is has_regimen
    cited = _source_ids(dict(indication)) | {
        ref for r in indication["evidence"] for ref in _source_ids(dict(r))
    }
    cited |= {ref for r in indication.get("regimens", []) for ref in _source_ids(dict(r))}
    assert source in cited


def test_no_regimen_where_the_sources_show_no_benefit(kb: KnowledgeBase) -> None:
    """seed-001 (IBM, anti-MAG), seed-002 (ALS, Table 3 uses): no dose without benefit."""
    for cid in NEUROMUSCULAR_CONDITIONS:
        for indication in kb.condition(cid)["indications"]:
            if indication["role"] in ("not_recommended", "insufficient_evidence"):
                assert not indication.get("regimens"), indication["id"]


@pytest.mark.parametrize("row", RATINGS, ids=[f"{r[0]}-{r[1]}" for r in RATINGS])
def test_ratings_side_by_side(kb: KnowledgeBase, row: tuple[str, str, str, bool, str]) -> None:
    """Each rating system's level with its source; [U] statuses are flagged unverified."""
    indication_id, system, level, verified, source = row
    rating = _rating(kb, indication_id, system)
    assert rating is not None
    assert rating["level"] == level
    assert rating["verified"] is verified
    assert source in _source_ids(rating)


def test_anvisa_approves_mg_dermatomyositis_and_polymyositis_only(kb: KnowledgeBase) -> None:
    """seed-002: ANVISA approved IVIg in five neurological conditions - GBS, MG, juvenile and
    other dermatomyositis, polymyositis; the other uses here are not listed."""
    approved = {"mg", "dermatomyositis", "polymyositis"}
    for cid in NEUROMUSCULAR_CONDITIONS:
        for indication in kb.condition(cid)["indications"]:
            rating = _rating(kb, indication["id"], "br_anvisa")
            if rating is None:
                assert indication["id"] == "mg.mild_ocular"
                continue
            assert rating["level"] == ("approved" if cid in approved else "not_listed")
            assert "seed-002" in _source_ids(rating)


@pytest.mark.parametrize("row", REGIMENS, ids=[r[1] for r in REGIMENS])
def test_regimens(kb: KnowledgeBase, row: RegimenRow) -> None:
    """efns-2008/efns-pns-mmn: 2 g/kg over 2-5 days in CIDP and MMN; ean-pns-cidp-2021:
    0.4-1 g/kg every 2-6 weeks and 1 g/kg every 3 weeks to judge response; nm-ice-2008 and
    on-igum-cidp: 1 g/kg every 3 weeks; hz-hcp: SCIg 0.2-0.4 g/kg weekly; efns-pns-mmn: 1 g/kg
    every 2-4 weeks or 2 g/kg every 4-8 weeks; on-igum-mg: 2 g/kg over 2-5 days; on-igum-iim:
    up to 2 g/kg over 2 days monthly; seed-001: 2 g/kg in LEMS and SPS; [U] ranges unverified."""
    indication_id, regimen_id, phase, route, dose, days, interval, verified, source = row
    regimen = next(r for r in kb.indication(indication_id)["regimens"] if r["id"] == regimen_id)
    assert regimen["phase"] == phase
    assert regimen["route"] == route
    assert (regimen["dose_g_per_kg"]["min"], regimen["dose_g_per_kg"]["max"]) == dose
    assert (regimen["days"]["min"], regimen["days"]["max"]) == days
    if interval is None:
        assert "interval_weeks" not in regimen
    else:
        got = regimen["interval_weeks"]
        assert (got["min"], got["max"]) == interval
    assert regimen["verified"] is verified
    assert source in _source_ids(dict(regimen))


def test_seed_induction_splits_are_cited(kb: KnowledgeBase) -> None:
    """seed-002: 2 g/kg as 0.4 g/kg/day for 5 days or 1 g/kg/day for 2 days; every verified
    2 g/kg induction here spans those splits (2 to 5 days) and never exceeds 2 g/kg."""
    for cid in NEUROMUSCULAR_CONDITIONS:
        for indication in kb.condition(cid)["indications"]:
            for regimen in indication.get("regimens", []):
                if regimen["phase"] != "induction":
                    continue
                assert regimen["dose_g_per_kg"]["max"] == 2, regimen["id"]
                assert regimen["days"]["min"] >= 2, regimen["id"]
                assert regimen["days"]["max"] <= 5, regimen["id"]


def test_cidp_includes_paraproteinaemic_demyelinating_neuropathy(kb: KnowledgeBase) -> None:
    """au-nba-criteria-cidp: CIDP includes IgG/IgA paraproteinaemic demyelinating neuropathy."""
    specific = {s["id"]: s for s in kb.condition("cidp")["specific_conditions"]}
    for sid in (
        "igg_paraproteinaemic_demyelinating_neuropathy",
        "iga_paraproteinaemic_demyelinating_neuropathy",
    ):
        assert "au-nba-criteria-cidp" in _source_ids(dict(specific[sid]))


def test_cidp_maintenance_offers_iv_and_sc(kb: KnowledgeBase) -> None:
    """ean-pns-cidp-2021: IVIg or SCIg for maintenance; switch at the same mean weekly dose."""
    routes = {r["route"] for r in kb.indication("cidp.maintenance")["regimens"]}
    assert routes == {"iv", "sc"}


def test_mg_maintenance_excludes_fcrn_and_c5_inhibitors(kb: KnowledgeBase) -> None:
    """au-nba-updates-2026: MG V3.2 (May 2026) - no Ig maintenance with FcRn or C5 inhibitors."""
    exclusions = kb.indication("mg.maintenance")["exclusion"]
    fired = [c for c in exclusions if c.get("when") == "concurrent_fcrn_or_c5_inhibitor == true"]
    assert len(fired) == 1
    assert fired[0]["verified"] is True
    assert "au-nba-updates-2026" in _source_ids(dict(fired[0]))


@pytest.mark.parametrize(
    "row", CRITERIA_CASES, ids=[f"{r[0]}-{i}" for i, r in enumerate(CRITERIA_CASES)]
)
def test_criteria_evaluate_as_the_sources_say(
    kb: KnowledgeBase, row: tuple[str, dict[str, Any], bool | None, bool | None, str]
) -> None:
    """Qualifying and exclusion criteria over example findings (source id in each row);
    a missing finding gives None (unknown), never a guess."""
    indication_id, findings, qualifies, excluded, source = row
    assert _all_qualifying(kb, indication_id, findings) is qualifies
    assert _any_exclusion(kb, indication_id, findings) is excluded
    indication = kb.indication(indication_id)
    criteria = [*indication.get("qualifying", []), *indication.get("exclusion", [])]
    cited = _source_ids(dict(indication))
    cited |= {ref for c in criteria for ref in _source_ids(dict(c))}
    assert source in cited


@pytest.mark.parametrize(("term", "expected"), SEARCH)
def test_names_synonyms_and_codes_resolve(kb: KnowledgeBase, term: str, expected: str) -> None:
    """Synonyms and older names (seed-002 Table 3: reflex sympathetic dystrophy, Sudeck's
    atrophy; ivig-code-lists for codes) find the condition."""
    assert kb.resolve_condition(term) == expected
    assert kb.condition(term)["id"] == expected


def test_mechanisms_linked_by_the_seeds(kb: KnowledgeBase) -> None:
    """seed-003: complement in MMN; seed-002: FcγRIIB restored in CIDP, C4b binding in
    dermatomyositis, TNF-alpha/IL-1 and complement in polymyositis."""
    assert "complement_inhibition" in kb.condition("mmn")["mechanisms"]
    assert "fc_receptor_modulation" in kb.condition("cidp")["mechanisms"]
    assert "complement_inhibition" in kb.condition("dermatomyositis")["mechanisms"]
    assert {"cytokine_modulation", "complement_inhibition"} <= set(
        kb.condition("polymyositis")["mechanisms"]
    )


def test_unverified_facts_are_flagged_where_the_notes_say_u(kb: KnowledgeBase) -> None:
    """ig-criteria.md tags Australian myopathy and MG maintenance doses [U]: every regimen whose
    note says unconfirmed is unverified, and no verified regimen calls itself unconfirmed."""
    for cid in NEUROMUSCULAR_CONDITIONS:
        for indication in kb.condition(cid)["indications"]:
            for regimen in indication.get("regimens", []):
                if "Unconfirmed" in regimen.get("note", ""):
                    assert regimen["verified"] is False, regimen["id"]


def _criteria_findings(kb: KnowledgeBase) -> list[str]:
    names: set[str] = set()
    for cid in NEUROMUSCULAR_CONDITIONS:
        for indication in kb.condition(cid)["indications"]:
            for crit in [*indication.get("qualifying", []), *indication.get("exclusion", [])]:
                texts = [crit["when"]] if "when" in crit else list(crit["any_of"])
                names |= {parse(t).name for t in texts}
    return sorted(names)


def test_findings_used_are_declared_booleans(kb: KnowledgeBase) -> None:
    """Every finding these criteria test is declared (findings/core.yaml, neuromuscular.yaml)."""
    for name in _criteria_findings(kb):
        assert kb.finding(name)["type"] == "bool", name


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_criteria_never_raise_on_any_findings(kb: KnowledgeBase, data: st.DataObject) -> None:
    """Property: any mix of true, false and missing findings gives True, False or None."""
    names = _criteria_findings(kb)
    findings = {
        name: value
        for name in names
        if (value := data.draw(st.sampled_from([True, False, None]), label=name)) is not None
    }
    for cid in NEUROMUSCULAR_CONDITIONS:
        for indication in kb.condition(cid)["indications"]:
            assert _all_qualifying(kb, indication["id"], findings) in (True, False, None)
            assert _any_exclusion(kb, indication["id"], findings) in (True, False, None)


def test_mmn_maintenance_is_level_c_not_a(kb: KnowledgeBase) -> None:
    """efns-pns-mmn (abstract): "If initial treatment with IVIg is effective, repeated IVIg
    treatment should be considered (level C recommendation)"; level A is first-line IVIg only.
    No rating of maintenance IVIg may show level A."""
    ratings = kb.indication("mmn.maintenance")["evidence"]
    guideline = [r for r in ratings if r["system"] == "efns_pns_mmn"]
    assert [r["level"] for r in guideline] == ["C"]
    assert not [
        r for r in ratings if r["system"] in ("efns_2008", "efns_pns_mmn") and r["level"] == "A"
    ]


def test_superseded_systems_are_never_ranked_first(kb: KnowledgeBase) -> None:
    """au-nba-qrg (2012 role in therapy, superseded by the V3 categories) and aan-2012
    (retired): wherever a current system rates the indication, it comes first, in every
    jurisdiction."""
    from ivig.core.eligibility import evaluate_indication

    status = {s["id"]: s["status"] for s in kb.data["evidence_systems"]}
    for cond in kb.conditions():
        for ind in cond["indications"]:
            for jur in kb.data["jurisdictions"]:
                shown = evaluate_indication(kb, ind["id"], {}, jur["id"])["evidence"]
                if any(status[e["system"]] == "current" for e in shown):
                    assert status[shown[0]["system"]] == "current", (ind["id"], jur["id"])
