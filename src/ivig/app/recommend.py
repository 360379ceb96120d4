"""Use case: one explainable recommendation for one request."""

from __future__ import annotations

from ivig.core.recommend import recommend as _compose

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from ivig.contract import Request
    from ivig.knowledge.base import KnowledgeBase
    from ivig.results import Recommendation

__all__ = ["checked", "recommend", "recommend_request", "validate"]


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


def checked(kb: KnowledgeBase, data: object) -> Request:
    """``data`` validated against the contract and checked against the knowledge base (finding
    names and ranges, ids, plausibility), without composing the recommendation."""
    from ivig.core.request_check import check_request

    request = validate(data)
    check_request(kb, request)
    return request
