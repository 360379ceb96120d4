"""Command-line outputs of issue 19: GBS scores from items, the SID-GBS line, verification."""

from __future__ import annotations

import json
from collections.abc import Callable

Run = Callable[..., tuple[int, str, str]]  # the `cli` fixture of conftest.py


def test_pk_gbs_missed_target_says_what_sid_gbs_found(cli: Run) -> None:
    """walgaard-2021-sid-gbs: a standard 2 g/kg course below the 7.3 g/L delta-IgG target must
    not read as an invitation to a second course."""
    status, out, _ = cli(
        "pk",
        "simulate",
        "--weight-kg",
        "70",
        "--population",
        "gbs",
        "--regimen",
        "0.4g/kg@0x5",
        "--days",
        "28",
    )
    text = " ".join(out.split())
    assert status == 0 and "NOT met" in text
    assert "SID-GBS" in text and "did not help" in text and "walgaard-2021-sid-gbs" in text


def test_score_egris_from_items(cli: Run) -> None:
    """gbs-scores-code-a point table: onset 2 days (2) + facial/bulbar (1) + MRC 35 (2) = 5."""
    status, out, _ = cli(
        "score", "egris", "onset_days=2", "facial_bulbar=yes", "mrc_sum=35", "--json"
    )
    data = json.loads(out)
    assert status == 0 and data["total"] == 5
    assert [r["points"] for r in data["items"]] == [2, 1, 2]
    assert "walgaard-2010-egris" in data["sources"] and data["verified"] is False


def test_score_megos_refuses_a_missing_item(cli: Run) -> None:
    status, _, err = cli("score", "megos", "age_years=62", "diarrhoea=yes", "mrc_sum=38")
    assert status == 2 and "timepoint" in err and "Traceback" not in err
