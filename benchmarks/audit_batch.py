"""Benchmark of ``ivig audit``: generated orders, streamed, on all available CPUs.

Each size runs in a fresh process (so its peak RSS is its own): orders per second, wall time,
peak RSS of the main process and of the largest worker, and the ratio of the peak RSS at the
largest size to the smallest (target: within 1.2x, constant memory). Then one process on a
sample: the batch audit against the per-request ``recommend`` path row by row.

``--ordinary`` audits pharmacy rows without findings (issue 14) and checks grams by policy
against an independent computation (au-2026 worked from its rules; target within 1 %).

    python benchmarks/audit_batch.py                       # 100,000 and 1,000,000 rows
    python benchmarks/audit_batch.py --sizes 20000 100000  # a quick look
    python benchmarks/audit_batch.py --ordinary --sizes 200000
Targets: 1,000,000 rows < 60 s on 2 cores; peak RSS at 1M within 1.2x of 100k.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
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
        "findings": json.loads(row["findings_json"]) if row.get("findings_json") else {},
    }
    if row.get("indication"):
        request["indication"] = row["indication"]
    return request


def _recommend_rate(path: str, sample: int) -> float:
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
            request = validate_request(_request_of(row, "au", "au-2026"))
        except (ValueError, KeyError, TypeError):
            continue  # a malformed row: both paths reject it
        try:
            check_request(kb, request)
            recommend(kb, request)
        except IvigError:
            pass
    return len(rows) / (time.perf_counter() - start)


def _independent_policy_g(path: str) -> float:
    """Grams by policy of ordinary rows: g/kg of the phase's IV regimen x the au-2026 weight
    worked from its rules (actual under 18 y, under 152 cm or below adjusted; else Devine IBW
    + 0.4 x excess), read straight from the knowledge data."""
    from ivig.knowledge import load_knowledge

    kb = load_knowledge()
    f = kb.weight_formula("devine-ddw")
    per_course: dict[tuple[str, str], float] = {}
    for condition in kb.data["conditions"]:
        for ind in condition["indications"]:
            for reg in ind.get("regimens") or []:
                if reg["route"] == "iv":
                    rng = reg["dose_g_per_kg"]
                    per_course.setdefault(
                        (condition["id"], reg["phase"]), rng.get("default", rng["min"])
                    )
    total = 0.0
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            age, height, weight = (float(row[k]) for k in ("age_years", "height_cm", "weight_kg"))
            base = f["ibw_base_kg_male"] if row["sex"] == "male" else f["ibw_base_kg_female"]
            ibw = base + f["ibw_kg_per_inch_over"] * (
                height * f["cm_to_in"] - f["ibw_height_threshold_in"]
            )
            adjusted = ibw + f["adjusted_factor"] * (weight - ibw)
            dosing = weight if age < 18 or height < 152 or weight < adjusted else adjusted
            total += per_course[(row["condition"], row["phase"])] * dosing
    return total


def one_size(n: int, ordinary: bool, workers: int, folder: str) -> dict[str, Any]:
    """Generate ``n`` rows, audit them; figures of this process (run in a fresh one)."""
    from ivig.knowledge import load_knowledge
    from ivig.registry.batch_audit import AuditOptions, audit_orders
    from ivig.registry.orders_gen import generate_order_lines

    kb = load_knowledge()
    path = os.path.join(folder, f"orders-{n}-{int(ordinary)}.csv")
    start = time.perf_counter()
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(
            generate_order_lines(
                kb, n, seed=42, bad_rate=0 if ordinary else 0.001, ordinary=ordinary
            )
        )
    made = time.perf_counter() - start
    options = AuditOptions(policy="au-2026")
    start = time.perf_counter()
    with open(os.path.join(folder, "details.csv"), "w", encoding="utf-8") as details:
        result = audit_orders(path, kb, options, workers=workers, details=details)
    wall = time.perf_counter() - start
    out = {
        "rows": n,
        "size_mb": os.path.getsize(path) / 1e6,
        "generated_s": made,
        "wall_s": wall,
        "main_mb": _peak_mb(resource.RUSAGE_SELF),
        "worker_mb": _peak_mb(resource.RUSAGE_CHILDREN),
        "result": {k: result[k] for k in ("bad_rows", "saving_percent", "grams_by_policy")},
        "with_dose": result["orders_with_policy_dose"],
        "path": path,
    }
    if ordinary:
        out["independent_g"] = _independent_policy_g(path)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--ordinary", action="store_true", help="rows without findings")
    parser.add_argument("--workers", type=int, help="default: the CPUs available")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from ivig.registry.batch_audit import default_workers

    workers = args.workers or default_workers()
    if args.one is not None:
        print(json.dumps(one_size(args.one, args.ordinary, workers, args.folder)))
        return 0
    print(f"{workers} worker process(es); policy au-2026; shared machine: figures are noisy")
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(set(args.sizes)):
            cmd = [sys.executable, __file__, "--one", str(n), "--folder", tmp]
            cmd += ["--workers", str(workers)] + (["--ordinary"] if args.ordinary else [])
            run = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
            runs.append(run)
            line = (
                f"{n:>9,} rows ({run['size_mb']:,.0f} MB): {run['wall_s']:.1f} s = "
                f"{n / run['wall_s']:,.0f} rows/s; peak RSS main {run['main_mb']:,.0f} MB, "
                f"largest worker {run['worker_mb']:,.0f} MB; with a policy dose "
                f"{run['with_dose']:,}; saving {run['result']['saving_percent']:.2f} %"
            )
            if args.ordinary:
                ratio = run["result"]["grams_by_policy"] / run["independent_g"]
                line += f"; grams by policy / independent = {ratio:.5f} (target within 1 %)"
            print(line, flush=True)
        small, large = runs[0], runs[-1]
        if len(runs) > 1:
            print(
                f"peak RSS {large['rows']:,} vs {small['rows']:,} rows: main "
                f"{large['main_mb'] / small['main_mb']:.2f}x, worker "
                f"{large['worker_mb'] / max(small['worker_mb'], 1):.2f}x (target <= 1.2x)"
            )
        sample = 2000
        from ivig.knowledge import load_knowledge
        from ivig.registry.batch_audit import AuditOptions, audit_rows

        with open(large["path"], encoding="utf-8", newline="") as fh:
            head = [line for _, line in zip(range(sample + 1), fh, strict=False)]
        start = time.perf_counter()
        audit_rows(head, load_knowledge(), AuditOptions(policy="au-2026"), workers=1)
        batch_rate = sample / (time.perf_counter() - start)
        rec_rate = _recommend_rate(large["path"], sample)
        rate = large["rows"] / large["wall_s"]
        print(
            f"one process, first {sample:,} rows: batch audit {batch_rate:,.0f} rows/s, "
            f"recommend row by row {rec_rate:,.0f} rows/s ({batch_rate / rec_rate:.1f}x); "
            f"1,000,000 rows at {rate:,.0f} rows/s: {1e6 / rate:.0f} s (target < 60 s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
