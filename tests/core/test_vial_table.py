"""The whole-vial table is built once per product's vial sizes and reused; a table built for a
larger dose gives the same choice as one built for this dose."""

from __future__ import annotations

from ivig.core import rounding
from ivig.core.rounding import choose_vials

GAMUNEX_G = [1.0, 2.5, 5.0, 10.0, 20.0, 40.0]


def test_a_reused_table_gives_the_same_vials_as_a_fresh_one() -> None:
    rounding._tables.clear()
    small_first = [choose_vials(g, GAMUNEX_G, 0.0, float("inf")) for g in (31.16, 7.3, 67.43)]
    assert len(rounding._tables) == 1  # one table for the product's vial sizes, grown
    rounding._tables.clear()
    choose_vials(600.0, GAMUNEX_G, 0.0, float("inf"))  # one large table first
    large_first = [choose_vials(g, GAMUNEX_G, 0.0, float("inf")) for g in (31.16, 7.3, 67.43)]
    assert small_first == large_first
    day = small_first[0]
    assert day["opened_g"] >= 31.16 and day["opened_g"] - 31.16 < min(GAMUNEX_G)


def test_the_kept_tables_are_bounded() -> None:
    rounding._tables.clear()
    for n in range(200):
        choose_vials(1.0 + n * 30, [0.05 * (n + 1), 5.0], 0.0, float("inf"))
    assert len(rounding._tables) <= 64
