"""Schema of products, patient risk factors, ranking rules, adverse effects and monitoring.

Placeholder records: the products issue fills these in. Kept apart from :mod:`schema` so that
the two can grow without touching each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from typing_extensions import TypedDict

from annotated_types import MinLen
from pydantic import ConfigDict, with_config

__all__ = [
    "CHECKS","AdverseEffect", "MonitoringItem", "Product", "RankingRule", "RiskFactor"]

FORBID = ConfigDict(extra="forbid")

#: Cross-reference checks run by ``validate_directory``: ``check(data, report)`` where
#: ``report(file, location, message)`` records one error.
CHECKS: list[Callable[[dict[str, Any], Callable[[str, str, str], None]], None]] = []


@with_config(FORBID)
class _Ref(TypedDict):
    id: Annotated[str, MinLen(1)]


@with_config(FORBID)
class Product(TypedDict):
    id: Annotated[str, MinLen(1)]
    name: str


@with_config(FORBID)
class RiskFactor(TypedDict):
    id: Annotated[str, MinLen(1)]
    name: str


@with_config(FORBID)
class RankingRule(TypedDict):
    id: Annotated[str, MinLen(1)]


@with_config(FORBID)
class AdverseEffect(TypedDict):
    id: Annotated[str, MinLen(1)]


@with_config(FORBID)
class MonitoringItem(TypedDict):
    id: Annotated[str, MinLen(1)]
