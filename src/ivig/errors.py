"""One exception family for everything a user can get wrong.

Messages name the field, the value, what is allowed and the unit, so that every adapter can show
them as they are (the CLI exits with status 2, the API answers 422).
"""

from __future__ import annotations

__all__ = [
    "InputError",
    "InvalidRequestError",
    "IvigError",
    "KnowledgeValidationError",
    "MissingFieldError",
    "UnknownIdError",
]


class IvigError(Exception):
    """Base class of every error ivig raises on purpose."""


class InputError(IvigError, ValueError):
    """A value given by the user is not acceptable."""

    def __init__(
        self,
        field: str,
        value: object,
        allowed: str,
        unit: str | None = None,
        detail: str | None = None,
    ) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        self.unit = unit
        self.detail = detail
        unit_text = f" {unit}" if unit and unit != "none" else ""
        text = f"{field}: {value!r}{unit_text} is not allowed; allowed: {allowed}"
        if detail:
            text += f" ({detail})"
        super().__init__(text)

    def to_dict(self) -> dict[str, object]:
        """The error as JSON-ready data (field, value, allowed, unit, message)."""
        return {
            "field": self.field,
            "value": self.value,
            "allowed": self.allowed,
            "unit": self.unit,
            "message": str(self),
        }


class MissingFieldError(InputError):
    """A field needed for the calculation was not given."""

    def __init__(self, field: str, needed_for: str, unit: str | None = None) -> None:
        super().__init__(field, None, "a value is required", unit, f"needed for {needed_for}")
        self.needed_for = needed_for
        unit_text = f" (in {unit})" if unit else ""
        self.args = (f"{field}: missing{unit_text}; a value is required for {needed_for}",)


class UnknownIdError(InputError, LookupError):
    """An identifier that the knowledge base does not hold; suggests the nearest ones."""

    def __init__(self, kind: str, value: str, suggestions: list[str]) -> None:
        self.kind = kind
        self.suggestions = suggestions
        hint = ", ".join(suggestions) if suggestions else "none close; see `ivig kb list`"
        super().__init__(kind, value, f"a known {kind} id (nearest: {hint})", detail="unknown id")


class KnowledgeValidationError(IvigError):
    """The knowledge files do not validate; ``errors`` lists every problem with its file."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        head = f"{len(errors)} knowledge-base error(s):\n"
        super().__init__(head + "\n".join(f"  {e}" for e in errors))


class InvalidRequestError(IvigError):
    """Several fields of one request are wrong; ``problems`` lists each (field, value, message)."""

    def __init__(self, problems: list[dict[str, object]]) -> None:
        self.problems = problems
        lines = [f"  {p['field']}: {p['message']}" for p in problems]
        super().__init__(f"{len(problems)} problem(s) in the request:\n" + "\n".join(lines))
