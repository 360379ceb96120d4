"""The regimen text syntax."""

from __future__ import annotations

import pytest

from ivig.core.pk_regimen import parse_regimen
from ivig.errors import InputError


def test_induction_course() -> None:
    doses = parse_regimen(["0.4g/kg@0x5"], 70.0, 4.0)
    assert [d.day for d in doses] == [0, 1, 2, 3, 4]
    assert all(d.amount_g_per_kg == 0.4 and d.infusion_hours == 4.0 for d in doses)


def test_maintenance_every_three_weeks_in_grams_with_hours() -> None:
    doses = parse_regimen(["70g@35x3/3w~5h"], 70.0, 4.0)
    assert [d.day for d in doses] == [35, 56, 77]
    assert doses[0].amount_g_per_kg == pytest.approx(1.0)
    assert doses[0].infusion_hours == 5.0


def test_sc_weekly_and_comma_separated_terms() -> None:
    doses = parse_regimen(["0.4g/kg@0x5, sc:0.2g/kg@14x2/1w"], 70.0, 4.0)
    sc = [d for d in doses if d.route == "sc"]
    assert [d.day for d in sc] == [14, 21]
    assert all(d.infusion_hours == 0 for d in sc)


@pytest.mark.parametrize(
    "term",
    ["0.4 g/kg", "0.4mg/kg@0", "sc:0.2g/kg@0~2h", "1g/kg@0x5/1d~30h", "1g/kg@0x0", "abc"],
)
def test_bad_terms_name_the_syntax(term: str) -> None:
    with pytest.raises(InputError, match="regimen"):
        parse_regimen([term], 70.0, 4.0)
