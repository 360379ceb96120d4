"""UCUM conversion (ucumvert) and comparator logic of the FHIR reader (issue 16)."""

from __future__ import annotations

import pytest

from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase
from ivig.service.fhir.units import convert, decide


@pytest.mark.parametrize(
    ("value", "code", "field", "expected"),
    [
        (165.347, "[lb_av]", "weight_kg", 75.0),  # 1 [lb_av] = 0.45359237 kg (UCUM)
        (2645.55, "[oz_av]", "weight_kg", 75.0),
        (70, "[in_i]", "height_cm", 177.8),  # 1 [in_i] = 2.54 cm
        (1.78, "m", "height_cm", 178.0),
        (180, "mg/dL", "iga_g_per_l", 1.8),
        (1.8, "g/l", "iga_g_per_l", 1.8),
        (0.09, "mmol/L", "creatinine_umol_per_l", 90.0),
        (82, "mL/min/{1.73_m2}", "egfr_ml_per_min_1_73m2", 82.0),
        (82, "mL/min/1.73 m2", "egfr_ml_per_min_1_73m2", 82.0),
        (82, "mL/min/1.73.m2", "egfr_ml_per_min_1_73m2", 82.0),
        (1.37, "mL/s/{1.73_m2}", "egfr_ml_per_min_1_73m2", 82.2),
    ],
)
def test_ucum_units_convert_by_their_definitions(
    kb: KnowledgeBase, value: float, code: str, field: str, expected: float
) -> None:
    assert convert(kb, value, code, field, "x") == pytest.approx(expected, rel=1e-3)


def test_creatinine_in_mg_per_dl_uses_the_molar_mass(kb: KnowledgeBase) -> None:
    """1 mg/dL = 10 mg/L / 113.12 g/mol = 88.4 umol/L (creatinine-molar-mass)."""
    assert convert(kb, 1.0, "mg/dL", "creatinine_umol_per_l", "x") == pytest.approx(88.4, abs=0.05)


@pytest.mark.parametrize(
    ("code", "field"),
    [("kg", "iga_g_per_l"), ("mL/min", "egfr_ml_per_min_1_73m2"), ("qq", "weight_kg")],
)
def test_a_unit_of_the_wrong_kind_names_the_element(
    kb: KnowledgeBase, code: str, field: str
) -> None:
    with pytest.raises(InputError) as exc:
        convert(kb, 1.0, code, field, "Observation/o1.valueQuantity.code")
    assert exc.value.field == "Observation/o1.valueQuantity.code"


@pytest.mark.parametrize(
    ("comparator", "bound", "op", "threshold", "expected"),
    [
        ("<", 0.05, "<", 0.05, True),  # IgA <5 mg/dL: IgA deficiency
        ("<=", 0.05, "<", 0.05, None),  # may be exactly 0.05
        ("<", 0.1, "<", 0.05, None),  # undecided
        ("<", 0.04, "<", 0.05, True),
        (">", 0.05, "<", 0.05, False),
        (">=", 0.05, "<", 0.05, False),
        (">=", 0.05, "<=", 0.05, None),
        (">", 60, "<", 60, False),  # eGFR >60: not renal impairment
        (">", 30, "<", 60, None),
        ("<", 30, "<", 60, True),
        ("<", 0.05, ">", 0.05, False),
        (">", 70, ">=", 65, True),
    ],
)
def test_a_comparator_decides_a_rule_only_when_every_value_agrees(
    comparator: str, bound: float, op: str, threshold: float, expected: bool | None
) -> None:
    assert decide(comparator, bound, op, threshold) is expected


def test_the_order_tolerance_is_a_setting() -> None:
    from ivig.service import Settings

    assert Settings.from_env({"IVIG_ORDER_TOLERANCE_PCT": "15"}).order_tolerance_pct == 15.0
    assert Settings.from_env({}).order_tolerance_pct is None  # the knowledge base's default
    with pytest.raises(InputError) as exc:
        Settings.from_env({"IVIG_ORDER_TOLERANCE_PCT": "lots"})
    assert exc.value.field == "IVIG_ORDER_TOLERANCE_PCT"
