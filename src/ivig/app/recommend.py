"""Use case: one explainable recommendation for one request."""

from __future__ import annotations

from ivig.core.recommend import recommend as _compose

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from ivig.contract import Request
    from ivig.knowledge.base import KnowledgeBase
    from ivig.results import Recommendation

__all__ = ["checked", "recommend", "recommend_either_sex", "recommend_request", "validate"]


def validate(data: object) -> Request:
    """``data`` as a contract :class:`~ivig.contract.Request`; ``InvalidRequestError`` names
    every bad field."""
    from ivig.fastcheck import validated

    fast = validated(data)
    if fast is not None:
        request: Request = fast  # type: ignore[assignment]
        return request
    from ivig.contract import validate_request

    return validate_request(data)


def recommend(kb: KnowledgeBase, data: object) -> Recommendation:
    """The recommendation for raw request ``data`` (JSON/YAML-shaped): validated, checked
    against the knowledge base, composed."""
    return _compose(kb, validate(data))


def recommend_request(kb: KnowledgeBase, request: Request) -> Recommendation:
    """The recommendation for a request already validated against the contract."""
    return _compose(kb, request)


#: the parts of a recommendation a patient's sex may change (risks, products, rates,
#: monitoring); the dosing weight is compared by the weight used, not by its trace (which
#: computes an ideal weight for each sex even where the policy uses the actual weight)
_SEX_DEPENDENT = (
    "eligibility", "dose", "risk_profile", "products", "infusion", "monitoring", "review",
    "plan_status", "to_confirm",
)  # fmt: skip


def _used_weight(rec: Recommendation) -> tuple[object, ...] | None:
    weight = rec.get("dosing_weight")
    return None if weight is None else (weight["kg"], weight["method"], weight["policy"])


def recommend_either_sex(kb: KnowledgeBase, data: dict[str, Any]) -> tuple[Request, Recommendation]:
    """The request and recommendation for ``data`` whose ``patient.sex`` is unknown: composed for
    a female and a male patient, and returned only when the plan is the same for both (an actual
    body weight policy does not use sex). When it differs, ``InputError`` on ``patient.sex`` says
    what depends on it (e.g. the dosing weight of each)."""
    from ivig.errors import InputError
    from ivig.vocabulary import SEXES

    plans = []
    for sex in SEXES:
        request = validate({**data, "patient": {**data["patient"], "sex": sex}})
        plans.append((request, _compose(kb, request)))
    (request, rec), others = plans[0], plans[1:]
    differ = [
        key
        for key in _SEX_DEPENDENT
        if any(other[key] != rec[key] for _, other in others)  # type: ignore[literal-required]
    ]
    if any(_used_weight(other) != _used_weight(rec) for _, other in others):
        differ.insert(0, "dosing_weight")
    if not differ:
        return request, rec
    weights = ", ".join(
        f"{req['patient']['sex']} {weight['kg']:g} kg"
        for req, plan in plans
        if (weight := plan.get("dosing_weight")) is not None
    )
    detail = f"dosing weight {weights}" if "dosing_weight" in differ and weights else ""
    raise InputError(
        "patient.sex",
        "not female or male",
        "female or male: the plan depends on it (" + (detail or ", ".join(differ)) + ")",
    )


def checked(kb: KnowledgeBase, data: object) -> Request:
    """``data`` validated against the contract and checked against the knowledge base (finding
    names and ranges, ids, plausibility), without composing the recommendation."""
    from ivig.core.request_check import check_request

    request = validate(data)
    check_request(kb, request)
    return request
