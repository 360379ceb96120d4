"""The record being read: its resources indexed by reference, and what the reading says.

:class:`Record` resolves a reference the way FHIR allows it to be written — ``Type/id``, an
absolute URL ending in ``Type/id``, or the ``fullUrl`` of a Bundle entry (``urn:uuid:…``) — and
names each resource by the same rule, so nothing reads ``Patient/?``. It also collects what the
reading found: notes, the references used, every input with its date, and data-age warnings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Input", "Record", "Resource", "codings", "parse_date", "texts", "when"]

Resource = dict[str, Any]


def codings(concept: object) -> list[dict[str, Any]]:
    """The codings of a CodeableConcept (empty for anything else)."""
    if not isinstance(concept, dict):
        return []
    coding = concept.get("coding")
    return [c for c in coding if isinstance(c, dict)] if isinstance(coding, list) else []


def texts(concept: object) -> list[str]:
    """The text and every coding display of a CodeableConcept."""
    if not isinstance(concept, dict):
        return []
    found = [concept.get("text")] + [c.get("display") for c in codings(concept)]
    return [t for t in found if isinstance(t, str) and t]


def when(resource: Mapping[str, Any]) -> str:
    """The clinically relevant date-time of a resource as written ('' when it has none)."""
    period = resource.get("effectivePeriod") or resource.get("performedPeriod")
    for value in (
        resource.get("effectiveDateTime"),
        period.get("end") if isinstance(period, dict) else None,
        period.get("start") if isinstance(period, dict) else None,
        resource.get("performedDateTime"),
        resource.get("effectiveInstant"),
        resource.get("issued"),
        resource.get("authoredOn"),
        resource.get("recordedDate"),
    ):
        if isinstance(value, str) and value:
            return value
    return ""


def parse_date(text: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day a FHIR date or dateTime can mean (``1964`` is a whole year)."""
    text = text.strip()
    try:
        if len(text) == 4:
            year = int(text)
            return dt.date(year, 1, 1), dt.date(year, 12, 31)
        if len(text) == 7:
            first = dt.date(int(text[:4]), int(text[5:7]), 1)
            nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
            return first, nxt - dt.timedelta(days=1)
        day = dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
    return day, day


@dataclass(frozen=True)
class Input:
    """One value the request was built from, with where and when it was recorded."""

    field: str
    text: str
    reference: str
    date: str


@dataclass
class Record:
    """The resources of one request and the findings of reading them."""

    resources: Sequence[Resource]
    full_urls: Mapping[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)
    inputs: list[Input] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    #: doubts that should raise a card to a warning (e.g. an order that may set the phase)
    cautions: list[str] = field(default_factory=list)
    _index: dict[str, Resource] = field(default_factory=dict)
    #: the resources were already shape-checked by an earlier Record of the same request (a
    #: subset kept for the patient, or the same resources read again on the plan)
    shape_checked: bool = False

    def __post_init__(self) -> None:
        from ivig.service.fhir.shape import check_shape

        for res in self.resources:
            if not self.shape_checked:
                check_shape(res)  # a wrong JSON type is refused naming the element, never read
            for key in self._keys(res):
                self._index.setdefault(key, res)

    def _keys(self, res: Mapping[str, Any]) -> list[str]:
        keys = []
        if isinstance(res.get("id"), str):
            keys.append(f"{res['resourceType']}/{res['id']}")
        full = self.full_urls.get(id(res))
        if full:
            keys.append(full)
            tail = full.rstrip("/").split("/")
            if len(tail) >= 2 and not full.startswith("urn:"):
                keys.append("/".join(tail[-2:]))
        return keys

    def ref(self, res: Mapping[str, Any]) -> str:
        """How to name ``res``: ``Type/id``, else its entry's ``fullUrl``, else its type."""
        if isinstance(res.get("id"), str):
            return f"{res['resourceType']}/{res['id']}"
        full = self.full_urls.get(id(res))
        return full or f"{res.get('resourceType')} (no id)"

    def resolve(self, reference: object) -> Resource | None:
        """The resource a Reference points at (``Type/id``, an absolute URL or a fullUrl)."""
        target = reference.get("reference") if isinstance(reference, dict) else reference
        if not isinstance(target, str) or not target:
            return None
        found = self._index.get(target)
        if found is None and "/" in target and not target.startswith("urn:"):
            found = self._index.get("/".join(target.rstrip("/").split("/")[-2:]))
        return found

    def of_type(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.get("resourceType") == kind]

    def add_input(self, name: str, text: str, res: Mapping[str, Any]) -> None:
        stamp = when(res)[:10] or "undated"
        self.inputs.append(Input(name, text, self.ref(res), stamp))
