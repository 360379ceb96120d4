"""Which medication an order names, as EHRs write it (EHR integration review, December 2026).

Order texts are copied from what US and international EHRs send: RxNorm-style strings in capitals
with the form abbreviations (IJ SOSY), spaces and brackets where the label has none ("Rho (D)"),
short forms (HBIG, RhIG, "Hep B"), brand names without "immune globulin". A specific
immunoglobulin (ATC J06BB; atc-j06bb-rxreasoner and the openFDA NDC records) must never be dosed
as IVIG, whatever else the order's text or codes say.
"""

from __future__ import annotations

from typing import Any

import pytest

from ivig.knowledge import KnowledgeBase
from ivig.service.fhir.medication import classify_medication, match_product
from tests._helpers.cds_client import CdsClient, ivig_draft

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"

#: specific immunoglobulins as EHRs spell them -> the class that must be recognised
SPECIFIC_SPELLINGS = [
    ("Rho(D) immune globulin 300 MCG Prefilled Syringe [RhoGAM]", "anti-d-ig"),
    ("RHO(D) IMMUNE GLOBULIN (HUMAN) 1500 UNIT/2ML IJ SOSY", "anti-d-ig"),
    ("Rho (D) immune globulin (human) 1500 unit/2 mL IV", "anti-d-ig"),
    ("Rho (D) Immune Globulin (Human) 300 mcg", "anti-d-ig"),
    ("rho (d) immune globulin", "anti-d-ig"),
    ("Rho-D immune globulin", "anti-d-ig"),
    ("Rh\u2080(D) immune globulin", "anti-d-ig"),  # Rh₀(D), subscript zero as on US labels
    ("Rh0(D) Immune Globulin Intravenous", "anti-d-ig"),
    ("Rh immune globulin", "anti-d-ig"),
    ("Rh immunoglobulin 1500 IU", "anti-d-ig"),
    ("RhIG 300 mcg IM", "anti-d-ig"),
    ("anti-D immunoglobulin", "anti-d-ig"),
    ("Anti D (Rh) Immunoglobulin 625 IU", "anti-d-ig"),
    ("RhoGAM Ultra-Filtered PLUS", "anti-d-ig"),
    ("WinRho SDF 1500 IU", "anti-d-ig"),
    ("Rhophylac 1500 IU/2 mL", "anti-d-ig"),
    ("hepatitis B immune globulin 312 UNT/ML Injectable Solution [HyperHEP B]", "hepatitis-b-ig"),
    ("HEPATITIS B IMMUNE GLOBULIN (HUMAN) IM", "hepatitis-b-ig"),
    ("Hep B immune globulin", "hepatitis-b-ig"),
    ("Hep-B immune globulin 5 mL", "hepatitis-b-ig"),
    ("HBIG", "hepatitis-b-ig"),
    ("HBIG 10000 units IV", "hepatitis-b-ig"),
    ("HyperHEP B S/D", "hepatitis-b-ig"),
    ("HepaGam B", "hepatitis-b-ig"),
    ("Nabi-HB", "hepatitis-b-ig"),
    ("Cytomegalovirus immune globulin IV", "cmv-ig"),
    ("CMV immune globulin 150 mg/kg", "cmv-ig"),
    ("CMV-IGIV", "cmv-ig"),
    ("Cytogam 50 mg/mL", "cmv-ig"),
    ("varicella zoster immune globulin", "varicella-zoster-ig"),
    ("VZIG 125 units", "varicella-zoster-ig"),
    ("Varizig 125 IU", "varicella-zoster-ig"),
    ("tetanus immune globulin", "tetanus-ig"),
    ("HyperTET S/D 250 units", "tetanus-ig"),
    ("rabies immune globulin", "rabies-ig"),
    ("HyperRAB 300 IU/mL", "rabies-ig"),
    ("Imogam Rabies-HT", "rabies-ig"),
    ("Kedrab 150 IU/mL", "rabies-ig"),
    ("botulism immune globulin (BabyBIG)", "botulism-antitoxin"),
    ("BabyBIG 50 mg/kg IV", "botulism-antitoxin"),
    ("BIG-IV", "botulism-antitoxin"),
]


def _ids(cases: list[tuple[str, str]]) -> list[str]:
    return [text for text, _ in cases]


@pytest.mark.parametrize(("text", "class_id"), SPECIFIC_SPELLINGS, ids=_ids(SPECIFIC_SPELLINGS))
def test_every_spelling_of_a_specific_immunoglobulin_is_recognised(
    kb: KnowledgeBase, text: str, class_id: str
) -> None:
    for concept in (
        {"text": text},
        {"coding": [{"system": RXNORM, "code": "999999", "display": text}]},
        # the specific word wins over a normal-immunoglobulin ATC code on the same order
        {"coding": [{"system": ATC, "code": "J06BA02"}], "text": text},
    ):
        match = classify_medication(kb, concept)
        assert match is not None, concept
        assert match.kind == "specific_immunoglobulin", (concept, match)
        assert match.class_id == class_id, (concept, match)


@pytest.mark.parametrize(
    ("first", "second", "class_id"),
    [
        ("Rho (D) immune globulin", "Rho(D) immune globulin", "anti-d-ig"),
        ("RHO ( D ) IMMUNE GLOBULIN", "rho(d) immune globulin", "anti-d-ig"),
        ("Rh₀(D) immune globulin", "Rh0 (D) immune globulin", "anti-d-ig"),
        ("Hep-B immune globulin", "hep b immune globulin", "hepatitis-b-ig"),
    ],
)
def test_punctuation_and_spacing_do_not_change_the_match(
    kb: KnowledgeBase, first: str, second: str, class_id: str
) -> None:
    for text in (first, second):
        match = classify_medication(kb, {"text": text})
        assert match is not None and match.class_id == class_id, (text, match)


#: normal-immunoglobulin brands written alone, as order texts and RxNorm brand displays do
BRANDS = [
    "Alyglo", "Asceniv", "Bivigam", "Carimune", "Cutaquig", "Cuvitru", "Evogam", "Flebogamma",
    "Gammagard", "Gammaked", "Gammanorm", "Gammaplex", "Gammar-P", "Gamunex", "Gamunex-C",
    "Hizentra", "HyQvia", "Intragam", "Intratect", "Kiovig", "Octagam", "Panzyga", "Privigen",
    "Qivigy", "Sandoglobulin", "Subcuvia", "Vigam", "Xembify", "Yimmugo",
]  # fmt: skip


@pytest.mark.parametrize("brand", BRANDS)
def test_a_normal_immunoglobulin_brand_alone_is_normal_immunoglobulin(
    kb: KnowledgeBase, brand: str
) -> None:
    for concept in (
        {"text": brand},
        {"text": f"{brand.upper()} 10 % IV SOLN"},
        {"coding": [{"system": RXNORM, "code": "999999", "display": f"{brand} 100 MG/ML"}]},
    ):
        match = classify_medication(kb, concept)
        assert match is not None and match.is_normal, (concept, match)


def test_every_product_of_the_knowledge_base_is_recognised_by_its_brand(kb: KnowledgeBase) -> None:
    """The brand (the name before its strength) of every product is in BRANDS and recognised."""
    for product in kb.data["products"]:
        brand = str(product["name"]).split(" ")[0]
        assert brand in BRANDS, product["id"]


@pytest.mark.parametrize(
    ("text", "products"),
    [
        ("Flebogamma", {"flebogamma-dif-5", "flebogamma-dif-10"}),
        ("Octagam", {"octagam-5", "octagam-10"}),
        ("Gammaplex", {"gammaplex-5", "gammaplex-10"}),
        ("Gammagard", {"gammagard-liquid", "gammagard-sd"}),
    ],
)
def test_a_brand_of_several_products_chooses_none_of_them(
    kb: KnowledgeBase, text: str, products: set[str]
) -> None:
    """The product (strength, sugar, IgA) is never guessed: "Octagam" is 5 % or 10 %."""
    assert match_product(kb, {"text": text}) is None
    match = classify_medication(kb, {"text": text})
    assert match is not None and match.is_normal
    names = {str(kb.product(p)["name"]) for p in products}
    assert set(match.name.split(" or ")) == names


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("Flebogamma 10%", "flebogamma-dif-10"),
        ("Flebogamma DIF 5 %", "flebogamma-dif-5"),
        ("OCTAGAM 10 % IV SOLN", "octagam-10"),
        ("Gammagard Liquid 10%", "gammagard-liquid"),
        ("Gammagard S/D", "gammagard-sd"),
        ("Gamunex-C 10 %", "gamunex-c"),
    ],
)
def test_a_brand_with_its_strength_chooses_the_product(
    kb: KnowledgeBase, text: str, product: str
) -> None:
    assert match_product(kb, {"text": text}) == product


@pytest.mark.parametrize(
    "text",
    [
        "immune globulin human 0.1 mL/kg IM for hepatitis A prophylaxis",
        "Immune globulin (human) intramuscular 2 mL",
        "Gammanorm 165 mg/mL IM",
    ],
)
def test_normal_immunoglobulin_given_intramuscularly_is_out_of_scope(
    kb: KnowledgeBase, text: str
) -> None:
    match = classify_medication(kb, {"text": text})
    assert match is not None
    assert match.kind == "normal_immunoglobulin_intramuscular", match
    assert match.route == "im"


def test_a_text_naming_iv_and_im_is_not_read_as_intramuscular(kb: KnowledgeBase) -> None:
    match = classify_medication(kb, {"text": "Immune globulin IV (not IM) 10 %"})
    assert match is not None and match.kind == "normal_immunoglobulin"


def test_an_rxnorm_code_alone_is_not_recognised_unless_the_site_lists_it(kb: KnowledgeBase) -> None:
    """No RxNorm code of normal immunoglobulin is confirmed in a primary source (research notes,
    labels-and-scores §RxNorm): an order coded only with one is not recognised and the service
    says nothing on it (it cannot tell it from any other drug); ``IVIG_IG_CODES`` makes a
    site's codes count."""
    concept = {"coding": [{"system": RXNORM, "code": "1292383"}]}
    assert classify_medication(kb, concept) is None
    local = classify_medication(kb, concept, [f"{RXNORM}|1292383"])
    assert local is not None and local.is_normal and local.via == "local code 1292383"
    assert classify_medication(kb, concept, ["1292383"]) is not None


# -- through the CDS service, as the EHR calls it -------------------------------------------


def _cards(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


@pytest.mark.parametrize(
    "text",
    [
        "Rho (D) immune globulin (human) 1500 unit/2 mL IV",
        "Rh immune globulin",
        "Hep B immune globulin",
        "hepatitis B immune globulin",
        "HBIG",
        "RhIG 300 mcg",
        "Cytogam",
        "Varizig",
        "HyperTET",
        "HyperRAB",
        "BabyBIG",
    ],
)
def test_a_specific_immunoglobulin_order_coded_as_normal_ivig_gets_only_the_out_of_scope_card(
    cds: CdsClient, text: str
) -> None:
    """The EHR review's case: the text names a specific immunoglobulin, the coding carries the
    normal-IVIG ATC code J06BA02, the dose is in grams; no dose, no suggestion, at both hooks."""
    draft = ivig_draft(
        medicationCodeableConcept={"coding": [{"system": ATC, "code": "J06BA02"}], "text": text}
    )
    for hook in ("order-select", "order-sign"):
        cards = _cards(cds.call(hook, "us1", [draft]))
        assert [c["source"]["topic"]["code"] for c in cards] == ["out-of-scope"], cards
        assert "suggestions" not in cards[0]


@pytest.mark.parametrize("brand", ["Flebogamma", "Qivigy", "Octagam", "Privigen"])
def test_an_order_naming_only_a_brand_is_checked(cds: CdsClient, brand: str) -> None:
    draft = ivig_draft(medicationCodeableConcept={"text": brand})
    topics = [c["source"]["topic"]["code"] for c in _cards(cds.call("order-sign", "us1", [draft]))]
    assert "dose" in topics, topics


def test_an_order_coded_only_with_an_unknown_rxnorm_code_gets_no_card(cds: CdsClient) -> None:
    """Documented behaviour: the service cannot tell the order from any other drug's (the
    site adds its codes in IVIG_IG_CODES)."""
    draft = ivig_draft(
        medicationCodeableConcept={"coding": [{"system": RXNORM, "code": "1292383"}]}
    )
    assert _cards(cds.call("order-sign", "us1", [draft])) == []


def test_a_contained_medication_with_ingredients_only_is_classified(kb: KnowledgeBase) -> None:
    """Some EHRs send a contained Medication without ``code``, its ingredient coded instead."""
    from ivig.service.fhir.medication import resolve_medication

    order: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "medicationReference": {"reference": "#m"},
        "contained": [
            {
                "resourceType": "Medication",
                "id": "m",
                "ingredient": [
                    {
                        "itemCodeableConcept": {
                            "coding": [{"system": RXNORM, "code": "5000"}],
                            "text": "immune globulin G human",
                        }
                    }
                ],
            }
        ],
    }
    match = classify_medication(kb, resolve_medication(order, []))
    assert match is not None and match.is_normal
    order["contained"][0]["ingredient"][0]["itemCodeableConcept"]["text"] = (
        "Rho (D) immune globulin"
    )
    match = classify_medication(kb, resolve_medication(order, []))
    assert match is not None and match.kind == "specific_immunoglobulin"
