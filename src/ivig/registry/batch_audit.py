"""Batch audit of historical orders against the criteria and a dosing policy (``ivig audit``).

Each CSV row is one order (one course: all its days). Columns: ``order_id, date, sex,
age_years, height_cm, weight_kg, condition, phase, grams`` and optionally ``indication`` and
``findings_json`` (a JSON object of findings). For each order the audit evaluates the indication
(``ivig.core.eligibility``) and, when immunoglobulin is supported, the dose the policy gives
(``ivig.core.weight`` then ``ivig.core.dose``): the pure core functions, not the full
``recommend`` path. Totals: orders by status, grams prescribed, grams by policy, grams over
policy, grams in orders outside the criteria, and the percentage that could be saved.

Definitions (per order): ``policy_g`` is the course total of the policy dose, present only for
supported orders with a regimen for their phase; ``over_g = max(0, grams - policy_g)``.
``grams_over_policy`` sums ``over_g``; ``saving_percent = 100 * grams_over_policy /
grams_prescribed`` (all valid orders). Grams in not-supported or out-of-scope orders are
reported apart (``grams_outside_criteria``), not added to the saving.

Streaming: rows are read in chunks and at most ``2 x workers`` chunks are in flight, so memory
stays constant whatever the file size; per-order details go straight to a CSV. Results are
memoised per process in bounded caches (eligibility per condition/findings/age/sex, dosing
weight per patient measures, dose plan per dosing weight). Bad rows are reported with their
line numbers and skipped, or stop the run (``on_error="stop"``); never silently dropped.
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
    "indication",
    "grams",
    "policy_g",
    "over_g",
    "dosing_weight_kg",
    "note",
)
_DOSE_STATUSES = ("supported", "supported_with_conditions")
_OUTSIDE = ("not_supported", "out_of_scope")
_PHASES = ("induction", "maintenance", "one_off")
_CACHE_LIMIT = 200_000
_MAX_ERRORS_KEPT = 1000


@dataclass(frozen=True)
class AuditOptions:
    """What the orders are checked against."""

    jurisdiction: str = "international"
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
    grams_prescribed: float = 0.0
    grams_with_policy_dose: float = 0.0
    grams_by_policy: float = 0.0
    grams_over_policy: float = 0.0
    grams_outside_criteria: float = 0.0
    orders_over_policy: int = 0

    def merge(self, other: AuditTotals) -> None:
        self.orders += other.orders
        self.bad_rows += other.bad_rows
        for key, count in other.by_status.items():
            self.by_status[key] = self.by_status.get(key, 0) + count
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


class OrderAuditor:
    """Audits single orders; holds the knowledge base, the options and the memo caches."""

    def __init__(self, kb: KnowledgeBase, options: AuditOptions) -> None:
        self.kb = kb
        jurisdiction = kb.jurisdiction(options.jurisdiction)
        self.jurisdiction = jurisdiction["id"]
        self.policy = options.policy or jurisdiction["default_dosing_weight_policy"]
        policy = kb.dosing_policy(self.policy)
        rounding = options.rounding or policy.get("rounding", jurisdiction["default_rounding"])
        self.rounding_note = ""
        if rounding == "vials":  # needs a product; orders carry none
            rounding, self.rounding_note = "none", "vial rounding needs a product; not rounded"
        self.rounding = rounding
        self._eligibility = _Bounded()
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

    def _eligible(
        self, condition: str, indication: str, phase: str, findings_raw: str, age: float, sex: str
    ) -> tuple[str, str | None]:
        key = (condition, indication, phase, findings_raw, age, sex)
        hit = self._eligibility.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        from ivig.core.eligibility import evaluate_eligibility

        condition_id = self.kb.resolve_condition(condition)
        if condition_id is None:
            if self.kb.non_neuro_use(condition) is not None:
                return self._eligibility.put(key, ("out_of_scope", None))  # type: ignore[no-any-return]
            self.kb.condition(condition)  # raises UnknownIdError with the nearest ids
        assert condition_id is not None  # for mypy: condition() raised otherwise
        findings: dict[str, object] = {}
        if findings_raw.strip():
            try:
                parsed = json.loads(findings_raw)
            except json.JSONDecodeError as exc:
                raise InputError(
                    "findings_json", findings_raw, "a JSON object", detail=exc.msg
                ) from None
            if not isinstance(parsed, dict):
                raise InputError("findings_json", findings_raw, "a JSON object")
            findings.update(parsed)
        for name, value in (("age_years", age), ("sex", sex), ("pregnant", False)):
            if name in findings and findings[name] != value:
                raise InputError(f"findings_json.{name}", findings[name], f"{value!r} (the row's)")
            findings[name] = value
        indication_id = indication.strip() or None
        if indication_id and not indication_id.startswith(condition_id + "."):
            indication_id = f"{condition_id}.{indication_id}"
        result = evaluate_eligibility(
            self.kb,
            condition_id,
            findings,
            jurisdiction=self.jurisdiction,
            indication_id=indication_id,
            phase=phase,
        )
        return self._eligibility.put(key, (result["status"], result["indication"]))  # type: ignore[no-any-return]

    def _policy_dose(
        self, indication: str, phase: str, sex: str, age: float, height: float | None, weight: float
    ) -> tuple[float | None, float, str]:
        wkey = (sex, age, height, weight)
        dosing_kg = self._weight.get(wkey)
        if dosing_kg is None:
            from ivig.core.weight import compute_dosing_weight

            result = compute_dosing_weight(
                self.kb,
                policy_id=self.policy,
                sex=sex,
                age_years=age,
                weight_kg=weight,
                height_cm=height,
            )
            dosing_kg = self._weight.put(wkey, float(result["kg"]))
        dkey = (indication, phase, dosing_kg)
        hit = self._dose.get(dkey)
        if hit is None:
            from ivig.core.dose import compute_dose_plan

            try:
                plan = compute_dose_plan(
                    self.kb,
                    indication_id=indication,
                    phase=phase,
                    dosing_weight_kg=dosing_kg,
                    rounding=self.rounding,
                )
                hit = self._dose.put(dkey, (float(plan["total_g"]), ""))
            except InputError as exc:
                hit = self._dose.put(dkey, (None, f"no policy dose: {exc}"))
        return hit[0], dosing_kg, hit[1]

    def audit_row(self, row: dict[str, str]) -> tuple[Any, ...]:
        """One order -> a detail tuple (see ``DETAIL_COLUMNS`` minus ``line``)."""
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
        age = _number(row["age_years"], "age_years", "years")
        weight = _number(row["weight_kg"], "weight_kg", "kg")
        height = _number(row["height_cm"], "height_cm", "cm", optional=True)
        grams = _number(row["grams"], "grams", "g")
        assert age is not None and weight is not None and grams is not None
        if grams <= 0:
            raise InputError("grams", row["grams"], "a number above 0", "g")
        status, indication = self._eligible(
            row["condition"].strip(),
            row.get("indication") or "",
            phase,
            row.get("findings_json") or "",
            age,
            sex,
        )
        policy_g: float | None = None
        dosing_kg: float | None = None
        note = ""
        if status in _DOSE_STATUSES and indication is not None:
            policy_g, dosing_kg, note = self._policy_dose(
                indication, phase, sex, age, height, weight
            )
        over_g = max(0.0, grams - policy_g) if policy_g is not None else None
        return (order_id, status, indication, grams, policy_g, over_g, dosing_kg, note)


def _add(totals: AuditTotals, detail: tuple[Any, ...]) -> None:
    _, status, _, grams, policy_g, over_g, _, _ = detail
    totals.orders += 1
    totals.by_status[status] = totals.by_status.get(status, 0) + 1
    totals.grams_prescribed += grams
    if policy_g is not None:
        totals.grams_with_policy_dose += grams
        totals.grams_by_policy += policy_g
        totals.grams_over_policy += over_g
        if over_g > 0:
            totals.orders_over_policy += 1
    elif status in _OUTSIDE:
        totals.grams_outside_criteria += grams


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
                details.append((line, order_id, "bad_row", None, None, None, None, None, str(exc)))
            continue
        _add(totals, detail)
        if keep_details:
            details.append((line, *detail))
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
    chunk_size: int = 20_000,
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
