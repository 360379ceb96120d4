"""Small helpers shared by the registry modules: rows as plain data, dates, checks."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from ivig.core.review import parse_date
from ivig.errors import InputError, MissingFieldError

__all__ = [
    "as_date",
    "get_or_fail",
    "jsonable",
    "optional_positive",
    "positive",
    "required_text",
    "row_out",
    "today_utc",
]


def row_out(obj: object) -> dict[str, Any]:
    """The column values of an ORM row as JSON-ready data (dates as ISO strings)."""
    out: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        value = getattr(obj, attr.key)
        if isinstance(value, dt.date | dt.datetime):
            value = value.isoformat()
        out[attr.key] = value
    return out


def jsonable(obj: Any) -> Any:
    """``obj`` through a JSON round trip (tuples become lists, dates become strings)."""
    return json.loads(json.dumps(obj, default=str))


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def as_date(value: object, field: str, *, default: dt.date | None = None) -> dt.date:
    """A ``date`` from a date, a datetime or ``YYYY-MM-DD``; ``default`` when ``value`` is None."""
    if value is None:
        if default is None:
            raise MissingFieldError(field, "this step", "YYYY-MM-DD")
        return default
    return parse_date(value, field)


def positive(value: object, field: str, unit: str) -> float:
    """``value`` as a finite number above 0, else ``InputError``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(field, value, "a number above 0", unit)
    try:
        number = float(value)
    except ValueError:
        raise InputError(field, value, "a number above 0", unit) from None
    if not math.isfinite(number) or number <= 0:
        raise InputError(field, value, "a number above 0", unit)
    return number


def optional_positive(value: object, field: str, unit: str) -> float | None:
    return None if value is None else positive(value, field, unit)


def required_text(value: object, field: str, max_len: int = 200) -> str:
    """A non-empty, stripped string of at most ``max_len`` characters."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > max_len:
        raise InputError(field, value, f"a non-empty text of at most {max_len} characters")
    return value.strip()


def get_or_fail(session: Session, model: type[Any], ident: int, field: str) -> Any:
    """The row of ``model`` with primary key ``ident``; ``InputError`` naming ``field`` if none."""
    row = session.get(model, ident)
    if row is None:
        raise InputError(field, ident, f"the id of an existing {model.__tablename__} row")
    return row
