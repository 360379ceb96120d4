"""Text output of ``ivig score``: item points and the primary source of verified items."""

from __future__ import annotations

import pytest

from ivig.cli import main


def test_one_point_is_singular_and_unverified_points_say_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """EGRIS facial/bulbar weakness scores 1 point (secondary source gbs-scores-code-a, so it is
    marked unverified); onset 2 days scores 2 points."""
    assert main(["score", "egris", "onset_days=2", "facial_bulbar=yes", "mrc_sum=55"]) == 0
    out = capsys.readouterr().out
    assert "facial_bulbar = yes  (present) -> 1 point [unverified]" in out
    assert "onset_days = 2 -> 2 points [unverified]" in out
    assert "1 points" not in out


def test_onls_text_shows_the_primary_source(capsys: pytest.CaptureFixture[str]) -> None:
    """ONLS arm 5 + leg 7 = 12 (graham-hughes-2006-onls), no unverified item."""
    assert main(["score", "onls", "arm=5", "leg=7"]) == 0
    out = capsys.readouterr().out
    assert "12 points (range 0-12)" in out
    assert "graham-hughes-2006-onls" in out
    assert "not verified in the source" not in out
