"""Population IgG simulations of any size, summarised per day in constant memory.

:func:`summarise_population` simulates virtual patients in chunks (each chunk's parameters
drawn from its own child of the seed's :class:`numpy.random.SeedSequence`) and keeps, per
output day, a histogram of total IgG with a fixed bin width (``resolution_g_per_l``) plus the
exact sum, minimum and maximum. Percentiles are read from the histograms (the middle of the bin
holding the nearest-rank value, kept within the day's minimum and maximum: error at most half a
bin), so memory is
``days x bins`` counts whatever the number of patients, and chunks may run in several processes
(each returns one histogram). The same seed, chunk size and inputs give the same result,
whatever the number of workers. Nothing here is clinical: the parameters and their variability
come from the population in ``pk.yaml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ivig.core.pk import sample_parameters
from ivig.core.pk_model import Dose, evaluate_igg
from ivig.errors import InputError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from ivig.knowledge.schema_pk import PkPopulation

__all__ = ["DEFAULT_PERCENTILES", "PopulationSummary", "summarise_population"]

#: percentiles reported by default
DEFAULT_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)
#: upper edge of the histograms (g/L); higher values are counted in a last, open bin
_TOP_G_PER_L = 150.0


@dataclass(frozen=True)
class PopulationSummary:
    """Per-day percentiles, mean, minimum and maximum of total IgG (g/L) over the patients."""

    population_id: str
    n_patients: int
    seed: int
    times_days: NDArray[np.float64]
    percentiles: tuple[float, ...]
    #: shape (len(percentiles), days): the middle of the bin of each nearest-rank percentile
    percentile_igg_g_per_l: NDArray[np.float64]
    mean_igg_g_per_l: NDArray[np.float64]
    min_igg_g_per_l: NDArray[np.float64]
    max_igg_g_per_l: NDArray[np.float64]
    resolution_g_per_l: float
    chunk_patients: int
    #: patients x days values above the histogram range (their percentiles are not exact)
    values_above_range: int


@dataclass
class _Accumulator:
    counts: NDArray[np.int64]
    total: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]

    @classmethod
    def empty(cls, days: int, bins: int) -> _Accumulator:
        return cls(
            np.zeros(days * bins, dtype=np.int64),
            np.zeros(days),
            np.full(days, np.inf),
            np.full(days, -np.inf),
        )

    def merge(self, other: _Accumulator) -> None:
        self.counts += other.counts
        self.total += other.total
        np.minimum(self.low, other.low, out=self.low)
        np.maximum(self.high, other.high, out=self.high)


@dataclass(frozen=True)
class _Job:
    population: PkPopulation
    doses: tuple[Dose, ...]
    times: NDArray[np.float64]
    seeds: tuple[np.random.SeedSequence, ...]
    sizes: tuple[int, ...]
    resolution: float
    bins: int


def _run_chunks(job: _Job) -> _Accumulator:
    """Simulate the chunks of ``job`` (one process) into one accumulator."""
    days = job.times.size
    acc = _Accumulator.empty(days, job.bins)
    offsets = np.arange(days, dtype=np.int64) * job.bins
    for seed, size in zip(job.seeds, job.sizes, strict=True):
        params = sample_parameters(job.population, size, np.random.default_rng(seed))
        igg = evaluate_igg(params, job.doses, job.times)
        acc.total += igg.sum(axis=0)
        np.minimum(acc.low, igg.min(axis=0), out=acc.low)
        np.maximum(acc.high, igg.max(axis=0), out=acc.high)
        np.multiply(igg, 1.0 / job.resolution, out=igg)  # IgG > 0: truncation is the floor
        flat = igg.astype(np.int64)
        np.clip(flat, 0, job.bins - 1, out=flat)
        flat += offsets
        acc.counts += np.bincount(flat.ravel(), minlength=days * job.bins)
    return acc


def _split(items: int, parts: int) -> list[range]:
    step = math.ceil(items / parts)
    return [range(lo, min(lo + step, items)) for lo in range(0, items, step)]


def _percentiles(
    counts: NDArray[np.int64], n: int, percentiles: tuple[float, ...], resolution: float
) -> NDArray[np.float64]:
    """Nearest-rank percentiles per day from (days, bins) counts, as bin middles."""
    cumulative = np.cumsum(counts, axis=1)
    out = np.empty((len(percentiles), counts.shape[0]))
    for k, q in enumerate(percentiles):
        rank = max(1, math.ceil(q / 100.0 * n))
        first = (cumulative >= rank).argmax(axis=1)
        out[k] = (first + 0.5) * resolution
    return out


def _check(n_patients: int, percentiles: tuple[float, ...], chunk: int, res: float) -> None:
    if isinstance(n_patients, bool) or not isinstance(n_patients, int) or n_patients < 1:
        raise InputError("n_patients", n_patients, "a whole number, 1 or more", "patients")
    if not percentiles or any(not 0 < q <= 100 for q in percentiles):
        raise InputError("percentiles", percentiles, "numbers above 0 and at most 100", "%")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise InputError("chunk_patients", chunk, "a whole number, 1 or more", "patients")
    if not math.isfinite(res) or not 0 < res <= 1:
        raise InputError("resolution_g_per_l", res, "above 0 and at most 1", "g/L")


def summarise_population(
    population: PkPopulation,
    doses: list[Dose] | tuple[Dose, ...],
    n_patients: int,
    *,
    seed: int,
    times_days: NDArray[np.float64] | list[float] | None = None,
    end_day: float = 365.0,
    step_days: float = 1.0,
    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES,
    chunk_patients: int = 10_000,
    resolution_g_per_l: float = 0.05,
    workers: int = 1,
) -> PopulationSummary:
    """Simulate ``n_patients`` virtual patients in chunks and summarise them per day."""
    _check(n_patients, percentiles, chunk_patients, resolution_g_per_l)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError("seed", seed, "a whole number")
    times: NDArray[np.float64] = (
        np.asarray(times_days, dtype=np.float64)
        if times_days is not None
        else np.arange(math.floor(end_day / step_days), dtype=np.float64) * step_days
    )
    bins = math.ceil(_TOP_G_PER_L / resolution_g_per_l) + 1
    n_chunks = math.ceil(n_patients / chunk_patients)
    seeds = tuple(np.random.SeedSequence(seed).spawn(n_chunks))
    sizes = tuple(min(chunk_patients, n_patients - k * chunk_patients) for k in range(n_chunks))
    ordered = tuple(sorted(doses, key=lambda d: d.day))
    jobs = [
        _Job(
            population,
            ordered,
            times,
            seeds[r.start : r.stop],
            sizes[r.start : r.stop],
            resolution_g_per_l,
            bins,
        )
        for r in _split(n_chunks, max(1, min(workers, n_chunks)))
    ]
    acc = _map(jobs)
    counts = acc.counts.reshape(times.size, bins)
    return PopulationSummary(
        population_id=population["id"],
        n_patients=n_patients,
        seed=seed,
        times_days=times,
        percentiles=tuple(float(q) for q in percentiles),
        percentile_igg_g_per_l=np.clip(
            _percentiles(counts, n_patients, percentiles, resolution_g_per_l), acc.low, acc.high
        ),
        mean_igg_g_per_l=acc.total / n_patients,
        min_igg_g_per_l=acc.low,
        max_igg_g_per_l=acc.high,
        resolution_g_per_l=resolution_g_per_l,
        chunk_patients=chunk_patients,
        values_above_range=int(counts[:, -1].sum()),
    )


def _map(jobs: list[_Job]) -> _Accumulator:
    """Run the jobs (in worker processes when more than one) and merge their results."""
    if len(jobs) == 1:
        return _run_chunks(jobs[0])
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(len(jobs)) as pool:
        results = pool.map(_run_chunks, jobs)
    acc = results[0]
    for other in results[1:]:
        acc.merge(other)
    return acc
