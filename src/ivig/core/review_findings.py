"""Findings of the response review: thresholds, fluctuation, wearing off, dose creep, taper.

Helpers of :mod:`ivig.core.review`. Every threshold is read from the ``review_rules``
collection (``review_rules.yaml``) or a score record; the functions only compare and count.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivig.core.scores import compute_change
from ivig.errors import InputError

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "ReviewContext",
    "detect_dose_creep",
    "detect_fluctuation",
    "detect_wearing_off",
    "meets",
    "note_threshold",
    "signed_change",
    "stability_and_taper",
    "step_of",
    "threshold",
    "weeks_between",
]

DAYS_PER_WEEK = 7  # calendar fact, not a clinical number

Entry = dict[str, Any]


def weeks_between(a: dt.date, b: dt.date) -> float:
    return (b - a).days / DAYS_PER_WEEK


class ReviewContext:
    """What one review collects: applicable rules, rules used, sources, unverified facts."""

    def __init__(self, kb: KnowledgeBase, condition: str) -> None:
        self.kb = kb
        self.condition = condition
        self.rules: list[dict[str, Any]] = [
            dict(r)
            for r in kb.data["review_rules"]
            if not r.get("applies_to") or condition in r["applies_to"]
        ]
        self.used: list[str] = []
        self.sources: list[str] = []
        self.unverified: list[str] = []
        self.reasons: list[str] = []

    def rule(self, kind: str, measure: str | None = None) -> dict[str, Any] | None:
        for rule in self.rules:
            if rule["kind"] == kind and (measure is None or rule.get("measure") == measure):
                return rule
        return None

    def rules_of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.rules if r["kind"] == kind]

    def use(self, rule: Mapping[str, Any]) -> None:
        if rule["id"] not in self.used:
            self.used.append(rule["id"])
            if not rule["verified"]:
                self.unverified.append(f"rule {rule['id']}: {rule['text']}")
        for ref in rule.get("sources", []):
            if ref["id"] not in self.sources:
                self.sources.append(ref["id"])


def step_of(rule: Mapping[str, Any], detail: str = "") -> dict[str, Any]:
    """A next-step line from a rule's suggestion."""
    action = rule.get("suggestion", rule["text"])
    return {
        "action": f"{action}{' ' + detail if detail else ''}",
        "rule": rule["id"],
        "sources": [r["id"] for r in rule["sources"]],
        "verified": rule["verified"],
    }


# -- thresholds ----------------------------------------------------------------------------------
def _grade_step(score: Mapping[str, Any]) -> float | None:
    """Smallest step of a single-item ordinal scale (one grade), else None."""
    items = score["items"]
    if score["method"] != "single" or "choices" not in items[0]:
        return None
    values = sorted(float(c["value"]) for c in items[0]["choices"])
    gaps = [b - a for a, b in itertools.pairwise(values) if b > a]
    return min(gaps) if gaps else None


def threshold(ctx: ReviewContext, score_id: str, kind: str) -> dict[str, Any] | None:
    """The change that counts for ``kind`` (responder, deterioration) on this measure.

    In order: a rule of that kind for the measure; for deterioration, the responder rule; the
    score's MCID; one grade of a single-item ordinal scale (flagged as unverified).
    """
    rule = ctx.rule(kind, score_id)
    if rule is None and kind == "deterioration":
        rule = ctx.rule("responder", score_id)
    if rule is not None and "min_change_points" in rule:
        return {
            "value": rule["min_change_points"],
            "strict": rule.get("strict", False),
            "rule": rule,
            "basis": rule["id"],
            "verified": rule["verified"],
        }
    score = ctx.kb.score(score_id)
    mcid = score.get("mcid")
    if mcid is not None:
        return {
            "value": mcid["value"],
            "strict": mcid["strict"],
            "rule": None,
            "basis": f"{score_id} MCID",
            "verified": mcid["verified"],
            "sources": [r["id"] for r in mcid["sources"]],
        }
    step = _grade_step(score)
    if step is not None:
        return {
            "value": step,
            "strict": False,
            "rule": None,
            "basis": f"{score_id}: one grade (no published threshold)",
            "verified": False,
        }
    return None


def meets(change: float, limit: Mapping[str, Any]) -> bool:
    value = float(limit["value"])
    return change > value + 1e-9 if limit["strict"] else change >= value - 1e-9


def note_threshold(ctx: ReviewContext, limit: Mapping[str, Any]) -> None:
    if limit["rule"] is not None:
        ctx.use(limit["rule"])
        return
    for sid in limit.get("sources", []):
        if sid not in ctx.sources:
            ctx.sources.append(sid)
    text = f"threshold {limit['basis']}"
    if not limit["verified"] and text not in ctx.unverified:
        ctx.unverified.append(text)


def signed_change(ctx: ReviewContext, score_id: str, a: Entry, b: Entry) -> float:
    """Improvement from assessment ``a`` to ``b`` (positive = better), adjusted where defined."""
    score = ctx.kb.score(score_id)
    same_items = set(a["items"]) == set(b["items"])
    if score["method"] in ("sum", "single") and same_items and score["kind"] != "measurement":
        return float(compute_change(ctx.kb, score_id, a["items"], b["items"])["change"])
    sign = -1.0 if score["direction"] == "higher_is_worse" else 1.0
    return sign * (float(b["value"]) - float(a["value"]))


# -- GBS treatment-related fluctuation -----------------------------------------------------------
def _episodes(ctx: ReviewContext, sid: str, entries: list[Entry], start: dt.date) -> list[Entry]:
    rule = ctx.rule("fluctuation", sid)
    if rule is None or "min_change_points" not in rule:
        return []
    limit = {"value": rule["min_change_points"], "strict": rule.get("strict", False)}
    pre = [e for e in entries if e["date"] <= start]
    if not pre:
        return []
    prev, best, settled = pre[-1], pre[-1], False
    found: list[Entry] = []
    for entry in (e for e in entries if e["date"] > start):
        if not settled:
            if signed_change(ctx, sid, prev, entry) >= 0:  # stabilised or improved
                settled, best = True, entry
            prev = entry
            continue
        drop = -signed_change(ctx, sid, best, entry)
        if meets(drop, limit):
            ctx.use(rule)
            found.append({"date": entry["date"], "measure": sid, "from": best["value"]})
            found[-1]["to"] = entry["value"]
            settled, prev = False, entry
        elif signed_change(ctx, sid, best, entry) > 0:
            best = entry
    return found


def _trf_indication(ctx: ReviewContext) -> dict[str, Any] | None:
    """The indication of this condition that qualifies on a treatment-related fluctuation."""
    for ind in ctx.kb.condition(ctx.condition)["indications"]:
        for crit in ind.get("qualifying", []):
            if "treatment_related_fluctuation == true" in crit.get("when", ""):
                return dict(ind)
    return None


def detect_fluctuation(
    ctx: ReviewContext,
    history: Mapping[str, Any],
    series: Mapping[str, list[Entry]],
    start: dt.date | None,
    steps: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """Treatment-related fluctuations (and the acute-onset CIDP flag) where rules apply."""
    if start is None or not any(ctx.rule("fluctuation", sid) for sid in series):
        return None
    from ivig.core.review import parse_date

    onset = parse_date(history["onset_date"], "onset_date") if "onset_date" in history else None
    if onset is None:
        ctx.reasons.append("onset_date not given; weeks since onset counted from the first course")
    onset = onset or start
    episodes: dict[dt.date, Entry] = {}
    for sid, entries in series.items():
        for ep in _episodes(ctx, sid, entries, start):
            episodes.setdefault(ep["date"], ep)
    window = ctx.rule("fluctuation_window")
    acute = ctx.rule("acute_onset_cidp")
    limit_weeks = window.get("within_weeks_of_onset") if window else None
    rows = []
    for day in sorted(episodes):
        ep = episodes[day]
        weeks = weeks_between(onset, day)
        inside = limit_weeks is None or weeks <= float(limit_weeks) + 1e-9
        rows.append(
            {
                "date": day.isoformat(),
                "measure": ep["measure"],
                "from": ep["from"],
                "to": ep["to"],
                "weeks_since_onset": round(weeks, 1),
                "within_window": inside,
            }
        )
    if window is not None and rows:
        ctx.use(window)
    trf = any(r["within_window"] for r in rows)
    late = acute is not None and any(
        r["weeks_since_onset"] >= float(acute.get("after_weeks_of_onset", float("inf")))
        for r in rows
    )
    many = acute is not None and len(rows) >= int(acute.get("min_count", 10**9))
    result: dict[str, Any] = {"trf": trf, "episodes": rows, "acute_onset_cidp": late or many}
    counted = ctx.rule("fluctuation_assessments")
    if counted is not None:
        n = len(series.get("gbs-disability", []))
        result["disability_assessments"] = n
        result["assessments_required"] = counted.get("min_count")
        if trf:
            ctx.use(counted)
            if n < int(counted.get("min_count", 0)):
                steps.append(step_of(counted, f"(recorded: {n})"))
    if trf:
        ind = _trf_indication(ctx)
        if ind is not None:
            steps.append(
                {
                    "action": f"A second course may be considered: {ind['name']} ({ind['id']}).",
                    "rule": ind["id"],
                    "sources": [r["id"] for r in ind["sources"]],
                    "verified": ind["verified"],
                }
            )
    if acute is not None and (late or many):
        ctx.use(acute)
        steps.append(step_of(acute))
    return result


# -- end-of-dose wearing off ---------------------------------------------------------------------
def detect_wearing_off(
    ctx: ReviewContext,
    series: Mapping[str, list[Entry]],
    courses: list[dict[str, Any]],
    steps: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """Worse before a dose than after the previous one, in enough maintenance cycles."""
    rule = ctx.rule("wearing_off")
    doses = [c for c in courses if c["phase"] == "maintenance"]
    if rule is None or len(doses) < 2:
        return None
    per_measure: dict[str, dict[str, int]] = {}
    for sid, entries in series.items():
        limit = threshold(ctx, sid, "deterioration")
        if limit is None:
            continue
        paired = worse = 0
        for this, nxt in itertools.pairwise(doses):
            post = [e for e in entries if e["timing"] == "post_dose"]
            post = [e for e in post if this["date"] <= e["date"] < nxt["date"]]
            if not post:
                continue
            pre = [e for e in entries if e["timing"] == "pre_dose"]
            pre = [e for e in pre if post[-1]["date"] < e["date"] <= nxt["date"]]
            if not pre:
                continue
            paired += 1
            if meets(-signed_change(ctx, sid, post[-1], pre[-1]), limit):
                worse += 1
                note_threshold(ctx, limit)
        if paired:
            per_measure[sid] = {"paired_cycles": paired, "worse_cycles": worse}
    if not per_measure:
        return None
    needed = int(rule.get("min_count", 1))
    detected = any(m["worse_cycles"] >= needed for m in per_measure.values())
    if detected:
        ctx.use(rule)
        last = doses[-1]
        interval = last.get("interval_weeks") or weeks_between(doses[-2]["date"], last["date"])
        steps.append(step_of(rule, f"(current interval {float(interval):g} weeks)"))
    return {"detected": detected, "measures": per_measure, "min_cycles": needed}


# -- dose creep ----------------------------------------------------------------------------------
def _weekly(doses: list[dict[str, Any]]) -> list[tuple[dt.date, float]]:
    out = []
    for k, course in enumerate(doses):
        weeks = course.get("interval_weeks")
        if weeks is None and k + 1 < len(doses):
            weeks = weeks_between(course["date"], doses[k + 1]["date"])
        if weeks is None and k > 0:
            weeks = weeks_between(doses[k - 1]["date"], course["date"])
        if weeks is None or float(weeks) <= 0:
            raise InputError(
                f"courses[{course['date'].isoformat()}].interval_weeks", weeks, "weeks above 0"
            )
        out.append((course["date"], float(course["dose_g_per_kg"]) / float(weeks)))
    return out


def detect_dose_creep(
    ctx: ReviewContext,
    courses: list[dict[str, Any]],
    indication: Mapping[str, Any] | None,
    steps: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """Rise of the weekly-equivalent maintenance dose (g/kg/week) since maintenance began."""
    doses = [c for c in courses if c["phase"] == "maintenance"]
    rule = ctx.rule("dose_creep")
    if rule is None or len(doses) < 2:
        return None
    weekly = _weekly(doses)
    first, latest = weekly[0][1], weekly[-1][1]
    rises = sum(1 for a, b in itertools.pairwise(weekly) if b[1] > a[1] + 1e-9)
    result: dict[str, Any] = {
        "detected": latest > first + 1e-9,
        "first_g_per_kg_per_week": round(first, 4),
        "latest_g_per_kg_per_week": round(latest, 4),
        "change_percent": round((latest / first - 1) * 100, 1),
        "increases": rises,
    }
    for reg in (indication or {}).get("regimens", []):
        if reg["phase"] == "maintenance" and "interval_weeks" in reg:
            top = reg["dose_g_per_kg"]["max"] / reg["interval_weeks"]["min"]
            if latest > top + 1e-9:
                result["above_regimen"] = reg["id"]
    if result["detected"]:
        ctx.use(rule)
        detail = f"({result['change_percent']:g}% since maintenance began, {rises} increase(s))"
        steps.append(step_of(rule, detail))
    return result


# -- stable on maintenance: taper or trial off ---------------------------------------------------
def _stability_window(
    ctx: ReviewContext, taper: Mapping[str, Any] | None, review_block: Mapping[str, Any]
) -> float:
    """Weeks over which stability is judged: the taper step, else the review interval."""
    if taper is not None:
        return float(taper.get("step_weeks", 0))
    block = review_block.get("interval_weeks") or review_block.get("first_review_weeks") or {}
    return float(block.get("min", 0))


def _plateau(
    ctx: ReviewContext,
    series: Mapping[str, list[Entry]],
    taper: Mapping[str, Any] | None,
    since: dt.date,
    as_of: dt.date,
) -> bool:
    """Every judged measure has two or more values in the window and moved less than the
    responder and deterioration thresholds (neither still improving nor worsening)."""
    judged = [taper["measure"]] if taper and taper.get("measure") in series else list(series)
    for sid in judged:
        limit = threshold(ctx, sid, "deterioration")
        better = threshold(ctx, sid, "responder")
        inside = [e for e in series[sid] if since <= e["date"] <= as_of]
        if limit is None or better is None or len(inside) < 2 or series[sid][0]["date"] > since:
            return False
        moves = [signed_change(ctx, sid, inside[0], e) for e in inside[1:]]
        if any(meets(-m, limit) or meets(m, better) for m in moves):
            return False
    return True


def _dose_changed_since(
    ctx: ReviewContext, doses: list[dict[str, Any]], since: dt.date, window: float
) -> bool:
    changes = [
        b["date"]
        for a, b in itertools.pairwise(doses)
        if abs(float(a["dose_g_per_kg"]) - float(b["dose_g_per_kg"])) > 1e-9
    ]
    if changes and changes[-1] > since:
        ctx.reasons.append(
            f"dose changed on {changes[-1].isoformat()}: keep it for {window:g} weeks"
        )
        return True
    return False


def _next_taper_step(
    ctx: ReviewContext,
    taper: Mapping[str, Any],
    doses: list[dict[str, Any]],
    steps: list[dict[str, Any]],
) -> None:
    weekly = _weekly(doses)
    percent_now = weekly[-1][1] / weekly[0][1] * 100
    lower = [p for p in taper["steps_percent"] if p < percent_now - 1e-6]
    if not lower:
        return
    nxt = max(lower)
    ref_dose = float(doses[0]["dose_g_per_kg"])
    if nxt <= 0:
        steps.append(step_of(taper, "Next step: trial off immunoglobulin."))
        trial = ctx.rule("trial_off")
        if trial is not None:
            ctx.use(trial)
            steps.append(step_of(trial))
        return
    interval = doses[-1].get("interval_weeks") or weeks_between(
        doses[-2]["date"], doses[-1]["date"]
    )
    detail = (
        f"Next step: {nxt:g}% of the stable dose = {ref_dose * nxt / 100:.3g} g/kg every "
        f"{float(interval):g} weeks (now {percent_now:.0f}%)."
    )
    steps.append(step_of(taper, detail))


def stability_and_taper(
    ctx: ReviewContext,
    *,
    verdict: str,
    series: Mapping[str, list[Entry]],
    courses: list[dict[str, Any]],
    findings: Mapping[str, Any],
    as_of: dt.date,
    review_block: Mapping[str, Any],
    steps: list[dict[str, Any]],
) -> dict[str, Any]:
    """Stable responder on maintenance -> the next taper step (or trial off) from the rules."""
    out: dict[str, Any] = {"stable": False, "review_weeks": None, "rule": None}
    doses = [c for c in courses if c["phase"] == "maintenance"]
    wearing = (findings.get("wearing_off") or {}).get("detected", False)
    if verdict != "responder" or not doses or courses[-1]["phase"] != "maintenance" or wearing:
        return out
    taper = ctx.rule("taper")
    general = ctx.rule("lowest_effective_dose")
    window = _stability_window(ctx, taper, review_block)
    if window <= 0:
        ctx.reasons.append("stability not judged: no taper step or review interval in the data")
        return out
    since = as_of - dt.timedelta(weeks=window)
    if not _plateau(ctx, series, taper, since, as_of) or _dose_changed_since(
        ctx, doses, since, window
    ):
        return out
    out |= {"stable": True, "review_weeks": window}
    if taper is None:
        if general is not None:
            ctx.use(general)
            steps.append(step_of(general))
            out["rule"] = general["id"]
        return out
    ctx.use(taper)
    out["rule"] = taper["id"]
    _next_taper_step(ctx, taper, doses, steps)
    return out
