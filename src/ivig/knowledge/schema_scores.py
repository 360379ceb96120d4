"""Schema of clinical scores and outcome measures.

Placeholder records: the scores issue fills these in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from typing_extensions import TypedDict

from annotated_types import MinLen
from pydantic import ConfigDict, with_config

__all__ = [
    "CHECKS", "Score"]

FORBID = ConfigDict(extra="forbid")

#: Cross-reference checks run by ``validate_directory``: ``check(data, report)`` where
#: ``report(file, location, message)`` records one error.
CHECKS: list[Callable[[dict[str, Any], Callable[[str, str, str], None]], None]] = []


@with_config(FORBID)
class Score(TypedDict):
    id: Annotated[str, MinLen(1)]
    name: str

