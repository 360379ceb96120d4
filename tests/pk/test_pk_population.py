"""Population summaries in chunks: percentiles per day from histograms agree with the exact
percentiles of the same virtual patients, whatever the number of worker processes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ivig.core.pk import pk_population, sample_parameters
from ivig.core.pk_model import Dose, evaluate_igg
from ivig.core.pk_population import summarise_population
from ivig.errors import InputError
from ivig.knowledge import KnowledgeBase

DOSES = [Dose(float(d), 0.4, "iv", 4.0) for d in range(5)] + [
    Dose(21.0 + 21.0 * k, 1.0, "iv", 4.0) for k in range(4)
]


def _exact(kb: KnowledgeBase, n: int, chunk: int, seed: int, times: np.ndarray) -> np.ndarray:
    """The same patients as the chunked run (one child seed per chunk), all held at once."""
    pop = pk_population(kb, "cidp")
    children = np.random.SeedSequence(seed).spawn(-(-n // chunk))
    parts = []
    for k, child in enumerate(children):
        size = min(chunk, n - k * chunk)
        params = sample_parameters(pop, size, np.random.default_rng(child))
        parts.append(evaluate_igg(params, DOSES, times))
    return np.concatenate(parts)


def test_percentiles_are_within_half_a_bin_of_the_exact_ones(kb: KnowledgeBase) -> None:
    """Population variability of the cidp population (pk.yaml); nearest-rank percentiles."""
    times = np.arange(0.0, 120.0, 1.0)
    n, chunk, seed = 3001, 700, 5
    summary = summarise_population(
        pk_population(kb, "cidp"), DOSES, n, seed=seed, times_days=times, chunk_patients=chunk
    )
    exact = _exact(kb, n, chunk, seed, times)
    wanted = np.percentile(exact, summary.percentiles, axis=0, method="inverted_cdf")
    assert (
        np.max(np.abs(summary.percentile_igg_g_per_l - wanted))
        <= summary.resolution_g_per_l / 2 + 1e-9
    )
    np.testing.assert_allclose(summary.mean_igg_g_per_l, exact.mean(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(summary.min_igg_g_per_l, exact.min(axis=0))
    np.testing.assert_array_equal(summary.max_igg_g_per_l, exact.max(axis=0))
    assert summary.values_above_range == 0
    median = summary.percentile_igg_g_per_l[summary.percentiles.index(50.0)]
    assert median[10] > median[0]  # induction raises the IgG


def test_two_workers_give_the_same_summary(kb: KnowledgeBase) -> None:
    pop = pk_population(kb, "cidp")
    one = summarise_population(pop, DOSES, 2500, seed=3, end_day=60, chunk_patients=400)
    two = summarise_population(pop, DOSES, 2500, seed=3, end_day=60, chunk_patients=400, workers=2)
    np.testing.assert_array_equal(one.percentile_igg_g_per_l, two.percentile_igg_g_per_l)
    np.testing.assert_allclose(one.mean_igg_g_per_l, two.mean_igg_g_per_l, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_patients": 0}, "n_patients"),
        ({"percentiles": (0.0, 50.0)}, "percentiles"),
        ({"chunk_patients": 0}, "chunk_patients"),
        ({"resolution_g_per_l": 0.0}, "resolution_g_per_l"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_arguments_name_the_field(
    kb: KnowledgeBase, kwargs: dict[str, object], field: str
) -> None:
    args: dict[str, object] = {"n_patients": 10, "seed": 1, **kwargs}
    with pytest.raises(InputError, match=field):
        summarise_population(pk_population(kb, "cidp"), DOSES, **args)  # type: ignore[arg-type]


def test_the_population_command_writes_percentiles_per_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ivig.cli import main

    out = tmp_path / "pop.csv"
    args = ["pk", "population", "--weight-kg", "70", "--population", "cidp", "--regimen"]
    args += ["0.4g/kg@0x5", "--patients", "1500", "--days", "30", "--percentiles", "5,50,95"]
    assert main([*args, "--csv", str(out), "--json", "--workers", "1"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["n_patients"] == 1500 and len(body["days"]) == 30
    p5, p50, p95 = (np.array(body["percentiles"][k]) for k in ("p5", "p50", "p95"))
    assert np.all(p5 <= p50) and np.all(p50 <= p95) and p95[3] > p5[3]
    rows = out.read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("day,p5_g_per_l,p50_g_per_l,p95_g_per_l,mean_g_per_l")
    assert len(rows) == 31
    assert main([*args[:-2], "--percentiles", "fifty"]) == 2
