"""``Dosage.timing`` of an immunoglobulin order: infusion days, doses a day, the interval.

FHIR ``Timing.repeat``: ``frequency`` doses every ``period`` ``periodUnit``; ``count`` is the
number of doses in all (``countMax`` its upper end), ``bounds[x]`` the length of the whole
course (``boundsDuration`` in any time unit, ``boundsPeriod`` from a start to an end date,
``boundsRange``). ``timing.code`` (``QD``, ``BID``...) stands for a frequency and period when
the repeat gives none; ``timing.event`` lists the times of the doses.

* a period of a week or more is a repeating (maintenance) order: ``frequency`` doses, one a
  day, every ``period`` (Hizentra 8.5 g twice weekly: 17 g a week over 2 days);
* a shorter period is a course: doses a day = frequency / period, days = count / doses a day,
  else the days of the bounds (17 g twice daily with count 10: 34 g a day for 5 days);
* a timing that does not say how often and how long is refused (:class:`NotRead`), not
  guessed; more than a year of days is an :class:`InputError` (no course is longer).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ivig.errors import InputError
from ivig.service.fhir.dosage import NotRead
from ivig.service.fhir.units import quantity_code, ucum_quantity

__all__ = ["Timing", "read_timing"]

_GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
#: GTS abbreviation -> (frequency, period, periodUnit), as the code system defines them
_GTS_CODES: dict[str, tuple[int, float, str]] = {
    "QD": (1, 1, "d"),
    "AM": (1, 1, "d"),
    "PM": (1, 1, "d"),
    "BED": (1, 1, "d"),
    "BID": (2, 1, "d"),
    "TID": (3, 1, "d"),
    "QID": (4, 1, "d"),
    "QOD": (1, 2, "d"),
    "WK": (1, 1, "wk"),
    "MO": (1, 1, "mo"),
    **{f"Q{n}H": (1, n, "h") for n in (1, 2, 3, 4, 6, 8)},
}
_PERIOD_UNITS = ("s", "min", "h", "d", "wk", "mo", "a")
_PERIOD_ALLOWED = "a number above 0 with periodUnit s, min, h, d, wk, mo or a"


@dataclass(frozen=True)
class Timing:
    """The infusion days of the course (or of one interval), doses a day, the interval."""

    days: int
    doses_per_day: float
    interval_weeks: float | None = None
    notes: tuple[str, ...] = field(default=())


def _refuse(where: str, value: object, allowed: str, detail: str | None = None) -> NotRead:
    return NotRead(str(InputError(where, value, allowed, detail=detail)))


def _days(value: float, element: str) -> int:
    """A number of days, refused above a year (no course is longer; a larger figure would
    overflow the grams it multiplies)."""
    if value > 366:
        shown: object = value if value < 10**18 else "(a number of more than 18 digits)"
        raise InputError(
            f"draftOrders MedicationRequest.dosageInstruction.{element}",
            shown,
            "a whole number of days from 1 to 366",
            "days",
        )
    return int(value)


def _whole(value: object, where: str) -> int | None:
    """A whole number from 1 (``5.0`` is 5); ``None`` when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse(where, value, "a whole number from 1")
    if value > 10**6:  # more doses than any course has (10**400 would overflow a float)
        _days(value, "timing.repeat." + where.rsplit(".", 1)[-1])
    if not math.isfinite(value) or value < 1 or value != int(value):
        raise _refuse(where, value, "a whole number from 1")
    return int(value)


def _code(timing: Mapping[str, Any]) -> tuple[str, tuple[int, float, str]] | None:
    concept = timing.get("code")
    codings = concept.get("coding") if isinstance(concept, dict) else None
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, dict) and coding.get("system") == _GTS:
            known = _GTS_CODES.get(str(coding.get("code")))
            if known is not None:
                return str(coding["code"]), known
    return None


def _period_days(period: object, unit: object, where: str) -> float:
    if isinstance(period, bool) or not isinstance(period, int | float) or not period > 0:
        raise _refuse(f"{where}.period", period, _PERIOD_ALLOWED)
    if unit not in _PERIOD_UNITS or not math.isfinite(period):
        raise _refuse(f"{where}.periodUnit", unit, _PERIOD_ALLOWED)
    return float(ucum_quantity(float(period), str(unit), where).to("d").magnitude)


def _duration_days(qty: object, where: str) -> float:
    if not isinstance(qty, dict):
        raise _refuse(where, type(qty).__name__, "a Duration: a value and a time unit")
    value, code = qty.get("value"), quantity_code(qty)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise _refuse(f"{where}.value", value, "a number above 0")
    if isinstance(value, int) and value > 10**6:
        _days(value, "timing.repeat.boundsDuration.value")
    if code is None:
        raise _refuse(f"{where}.unit", None, "a time unit: d, h, wk (or days, hours, weeks)")
    try:
        amount = ucum_quantity(float(value), code, where)
    except InputError:
        raise _refuse(
            f"{where}.code", code, "a time unit: d, h, wk (or days, hours, weeks)"
        ) from None
    if not amount.check("[time]"):
        raise _refuse(f"{where}.code", code, "a time unit: d, h, wk (or days, hours, weeks)")
    return float(amount.to("d").magnitude)


def _date_of(text: object, where: str) -> dt.date:
    """The calendar day of a FHIR date or dateTime; midnight ends the day before (an end)."""
    if not isinstance(text, str) or len(text) < 10:
        raise _refuse(where, text, "a FHIR date or dateTime (2026-12-02)")
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _refuse(where, text, "a FHIR date or dateTime (2026-12-02)") from None
    if where.endswith(".end") and moment.time() == dt.time(0, 0):
        return moment.date() - dt.timedelta(days=1)
    return moment.date()


def _bounds_days(repeat: Mapping[str, Any], where: str) -> tuple[float | None, str | None]:
    """The days of the course that ``bounds[x]`` gives, and a note on how it was read."""
    if "boundsDuration" in repeat:
        return _duration_days(repeat["boundsDuration"], f"{where}.boundsDuration"), None
    if "boundsRange" in repeat:
        rng = repeat["boundsRange"]
        high = rng.get("high") if isinstance(rng, dict) else None
        days = _duration_days(high, f"{where}.boundsRange.high")
        return days, f"{where}.boundsRange is read at its high end, {days:g} days"
    if "boundsPeriod" in repeat:
        period = repeat["boundsPeriod"]
        if not isinstance(period, dict):
            raise _refuse(f"{where}.boundsPeriod", type(period).__name__, "a Period")
        if period.get("end") is None:  # an open course (Epic writes its start only)
            return None, None
        start = _date_of(period.get("start"), f"{where}.boundsPeriod.start")
        end = _date_of(period.get("end"), f"{where}.boundsPeriod.end")
        days = (end - start).days + 1
        if days < 1:
            raise _refuse(f"{where}.boundsPeriod.end", period.get("end"), "a date after start")
        return float(days), (
            f"{where}.boundsPeriod {period['start']} to {period['end']} is read as {days} "
            "day(s), both days included"
        )
    return None, None


def _events(timing: Mapping[str, Any], where: str) -> Timing:
    events = timing.get("event")
    if not isinstance(events, list) or not events:
        raise _refuse(
            where, "(no repeat, code or event)", "timing.repeat with a period and a count"
        )
    dates = {_date_of(e, f"{where}.event") for e in events}
    per_day = len(events) / len(dates)
    if per_day != int(per_day):
        raise _refuse(f"{where}.event", len(events), "the same number of doses on each day")
    return Timing(_days(len(dates), "timing.event"), per_day)


def read_timing(dosage: Mapping[str, Any], where: str) -> Timing:
    """The days, doses a day and interval of one dosage element (``where``: its path)."""
    timing = dosage.get("timing")
    if timing is None:
        return Timing(1, 1.0, notes=(f"{where} has no timing: read as one dose",))
    where = f"{where}.timing"
    if not isinstance(timing, dict):
        raise _refuse(where, type(timing).__name__, "a Timing")
    repeat, code = timing.get("repeat"), _code(timing)
    if repeat is None and code is None:
        return _events(timing, where)
    if repeat is not None and not isinstance(repeat, dict):
        raise _refuse(f"{where}.repeat", type(repeat).__name__, "a Timing.repeat")
    return _repeat(repeat or {}, code, f"{where}.repeat")


def _repeat(
    repeat: Mapping[str, Any], code: tuple[str, tuple[int, float, str]] | None, where: str
) -> Timing:
    notes: list[str] = []
    frequency = _whole(repeat.get("frequency"), f"{where}.frequency")
    most = _whole(repeat.get("frequencyMax"), f"{where}.frequencyMax")
    count = _whole(repeat.get("count"), f"{where}.count")
    count_max = _whole(repeat.get("countMax"), f"{where}.countMax")
    if most is not None and most > (frequency or 1):
        notes.append(f"{where}.frequencyMax {most} is read, the most that may be given")
        frequency = most
    if count_max is not None and (count is None or count_max > count):
        notes.append(f"{where}.countMax {count_max} is read, the most that may be given")
        count = count_max
    bounds, bounds_note = _bounds_days(repeat, where)
    if bounds_note:
        notes.append(bounds_note)
    listed = _listed(repeat, where) if frequency is None else None
    if listed is not None:
        frequency, period, unit, note = listed
        repeat = {"period": period, "periodUnit": unit, **repeat}
        notes.append(note)
    if "period" in repeat or "periodUnit" in repeat:
        period_days = _period_days(repeat.get("period"), repeat.get("periodUnit"), where)
    elif code is not None:
        frequency = frequency or code[1][0]
        period_days = _period_days(code[1][1], code[1][2], where)
        notes.append(
            f"{where[: -len('.repeat')]}.code {code[0]} is read as {code[1][0]} dose(s) "
            f"every {code[1][1]:g} {code[1][2]}"
        )
    elif (count or bounds) and (frequency or 1) == 1:
        period_days = 1.0
        notes.append(f"{where} gives no period: read as one dose a day")
    else:
        raise _refuse(
            where, "(no period, count or bounds)", "period and periodUnit with a count or bounds"
        )
    frequency = frequency or 1
    if period_days >= 7:
        return _maintenance(frequency, period_days, where, notes)
    return _course(frequency, period_days, count, bounds, where, notes)


def _listed(repeat: Mapping[str, Any], where: str) -> tuple[int, float, str, str] | None:
    """Doses a day from ``timeOfDay`` or a week from ``dayOfWeek`` (with the period they imply)
    when the repeat gives no frequency."""
    for key, unit, per in (("timeOfDay", "d", "day"), ("dayOfWeek", "wk", "week")):
        listed = repeat.get(key)
        if isinstance(listed, list) and len(listed) > 1:
            note = f"{where}.{key} lists {len(listed)}: read as {len(listed)} doses a {per}"
            return len(listed), 1.0, unit, note
    return None


def _maintenance(frequency: int, period_days: float, where: str, notes: list[str]) -> Timing:
    """``frequency`` doses, one a day, every ``period_days`` (at least a week)."""
    if frequency > period_days:
        raise _refuse(f"{where}.frequency", frequency, f"at most one dose a day ({period_days:g})")
    if frequency > 1:
        notes.append(
            f"{where}: {frequency} doses every {period_days / 7:g} week(s) are read as "
            f"{frequency} infusion days of each interval"
        )
    return Timing(frequency, 1.0, round(period_days / 7, 3), tuple(notes))


def _course(
    frequency: int,
    period_days: float,
    count: int | None,
    bounds: float | None,
    where: str,
    notes: list[str],
) -> Timing:
    """A course of daily (or more frequent, or every few days) doses."""
    if count is None and bounds is None:
        raise _refuse(
            where,
            "(no count or bounds)",
            "a count or bounds[x] with a period of less than a week",
            "the number of days of the course is not given",
        )
    if period_days > 1 + 1e-9:  # one dose every few days: each dose an infusion day
        if frequency != 1:
            raise _refuse(
                f"{where}.frequency", frequency, f"1 with a period of {period_days:g} days"
            )
        days = (
            float(count)
            if count is not None
            else math.floor((_whole_days(bounds or 1.0, where) - 1) / period_days) + 1
        )
        notes.append(f"{where}: one dose every {period_days:g} days, {days:g} infusion days")
        return Timing(_days(days, "timing.repeat.count"), 1.0, None, tuple(notes))
    per_day = frequency / period_days
    if not math.isclose(per_day, round(per_day), abs_tol=1e-9):
        raise _refuse(f"{where}.period", period_days * 24, "a whole number of doses a day", "h")
    per_day = float(round(per_day))
    if count is not None:
        days = count / per_day
        if days != int(days):
            raise _refuse(f"{where}.count", count, f"a multiple of {per_day:g} doses a day")
        if bounds is not None and not math.isclose(bounds, days):
            notes.append(
                f"{where}.count {count} gives {days:g} day(s); bounds {bounds:g}: the count is read"
            )
        return Timing(_days(days, "timing.repeat.count"), per_day, None, tuple(notes))
    days = _whole_days(bounds or 1.0, where)
    return Timing(_days(days, "timing.repeat.boundsDuration.value"), per_day, None, tuple(notes))


def _whole_days(days: float, where: str) -> float:
    if days > 366:
        _days(days, "timing.repeat.boundsDuration.value")
    if not math.isclose(days, round(days), abs_tol=1e-9) or round(days) < 1:
        raise _refuse(f"{where}.bounds", f"{days:g} days", "a whole number of days from 1")
    return float(round(days))
