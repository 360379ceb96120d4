"""Check a request against the knowledge base: finding names, types and ranges; ids.

The contract (types, required fields) is checked by ``ivig.contract.validate_request``; this
module checks what only the knowledge base knows. Every problem is collected, then raised once.
"""

from __future__ import annotations

from ivig.errors import InputError, InvalidRequestError, UnknownIdError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from ivig.contract import Request
    from ivig.knowledge.base import KnowledgeBase

__all__ = ["check_finding_value", "check_request"]


def check_finding_value(kb: KnowledgeBase, name: str, value: object) -> None:
    """Raise :class:`InputError` if ``value`` is not of the declared type and range."""
    decl = kb.finding(name)
    kind = decl["type"]
    field = f"findings.{name}"
    unit = decl.get("unit")
    if kind == "bool":
        if not isinstance(value, bool):
            raise InputError(field, value, "true or false")
    elif kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(field, value, "a number", unit)
        if kind == "int" and value != int(value):
            raise InputError(field, value, "a whole number", unit)
        low, high = decl.get("min"), decl.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise InputError(field, value, f"{low:g} to {high:g}", unit)
    elif kind == "enum":
        if value not in decl.get("allowed", []):
            raise InputError(field, value, ", ".join(decl.get("allowed", [])))
    elif not isinstance(value, str):
        raise InputError(field, value, "text")


def check_request(kb: KnowledgeBase, request: Request) -> None:
    """Collect every knowledge-level problem of ``request`` into one InvalidRequestError."""
    problems: list[dict[str, object]] = []

    def add(exc: InputError) -> None:
        problems.append(exc.to_dict())

    for name, value in request.get("findings", {}).items():
        try:
            check_finding_value(kb, name, value)
        except InputError as exc:
            if isinstance(exc, UnknownIdError):
                exc = InputError(f"findings.{name}", name, exc.allowed, detail="unknown finding")
            add(exc)
    known_risks = {r["id"] for r in kb.data["risk_factors"]}
    for n, risk in enumerate(request["patient"].get("risk_factors", [])):
        if known_risks and risk not in known_risks:
            try:
                kb.risk_factor(risk)
            except InputError as exc:
                add(InputError(f"patient.risk_factors[{n}]", risk, exc.allowed))
    for n, product in enumerate(request.get("formulary", [])):
        try:
            kb.product(product)
        except InputError as exc:
            add(InputError(f"formulary[{n}]", product, exc.allowed))
    if "product" in request:
        try:
            kb.product(request["product"])
        except InputError as exc:
            add(InputError("product", request["product"], exc.allowed))
    if "dosing_weight_policy" in request:
        try:
            kb.dosing_policy(request["dosing_weight_policy"])
        except InputError as exc:
            add(InputError("dosing_weight_policy", request["dosing_weight_policy"], exc.allowed))
    patient = request["patient"]
    values: dict[str, object] = {
        f"patient.{name}": patient.get(name) for name in ("weight_kg", "height_cm", "age_years")
    }
    for name, lab in patient.get("labs", {}).items():
        values[f"patient.labs.{name}"] = lab
    for path, measured in values.items():
        field = path.rsplit(".", 1)[1]
        limit = kb.limit(field)
        if (
            isinstance(measured, int | float)
            and limit
            and not limit["min"] <= measured <= limit["max"]
        ):
            add(
                InputError(
                    path,
                    measured,
                    f"{limit['min']:g} to {limit['max']:g}",
                    limit["unit"],
                    limit["reason"],
                )
            )
    if problems:
        raise InvalidRequestError(problems)
