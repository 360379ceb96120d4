"""Check a request against the knowledge base: finding names, types and ranges; ids.

The contract (types, required fields) is checked by ``ivig.contract.validate_request``; this
module checks what only the knowledge base knows. Every problem is collected, then raised once.
"""

from __future__ import annotations

from ivig.errors import InputError, InvalidRequestError, UnknownIdError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ivig.contract import Patient, Request
    from ivig.knowledge.base import KnowledgeBase
    from ivig.knowledge.schema import PlausibilityLimit

__all__ = ["check_finding_value", "check_request", "unusual_body_size"]


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


def _finding_problems(kb: KnowledgeBase, request: Request) -> Iterator[InputError]:
    for name, value in request.get("findings", {}).items():
        try:
            check_finding_value(kb, name, value)
        except InputError as exc:
            if isinstance(exc, UnknownIdError):
                exc = InputError(f"findings.{name}", name, exc.allowed, detail="unknown finding")
            yield exc


def _id_problems(kb: KnowledgeBase, request: Request) -> Iterator[InputError]:
    """Unknown risk factors, products and policies, each named by its field."""
    known_risks = {r["id"] for r in kb.data["risk_factors"]}
    lookups: list[tuple[str, str, Callable[[str], object]]] = [
        (f"patient.risk_factors[{n}]", risk, kb.risk_factor)
        for n, risk in enumerate(request["patient"].get("risk_factors", []))
        if known_risks and risk not in known_risks
    ]
    lookups += [
        (f"formulary[{n}]", product, kb.product)
        for n, product in enumerate(request.get("formulary", []))
    ]
    if "product" in request:
        lookups.append(("product", request["product"], kb.product))
    if "dosing_weight_policy" in request:
        lookups.append(("dosing_weight_policy", request["dosing_weight_policy"], kb.dosing_policy))
    for field, value, lookup in lookups:
        try:
            lookup(value)
        except InputError as exc:
            yield InputError(field, value, exc.allowed)


def _limit_problems(kb: KnowledgeBase, request: Request) -> Iterator[InputError]:
    """Patient values and labs outside their plausibility limits (knowledge ``limits``)."""
    patient = request["patient"]
    values: dict[str, object] = {
        f"patient.{name}": patient.get(name) for name in ("weight_kg", "height_cm", "age_years")
    }
    for name, lab in patient.get("labs", {}).items():
        values[f"patient.labs.{name}"] = lab
    for path, measured in values.items():
        limit = kb.limit(path.rsplit(".", 1)[1])
        if (
            isinstance(measured, int | float)
            and limit
            and not limit["min"] <= measured <= limit["max"]
        ):
            yield InputError(
                path, measured, f"{limit['min']:g} to {limit['max']:g}", limit["unit"],
                limit["reason"],
            )  # fmt: skip


def check_request(kb: KnowledgeBase, request: Request) -> None:
    """Collect every knowledge-level problem of ``request`` into one InvalidRequestError."""
    problems = [
        exc.to_dict()
        for check in (_finding_problems, _id_problems, _limit_problems)
        for exc in check(kb, request)
    ]
    unusual = unusual_body_size(kb, request["patient"])
    confirmed = set(request.get("confirm_unusual", [])) & {"weight_kg", "height_cm"}
    if unusual is not None and not confirmed:
        problems.append(unusual.to_dict())
    if problems:
        raise InvalidRequestError(problems)


def _from_age(limit: PlausibilityLimit | None, age_years: float) -> PlausibilityLimit | None:
    """``limit`` when it applies at ``age_years`` (its ``min_age_years``), else ``None``."""
    if limit is None or age_years < limit.get("min_age_years", 0):
        return None
    return limit


def unusual_body_size(kb: KnowledgeBase, patient: Patient) -> InputError | None:
    """An adult's weight, or weight with height, outside the plausible range (knowledge limits
    ``weight_kg_adult`` and ``bmi_kg_per_m2_adult``), as the error that names both fields."""
    age = patient["age_years"]
    weight, height = patient["weight_kg"], patient.get("height_cm")
    confirm = "if the values are right, add confirm_unusual: [weight_kg]"
    # the limits say from which age they apply; children would need a growth reference the
    # knowledge base does not hold
    adult = _from_age(kb.limit("weight_kg_adult"), age)
    if adult and not adult["min"] <= weight <= adult["max"]:
        detail = f"{adult['reason']}; age_years {patient['age_years']:g}; {confirm}"
        return InputError(
            "patient.weight_kg", weight, f"{adult['min']:g} to {adult['max']:g} for an adult",
            "kg", detail,
        )  # fmt: skip
    bmi_limit = _from_age(kb.limit("bmi_kg_per_m2_adult"), age)
    if height is None or not bmi_limit:
        return None
    bmi = weight / (height / 100) ** 2
    if bmi_limit["min"] <= bmi <= bmi_limit["max"]:
        return None
    allowed = (
        f"with patient.height_cm {height:g} cm, a weight giving a BMI of {bmi_limit['min']:g} "
        f"to {bmi_limit['max']:g} kg/m2 (this pair gives BMI {bmi:.1f})"
    )
    return InputError(
        "patient.weight_kg", weight, allowed, "kg", f"{bmi_limit['reason']}; {confirm}"
    )
