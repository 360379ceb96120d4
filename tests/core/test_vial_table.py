"""The whole-vial table is built once per product's vial sizes and reused; a table built for a
larger dose gives the same choice as one built for this dose."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

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


def _plain_table(limit_units: int, sizes_units: list[int]) -> tuple[list[int], list[int]]:
    """The unbounded knapsack over every amount, sizes tried smallest first."""
    count, last = [1 << 30] * (limit_units + 1), [0] * (limit_units + 1)
    count[0] = 0
    for amount in range(1, limit_units + 1):
        for size in sizes_units:
            if size <= amount and count[amount - size] + 1 < count[amount]:
                count[amount], last[amount] = count[amount - size] + 1, size
    return count, last


@given(
    st.lists(
        st.integers(1, 300) | st.integers(1, 40).map(lambda n: 10 * n), min_size=1, max_size=6
    ),
    st.integers(1, 1500),
)
def test_the_table_over_multiples_of_the_common_divisor_is_the_plain_knapsacks(
    sizes: list[int], limit: int
) -> None:
    sizes_units = sorted(set(sizes))
    assert rounding._build_table(limit, sizes_units) == _plain_table(limit, sizes_units)
