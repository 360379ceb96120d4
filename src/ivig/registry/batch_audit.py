"""Batch audit of historical orders against a dosing policy and the criteria (``ivig audit``).

Each CSV row is one order (one course: all its days). Columns: ``order_id, date, sex,
age_years, height_cm, weight_kg, condition, phase, grams`` and optionally ``indication`` and
``findings_json`` (a JSON object of findings). Ordinary pharmacy order rows carry no findings.

Two questions are answered apart, as the national dose calculators do:

- **The policy dose** of every order whose condition, phase (and indication, if given) and
  patient data determine a regimen, whatever the criteria findings: the dosing weight of the
  policy (:func:`ivig.app.policy.policy_dosing_weight`), the regimen of the phase
  (:func:`ivig.app.policy.policy_regimen`, IV route) and its dose plan
  (:func:`ivig.app.policy.policy_course_g`). The indication is chosen as ``ivig dose`` and
  ``ivig recommend`` choose it (:func:`ivig.app.dose.choose_indication`, without findings):
  the named one, or the candidates for the phase when they share one regimen (the note names
  them); otherwise the row has no policy dose and its note says why (name the indication).
- **The criteria** (:func:`ivig.app.policy.criteria_verdict`), reported as
  ``met`` (supported, or supported with conditions), ``unmet`` (not supported),
  ``not_documented`` (the findings the criteria need are missing) or ``out_of_scope``.

Definitions (per order): ``policy_g`` is the course total of the policy dose, present when a
regimen is determined; ``over_g = max(0, grams - policy_g)``. ``grams_over_policy`` sums
``over_g``; ``saving_percent = 100 * grams_over_policy / grams_prescribed`` (all valid
orders). Grams in orders whose criteria are unmet or out of scope are reported apart
(``grams_outside_criteria``), not added to the saving. Every row without a policy dose says why
in the ``note`` column of the details; figures in the details are rounded to 0.01 (g, kg).

Streaming: rows are read in chunks, at most ``2 x workers`` chunks are in flight and per-order
details go straight to a CSV, so memory stays constant whatever the file size. Results are
memoised per process in bounded caches (criteria per condition/findings/age/sex, regimen per
condition/indication/phase, dosing weight per patient measures, dose plan per dosing weight).
Bad rows are reported with their line numbers and skipped, or stop the run
(``on_error="stop"``); never silently dropped.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from ivig.errors import InputError, IvigError
from ivig.vocabulary import PHASES

if TYPE_CHECKING:
    from ivig.knowledge.base import KnowledgeBase

__all__ = [
    "DETAIL_COLUMNS",
    "REQUIRED_COLUMNS",
    "AuditOptions",
    "AuditTotals",
    "OrderAuditor",
    "audit_orders",
    "audit_rows",
]

REQUIRED_COLUMNS = (
    "order_id",
    "date",
    "sex",
    "age_years",
    "height_cm",
    "weight_kg",
    "condition",
    "phase",
    "grams",
)
OPTIONAL_COLUMNS = ("indication", "findings_json")
DETAIL_COLUMNS = (
    "line",
    "order_id",
    "status",
    "criteria",
    "indication",
    "grams",
    "policy_g",
    "over_g",
    "dosing_weight_kg",
    "note",
)
#: eligibility status -> how the criteria stand for the order
CRITERIA = {
    "supported": "met",
    "supported_with_conditions": "met",
    "not_supported": "unmet",
    "insufficient_information": "not_documented",
    "out_of_scope": "out_of_scope",
}
_OUTSIDE = ("unmet", "out_of_scope")
_PHASES = PHASES
#: entries per memo before it empties itself (keeps a worker's memory flat, whatever the file)
_CACHE_LIMIT = 20_000
#: decimals of the figures in the details file (g and kg, as shown)
_DETAIL_DECIMALS = 2
_MAX_ERRORS_KEPT = 1000


@dataclass(frozen=True)
class AuditOptions:
    """What the orders are checked against."""

    #: criteria of this jurisdiction; ``None``: the policy's jurisdiction (else international)
    jurisdiction: str | None = None
    #: dosing-weight policy id; ``None``: the jurisdiction's default
    policy: str | None = None
    #: ``None``: the policy's rounding, else the jurisdiction's default
    rounding: str | None = None


@dataclass
class AuditTotals:
    """Running totals; chunks add up with :meth:`merge`."""

    orders: int = 0
    bad_rows: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_criteria: dict[str, int] = field(default_factory=dict)
    orders_with_policy_dose: int = 0
    grams_prescribed: float = 0.0
    grams_with_policy_dose: float = 0.0
    grams_by_policy: float = 0.0
    grams_over_policy: float = 0.0
    grams_outside_criteria: float = 0.0
    orders_over_policy: int = 0

    def merge(self, other: AuditTotals) -> None:
        self.orders += other.orders
        self.bad_rows += other.bad_rows
        for mine, theirs in (
            (self.by_status, other.by_status),
            (self.by_criteria, other.by_criteria),
        ):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count
        self.orders_with_policy_dose += other.orders_with_policy_dose
        self.grams_prescribed += other.grams_prescribed
        self.grams_with_policy_dose += other.grams_with_policy_dose
        self.grams_by_policy += other.grams_by_policy
        self.grams_over_policy += other.grams_over_policy
        self.grams_outside_criteria += other.grams_outside_criteria
        self.orders_over_policy += other.orders_over_policy

    def as_dict(self) -> dict[str, Any]:
        saving = (
            100.0 * self.grams_over_policy / self.grams_prescribed if self.grams_prescribed else 0.0
        )
        return {
            "orders": self.orders,
            "bad_rows": self.bad_rows,
            "by_status": dict(sorted(self.by_status.items())),
            "by_criteria": dict(sorted(self.by_criteria.items())),
            "orders_with_policy_dose": self.orders_with_policy_dose,
            "orders_without_policy_dose": self.orders - self.orders_with_policy_dose,
            "grams_prescribed": self.grams_prescribed,
            "grams_with_policy_dose": self.grams_with_policy_dose,
            "grams_by_policy": self.grams_by_policy,
            "grams_over_policy": self.grams_over_policy,
            "orders_over_policy": self.orders_over_policy,
            "grams_outside_criteria": self.grams_outside_criteria,
            "saving_percent": saving,
        }


def _number(raw: str, name: str, unit: str, *, optional: bool = False) -> float | None:
    text = raw.strip()
    if not text:
        if optional:
            return None
        raise InputError(name, raw, "a number", unit, "empty")
    try:
        value = float(text)
    except ValueError:
        raise InputError(name, raw, "a number", unit) from None
    if not math.isfinite(value):
        raise InputError(name, raw, "a finite number", unit)
    return value


class _Bounded(dict[Any, Any]):
    """A memo that empties itself when it reaches its size limit (bounded memory)."""

    def put(self, key: Any, value: Any) -> Any:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[key] = value
        return value


@dataclass(frozen=True)
class _Order:
    """One parsed order row (units in the names)."""

    order_id: str
    sex: str
    phase: str
    age_years: float
    weight_kg: float
    height_cm: float | None
    grams: float
    condition: str
    indication: str
    findings_json: str


def _parse_row(row: dict[str, str]) -> _Order:
    """The fields of one row, each checked; raise ``InputError`` naming the first bad one."""
    order_id = row["order_id"].strip()
    if not order_id:
        raise InputError("order_id", row["order_id"], "a non-empty id")
    sex = row["sex"].strip().lower()
    if sex not in ("female", "male"):
        raise InputError("sex", row["sex"], "female, male")
    phase = row["phase"].strip()
    if phase not in _PHASES:
        raise InputError("phase", row["phase"], ", ".join(_PHASES))
    if not row["date"].strip():
        raise InputError("date", row["date"], "a date as YYYY-MM-DD")
    age = _required(row["age_years"], "age_years", "years")
    weight = _required(row["weight_kg"], "weight_kg", "kg")
    height = _number(row["height_cm"], "height_cm", "cm", optional=True)
    grams = _required(row["grams"], "grams", "g")
    if grams <= 0:
        raise InputError("grams", row["grams"], "a number above 0", "g")
    return _Order(
        order_id,
        sex,
        phase,
        age,
        weight,
        height,
        grams,
        row["condition"].strip(),
        (row.get("indication") or "").strip(),
        row.get("findings_json") or "",
    )


def _required(raw: str, name: str, unit: str) -> float:
    value = _number(raw, name, unit)
    if value is None:  # pragma: no cover - _number raises on empty required values
        raise InputError(name, raw, "a number", unit, "empty")
    return value


def _findings(raw: str, order: _Order) -> dict[str, object]:
    """The row's findings (``findings_json``) with its age and sex, which must agree."""
    findings: dict[str, object] = {}
    if raw.strip():
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InputError("findings_json", raw, "a JSON object", detail=exc.msg) from None
        if not isinstance(parsed, dict):
            raise InputError("findings_json", raw, "a JSON object")
        findings.update(parsed)
    for name, value in (("age_years", order.age_years), ("sex", order.sex), ("pregnant", False)):
        if name in findings and findings[name] != value:
            raise InputError(f"findings_json.{name}", findings[name], f"{value!r} (the row's)")
        findings[name] = value
    return findings


class OrderAuditor:
    """Audits single orders; holds the knowledge base, the options and the memo caches."""

    def __init__(self, kb: KnowledgeBase, options: AuditOptions) -> None:
        self.kb = kb
        self.policy, jurisdiction_id = _policy_and_jurisdiction(kb, options)
        jurisdiction = kb.jurisdiction(jurisdiction_id)
        self.jurisdiction = jurisdiction["id"]
        policy = kb.dosing_policy(self.policy)
        rounding = options.rounding or policy.get("rounding", jurisdiction["default_rounding"])
        self.rounding_note = ""
        if rounding == "vials":  # needs a product; orders carry none
            rounding, self.rounding_note = "none", "vial rounding needs a product; not rounded"
        self.rounding = rounding
        self._criteria = _Bounded()
        self._regimens = _Bounded()
        self._weight = _Bounded()
        self._dose = _Bounded()

    def describe(self) -> dict[str, Any]:
        return {
            "jurisdiction": self.jurisdiction,
            "policy": self.policy,
            "rounding": self.rounding,
            "note": self.rounding_note or None,
            "knowledge_version": self.kb.version,
        }

    def _condition_id(self, condition: str) -> str | None:
        """The condition's id; ``None`` for a non-neurological use; unknown names raise."""
        condition_id = self.kb.resolve_condition(condition)
        if condition_id is None:
            if self.kb.non_neuro_use(condition) is not None:
                return None
            self.kb.condition(condition)  # raises UnknownIdError with the nearest ids
        return condition_id

    def _indication_id(self, condition_id: str, indication: str) -> str | None:
        if not indication:
            return None
        if not indication.startswith(condition_id + "."):
            indication = f"{condition_id}.{indication}"
        self.kb.indication(indication)  # raises UnknownIdError with the nearest ids
        return indication

    def criteria(self, order: _Order, condition_id: str | None) -> tuple[str, str | None]:
        """(eligibility status, indication it settled on) for the order's findings."""
        if condition_id is None:
            return "out_of_scope", None
        o = order
        key = (condition_id, o.indication, o.phase, o.findings_json, o.age_years, o.sex)
        hit = self._criteria.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        from ivig.app.policy import criteria_verdict

        result = criteria_verdict(
            self.kb,
            condition_id,
            _findings(order.findings_json, order),
            jurisdiction=self.jurisdiction,
            indication_id=self._indication_id(condition_id, order.indication),
            phase=order.phase,
        )
        return self._criteria.put(key, (result["status"], result["indication"]))  # type: ignore[no-any-return]

    def regimen_indication(
        self, condition_id: str | None, indication: str, phase: str
    ) -> tuple[str | None, str]:
        """(indication whose IV regimen gives the policy dose, note); ``None`` and why not."""
        key = (condition_id, indication, phase)
        hit = self._regimens.get(key)
        if hit is None:
            hit = self._regimens.put(key, self._find_regimen(condition_id, indication, phase))
        return hit  # type: ignore[no-any-return]

    def _find_regimen(
        self, condition_id: str | None, indication: str, phase: str
    ) -> tuple[str | None, str]:
        """The indication as ``ivig dose`` and ``recommend`` choose it without findings
        (:func:`ivig.app.dose.choose_indication`), if it has an IV regimen for ``phase``."""
        from ivig.app.dose import choose_indication
        from ivig.app.policy import policy_regimen

        if condition_id is None:
            return None, "no policy dose: not a neurological use (out of scope)"
        named = self._indication_id(condition_id, indication)
        pool = (
            [named] if named else [i["id"] for i in self.kb.condition(condition_id)["indications"]]
        )
        if not any(
            r["phase"] == phase and r["route"] == "iv"
            for i in pool
            for r in self.kb.indication(i).get("regimens") or []
        ):
            return None, f"no policy dose: {named or condition_id} has no IV regimen for {phase}"
        try:
            chosen, candidates = choose_indication(
                self.kb, condition_id, phase, indication or None, None, self.jurisdiction
            )
            policy_regimen(self.kb, chosen, phase, route="iv")
        except InputError as exc:
            return None, f"no policy dose: {exc}"
        others = [c for c in candidates if c != chosen]
        if not others:
            return chosen, ""
        return chosen, "the same regimen for the candidates " + ", ".join(candidates)

    def dosing_weight(self, order: _Order) -> tuple[float | None, str]:
        """(dosing weight by the policy, "") or (``None``, why the policy gives none)."""
        wkey = (order.sex, order.age_years, order.height_cm, order.weight_kg)
        hit = self._weight.get(wkey)
        if hit is None:
            from ivig.app.policy import policy_dosing_weight

            try:
                result = policy_dosing_weight(
                    self.kb,
                    self.policy,
                    sex=order.sex,
                    age_years=order.age_years,
                    weight_kg=order.weight_kg,
                    height_cm=order.height_cm,
                )
                hit = self._weight.put(wkey, (float(result["kg"]), ""))
            except InputError as exc:
                hit = self._weight.put(wkey, (None, f"no policy dose: {exc}"))
        return hit  # type: ignore[no-any-return]

    def policy_dose(self, order: _Order, indication: str) -> tuple[float | None, float | None, str]:
        """(course total by policy or ``None``, dosing weight, note)."""
        dosing_kg, note = self.dosing_weight(order)
        if dosing_kg is None:
            return None, None, note
        dkey = (indication, order.phase, dosing_kg)
        hit = self._dose.get(dkey)
        if hit is None:
            from ivig.app.policy import policy_course_g

            try:
                plan = policy_course_g(
                    self.kb,
                    indication_id=indication,
                    phase=order.phase,
                    route="iv",
                    dosing_weight_kg=dosing_kg,
                    rounding=self.rounding,
                )
                hit = self._dose.put(dkey, (float(plan["total_g"]), ""))
            except InputError as exc:
                hit = self._dose.put(dkey, (None, f"no policy dose: {exc}"))
        return hit[0], dosing_kg, hit[1]

    def audit_row(self, row: dict[str, str]) -> tuple[Any, ...]:
        """One order -> a detail tuple (see ``DETAIL_COLUMNS`` minus ``line``)."""
        order = _parse_row(row)
        condition_id = self._condition_id(order.condition)
        status, settled = self.criteria(order, condition_id)
        indication, note = self.regimen_indication(condition_id, order.indication, order.phase)
        policy_g: float | None = None
        dosing_kg: float | None = None
        if indication is not None:
            policy_g, dosing_kg, dose_note = self.policy_dose(order, indication)
            note = dose_note or note
        over_g = max(0.0, order.grams - policy_g) if policy_g is not None else None
        shown = indication or settled
        return (order.order_id, status, CRITERIA[status], shown, order.grams, policy_g, over_g,
                dosing_kg, note)  # fmt: skip


def _policy_and_jurisdiction(kb: KnowledgeBase, options: AuditOptions) -> tuple[str, str]:
    """The policy and the jurisdiction: each given, or the one following from the other."""
    if options.jurisdiction is not None:
        policy = (
            options.policy or kb.jurisdiction(options.jurisdiction)["default_dosing_weight_policy"]
        )
        return policy, options.jurisdiction
    if options.policy is not None:
        jurisdiction = kb.dosing_policy(options.policy).get("jurisdiction") or "international"
        return options.policy, str(jurisdiction)
    return kb.jurisdiction("international")["default_dosing_weight_policy"], "international"


def _add(totals: AuditTotals, detail: tuple[Any, ...]) -> None:
    _, status, criteria, _, grams, policy_g, over_g, _, _ = detail
    totals.orders += 1
    totals.by_status[status] = totals.by_status.get(status, 0) + 1
    totals.by_criteria[criteria] = totals.by_criteria.get(criteria, 0) + 1
    totals.grams_prescribed += grams
    if policy_g is not None:
        totals.orders_with_policy_dose += 1
        totals.grams_with_policy_dose += grams
        totals.grams_by_policy += policy_g
        totals.grams_over_policy += over_g
        if over_g > 0:
            totals.orders_over_policy += 1
    if criteria in _OUTSIDE:
        totals.grams_outside_criteria += grams


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, _DETAIL_DECIMALS)


def _detail_row(line: int, detail: tuple[Any, ...]) -> tuple[Any, ...]:
    """A details-file row: figures rounded to the precision shown."""
    order_id, status, criteria, indication, grams, policy_g, over_g, dosing_kg, note = detail
    figures = (_rounded(grams), _rounded(policy_g), _rounded(over_g), _rounded(dosing_kg))
    return (line, order_id, status, criteria, indication, *figures, note)


Chunk = list[tuple[int, list[str]]]
ChunkResult = tuple[AuditTotals, list[tuple[Any, ...]], list[dict[str, Any]]]

_WORKER: dict[str, Any] = {}


def _process(
    auditor: OrderAuditor, header: list[str], chunk: Chunk, keep_details: bool
) -> ChunkResult:
    totals = AuditTotals()
    details: list[tuple[Any, ...]] = []
    errors: list[dict[str, Any]] = []
    width = len(header)
    for line, values in chunk:
        try:
            if len(values) != width:
                raise InputError("row", f"{len(values)} fields", f"{width} fields as in the header")
            detail = auditor.audit_row(dict(zip(header, values, strict=True)))
        except IvigError as exc:
            totals.bad_rows += 1
            order_id = values[header.index("order_id")] if len(values) == width else ""
            errors.append({"line": line, "order_id": order_id, "error": str(exc)})
            if keep_details:
                details.append(
                    (line, order_id, "bad_row", None, None, None, None, None, None, str(exc))
                )
            continue
        _add(totals, detail)
        if keep_details:
            details.append(_detail_row(line, detail))
    return totals, details, errors


def _init_worker(options: AuditOptions) -> None:
    from ivig.knowledge import load_knowledge

    _WORKER["auditor"] = OrderAuditor(load_knowledge(), options)


def _work(header: list[str], chunk: Chunk, keep_details: bool) -> ChunkResult:
    return _process(_WORKER["auditor"], header, chunk, keep_details)


def _chunks(reader: Any, size: int, base: int, full: int) -> Iterator[Chunk]:
    """Chunks of (line number, values); rows lacking the optional columns get them empty."""
    chunk: Chunk = []
    for values in reader:
        if not values:  # blank line
            continue
        padded = values + [""] * (full - base) if len(values) == base < full else values
        chunk.append((reader.line_num, padded))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def audit_rows(
    lines: Iterable[str],
    kb: KnowledgeBase,
    options: AuditOptions | None = None,
    *,
    workers: int = 1,
    chunk_size: int = 5_000,
    on_error: str = "skip",
    details: IO[str] | None = None,
    errors_out: IO[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Audit CSV text ``lines`` (with a header row); return the totals and the bad rows.

    ``details``: a text stream receiving one CSV row per order (``DETAIL_COLUMNS``);
    ``errors_out``: one CSV row per bad row; ``progress(n)`` is called after each chunk with
    the number of rows done. ``on_error="stop"`` raises ``InputError`` naming the first bad
    line instead of skipping it.
    """
    if on_error not in ("skip", "stop"):
        raise InputError("on_error", on_error, "skip, stop")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError("workers", workers, "a whole number, 1 or more")
    options = options or AuditOptions()
    auditor = OrderAuditor(kb, options)  # validates the options before any work
    reader = csv.reader(lines)
    header = [h.strip().lstrip("\ufeff") for h in next(reader, [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(
            "header",
            ",".join(header),
            "the columns " + ", ".join(REQUIRED_COLUMNS),
            detail="missing: " + ", ".join(missing),
        )
    base = len(header)
    header += [c for c in OPTIONAL_COLUMNS if c not in header]  # absent: read as empty
    detail_writer = csv.writer(details) if details is not None else None
    error_writer = csv.writer(errors_out) if errors_out is not None else None
    if detail_writer:
        detail_writer.writerow(DETAIL_COLUMNS)
    if error_writer:
        error_writer.writerow(("line", "order_id", "error"))
    chunks = _chunks(reader, chunk_size, base, len(header))
    totals = AuditTotals()
    kept_errors: list[dict[str, Any]] = []
    done = 0
    for result in _run(auditor, header, chunks, workers, options, detail_writer is not None):
        chunk_totals, chunk_details, chunk_errors = result
        if chunk_errors and on_error == "stop":
            first = chunk_errors[0]
            raise InputError(
                f"line {first['line']}", first["order_id"], "a valid order", detail=first["error"]
            )
        totals.merge(chunk_totals)
        if detail_writer:
            detail_writer.writerows(chunk_details)
        for err in chunk_errors:
            if error_writer:
                error_writer.writerow((err["line"], err["order_id"], err["error"]))
            if len(kept_errors) < _MAX_ERRORS_KEPT:
                kept_errors.append(err)
        done += chunk_totals.orders + chunk_totals.bad_rows
        if progress is not None:
            progress(done)
    return {
        **totals.as_dict(),
        **auditor.describe(),
        "errors": kept_errors,
        "errors_truncated": totals.bad_rows > len(kept_errors),
        "workers": workers,
    }


def _run(
    auditor: OrderAuditor,
    header: list[str],
    chunks: Iterator[Chunk],
    workers: int,
    options: AuditOptions,
    keep_details: bool,
) -> Iterator[ChunkResult]:
    if workers == 1:
        for chunk in chunks:
            yield _process(auditor, header, chunk, keep_details)
        return
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(workers, initializer=_init_worker, initargs=(options,)) as pool:
        pending: deque[Any] = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(_work, (header, chunk, keep_details)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def audit_orders(
    path: str,
    kb: KnowledgeBase,
    options: AuditOptions | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """:func:`audit_rows` over the CSV file at ``path`` (UTF-8, header row first)."""
    try:
        fh = open(path, encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise InputError("ORDERS", path, "a readable CSV file", detail=exc.strerror) from None
    with fh:
        return audit_rows(fh, kb, options, **kwargs)


def default_workers() -> int:
    """The number of CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
