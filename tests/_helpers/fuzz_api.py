"""Schemathesis over a running server: every operation given, its generated cases sent and each
answer checked (schemathesis drives hypothesis directly; its pytest plugin does not run under
this pytest). Shared by the SQLite and PostgreSQL runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import positive_data_acceptance


def fuzz_operations(
    operations: Sequence[Any], headers: dict[str, str], *, max_examples: int
) -> tuple[list[str], int]:
    """The failures (one line per failing operation) and the number of calls made.

    Knowledge-level limits (e.g. a plausible weight) are not in the schema, so a schema-valid
    request may rightly be refused with 422: that one check is left out."""
    failures: list[str] = []
    calls = [0]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=max_examples,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def run(case: Any) -> None:
            calls[0] += 1
            case.call_and_validate(
                headers=headers, timeout=30, excluded_checks=[positive_data_acceptance]
            )

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}")
    return failures, calls[0]
