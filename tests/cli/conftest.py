"""The ``cli`` fixture: run ``ivig`` in-process and capture its exit status and output."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ivig.cli import main

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*argv: str) -> tuple[int, str, str]:
        status = main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return run
