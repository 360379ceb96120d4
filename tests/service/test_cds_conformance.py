"""CDS Hooks conformance (issue 16): what a real EHR sends, through a client written from the
specification, against the ivig service on loopback and the EHR's FHIR server on loopback.

Every defect of issue 16 has a test here (or in test_fhir.py / test_cds_live.py) that failed
before its fix. The corpus (tests/service/data/corpus) has a US record (RxNorm display,
ICD-10-CM under its OID, LOINC with [oz_av] and [in_i], IgA "<5 mg/dL", creatinine mg/dL, eGFR
"mL/min/1.73 m2", birthDate "1964", a RhoGAM order of 2015, artificial respiration) and an
international one (SNOMED CT, ATC, SI units, g/l, urn:uuid references, a partial onset date).
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ivig.app.form_link import unseal
from ivig.contract import validate_request
from ivig.core.recommend import recommend
from ivig.knowledge import KnowledgeBase
from ivig.service.fhir.read import bundle_resources, read_resources
from ivig.service.routers.cds_hooks import MAX_IG_ORDERS
from tests._helpers.cds_client import CdsClient, EhrFhirServer, corpus, dosed, ivig_draft, resources
from tests._helpers.service import EHR_ISS  # the issuer the `live` service trusts

TODAY = dt.date(2026, 11, 22)  # the service's fixed date (tests/service conftest)


def _cards(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


def _add_as_patient(ehr: EhrFhirServer, patient_id: str, bundle: dict[str, Any]) -> None:
    """``bundle`` served by the EHR as the record of a new patient ``patient_id`` (its Patient
    and every subject renamed)."""
    ehr.add(patient_id, bundle)
    for res in ehr.records[patient_id]:
        if res["resourceType"] == "Patient":
            res["id"] = patient_id
        if "subject" in res:
            res["subject"] = {"reference": f"Patient/{patient_id}"}


def _dose_card(cards: list[dict[str, Any]]) -> dict[str, Any]:
    found = [c for c in cards if c["source"]["topic"]["code"] == "dose"]
    assert found, [c["summary"] for c in cards]
    return found[0]


def _us_request(kb: KnowledgeBase) -> dict[str, Any]:
    full_urls: dict[int, str] = {}
    found = read_resources(
        kb,
        bundle_resources(corpus("us_patient"), full_urls=full_urls),
        today=TODAY,
        full_urls=full_urls,
        jurisdiction="au",
    )
    return found


# -- defect 1: the wrong drug dosed as IVIG ------------------------------------------------


@pytest.mark.parametrize(
    "medication",
    [
        {"text": "RhoGAM Ultra-Filtered PLUS (Rho(D) immune globulin) 300 mcg"},
        {
            "coding": [
                {"system": "http://www.whocc.no/atc", "code": "J06BB04"},
            ],
            "text": "Hepatitis B immune globulin (human) 5 mL",
        },
        {
            "coding": [
                {
                    "system": "http://hl7.org/fhir/sid/ndc",
                    "code": "49591-0532-01",
                    "display": "Cytogam (cytomegalovirus immune globulin intravenous)",
                }
            ]
        },
    ],
    ids=["anti-D", "HBIG", "CMV-IG"],
)
def test_specific_immunoglobulins_get_no_ivig_dose_and_no_suggestion(
    cds: CdsClient, medication: dict[str, Any]
) -> None:
    """ATC J06BB (atc-j06bb-rxreasoner) and the openFDA NDC records: never dosed as IVIG."""
    draft = ivig_draft(medicationCodeableConcept=medication)
    for hook in ("order-select", "order-sign"):
        cards = _cards(cds.call(hook, "us1", [draft]))
        assert all(c["source"]["topic"]["code"] == "out-of-scope" for c in cards), cards
        assert cards and all("suggestions" not in c for c in cards)
        assert all(" g " not in c["summary"] for c in cards)


# -- defect 2: any past Ig order made the episode maintenance --------------------------------


def test_a_rhogam_shot_in_2015_leaves_a_new_gbs_episode_induction(cds: CdsClient) -> None:
    """GBS induction 2 g/kg (gbs-2g-5d; efns-2008) although the record has a 2015 RhoGAM."""
    card = _dose_card(_cards(cds.call("order-sign", "us1", [ivig_draft()])))
    assert "maintenance" not in card["summary"]
    assert "phase induction" in card["detail"]


def test_an_earlier_ivig_order_for_the_same_condition_sets_maintenance_and_is_named(
    cds: CdsClient,
) -> None:
    """The international record: a Privigen order for the same CIDP Condition 25 days ago."""
    draft = ivig_draft(
        id="draft-in",
        subject={"reference": "Patient/in1"},
        reasonReference=[{"reference": "urn:uuid:9a7b0000-0000-4000-8000-000000000008"}],
        medicationCodeableConcept={
            "coding": [{"system": "http://www.whocc.no/atc", "code": "J06BA02"}],
            "text": "Normal immunoglobulin IV",
        },
    )
    cards = _cards(cds.call("order-select", "in1", [draft]))
    detail = " ".join(c["detail"] for c in cards)
    assert "phase maintenance: set by the earlier order MedicationRequest/in-prev" in detail


def test_the_order_history_prefetch_is_bounded(cds: CdsClient) -> None:
    for service in cds.discovery()["services"]:
        if service["hook"].startswith("order-"):
            query = service["prefetch"]["igOrders"]
            assert "status=" in query and "_count=" in query
            assert "code=" not in query  # EHR orders carry RxNorm or local codes, rarely ATC


# -- defect 3: comparators dropped ----------------------------------------------------------


def test_iga_below_5_mg_per_dl_is_iga_deficiency(kb: KnowledgeBase) -> None:
    """IgA deficiency is IgA < 0.05 g/L (risk factor iga_deficiency; seed-002): "<5 mg/dL" is
    below it for every value it allows."""
    found = _us_request(kb)
    patient = found["request"]["patient"]
    assert "iga_deficiency" in patient.get("risk_factors", [])
    assert "iga_g_per_l" not in patient.get("labs", {})  # the bound is not a value
    rec = recommend(kb, validate_request(found["request"]))
    assert any(r["id"] == "iga_deficiency" for r in rec["risk_profile"])


def test_an_undecided_comparator_is_said_and_the_value_left_out(kb: KnowledgeBase) -> None:
    bundle = corpus("us_patient")
    iga = next(r for r in resources(bundle) if r.get("id") == "us-iga")
    iga["valueQuantity"]["value"] = 10  # "<10 mg/dL" = "<0.1 g/L": may or may not be < 0.05
    found = read_resources(kb, bundle_resources(bundle), today=TODAY)
    assert "iga_deficiency" not in found["request"]["patient"].get("risk_factors", [])
    assert any("leaves undecided: iga_deficiency" in n for n in found["notes"])


# -- defect 4: no check of the ordered dose at order-sign -----------------------------------


def test_a_tenfold_overdose_at_order_sign_is_critical_naming_both_doses(
    cds: CdsClient, kb: KnowledgeBase
) -> None:
    """Policy: GBS 2 g/kg over 5 days of the AU dosing weight (gbs-2g-5d; au-2026)."""
    policy = recommend(kb, validate_request(_us_request(kb)["request"]))["dose"]
    assert policy is not None
    per_day = round(policy["total_g"] / 5, 2)
    draft = dosed(ivig_draft(), grams_per_day=round(10 * per_day), days=5)
    card = _dose_card(_cards(cds.call("order-sign", "us1", [draft])))
    assert card["indicator"] == "critical"
    assert f"{round(10 * per_day):g} g/day ordered" in card["summary"]
    assert f"policy {per_day:g} g/day" in card["summary"]
    assert "× over" in card["summary"]
    within = dosed(ivig_draft(), grams_per_day=per_day, days=5)
    card = _dose_card(_cards(cds.call("order-sign", "us1", [within])))
    assert "within 10 %" in card["summary"]


def test_two_orders_of_one_course_are_judged_together(cds: CdsClient, kb: KnowledgeBase) -> None:
    """Two drafts signed together, each the whole 2 g/kg course (gbs-2g-5d): each alone was
    "within 10 %", together they are twice the course; a course split into a 2-day and a 3-day
    order makes the course together."""
    policy = recommend(kb, validate_request(_us_request(kb)["request"]))["dose"]
    assert policy is not None
    per_day = round(policy["total_g"] / 5, 2)
    first = dosed(ivig_draft(id="draft-a"), grams_per_day=per_day, days=5)
    second = dosed(ivig_draft(id="draft-b"), grams_per_day=per_day, days=5)
    cards = _cards(cds.call("order-sign", "us1", [first, second]))
    together = [c for c in cards if c["source"]["topic"]["code"] == "orders-together"]
    assert len(together) == 1 and together[0]["indicator"] == "critical"
    assert "2 immunoglobulin orders together" in together[0]["summary"]
    assert "MedicationRequest/draft-a" in together[0]["detail"]
    split = [
        dosed(ivig_draft(id="draft-c"), grams_per_day=per_day, days=2),
        dosed(ivig_draft(id="draft-d"), grams_per_day=per_day, days=3),
    ]
    cards = _cards(cds.call("order-sign", "us1", split))
    (card,) = [c for c in cards if c["source"]["topic"]["code"] == "orders-together"]
    assert card["indicator"] == "info" and "together they make the course" in card["summary"]
    one = _cards(cds.call("order-sign", "us1", [first]))
    assert not [c for c in one if c["source"]["topic"]["code"] == "orders-together"]


def test_the_card_names_the_risks_the_plan_took_into_account(
    cds: CdsClient, ehr: EhrFhirServer
) -> None:
    """An eGFR of 25 makes renal impairment (risk factor renal_impairment, eGFR < 60; unverified
    threshold): it changes the product and the rates, and the card must say so."""
    bundle = corpus("us_patient")
    egfr = next(r for r in resources(bundle) if r.get("id") == "us-egfr")
    egfr["valueQuantity"]["value"] = 25
    _add_as_patient(ehr, "us-renal", bundle)
    draft = ivig_draft(subject={"reference": "Patient/us-renal"})
    card = _dose_card(_cards(cds.call("order-sign", "us-renal", [draft])))
    line = next(x for x in card["detail"].splitlines() if x.startswith("**Risks taken"))
    assert "renal impairment" in line and "25" in line and "unverified" in line


def test_a_course_over_other_days_is_summarised_by_its_total(
    cds: CdsClient, kb: KnowledgeBase
) -> None:
    """The 2 g/kg course given over 2 days instead of the plan's 5 (gbs-2g-5d): the summary said
    "85 g/day ordered, policy 34 g/day: within 10 %"; it compares the courses it judged."""
    policy = recommend(kb, validate_request(_us_request(kb)["request"]))["dose"]
    assert policy is not None and len(policy["days"]) == 5
    total = policy["total_g"]
    draft = dosed(ivig_draft(), grams_per_day=round(total / 2, 2), days=2)
    card = _dose_card(_cards(cds.call("order-sign", "us1", [draft])))
    assert f"{total / 2 * 2:g} g over 2 d ordered, policy {total:g} g over 5 d" in card["summary"]
    assert "within 10 %" in card["summary"]
    assert "g/day ordered" not in card["summary"]


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_an_order_whose_medication_is_a_draft_entry_of_its_own_is_checked(
    cds: CdsClient, kb: KnowledgeBase, hook: str
) -> None:
    """An EHR sends the selected order and the Medication it references (by urn:uuid) as two
    draftOrders entries, and selects only the order: the Medication must still be read (on
    order-select the tenfold order had no card at all)."""
    policy = recommend(kb, validate_request(_us_request(kb)["request"]))["dose"]
    assert policy is not None
    per_day = round(policy["total_g"] / 5, 2)
    medication = {
        "resourceType": "Medication",
        "code": {"text": "Privigen 10% immune globulin intravenous (human)"},
    }
    draft = dosed(ivig_draft(), grams_per_day=round(10 * per_day), days=5)
    del draft["medicationCodeableConcept"]
    med_url = "urn:uuid:6f1c0000-0000-4000-8000-000000000001"
    draft["medicationReference"] = {"reference": med_url}
    response = cds.call(
        hook,
        "us1",
        [draft, medication],
        draft_urls=["urn:uuid:6f1c0000-0000-4000-8000-000000000002", med_url],
        selections=["MedicationRequest/draft-1"],
    )
    card = _dose_card(_cards(response))
    assert card["indicator"] == "critical"
    assert f"{round(10 * per_day):g} g/day ordered" in card["summary"]


# -- defect 5: stale data used silently ------------------------------------------------------


def test_a_400_day_old_weight_gets_a_warning_naming_its_date(
    cds: CdsClient, ehr: EhrFhirServer
) -> None:
    """Weight older than weight_max_age_days_induction (ivig-cds-defaults, unverified)."""
    bundle = corpus("us_patient")
    weight = next(r for r in resources(bundle) if r.get("id") == "us-w")
    weight["effectiveDateTime"] = "2025-10-18"  # 400 days before 2026-11-22
    _add_as_patient(ehr, "us-old", bundle)
    cards = _cards(
        cds.call("order-select", "us-old", [ivig_draft(subject={"reference": "Patient/us-old"})])
    )
    stale = [c for c in cards if c["source"]["topic"]["code"] == "data-age"]
    assert stale and stale[0]["indicator"] == "warning"
    assert "2025-10-18" in stale[0]["summary"]
    assert "400 days" in stale[0]["detail"]
    assert "2025-10-18" in _dose_card(cards)["detail"]  # every input shown with its date
    assert _dose_card(cards)["indicator"] == "warning"  # dosed on a weight too old: not 'info'
    assert "for an induction dose" in stale[0]["detail"]


# -- defect 6: the update suggestion rewrote the order ----------------------------------------


def test_an_accepted_update_keeps_every_element_except_the_dose(cds: CdsClient) -> None:
    draft = dosed(ivig_draft(), grams_per_day=30, days=5)
    card = _dose_card(_cards(cds.call("order-select", "us1", [draft])))
    action = card["suggestions"][0]["actions"][0]
    assert action["type"] == "update"
    updated = action["resource"]
    changed = {"dosageInstruction", "extension", "note", "supportingInformation", "dispenseRequest"}
    for key, value in draft.items():
        if key not in changed and key != "medicationCodeableConcept":
            assert updated[key] == value, key
    # the draft's bare quantity (5, of what?) cannot be the suggested course's: dropped
    assert updated["dispenseRequest"] == {"numberOfRepeatsAllowed": 0}
    assert updated["note"] == draft["note"]  # the card shows the warnings and disclaimer
    # codings kept, ATC added as an extra coding
    codings = updated["medicationCodeableConcept"]["coding"]
    assert codings[0] == draft["medicationCodeableConcept"]["coding"][0]
    assert {"system": "http://www.whocc.no/atc", "code": "J06BA02"}.items() <= codings[1].items()
    assert draft["note"][0] in updated["note"]
    dosage = updated["dosageInstruction"][0]
    assert dosage["patientInstruction"] == draft["dosageInstruction"][0]["patientInstruction"]
    assert dosage["route"] == draft["dosageInstruction"][0]["route"]


def test_a_draft_without_an_id_gets_no_create_beside_it(cds: CdsClient) -> None:
    draft = ivig_draft()
    del draft["id"]
    cards = _cards(cds.call("order-sign", "us1", [draft]))
    actions = [a for c in cards for s in c.get("suggestions", []) for a in s["actions"]]
    assert not any(a["type"] == "create" for a in actions)
    assert "no id" in _dose_card(cards)["detail"]


# -- defect 7: common shapes got no advice ---------------------------------------------------


def _contained(draft: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(draft)
    concept = out.pop("medicationCodeableConcept")
    out["contained"] = [{"resourceType": "Medication", "id": "med", "code": concept}]
    out["medicationReference"] = {"reference": "#med"}
    return out


def _display_only(draft: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(draft)
    out.pop("medicationCodeableConcept")
    out["medicationReference"] = {
        "reference": "Medication/unknown-42",
        "display": "Gamunex-C 10% immune globulin infusion",
    }
    return out


@pytest.mark.parametrize(
    "shape", [lambda d: d, _contained, _display_only], ids=["rxnorm-only", "contained", "display"]
)
def test_common_medication_shapes_get_a_dose_card(cds: CdsClient, shape: Any) -> None:
    cards = _cards(cds.call("order-select", "us1", [shape(ivig_draft())]))
    assert _dose_card(cards)


def test_us_units_partial_birth_date_and_icd10cm_oid_give_a_dose_not_cannot_check(
    cds: CdsClient,
) -> None:
    """[oz_av] weight, [in_i] height, eGFR "mL/min/1.73 m2", creatinine mg/dL (molar mass
    creatinine-molar-mass), birthDate "1964", G61.0 under urn:oid:2.16.840.1.113883.6.90."""
    cards = _cards(cds.call("order-select", "us1", [ivig_draft()]))
    card = _dose_card(cards)
    assert not [c for c in cards if c["source"]["topic"]["code"] == "cannot-check"]
    assert "weight 75" in card["detail"]  # 2645.55 [oz_av]
    assert "height 165.1 cm" in card["detail"]  # 65 [in_i]
    assert "61 to 62 years" in card["detail"]
    assert "creatinine 79.56" in card["detail"]  # 0.9 mg/dL / 113.12 g/mol


def test_iga_in_g_per_l_lowercase_is_read(kb: KnowledgeBase) -> None:
    full_urls: dict[int, str] = {}
    found = read_resources(
        kb,
        bundle_resources(corpus("intl_patient"), full_urls=full_urls),
        today=TODAY,
        full_urls=full_urls,
    )
    assert found["request"]["patient"]["labs"]["iga_g_per_l"] == pytest.approx(1.9)
    assert found["request"]["condition"] == "cidp"
    assert found["references"]["patient"] == "Patient/in1"


# -- defect 8: findings only from a proprietary code system --------------------------------


def test_artificial_respiration_means_not_walking_unaided(cds: CdsClient) -> None:
    """SNOMED CT 40617009 (gecco-fhir-mapping, unverified) -> able_to_walk_unaided false, so
    GBS 2 g/kg is supported without an urn:ivig finding (gbs-2g-5d)."""
    card = _dose_card(_cards(cds.call("order-sign", "us1", [ivig_draft()])))
    assert "able_to_walk_unaided = False" in card["detail"]
    assert "findings needed" not in card["summary"]


def test_missing_findings_come_with_a_prefilled_link_to_the_web_form(
    cds: CdsClient, live: Any
) -> None:
    draft = ivig_draft(
        id="draft-in",
        subject={"reference": "Patient/in1"},
        reasonReference=[{"reference": "urn:uuid:9a7b0000-0000-4000-8000-000000000008"}],
    )
    cards = _cards(cds.call("order-select", "in1", [draft]))
    links = [link for c in cards for link in c.get("links", [])]
    form = [link for link in links if "/app/request/new?" in link["url"]]
    assert form and form[0]["type"] == "absolute"
    assert form[0]["url"].startswith(live.url)
    # the EHR's values are sealed in the link, never in clear (issue 16)
    query = urlsplit(form[0]["url"]).query
    assert list(parse_qs(query)) == ["prefill"] and "weight_kg" not in query
    fields = dict(unseal(parse_qs(query)["prefill"][0], live.app.state.ivig.form_secret()))
    assert fields["patient.weight_kg"] == "74" and fields["condition"] == "cidp"
    # with the provisional plan (issue 14) the card shows the dose all the same
    card = _dose_card(cards)
    assert card["summary"].startswith("Provisional:")
    assert card["detail"].startswith("**Provisional plan — confirm before authorisation**")


# -- defect 9: ids, references, structure ----------------------------------------------------


def test_discovery_ids_are_unique(cds: CdsClient) -> None:
    ids = [s["id"] for s in cds.discovery()["services"]]
    assert len(ids) == len(set(ids))


def test_prefetch_misses_are_fetched_from_the_ehr(cds: CdsClient, ehr: EhrFhirServer) -> None:
    before = len(ehr.calls)
    patient = next(r for r in ehr.records["us1"] if r["resourceType"] == "Patient")
    _dose_card(
        _cards(cds.call("order-select", "us1", [ivig_draft()], prefetch={"patient": patient}))
    )
    fetched = ehr.calls[before:]
    assert any("Observation" in c and "29463-7" in c for c in fetched)
    assert not any("/Patient/" in c for c in fetched)  # given in the prefetch


def test_fhir_output_resolves_urn_uuid_and_structures_the_cycle(client: Any) -> None:
    """CIDP maintenance: 1 g/kg every 3 weeks (cidp-maint-ice; nm-ice-2008)."""
    bundle = corpus("intl_patient")
    for res in resources(bundle):
        res.pop("id", None) if res["resourceType"] == "Patient" else None
    condition = next(r for r in resources(bundle) if r["resourceType"] == "Condition")
    condition["code"]["coding"].append({"system": "http://snomed.info/sct", "code": "128209004"})
    for name, value in (
        ("previous_ig_response", True),
        ("baseline_measure_recorded", True),
        ("anti_mag_antibodies", False),
    ):
        bundle["entry"].append(
            {
                "fullUrl": f"urn:uuid:9a7b0000-0000-4000-8000-0000000001{len(bundle['entry']):02d}",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "urn:ivig:finding", "code": name}]},
                    "subject": {"reference": "urn:uuid:9a7b0000-0000-4000-8000-000000000002"},
                    "effectiveDateTime": "2026-11-20",
                    "valueBoolean": value,
                },
            }
        )
    response = client.post(
        "/api/fhir/recommend?phase=maintenance",
        json=bundle,
        headers={"Authorization": "Bearer tok-clinician"},
    )
    assert response.status_code == 200, response.text
    out = response.json()
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in out["entry"][:-1] if "fullUrl" in e)
    order = next(
        (
            e["resource"]
            for e in out["entry"]
            if e["resource"]["resourceType"] == "MedicationRequest"
        ),
        None,
    )
    assert order is not None, out
    assert order["subject"]["reference"] == "urn:uuid:9a7b0000-0000-4000-8000-000000000002"
    repeat = order["dosageInstruction"][0]["timing"]["repeat"]
    assert repeat.get("periodUnit") == "wk" or order["dispenseRequest"]["dispenseInterval"]
    assert order["extension"][0]["url"].startswith("http")


def test_the_extension_url_resolves_to_its_definition(client: Any) -> None:
    response = client.get("/api/fhir/StructureDefinition/ivig-knowledge-version")
    assert response.status_code == 200
    definition = response.json()
    assert definition["resourceType"] == "StructureDefinition"
    assert definition["url"].endswith("/api/fhir/StructureDefinition/ivig-knowledge-version")


def test_an_unusable_optional_lab_is_skipped_with_a_note_not_a_failed_card(
    cds: CdsClient, ehr: EhrFhirServer
) -> None:
    bundle = corpus("us_patient")
    egfr = next(r for r in resources(bundle) if r.get("id") == "us-egfr")
    egfr["valueQuantity"].update(unit="ml/minute", code="mL/min")  # not per 1.73 m2
    _add_as_patient(ehr, "us-lab", bundle)
    cards = _cards(
        cds.call("order-sign", "us-lab", [ivig_draft(subject={"reference": "Patient/us-lab"})])
    )
    card = _dose_card(cards)
    assert "egfr_ml_per_min_1_73m2 from Observation/us-egfr skipped" in card["detail"]
    assert not [c for c in cards if c["source"]["topic"]["code"] == "cannot-check"]


def test_a_recent_ivig_order_without_a_reason_raises_a_doubt_on_the_phase(
    kb: KnowledgeBase,
) -> None:
    """Only orders naming the condition set maintenance; a recent one without a reason is a
    doubt the card shows (episode_window_days, ivig-cds-defaults)."""
    bundle = corpus("intl_patient")
    previous = next(r for r in resources(bundle) if r.get("id") == "in-prev")
    del previous["reasonReference"]
    full_urls: dict[int, str] = {}
    found = read_resources(
        kb, bundle_resources(bundle, full_urls=full_urls), today=TODAY, full_urls=full_urls
    )
    assert found["request"]["phase"] == "induction"
    assert any("MedicationRequest/in-prev" in c for c in found["cautions"])


def test_a_missing_expires_in_does_not_fail_a_call(
    live: Any, es_signer: Any, ehr: EhrFhirServer
) -> None:
    """CDS Hooks 2.0 fhirAuthorization: a call whose data can be had is answered."""
    client = CdsClient(live.url, es_signer, EHR_ISS, ehr, expires_in=None)
    assert _dose_card(_cards(client.call("order-sign", "us1", [ivig_draft()])))


# -- attack review, December 2026: a dose per kg, 10^400 days, hundreds of drafts ----------


def _gbs_policy(kb: KnowledgeBase) -> dict[str, Any]:
    bundle = corpus("us_patient")
    found = read_resources(
        kb,
        [e["resource"] for e in bundle["entry"]],
        today=TODAY,
        patient_id="us1",
        order=ivig_draft(),
        jurisdiction="au",
    )
    dose = recommend(kb, validate_request(found["request"]))["dose"]
    assert dose is not None
    return dict(dose)


def _per_kg(draft: dict[str, Any], g_per_kg: float, days: int) -> dict[str, Any]:
    out = dosed(draft, grams_per_day=1, days=days)
    out["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] = {
        "value": g_per_kg, "unit": "g/kg", "system": "http://unitsofmeasure.org", "code": "g/kg",
    }  # fmt: skip
    return out


def test_a_dose_per_kg_is_checked_on_the_plans_dosing_weight(
    cds: CdsClient, kb: KnowledgeBase
) -> None:
    """20 g/kg a day for 5 days is ten times the 2 g/kg course (gbs-2g-5d): it was "no dose
    to compare" (info); read on the plan's dosing weight it is critical."""
    cards = _cards(cds.call("order-sign", "us1", [_per_kg(ivig_draft(), 4, 5)]))
    dose_card = next(c for c in cards if c["source"]["topic"]["code"] == "dose")
    assert dose_card["indicator"] == "critical"
    weight = _gbs_policy(kb)["dosing_weight_kg"]
    assert f"dosing weight of {weight:g} kg" in dose_card["detail"]
    fine = _cards(cds.call("order-sign", "us1", [_per_kg(ivig_draft(), 0.4, 5)]))
    assert (
        next(c for c in fine if c["source"]["topic"]["code"] == "dose")["indicator"] != "critical"
    )


def test_a_course_of_more_days_than_a_year_is_a_card_not_a_500(cds: CdsClient) -> None:
    draft = dosed(ivig_draft(), grams_per_day=30, days=5)
    draft["dosageInstruction"][0]["timing"]["repeat"]["count"] = 10**400
    cards = _cards(cds.call("order-sign", "us1", [draft]))
    text = " ".join(c["summary"] + c.get("detail", "") for c in cards)
    assert "timing.repeat.count" in text and "1 to 366" in text


def test_hundreds_of_copies_of_a_draft_check_only_the_first_few(cds: CdsClient) -> None:
    """250 copies of one order blocked the worker for seconds (each read every draft)."""
    base = dosed(ivig_draft(), grams_per_day=30, days=5)
    drafts = []
    for n in range(40):
        copy_n = copy.deepcopy(base)
        copy_n["id"] = f"draft-{n}"
        drafts.append(copy_n)
    cards = _cards(cds.call("order-sign", "us1", drafts))
    dose_cards = [c for c in cards if c["source"]["topic"]["code"] == "dose"]
    assert len(dose_cards) <= MAX_IG_ORDERS
    note = [c for c in cards if "not checked" in c["summary"]]
    assert note and f"{40 - MAX_IG_ORDERS} more immunoglobulin order(s)" in note[0]["summary"]
