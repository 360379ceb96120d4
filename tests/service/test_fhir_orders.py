"""Reading a draft MedicationRequest as Epic and Cerner send it: doses in any unit, rates in any
unit, timing with frequency, period, bounds and counts (EHR review, December 2026).

Before these tests a dose of 2000 mg/kg x 5 (a fivefold overdose), 3400 mL, a ``doseRange``, a
rate of 20 mg/kg/min or 3000 "mL/hr", a ``rateRatio`` and a course bounded by 120 h or by a
``boundsPeriod`` were all read as "no dose" or as one day; an unreadable dose looked the same as
an absent one. Every refusal now names the element, the value and what is allowed.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ivig.app.order_check import check_order
from ivig.contract import validate_request
from ivig.core.recommend import recommend
from ivig.knowledge import KnowledgeBase
from ivig.service.fhir.orders import read_order
from ivig.service.fhir.record import Record

UCUM = "http://unitsofmeasure.org"
EPIC_RATE_TYPE = "http://epic.com/CodeSystem/dose-rate-type"
GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
DAILY_5 = {"repeat": {"count": 5, "frequency": 1, "period": 1, "periodUnit": "d"}}
WEIGHT_KG = 85.0


def q(value: Any, code: str, unit: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit or code, "system": UCUM, "code": code}


def _epic_type(code: str) -> dict[str, Any]:
    return {"coding": [{"system": EPIC_RATE_TYPE, "code": code, "display": code}], "text": code}


def epic_order(
    dose_and_rate: list[dict[str, Any]], timing: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """A draft as Epic writes it: Epic's dose-rate types, a local route code beside SNOMED,
    ``boundsPeriod`` with its start only, ``timing.code`` as text, a ``mL/hr`` rate unit."""
    dosage: dict[str, Any] = {
        "text": "Intravenous, once daily",
        "route": {
            "coding": [
                {"system": "urn:oid:1.2.840.114350.1.13.0.1.7.4.698288.330", "code": "11"},
                {"system": "http://snomed.info/sct", "code": "47625008"},
            ],
            "text": "Intravenous",
        },
        "doseAndRate": dose_and_rate,
    }
    if timing is not None:
        dosage["timing"] = timing
    order: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": "eMR1",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"text": "immune globulin (PRIVIGEN) 10 % IV solution"},
        "subject": {"reference": "Patient/us1"},
        "dosageInstruction": [dosage],
    }
    return order | extra


def _read(
    kb: KnowledgeBase,
    order: dict[str, Any],
    product: str | None = "privigen",
    weight_kg: float | None = WEIGHT_KG,
    plan_infusion: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    reading = read_order(
        kb,
        Record([order], {}),
        order,
        product=product,
        dosing_weight_kg=weight_kg,
        plan_infusion=plan_infusion,
    )
    return reading.order, reading.notes


# -- doses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dose", "total_g", "how"),
    [
        (q(2000, "mg/kg"), 2000 / 1000 * WEIGHT_KG * 5, "dosing weight of 85 kg"),
        (q(400, "mg/kg"), 0.4 * WEIGHT_KG * 5, "dosing weight of 85 kg"),
        (q(0.4, "g/kg"), 0.4 * WEIGHT_KG * 5, "dosing weight of 85 kg"),
        (q(0.4, "g/kg/d"), 0.4 * WEIGHT_KG * 5, "dosing weight of 85 kg"),
        (q(34000, "mg"), 170.0, None),
        ({"value": 34, "unit": "gram"}, 170.0, None),  # unit text, no system, no code
        (
            {"value": 34, "unit": "g", "system": "http://snomed.info/sct", "code": "258682000"},
            170.0,
            None,
        ),
        (q(3400, "mL"), 340.0 * 5, "Privigen"),  # 10 % w/v: 0.1 g/mL
        (q(4, "mL/kg"), 4 * WEIGHT_KG * 0.1 * 5, "Privigen"),
    ],
    ids=[
        "2000mg/kg",
        "400mg/kg",
        "0.4g/kg",
        "0.4g/kg/d",
        "34000mg",
        "gram",
        "snomed-g",
        "3400mL",
        "4mL/kg",
    ],
)
def test_a_dose_in_any_mass_volume_or_per_kg_unit_is_read_in_grams(
    kb: KnowledgeBase, dose: dict[str, Any], total_g: float, how: str | None
) -> None:
    """Privigen 10 % (privigen concentration.percent 10): 1 mL = 0.1 g; per kg on 85 kg."""
    order, notes = _read(kb, epic_order([{"doseQuantity": dose}], DAILY_5))
    assert order["total_g"] == pytest.approx(total_g)
    assert order["days"] == 5
    assert "dose_not_read" not in order
    if how is not None:
        assert any("doseQuantity" in n and how in n for n in notes), notes


def test_a_volume_of_an_unnamed_product_is_not_read_and_says_why(kb: KnowledgeBase) -> None:
    order, notes = _read(kb, epic_order([{"doseQuantity": q(3400, "mL")}], DAILY_5), product=None)
    assert "total_g" not in order
    why = order["dose_not_read"]
    assert "dosageInstruction[0].doseAndRate[0].doseQuantity" in why
    assert "'3400 mL'" in why and "concentration" in why and "names no product" in why
    assert why in notes


def test_a_volume_of_a_product_made_up_at_several_strengths_is_not_read(kb: KnowledgeBase) -> None:
    """Carimune NF is reconstituted to 3, 6, 9 or 12 % (carimune-nf options_percent)."""
    order, _ = _read(kb, epic_order([{"doseQuantity": q(1000, "mL")}], DAILY_5), "carimune-nf")
    assert "3, 6, 9, 12 %" in order["dose_not_read"]


def test_a_dose_per_kg_before_the_plan_is_not_read_yet(kb: KnowledgeBase) -> None:
    """The first reading (read.py, before the plan's dosing weight is known)."""
    order, _ = _read(kb, epic_order([{"doseQuantity": q(2000, "mg/kg")}], DAILY_5), weight_kg=None)
    assert "dosing weight" in order["dose_not_read"]


def test_a_dose_range_is_read_at_its_high_end_and_says_so(kb: KnowledgeBase) -> None:
    order, notes = _read(
        kb, epic_order([{"doseRange": {"low": q(30, "g"), "high": q(40, "g")}}], DAILY_5)
    )
    assert order["total_g"] == 200.0
    assert any("doseRange is read at its high end" in n and "low end 30 g" in n for n in notes)


@pytest.mark.parametrize(
    ("dose", "names"),
    [
        ({"value": "34", "unit": "g"}, ["doseQuantity.value", "'34'", "a number"]),
        (q(34, "{tbl}"), ["doseQuantity.code", "'{tbl}'", "UCUM"]),
        (q(2, "mg/kg/h"), ["doseQuantity", "'2 mg/kg/h'", "per another time than a day"]),
        (q(1.5, "mg/m2"), ["doseQuantity", "'1.5 mg/m2'", "a mass (g, mg)"]),
        ({"value": 34}, ["doseQuantity.unit", "None"]),
        (q(-3, "g"), ["doseQuantity.value", "-3", "above 0"]),
        ({"value": 34, "unit": "g", "comparator": "<"}, ["doseQuantity.comparator", "'<'"]),
        ({"doseRange": {"low": q(30, "g")}}, ["doseRange.high", "None", "high end"]),
    ],
    ids=[
        "string",
        "annotation",
        "per-hour",
        "per-m2",
        "no-unit",
        "negative",
        "comparator",
        "no-high",
    ],
)
def test_an_unreadable_dose_is_refused_naming_the_element_value_and_allowed(
    kb: KnowledgeBase, dose: dict[str, Any], names: list[str]
) -> None:
    entry = dose if "doseRange" in dose else {"doseQuantity": dose}
    order, notes = _read(kb, epic_order([entry], DAILY_5))
    assert "total_g" not in order
    why = order["dose_not_read"]
    assert why.startswith("MedicationRequest/eMR1.dosageInstruction[0].doseAndRate[0].")
    assert "allowed:" in why
    for name in names:
        assert name in why, why
    assert why in notes


def test_epic_ordered_and_calculated_doses_check_the_calculated_grams_and_say_if_they_differ(
    kb: KnowledgeBase,
) -> None:
    """Epic writes the ordered mg/kg beside the calculated mg (on its own weight)."""
    draft = epic_order(
        [
            {"type": _epic_type("ordered"), "doseQuantity": q(400, "mg/kg")},
            {"type": _epic_type("calculated"), "doseQuantity": q(34000, "mg")},
        ],
        DAILY_5,
    )
    order, notes = _read(kb, draft, weight_kg=77.91)
    assert order["total_g"] == 170.0  # the calculated 34 g x 5
    assert any("differ" in n and "34 g is checked" in n for n in notes), notes
    same, notes = _read(kb, draft, weight_kg=85.0)
    assert same["total_g"] == 170.0 and not any("differ" in n for n in notes)


# -- rates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "ml_per_h"),
    [
        ({"rateQuantity": q(20, "mg/kg/min")}, 20 * WEIGHT_KG * 60 / 100),  # 0.1 g/mL = 100 mg/mL
        ({"rateQuantity": {"value": 3000, "unit": "mL/hr"}}, 3000.0),
        ({"rateQuantity": q(3000, "mL/h", "mL/hr")}, 3000.0),
        ({"rateQuantity": q(3000, "mL/hr")}, 3000.0),  # "mL/hr" in the UCUM code itself
        ({"rateQuantity": q(0.8, "mL/kg/min")}, 0.8 * WEIGHT_KG * 60),
        ({"rateQuantity": q(5, "mL/kg/h")}, 5 * WEIGHT_KG),
        ({"rateQuantity": q(2, "mL/min")}, 120.0),
        ({"rateQuantity": q(0.3, "L/h")}, 300.0),
        ({"rateRatio": {"numerator": q(3000, "mL"), "denominator": q(1, "h")}}, 3000.0),
        ({"rateRatio": {"numerator": q(50, "mL"), "denominator": q(1, "min")}}, 3000.0),
        ({"rateRange": {"low": q(100, "mL/h"), "high": q(200, "mL/h")}}, 200.0),
    ],
    ids=[
        "20mg/kg/min",
        "mL/hr-text",
        "mL/h-code-mL/hr-unit",
        "mL/hr-code",
        "mL/kg/min",
        "mL/kg/h",
        "mL/min",
        "L/h",
        "ratio-h",
        "ratio-min",
        "range",
    ],
)
def test_a_rate_in_any_unit_is_read_in_ml_per_h(
    kb: KnowledgeBase, entry: dict[str, Any], ml_per_h: float
) -> None:
    order, _ = _read(kb, epic_order([{"doseQuantity": q(34, "g"), **entry}], DAILY_5))
    assert order["rate_ml_per_h"] == pytest.approx(ml_per_h)
    assert "rate_not_read" not in order


def test_a_mass_rate_of_an_unnamed_product_uses_the_planned_products_concentration(
    kb: KnowledgeBase,
) -> None:
    draft = epic_order([{"doseQuantity": q(34, "g"), "rateQuantity": q(8, "mg/kg/min")}], DAILY_5)
    plan = {"concentration_g_per_ml": 0.05, "product_name": "Octagam 5 %"}
    order, notes = _read(kb, draft, product=None, plan_infusion=plan)
    assert order["rate_ml_per_h"] == pytest.approx(8 * WEIGHT_KG * 60 / 50)
    assert any("Octagam 5 %" in n and "planned product" in n for n in notes)
    alone, _ = _read(kb, draft, product=None)
    assert "concentration" in alone["rate_not_read"]


@pytest.mark.parametrize(
    ("rate", "names"),
    [
        (q(60, "[drp]/min"), ["rateQuantity.code", "giving set"]),
        (q(3, "{drops}"), ["rateQuantity.code", "'{drops}'"]),
        (q(100, "mL"), ["rateQuantity", "'100 mL'", "a volume per time"]),
        ({"value": "fast", "unit": "mL/h"}, ["rateQuantity.value", "'fast'"]),
    ],
    ids=["drops", "annotation", "volume", "text"],
)
def test_an_unreadable_rate_is_refused_naming_the_element(
    kb: KnowledgeBase, rate: dict[str, Any], names: list[str]
) -> None:
    order, notes = _read(
        kb, epic_order([{"doseQuantity": q(34, "g"), "rateQuantity": rate}], DAILY_5)
    )
    assert "rate_ml_per_h" not in order and order["total_g"] == 170.0
    for name in names:
        assert name in order["rate_not_read"]
    assert order["rate_not_read"] in notes


# -- timing ---------------------------------------------------------------------------------


def _repeat(**repeat: Any) -> dict[str, Any]:
    return {"repeat": repeat}


@pytest.mark.parametrize(
    ("timing", "dose_g", "total_g", "days"),
    [
        (_repeat(boundsDuration=q(120, "h"), frequency=1, period=1, periodUnit="d"), 34, 170, 5),
        (
            _repeat(
                boundsDuration={"value": 5, "unit": "days"}, frequency=1, period=1, periodUnit="d"
            ),
            34,
            170,
            5,
        ),
        (_repeat(boundsDuration=q(5, "d"), frequency=1, period=1, periodUnit="d"), 34, 170, 5),
        (
            _repeat(
                boundsPeriod={"start": "2026-12-02", "end": "2026-12-06"},
                frequency=1,
                period=1,
                periodUnit="d",
            ),
            34,
            170,
            5,
        ),
        (
            _repeat(
                boundsPeriod={
                    "start": "2026-12-02T08:00:00-05:00",
                    "end": "2026-12-07T00:00:00-05:00",
                },
                frequency=1,
                period=1,
                periodUnit="d",
            ),
            34,
            170,
            5,
        ),
        (_repeat(count=5.0, period=1, periodUnit="d"), 34, 170, 5),
        (_repeat(count=10, frequency=2, period=1, periodUnit="d"), 17, 170, 5),
        (_repeat(count=10, frequency=1, period=12, periodUnit="h"), 17, 170, 5),
        (_repeat(count=5, frequency=1, period=24, periodUnit="h"), 34, 170, 5),
        (
            _repeat(
                boundsPeriod={"start": "2026-12-02T15:00:00Z"},
                count=5,
                frequency=1,
                period=1,
                periodUnit="d",
            ),
            34,
            170,
            5,
        ),
        (
            {
                "code": {"coding": [{"system": GTS, "code": "QD"}]},
                "repeat": {"boundsDuration": q(5, "d")},
            },
            34,
            170,
            5,
        ),
        (
            {"code": {"coding": [{"system": GTS, "code": "BID"}]}, "repeat": {"count": 10}},
            17,
            170,
            5,
        ),
        (_repeat(count=5, countMax=5, frequency=1, period=1, periodUnit="d"), 34, 170, 5),
        (_repeat(count=3, frequency=1, period=2, periodUnit="d"), 34, 102, 3),
        ({"event": ["2026-12-02T08:00:00Z", "2026-12-03T08:00:00Z"]}, 85, 170, 2),
    ],
    ids=[
        "bounds-120h",
        "bounds-days-text",
        "bounds-5d",
        "boundsPeriod-dates",
        "boundsPeriod-midnight-end",
        "count-5.0",
        "BID-count-10",
        "q12h-count-10",
        "q24h",
        "epic-start-only-count",
        "QD-code-bounds",
        "BID-code-count",
        "countMax",
        "every-other-day",
        "events",
    ],
)
def test_timing_gives_the_days_and_the_grams_a_day(
    kb: KnowledgeBase, timing: dict[str, Any], dose_g: float, total_g: float, days: int
) -> None:
    """FHIR Timing: count is the number of doses in all, frequency doses per period."""
    order, _ = _read(kb, epic_order([{"doseQuantity": q(dose_g, "g")}], timing))
    assert (order["total_g"], order["days"]) == (total_g, days)
    assert "interval_weeks" not in order


def test_a_twice_weekly_order_is_two_infusion_days_a_week(kb: KnowledgeBase) -> None:
    """Hizentra 8.5 g twice weekly: 17 g a week over 2 days (was 8.5 g a week)."""
    timing = _repeat(frequency=2, period=1, periodUnit="wk")
    order, notes = _read(kb, epic_order([{"doseQuantity": q(8.5, "g")}], timing), "hizentra")
    assert (order["total_g"], order["days"], order["interval_weeks"]) == (17.0, 2, 1.0)
    assert any("2 infusion days of each interval" in n for n in notes)
    every3 = _repeat(frequency=1, period=3, periodUnit="wk", count=6)
    order, _ = _read(kb, epic_order([{"doseQuantity": q(85, "g")}], every3))
    assert (order["total_g"], order["days"], order["interval_weeks"]) == (85.0, 1, 3.0)


@pytest.mark.parametrize(
    ("timing", "names"),
    [
        (_repeat(frequency=1, period=1, periodUnit="d"), ["timing.repeat", "no count or bounds"]),
        (_repeat(count=0, period=1, periodUnit="d"), ["timing.repeat.count", "0", "whole number"]),
        (_repeat(count=5, period=0, periodUnit="d"), ["timing.repeat.period", "0"]),
        (
            _repeat(count=5, period=1, periodUnit="fortnight"),
            ["timing.repeat.periodUnit", "'fortnight'"],
        ),
        (
            _repeat(count=5, frequency=1, period=5, periodUnit="h"),
            ["timing.repeat.period", "whole number of doses a day"],
        ),
        (
            _repeat(count=5, frequency=2, period=1, periodUnit="d"),
            ["timing.repeat.count", "multiple of 2"],
        ),
        (_repeat(boundsDuration=q(36, "h"), period=1, periodUnit="d"), ["bounds", "'1.5 days'"]),
        (
            _repeat(boundsDuration={"value": 5, "unit": "sleeps"}, period=1, periodUnit="d"),
            ["boundsDuration.code", "'sleeps'"],
        ),
        ({"code": {"text": "Daily"}}, ["timing", "no repeat, code or event"]),
    ],
    ids=[
        "open-ended",
        "count-0",
        "period-0",
        "unit",
        "q5h",
        "odd-count",
        "36h",
        "bounds-unit",
        "code-text",
    ],
)
def test_a_timing_that_cannot_be_read_refuses_the_dose_instead_of_guessing_a_day(
    kb: KnowledgeBase, timing: dict[str, Any], names: list[str]
) -> None:
    order, notes = _read(kb, epic_order([{"doseQuantity": q(34, "g")}], timing))
    assert "total_g" not in order
    for name in names:
        assert name in order["dose_not_read"], order["dose_not_read"]
    assert order["dose_not_read"] in notes


def test_more_than_a_year_of_days_is_still_an_error() -> None:
    from ivig.errors import InputError
    from ivig.knowledge import load_knowledge

    kb = load_knowledge()
    draft = epic_order([{"doseQuantity": q(34, "g")}], _repeat(boundsDuration=q(10**30, "d")))
    with pytest.raises(InputError, match="1 to 366"):
        _read(kb, draft)


# -- the order check ------------------------------------------------------------------------


def _gbs_request() -> Any:
    return validate_request(
        {
            "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85},
            "condition": "gbs",
            "phase": "induction",
            "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
        }
    )


def _codes(check: Any) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in check["findings"]}


def test_an_unreadable_dose_is_a_warning_not_checked_and_an_absent_one_stays_info(
    kb: KnowledgeBase,
) -> None:
    request = _gbs_request()
    unread, _ = _read(kb, epic_order([{"doseQuantity": {"value": "34", "unit": "g"}}], DAILY_5))
    check = check_order(kb, request, unread)
    assert _codes(check)["dose_not_checked"] == "warning"
    assert check["severity"] == "warning"
    message = next(f["message"] for f in check["findings"] if f["code"] == "dose_not_checked")
    assert "not checked" in message and "doseQuantity.value" in message
    absent, _ = _read(kb, epic_order([], DAILY_5))
    assert _codes(check_order(kb, request, absent)).get("dose_not_given") == "info"


def test_an_unreadable_rate_is_a_rate_not_checked_warning(kb: KnowledgeBase) -> None:
    draft = epic_order([{"doseQuantity": q(34, "g"), "rateQuantity": q(60, "[drp]/min")}], DAILY_5)
    order, _ = _read(kb, draft)
    codes = _codes(check_order(kb, _gbs_request(), order))
    assert codes["rate_not_checked"] == "warning"


def test_twenty_mg_per_kg_per_min_is_critical_at_two_and_a_half_times_the_label(
    kb: KnowledgeBase,
) -> None:
    """Privigen's label maximum 8 mg/kg/min (privigen-eu-type-all): 20 is 2.5x."""
    request = validate_request({**_gbs_request(), "product": "privigen"})
    dose = recommend(kb, request)["dose"]
    assert dose is not None
    draft = epic_order([{"doseQuantity": q(34, "g"), "rateQuantity": q(20, "mg/kg/min")}], DAILY_5)
    order, _ = _read(kb, draft, weight_kg=float(dose["dosing_weight_kg"]))
    check = check_order(kb, request, order)
    assert _codes(check)["rate_above_label_maximum"] == "critical"
    assert check["ordered_rate_mg_per_kg_per_min"] == 20.0


def test_hizentra_twice_weekly_is_within_the_weekly_policy_dose(kb: KnowledgeBase) -> None:
    """CIDP SC maintenance 0.2 g/kg a week over 1 to 2 days (cidp-maint-sc): the half dose
    twice weekly is the weekly dose, not 50 % under."""
    request = validate_request(
        {
            "patient": {"sex": "female", "age_years": 54, "height_cm": 160, "weight_kg": 90},
            "condition": "cidp",
            "indication": "cidp.maintenance",
            "phase": "maintenance",
            "route": "sc",
            "product": "hizentra",
            "findings": {
                "previous_ig_response": True,
                "baseline_measure_recorded": True,
                "anti_mag_antibodies": False,
            },
        }
    )
    dose = recommend(kb, request)["dose"]
    assert dose is not None and dose["interval_weeks"] == 1
    half = float(dose["total_g"]) / 2
    draft = epic_order(
        [{"doseQuantity": q(half, "g")}], _repeat(frequency=2, period=1, periodUnit="wk")
    )
    order, _ = _read(kb, draft, "hizentra", weight_kg=float(dose["dosing_weight_kg"]))
    codes = _codes(check_order(kb, request, order))
    assert codes.get("within_policy") == "info" and "below_policy" not in codes, codes


def test_the_draft_is_not_changed_by_reading_it(kb: KnowledgeBase) -> None:
    draft = epic_order([{"doseQuantity": q(2000, "mg/kg")}], DAILY_5)
    before = copy.deepcopy(draft)
    _read(kb, draft)
    assert draft == before


@pytest.mark.parametrize(
    ("timing", "total_g", "days", "interval"),
    [
        (
            _repeat(timeOfDay=["08:00:00", "20:00:00"], period=1, periodUnit="d", count=10),
            170,
            5,
            None,
        ),
        (_repeat(dayOfWeek=["mon", "thu"], period=1, periodUnit="wk"), 34, 2, 1.0),
        (_repeat(dayOfWeek=["mon", "thu"]), 34, 2, 1.0),
    ],
    ids=["two-times-a-day", "two-days-a-week", "days-a-week-no-period"],
)
def test_times_of_day_and_days_of_week_give_the_doses_when_frequency_is_absent(
    kb: KnowledgeBase, timing: dict[str, Any], total_g: float, days: int, interval: float | None
) -> None:
    order, _ = _read(kb, epic_order([{"doseQuantity": q(17, "g")}], timing))
    assert (order["total_g"], order["days"], order.get("interval_weeks")) == (
        total_g,
        days,
        interval,
    )
