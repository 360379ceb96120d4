"""Schema of IgG pharmacokinetic models and their parameters.

Placeholder record: the pharmacokinetics issue fills this in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

__all__ = ["CHECKS", "PkModelSet"]

FORBID = ConfigDict(extra="forbid")

#: Cross-reference checks run by ``validate_directory`` (see ``schema_products.CHECKS``).
CHECKS: list[Callable[[dict[str, Any], Callable[[str, str, str], None]], None]] = []


@with_config(FORBID)
class PkModelSet(TypedDict):
    populations: list[dict[str, object]]
