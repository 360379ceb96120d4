"""Benchmark of ``ivig audit``: 1,000,000 generated orders, streamed, on all available CPUs.

Prints orders per second, wall time, peak memory of the main process and of the workers
(at 100,000 and 1,000,000 rows, to show memory does not grow with the file), and the ratio
against calling the per-request ``recommend`` path row by row on a sample.
Run: ``.venv/bin/python benchmarks/audit_batch.py [ROWS]``. Target: 1,000,000 rows < 60 s.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import sys
import tempfile
import time
from typing import Any


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0


def _request_of(row: dict[str, str], jurisdiction: str, policy: str) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "sex": row["sex"],
        "age_years": float(row["age_years"]),
        "weight_kg": float(row["weight_kg"]),
    }
    if row["height_cm"]:
        patient["height_cm"] = float(row["height_cm"])
    request: dict[str, Any] = {
        "patient": patient,
        "condition": row["condition"],
        "phase": row["phase"],
        "jurisdiction": jurisdiction,
        "dosing_weight_policy": policy,
        "findings": json.loads(row["findings_json"]) if row["findings_json"] else {},
    }
    if row["indication"]:
        request["indication"] = row["indication"]
    return request


def _recommend_rate(path: str, sample: int, jurisdiction: str, policy: str) -> float:
    from ivig.contract import validate_request
    from ivig.core.recommend import recommend
    from ivig.core.request_check import check_request
    from ivig.errors import IvigError
    from ivig.knowledge import load_knowledge

    kb = load_knowledge()
    with open(path, encoding="utf-8", newline="") as fh:
        rows = [r for _, r in zip(range(sample), csv.DictReader(fh), strict=False)]
    start = time.perf_counter()
    for row in rows:
        try:
            request = validate_request(_request_of(row, jurisdiction, policy))
        except (ValueError, KeyError, TypeError):
            continue  # a malformed row: both paths reject it
        try:
            check_request(kb, request)
            recommend(kb, request)
        except IvigError:
            pass
    return len(rows) / (time.perf_counter() - start)


def main() -> None:
    from ivig.knowledge import load_knowledge
    from ivig.registry.batch_audit import AuditOptions, audit_orders, default_workers
    from ivig.registry.orders_gen import generate_order_lines

    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    kb = load_knowledge()
    options = AuditOptions(jurisdiction="au", policy="au-2026")
    workers = default_workers()
    print(f"knowledge {kb.version}; {workers} worker process(es); policy au-2026")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted({min(100_000, rows), rows}):
            path = os.path.join(tmp, f"orders-{n}.csv")
            start = time.perf_counter()
            with open(path, "w", encoding="utf-8") as fh:
                fh.writelines(generate_order_lines(kb, n, seed=42, bad_rate=0.001))
            made = time.perf_counter() - start
            size_mb = os.path.getsize(path) / 1e6
            start = time.perf_counter()
            with open(os.path.join(tmp, "details.csv"), "w", encoding="utf-8") as details:
                result = audit_orders(path, kb, options, workers=workers, details=details)
            wall = time.perf_counter() - start
            print(
                f"{n:>9,} orders ({size_mb:,.0f} MB, generated in {made:.1f} s): audited in "
                f"{wall:.1f} s = {n / wall:,.0f} orders/s; peak RSS main "
                f"{_peak_mb(resource.RUSAGE_SELF):,.0f} MB, largest worker "
                f"{_peak_mb(resource.RUSAGE_CHILDREN):,.0f} MB; bad rows {result['bad_rows']}; "
                f"saving {result['saving_percent']:.2f} %"
            )
        sample = 2000
        single_start = time.perf_counter()
        with open(path, encoding="utf-8", newline="") as fh:
            head = [line for _, line in zip(range(sample + 1), fh, strict=False)]
        from ivig.registry.batch_audit import audit_rows

        audit_rows(head, kb, options, workers=1)
        batch_rate = sample / (time.perf_counter() - single_start)
        rec_rate = _recommend_rate(path, sample, "au", "au-2026")
        print(
            f"one process on the first {sample:,} rows: batch audit {batch_rate:,.0f} orders/s, "
            f"recommend row by row {rec_rate:,.0f} orders/s: ratio {batch_rate / rec_rate:.1f}x; "
            f"all workers vs recommend: {rows / wall / rec_rate:.1f}x"
        )
        print(
            f"target: 1,000,000 orders in < 60 s: {'met' if rows / wall * 60 >= 1e6 else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
