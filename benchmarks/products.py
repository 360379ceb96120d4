"""Time product ranking, the infusion schedule and the monitoring plan (prints figures)."""

from __future__ import annotations

import time

from ivig.core.monitoring import build_monitoring_plan
from ivig.core.ranking import rank_products
from ivig.core.schedule import compute_infusion_schedule
from ivig.knowledge import load_knowledge


def _per_call_us(func: object, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        func()  # type: ignore[operator]
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    kb = load_knowledge()
    risks = ["renal_impairment", "iga_deficiency", "anti_iga_antibodies", "heart_failure"]
    n = 2000
    rank = _per_call_us(lambda: rank_products(kb, risks, include_discontinued=True), n)
    sched = _per_call_us(
        lambda: compute_infusion_schedule(
            kb, "octagam-10", weight_kg=80, dose_g=160, risks=risks, first_infusion=True
        ),
        n,
    )
    plan = _per_call_us(lambda: build_monitoring_plan(kb, risks, "octagam-10"), n)
    print(f"rank_products (all {len(kb.data['products'])} products): {rank:.0f} µs/call")
    print(f"compute_infusion_schedule: {sched:.0f} µs/call")
    print(f"build_monitoring_plan: {plan:.0f} µs/call")


if __name__ == "__main__":
    main()
