"""Schema of clinical scores, outcome measures and the rules that judge a course of treatment.

A :class:`Score` is one data file ``scores/<id>.yaml``. Its ``items`` say what the clinician
enters (each item validated by name and allowed values), ``method`` how the total is formed,
``range``, ``interpretation`` bands and ``mcid`` carry their own ``sources`` and ``verified``.

Where a published point table could not be confirmed (EGOS, mEGOS, EGRIS, QMG, MG composite),
the record asks for the clinician's ``total`` only and says in ``not_encoded`` what was left out.

The rules of the response review (responder and deterioration thresholds, the treatment-related
fluctuation definition, taper steps, trial-off window, wearing-off, dose creep) are the
``review_rules`` collection (``review_rules.yaml``), each rule with its own source, so that no
threshold is a code constant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, NotRequired

from annotated_types import Ge, MinLen
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

__all__ = [
    "CHECKS",
    "RULE_KINDS",
    "Choice",
    "FindingMap",
    "InterpretationBand",
    "Mcid",
    "PointBand",
    "ReviewRule",
    "Score",
    "ScoreItem",
    "ScoreRange",
]

FORBID = ConfigDict(extra="forbid")

Id = Annotated[str, MinLen(1)]


@with_config(FORBID)
class _SourceRef(TypedDict):
    id: Id
    locator: NotRequired[str]


Sources = Annotated[list[_SourceRef], MinLen(1)]

Unit = Literal["points", "kPa", "relapses/year", "count", "years", "days", "percent", "none"]

ScoreKind = Literal["scale", "prognostic_model", "measurement", "rate", "classification"]
Method = Literal["sum", "points", "single", "rate", "class", "none"]
Direction = Literal["higher_is_worse", "higher_is_better", "none"]

#: Kinds of review rule the engine (:mod:`ivig.core.review`) understands.
RULE_KINDS = (
    "responder",
    "deterioration",
    "fluctuation",
    "fluctuation_window",
    "fluctuation_assessments",
    "acute_onset_cidp",
    "wearing_off",
    "taper",
    "trial_off",
    "lowest_effective_dose",
    "stop_no_benefit",
    "dose_creep",
    "maintenance_review",
)
RuleKind = Literal[
    "responder",
    "deterioration",
    "fluctuation",
    "fluctuation_window",
    "fluctuation_assessments",
    "acute_onset_cidp",
    "wearing_off",
    "taper",
    "trial_off",
    "lowest_effective_dose",
    "stop_no_benefit",
    "dose_creep",
    "maintenance_review",
]


@with_config(FORBID)
class Choice(TypedDict):
    """One allowed value of an ordinal or categorical item."""

    value: int | str
    label: str
    #: order of a categorical value (MGFA class) for trends; higher is more severe
    rank: NotRequired[int]
    #: points this value adds to a ``points`` score (EGRIS facial/bulbar weakness: yes = 1)
    points: NotRequired[float]


@with_config(FORBID)
class PointBand(TypedDict):
    """Points of a numeric item whose value lies in ``min``..``max`` (inclusive).

    ``when`` narrows the band to a value of another item (mEGOS: MRC sum score bands differ at
    admission and at day 7).
    """

    min: float
    max: float
    points: float
    when: NotRequired[dict[str, str]]


@with_config(FORBID)
class FindingMap(TypedDict):
    """How a request's findings fill a score's items (for the prognosis shown with a
    recommendation). Values name a finding, or ``=value`` for a fixed item value."""

    label: str
    items: dict[str, str]


@with_config(FORBID)
class ScoreItem(TypedDict):
    """One input of a score: either ``choices`` or a numeric ``min``/``max``."""

    id: Id
    label: str
    choices: NotRequired[Annotated[list[Choice], MinLen(1)]]
    min: NotRequired[float]
    max: NotRequired[float]
    integer: NotRequired[bool]
    unit: NotRequired[Unit]
    #: points of a numeric item, by band of its value (``points`` scores)
    points: NotRequired[Annotated[list[PointBand], MinLen(1)]]
    #: two values between which a change of this item is not counted (adjusted INCAT arm 0-1)
    change_ignored_between: NotRequired[Annotated[list[int], MinLen(2)]]
    note: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class ScoreRange(TypedDict):
    min: float
    max: NotRequired[float]
    sources: Sources
    verified: bool


@with_config(FORBID)
class InterpretationBand(TypedDict):
    """A band of the total (inclusive bounds) and what it means."""

    min: float
    max: float
    label: str
    sources: Sources
    verified: bool


@with_config(FORBID)
class Mcid(TypedDict):
    """Minimal clinically important difference (improvement), in the score's unit."""

    value: Annotated[float, Ge(0)]
    #: true when the change must exceed ``value`` (">"), false when reaching it suffices (">=")
    strict: bool
    text: str
    sources: Sources
    verified: bool


@with_config(FORBID)
class ReviewRule(TypedDict):
    """One rule of the response review; units are in the field names."""

    id: Id
    kind: RuleKind
    text: str
    #: the score the rule reads (responder, deterioration, fluctuation)
    measure: NotRequired[Id]
    #: condition ids; absent means every condition
    applies_to: NotRequired[list[Id]]
    min_change_points: NotRequired[Annotated[float, Ge(0)]]
    strict: NotRequired[bool]
    within_weeks_of_onset: NotRequired[Annotated[float, Ge(0)]]
    after_weeks_of_onset: NotRequired[Annotated[float, Ge(0)]]
    min_count: NotRequired[Annotated[int, Ge(1)]]
    steps_percent: NotRequired[Annotated[list[Annotated[float, Ge(0)]], MinLen(1)]]
    step_weeks: NotRequired[Annotated[float, Ge(0)]]
    window_months: NotRequired[Annotated[float, Ge(0)]]
    #: ``maintenance_review``: first evaluation after the start, then at most this many weeks
    first_review_weeks: NotRequired[Annotated[float, Ge(0)]]
    interval_weeks: NotRequired[Annotated[float, Ge(0)]]
    suggestion: NotRequired[str]
    sources: Sources
    verified: bool


@with_config(FORBID)
class Score(TypedDict):
    """A clinical score or outcome measure."""

    id: Id
    name: str
    kind: ScoreKind
    synonyms: NotRequired[list[str]]
    #: condition ids the measure is used for (informational)
    conditions: NotRequired[list[Id]]
    purpose: str
    items: list[ScoreItem]
    method: Method
    unit: Unit
    direction: Direction
    range: NotRequired[ScoreRange]
    interpretation: NotRequired[list[InterpretationBand]]
    mcid: NotRequired[Mcid]
    #: what a published version holds that this record leaves out, and why
    not_encoded: NotRequired[str]
    #: request findings that fill the items, one map per version of the score
    from_findings: NotRequired[list[FindingMap]]
    notes: NotRequired[list[str]]
    sources: Sources
    verified: bool


Report = Callable[[str, str, str], None]


def _check_item(sid: str, item: dict[str, Any], report: Report) -> None:
    file = f"scores/{sid}.yaml"
    loc = f"items.{item['id']}"
    has_choices = "choices" in item
    has_numeric = "min" in item or "max" in item
    if has_choices == has_numeric:
        report(file, loc, "give either 'choices' or a numeric 'min'/'max'")
    if has_choices:
        values = [c["value"] for c in item["choices"]]
        if len(set(map(str, values))) != len(values):
            report(file, loc, "duplicate choice value")
    if has_numeric and "min" in item and "max" in item and item["min"] > item["max"]:
        report(file, loc, "min above max")


def _check_points_item(sid: str, item: dict[str, Any], report: Report) -> None:
    """Every value of a ``points`` item has its points (each choice, each whole number)."""
    file = f"scores/{sid}.yaml"
    loc = f"items.{item['id']}"
    if "choices" in item:
        if not all("points" in c for c in item["choices"]):
            report(file, loc, "every choice of a points score needs 'points'")
        return
    bands = item.get("points") or []
    if not bands:
        report(file, loc, "a numeric item of a points score needs 'points' bands")
        return
    if not item.get("integer") or "min" not in item or "max" not in item:
        return
    contexts = {tuple(sorted(b.get("when", {}).items())) for b in bands}
    for context in contexts:
        for value in range(int(item["min"]), int(item["max"]) + 1):
            hits = [
                b
                for b in bands
                if tuple(sorted(b.get("when", {}).items())) == context
                and b["min"] <= value <= b["max"]
            ]
            if len(hits) != 1:
                report(file, loc, f"value {value} falls in {len(hits)} point bands {context}")
                return


def _check_score(score: dict[str, Any], score_ids: set[str], report: Report) -> None:
    sid = score["id"]
    file = f"scores/{sid}.yaml"
    items = score["items"]
    ids = [i["id"] for i in items]
    if len(set(ids)) != len(ids):
        report(file, "items", "duplicate item id")
    method = score["method"]
    for item in items:
        _check_item(sid, item, report)
        if method == "points":
            _check_points_item(sid, item, report)
    if not items:
        report(file, "items", "a score needs at least one item")
    if method == "rate" and len(items) != 2:
        report(file, "items", "a rate needs exactly two items (numerator, denominator)")
    if method in ("single", "class") and len(items) != 1:
        report(file, "items", f"method {method!r} needs exactly one item")
    if method == "class" and not all("rank" in c for i in items for c in i.get("choices", [])):
        report(file, "items", "every choice of a classification needs a 'rank'")
    rng = score.get("range")
    if rng and "max" in rng and rng["min"] > rng["max"]:
        report(file, "range", "min above max")
    if rng and method in ("sum", "points") and "max" in rng:
        lows, highs = _item_bounds(items)
        if lows is not None and highs is not None and (lows != rng["min"] or highs != rng["max"]):
            report(
                file,
                "range",
                f"range {rng['min']:g}..{rng['max']:g} differs from the items "
                f"({lows:g}..{highs:g})",
            )
    for k, band in enumerate(score.get("interpretation", [])):
        if band["min"] > band["max"]:
            report(file, f"interpretation[{k}]", "min above max")


def _item_bounds(items: list[dict[str, Any]]) -> tuple[float | None, float | None]:
    low = high = 0.0
    for item in items:
        if "choices" in item and all("points" in c for c in item["choices"]):
            low += min(c["points"] for c in item["choices"])
            high += max(c["points"] for c in item["choices"])
        elif item.get("points"):
            if any("when" in b for b in item["points"]):
                return None, None
            low += min(b["points"] for b in item["points"])
            high += max(b["points"] for b in item["points"])
        elif "choices" in item:
            nums = [c["value"] for c in item["choices"] if isinstance(c["value"], int | float)]
            if len(nums) != len(item["choices"]):
                return None, None
            low += min(nums)
            high += max(nums)
        elif "min" in item and "max" in item:
            low += item["min"]
            high += item["max"]
        else:
            return None, None
    return low, high


def check_scores(data: dict[str, Any], report: Report) -> None:
    """Items, ranges and rule references of every score are consistent."""
    scores = data.get("scores") or []
    score_ids = {s["id"] for s in scores}
    seen: set[str] = set()
    for score in scores:
        if score["id"] in seen:
            report("scores", score["id"], "duplicate score id")
        seen.add(score["id"])
        _check_score(score, score_ids, report)
    rule_ids: set[str] = set()
    for rule in data.get("review_rules") or []:
        if rule["id"] in rule_ids:
            report("review_rules.yaml", rule["id"], "duplicate rule id")
        rule_ids.add(rule["id"])
        measure = rule.get("measure")
        if measure is not None and measure not in score_ids:
            report("review_rules.yaml", rule["id"], f"unknown measure {measure!r}")


#: Cross-reference checks run by ``validate_directory``: ``check(data, report)`` where
#: ``report(file, location, message)`` records one error.
CHECKS: list[Callable[[dict[str, Any], Callable[[str, str, str], None]], None]] = [check_scores]
