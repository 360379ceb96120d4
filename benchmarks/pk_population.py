"""Benchmark of the IgG pharmacokinetic engine; prints figures, asserts nothing.

1. ``simulate_population``: 100,000 virtual patients x 365 daily points (time, memory).
2. The same regimen per patient with ``scipy.integrate.solve_ivp`` (the usual approach) and with
   ivig: speed ratio and the largest relative difference between them.
3. ``--summary N [N ...]``: ``summarise_population`` (chunks, per-day percentiles) for each N
   in a fresh process: wall time, patients x days per second, peak RSS of the process and of
   its workers, extrapolated to 10,000,000 patients (target: < 2 min and < 1 GiB).

Run: ``.venv/bin/python benchmarks/pk_population.py [--patients N] [--ode-patients M]``,
``.venv/bin/python benchmarks/pk_population.py --summary 200000 1000000``.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np

from ivig.core.pk import Dose, pk_population, simulate_population
from ivig.core.pk_model import evaluate_igg
from ivig.core.pk_ode import solve_ode_reference
from ivig.knowledge import load_knowledge


def regimen(hours: float) -> list[Dose]:
    """Induction 0.4 g/kg/day x 5, then 1 g/kg every 3 weeks from day 21 (CIDP-like)."""
    induction = [Dose(float(d), 0.4, "iv", hours) for d in range(5)]
    maintenance = [Dose(21.0 + 21.0 * k, 1.0, "iv", hours) for k in range(16)]
    return induction + maintenance


def summary_one(n: int, days: int, workers: int) -> dict[str, float]:
    """One chunked summary run; figures of this process (run in a fresh one)."""
    from ivig.core.pk_population import summarise_population

    kb = load_knowledge()
    pop = pk_population(kb, "cidp")
    hours = float(kb.data["pk"]["conventions"]["default_iv_infusion_hours"]["value"])
    t0 = time.perf_counter()
    summarise_population(pop, regimen(hours), n, seed=1, end_day=days, workers=workers)
    return {
        "wall_s": time.perf_counter() - t0,
        "main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def summaries(sizes: list[int], days: int, workers: int) -> None:
    import json
    import subprocess
    import sys

    print(f"summarise_population, cidp, {days} days, 21 IV doses, {workers} worker(s)")
    last: dict[str, float] = {}
    for n in sizes:
        cmd = [sys.executable, __file__, "--summary-one", str(n), "--days", str(days)]
        cmd += ["--workers", str(workers)]
        last = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        rate = n * days / last["wall_s"]
        print(
            f"  {n:>10,} patients: {last['wall_s']:6.1f} s = {rate / 1e6:6.1f} M patient-days/s;"
            f" peak RSS main {last['main_mb']:.0f} MiB, largest worker {last['worker_mb']:.0f} MiB"
        )
    rate = sizes[-1] * days / last["wall_s"]
    print(
        f"  extrapolated to 10,000,000 x {days}: {1e7 * days / rate:.0f} s at the last rate "
        "(memory does not grow with the patients: fixed chunks and histograms); target < 120 s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--summary", type=int, nargs="+", help="patients per summary run")
    parser.add_argument("--summary-one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--ode-patients", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.summary_one is not None:
        import json

        print(json.dumps(summary_one(args.summary_one, args.days, args.workers)))
        return
    if args.summary:
        summaries(args.summary, args.days, args.workers)
        return

    kb = load_knowledge()
    pop = pk_population(kb, "cidp")
    hours = float(kb.data["pk"]["conventions"]["default_iv_infusion_hours"]["value"])
    doses = regimen(hours)
    times = np.arange(args.days, dtype=float)

    simulate_population(pop, doses, 1000, seed=1, times_days=times)  # warm-up
    best = float("inf")
    for r in range(args.repeats):
        t0 = time.perf_counter()
        result = simulate_population(pop, doses, args.patients, seed=r, times_days=times)
        best = min(best, time.perf_counter() - t0)
        del result
    tracemalloc.start()
    result = simulate_population(pop, doses, args.patients, seed=0, times_days=times)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out_mb = result.total_igg_g_per_l.nbytes / 2**20
    print(
        f"simulate_population: {args.patients:,} patients x {args.days} days, {len(doses)} IV doses"
    )
    print(f"  time (best of {args.repeats}): {best:.3f} s")
    print(
        f"  result array: {out_mb:.0f} MiB; peak traced allocation: {peak / 2**20:.0f} MiB; "
        f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )

    params = result.params.take(slice(0, args.ode_patients))
    fine = np.linspace(0.0, float(args.days - 1), 4 * (args.days - 1) + 1)
    t0 = time.perf_counter()
    ode = np.stack(
        [
            solve_ode_reference(params, doses, fine, index=i, rtol=1e-10, atol=1e-12)
            for i in range(params.n)
        ]
    )
    t_ode = (time.perf_counter() - t0) / params.n
    t0 = time.perf_counter()
    for i in range(params.n):
        evaluate_igg(params.take(slice(i, i + 1)), doses, fine)
    t_one = (time.perf_counter() - t0) / params.n
    t0 = time.perf_counter()
    closed = evaluate_igg(params, doses, fine)
    t_vec = (time.perf_counter() - t0) / params.n
    rel = np.abs(closed - ode) / np.abs(ode)
    print(
        f"per patient, {args.ode_patients} patients, {fine.size} time points "
        f"(every 6 h over {args.days - 1} days):"
    )
    print(f"  solve_ivp (LSODA, rtol 1e-10, restarted at each dose event): {t_ode * 1e3:.2f} ms")
    print(
        f"  ivig closed form, one call per patient: {t_one * 1e3:.3f} ms "
        f"(ratio {t_ode / t_one:.0f}x)"
    )
    print(
        f"  ivig closed form, vectorised over patients: {t_vec * 1e3:.4f} ms "
        f"(ratio {t_ode / t_vec:.0f}x)"
    )
    print(
        f"  largest relative difference ivig vs solve_ivp: {rel.max():.2e} ({rel.max() * 100:.6f}%)"
    )


if __name__ == "__main__":
    main()
