"""``ivig pk``: simulate serum IgG for a regimen and find trough-guided maintenance doses.

``ivig pk simulate --weight-kg 70 --population gbs --regimen 0.4g/kg@0x5 --plot igg.png``
``ivig pk optimise --weight-kg 70 --population cidp --target-trough-g-per-l 12 --interval-weeks 3``

Regimen terms: ``[iv:|sc:]AMOUNT(g|g/kg)@DAY[xCOUNT[/EVERY(d|w)]][~HOURSh]``. Levels files are
CSV (``day,igg_g_per_l``) or JSON (a list of ``{"day": .., "igg_g_per_l": ..}``).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivig.cli._common import console, emit_json, kb, print_footer
from ivig.errors import InputError

if TYPE_CHECKING:
    import argparse

    from ivig.app.pk import IndividualFit, Level, PkSimulation, Predictions
    from ivig.knowledge import KnowledgeBase

__all__ = ["add_parsers", "read_levels"]


def read_levels(path: str) -> list[Level]:
    """Measured levels from a CSV (``day,igg_g_per_l``) or JSON file."""
    from ivig.app.pk import Level

    file = Path(path)
    if not file.is_file():
        raise InputError("levels", path, "an existing CSV or JSON file")
    text = file.read_text(encoding="utf-8")
    rows: list[dict[str, Any]]
    if file.suffix.lower() == ".json":
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError("levels", path, "valid JSON", detail=str(exc)) from exc
        rows = loaded if isinstance(loaded, list) else []
    else:
        rows = list(csv.DictReader(text.splitlines()))
    levels = []
    for i, row in enumerate(rows):
        try:
            levels.append(Level(float(row["day"]), float(row["igg_g_per_l"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                f"levels[{i}]", row, "columns day and igg_g_per_l with numbers", "days, g/L"
            ) from exc
    if not levels:
        raise InputError("levels", path, "at least one row with day and igg_g_per_l")
    return levels


def _fit_json(fit: IndividualFit | None) -> dict[str, Any] | None:
    if fit is None:
        return None
    return {
        "etas": fit.etas,
        "observed_g_per_l": fit.observed_g_per_l,
        "predicted_g_per_l": fit.predicted_g_per_l,
        "objective": fit.objective,
        "converged": fit.converged,
        "parameters": fit.params.as_dict(),
    }


def _population_info(knowledge: KnowledgeBase, population_id: str | None) -> dict[str, Any]:
    from ivig.app.pk import population_info

    return population_info(knowledge, population_id)


def _predictions_json(pred: Predictions) -> dict[str, Any]:
    return {
        "peak_igg_g_per_l": pred.peak_igg_g_per_l,
        "peak_day": pred.peak_day,
        "troughs": [{"day": d, "igg_g_per_l": v} for d, v in pred.troughs],
        "steady_state_trough_g_per_l": pred.steady_state_trough_g_per_l,
        "steady_state_peak_g_per_l": pred.steady_state_peak_g_per_l,
        "maintenance_interval_days": pred.maintenance_interval_days,
        "delta_igg_day14_g_per_l": pred.delta_igg_day14_g_per_l,
        "delta_reference": pred.delta_reference,
        "target_igg_g_per_l": pred.target_igg_g_per_l,
        "days_above_target": pred.days_above_target,
        "notes": pred.notes,
    }


def _when_not_met(knowledge: KnowledgeBase, population_id: str) -> str:
    """The knowledge base's caveat for a missed delta-IgG target (GBS: what SID-GBS found)."""
    for ref in knowledge.data["pk"]["references"]:
        caveat = ref.get("when_not_met")
        if ref["population"] == population_id and ref["kind"] == "delta_igg_target" and caveat:
            sources = ", ".join(s["id"] for s in caveat["sources"])
            return f" -- {caveat['text']} ({sources})"
    return ""


def _plot(
    path: str,
    sim: PkSimulation,
    *,
    title: str,
    target: float | None,
    troughs: list[tuple[float, float]],
    levels: list[Level] | None = None,
) -> None:
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg"):
        raise InputError("plot", path, "a file name ending in .png or .svg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(sim.times_days, sim.total_igg_g_per_l, label="total IgG", color="C0")
    ax.plot(sim.times_days, sim.endogenous_igg_g_per_l, label="endogenous", color="C7", ls="--")
    for i, dose in enumerate(sim.doses):
        ax.axvline(dose.day, color="C2", alpha=0.25, lw=1, label="dose" if i == 0 else None)
    if troughs:
        ax.scatter(
            [d for d, _ in troughs],
            [v for _, v in troughs],
            color="C3",
            s=14,
            zorder=3,
            label="trough before dose",
        )
    if levels:
        ax.scatter(
            [lv.day for lv in levels],
            [lv.igg_g_per_l for lv in levels],
            marker="x",
            color="k",
            zorder=4,
            label="measured",
        )
    if target is not None:
        ax.axhline(target, color="C1", ls=":", label=f"target {target:g} g/L")
    ax.set_xlabel("day")
    ax.set_ylabel("serum IgG (g/L)")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format=suffix[1:])
    plt.close(fig)


def _simulate(args: argparse.Namespace) -> int:
    from ivig.app.pk import simulate

    knowledge = kb()
    result = simulate(
        knowledge,
        population_id=args.population,
        regimen=args.regimen,
        weight_kg=args.weight_kg,
        end_day=args.days,
        step_days=args.step_days,
        baseline_igg_g_per_l=args.baseline_igg_g_per_l,
        target_igg_g_per_l=args.target_igg_g_per_l,
        levels=read_levels(args.levels) if args.levels else None,
    )
    pop, sim, pred, fit = result.population, result.sim, result.predictions, result.fit
    if args.plot:
        levels = read_levels(args.levels) if args.levels else None
        _plot(
            args.plot,
            sim,
            title=f"IgG, {pop['name']}",
            target=args.target_igg_g_per_l,
            troughs=pred.troughs,
            levels=levels,
        )
    if args.json:
        emit_json(
            {
                "knowledge_version": knowledge.version,
                "population": _population_info(knowledge, args.population),
                "weight_kg": args.weight_kg,
                "doses": [
                    {
                        "day": d.day,
                        "amount_g_per_kg": d.amount_g_per_kg,
                        "amount_g": d.amount_g_per_kg * args.weight_kg,
                        "route": d.route,
                        "infusion_hours": d.infusion_hours,
                    }
                    for d in sim.doses
                ],
                "parameters": sim.params.as_dict(),
                "individual_fit": _fit_json(fit),
                "predictions": _predictions_json(pred),
                "series": {
                    "day": sim.times_days.tolist(),
                    "total_igg_g_per_l": sim.total_igg_g_per_l.tolist(),
                    "endogenous_igg_g_per_l": sim.endogenous_igg_g_per_l.tolist(),
                    "infused_igg_g_per_l": sim.infused_igg_g_per_l.tolist(),
                },
                "plot": args.plot,
                "disclaimer": knowledge.disclaimer,
            }
        )
        return 0
    out = console()
    out.print(f"[bold]Serum IgG simulation[/bold] - {pop['name']} ({pop['id']})")
    total_g = sum(d.amount_g_per_kg for d in sim.doses) * args.weight_kg
    out.print(
        f"{len(sim.doses)} dose(s), {total_g:.1f} g in all, weight {args.weight_kg:g} kg; "
        f"baseline {float(sim.params.baseline_igg_g_per_l[0]):.2f} g/L"
    )
    if fit is not None:
        out.print(
            f"Individualised from {len(fit.observed_g_per_l)} level(s): "
            + ", ".join(f"{k} x{math.exp(v):.2f}" for k, v in fit.etas.items())
        )
    out.print(f"Peak {pred.peak_igg_g_per_l:.1f} g/L on day {pred.peak_day:.2f}")
    if pred.delta_igg_day14_g_per_l is not None:
        line = f"Rise in IgG at day 14 (delta IgG): {pred.delta_igg_day14_g_per_l:.1f} g/L"
        ref = pred.delta_reference
        if ref:
            line += (
                f"; published {ref['mean_g_per_l']:g} +/- {ref['sd_g_per_l']:g} g/L "
                f"(z = {ref['z']:.2f}; {', '.join(ref['sources'])})"
            )
            if "target_g_per_l" in ref:
                met = "met" if ref["target_met"] else "NOT met"
                line += f"; target > {ref['target_g_per_l']:g} g/L {met}"
                if not ref["target_met"]:
                    line += _when_not_met(knowledge, sim.population_id)
        out.print(line)
    if len(pred.troughs) > 1:
        shown = ", ".join(f"d{d:g}: {v:.1f}" for d, v in pred.troughs[1:][-6:])
        out.print(f"Troughs before doses (g/L): {shown}")
    if pred.steady_state_trough_g_per_l is not None:
        out.print(
            f"Steady state every {pred.maintenance_interval_days:g} days: trough "
            f"{pred.steady_state_trough_g_per_l:.1f}, peak "
            f"{pred.steady_state_peak_g_per_l:.1f} g/L"
        )
    if pred.days_above_target is not None:
        out.print(
            f"Days at or above {args.target_igg_g_per_l:g} g/L: "
            f"{pred.days_above_target:.1f} of {sim.times_days[-1]:g}"
        )
    for warning in pop.get("warnings", []):
        out.print(f"[yellow]warning:[/yellow] {warning}")
    for note in pred.notes:
        out.print(f"[yellow]note:[/yellow] {note}")
    if args.plot:
        out.print(f"Plot written to {args.plot}")
    print_footer(out, knowledge)
    return 0


def _optimise(args: argparse.Namespace) -> int:
    from ivig.app.pk import optimise

    knowledge = kb()
    found = optimise(
        knowledge,
        population_id=args.population,
        weight_kg=args.weight_kg,
        target_trough_g_per_l=args.target_trough_g_per_l,
        find=args.find,
        route=args.route,
        regimen=args.regimen,
        levels=read_levels(args.levels) if args.levels else None,
        baseline_igg_g_per_l=args.baseline_igg_g_per_l,
        interval_weeks=args.interval_weeks,
        interval_days=args.interval_days,
        dose_g_per_kg=args.dose_g_per_kg,
        days_per_course=args.days_per_course,
        dose_step_g=args.dose_step_g,
        interval_step_days=args.interval_step_days,
        plot_days=args.plot_days if args.plot else None,
    )
    pop, plan, params, fit = found.population, found.plan, found.params, found.fit
    equivalents = found.sc_equivalents
    if args.plot and found.sim is not None:
        _plot(
            args.plot,
            found.sim,
            title=f"Maintenance plan, {pop['name']}",
            target=args.target_trough_g_per_l,
            troughs=found.troughs,
        )
    result = {
        "knowledge_version": knowledge.version,
        "population": _population_info(knowledge, args.population),
        "find": plan.find,
        "route": plan.route,
        "target_trough_g_per_l": plan.target_trough_g_per_l,
        "dose_g_per_kg": plan.dose_g_per_kg,
        "dose_g": plan.dose_g,
        "days_per_course": plan.days_per_course,
        "interval_days": plan.interval_days,
        "predicted_trough_g_per_l": plan.predicted_trough_g_per_l,
        "next_step_trough_g_per_l": plan.next_step_trough_g_per_l,
        "parameters": params.as_dict(),
        "individual_fit": _fit_json(fit),
        "sc_weekly_equivalents": equivalents,
        "notes": plan.notes,
        "plot": args.plot,
        "disclaimer": knowledge.disclaimer,
    }
    if args.json:
        emit_json(result)
        return 0
    out = console()
    out.print(
        f"[bold]Maintenance for a steady-state trough >= {plan.target_trough_g_per_l:g} "
        f"g/L[/bold] - {pop['name']} ({pop['id']})"
    )
    if fit is not None:
        out.print(
            f"Individualised from {len(fit.observed_g_per_l)} level(s): "
            + ", ".join(f"{k} x{math.exp(v):.2f}" for k, v in fit.etas.items())
        )
    out.print(
        f"{plan.route.upper()} {plan.dose_g:.1f} g ({plan.dose_g_per_kg:.3f} g/kg)"
        f"{f' over {plan.days_per_course} days' if plan.days_per_course > 1 else ''} "
        f"every {plan.interval_days:g} days -> predicted trough "
        f"{plan.predicted_trough_g_per_l:.2f} g/L"
    )
    if plan.next_step_trough_g_per_l is not None:
        step = "a dose one step smaller" if plan.find == "dose" else "one step longer"
        out.print(f"With {step}: {plan.next_step_trough_g_per_l:.2f} g/L (below target)")
    for eq in equivalents:
        flag = "" if eq["verified"] else " (unverified)"
        out.print(f"  weekly SC: {eq['weekly_sc_dose_g']:.1f} g - {eq['name']}{flag}")
    for warning in pop.get("warnings", []):
        out.print(f"[yellow]warning:[/yellow] {warning}")
    for note in plan.notes:
        out.print(f"[yellow]note:[/yellow] {note}")
    if args.plot:
        out.print(f"Plot written to {args.plot}")
    print_footer(out, knowledge)
    return 0


def _population(args: argparse.Namespace) -> int:
    """``ivig pk population``: percentiles of IgG per day over virtual patients (chunked)."""
    from ivig.app.pk import population_summary

    knowledge = kb()
    pop, summary = population_summary(
        knowledge,
        population_id=args.population,
        regimen=args.regimen,
        weight_kg=args.weight_kg,
        patients=args.patients,
        seed=args.seed,
        end_day=args.days,
        step_days=args.step_days,
        percentiles=_percentile_list(args.percentiles),
        workers=args.workers or _cpus(),
    )
    if args.csv:
        _write_population_csv(args.csv, summary)
    if args.json:
        emit_json(_population_json(knowledge, args, summary))
        return 0
    out = console()
    out.print(
        f"{summary.n_patients:,} virtual patients, {pop['name']}, seed {summary.seed}: IgG "
        f"(g/L, bins of {summary.resolution_g_per_l:g}) on days {summary.times_days[0]:g} to "
        f"{summary.times_days[-1]:g}"
    )
    for k in sorted({0, len(summary.times_days) // 2, len(summary.times_days) - 1}):
        cells = ", ".join(
            f"p{q:g} {summary.percentile_igg_g_per_l[j][k]:.2f}"
            for j, q in enumerate(summary.percentiles)
        )
        out.print(f"  day {summary.times_days[k]:g}: {cells}")
    if args.csv:
        out.print(f"Per-day percentiles written to {args.csv}")
    for warning in pop.get("warnings", []):
        out.print(f"[yellow]warning:[/yellow] {warning}")
    print_footer(out, knowledge)
    return 0


def _cpus() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _percentile_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise InputError(
            "--percentiles", text, "numbers separated by commas, e.g. 5,50,95"
        ) from None
    if not values or any(not 0 < v <= 100 for v in values):
        raise InputError("--percentiles", text, "numbers above 0 and at most 100", "%")
    return values


def _write_population_csv(path: str, summary: Any) -> None:
    header = ["day", *(f"p{q:g}_g_per_l" for q in summary.percentiles)]
    header += ["mean_g_per_l", "min_g_per_l", "max_g_per_l"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for k, day in enumerate(summary.times_days):
            row = [f"{day:g}", *(f"{v[k]:.3f}" for v in summary.percentile_igg_g_per_l)]
            row += [f"{summary.mean_igg_g_per_l[k]:.3f}", f"{summary.min_igg_g_per_l[k]:.3f}"]
            row.append(f"{summary.max_igg_g_per_l[k]:.3f}")
            writer.writerow(row)


def _population_json(knowledge: Any, args: argparse.Namespace, summary: Any) -> dict[str, Any]:
    return {
        "knowledge_version": knowledge.version,
        "population": _population_info(knowledge, args.population),
        "n_patients": summary.n_patients,
        "seed": summary.seed,
        "resolution_g_per_l": summary.resolution_g_per_l,
        "values_above_range": summary.values_above_range,
        "days": [float(d) for d in summary.times_days],
        "percentiles": {
            f"p{q:g}": [round(float(v), 3) for v in summary.percentile_igg_g_per_l[j]]
            for j, q in enumerate(summary.percentiles)
        },
        "mean_g_per_l": [round(float(v), 3) for v in summary.mean_igg_g_per_l],
        "disclaimer": knowledge.disclaimer,
    }


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weight-kg", type=float, required=True, help="body weight (kg)")
    p.add_argument(
        "--population",
        default=None,
        help="pk.yaml population id (pi_label, gbs, cidp, mmn); default pi_label",
    )
    p.add_argument(
        "--baseline-igg-g-per-l",
        type=float,
        default=None,
        help="pre-treatment (endogenous) IgG in g/L",
    )
    p.add_argument(
        "--levels",
        default=None,
        help="CSV/JSON of measured levels (day, igg_g_per_l) to individualise",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--plot", default=None, metavar="FILE", help="write a PNG or SVG plot")


def add_parsers(sub: Any) -> None:
    """Register ``ivig pk simulate`` and ``ivig pk optimise``."""
    from ivig.app.pk import REGIMEN_SYNTAX as SYNTAX

    pk = sub.add_parser("pk", help="IgG pharmacokinetics: simulate and optimise")
    pk_sub = pk.add_subparsers(dest="pk_command", metavar="ACTION", required=True)

    sim = pk_sub.add_parser("simulate", help="serum IgG over time for a regimen")
    _common(sim)
    sim.add_argument(
        "--regimen",
        nargs="+",
        action="extend",
        required=True,
        metavar="TERM",
        help=f"dose terms: {SYNTAX}",
    )
    sim.add_argument("--days", type=float, default=None, help="simulate to this day")
    sim.add_argument("--step-days", type=float, default=0.25, help="time step (days)")
    sim.add_argument(
        "--target-igg-g-per-l",
        type=float,
        default=None,
        help="report the time at or above this level",
    )
    sim.set_defaults(func=_simulate)

    popn = pk_sub.add_parser(
        "population", help="IgG percentiles per day over virtual patients (any number)"
    )
    _common(popn)
    popn.add_argument(
        "--regimen", nargs="+", action="extend", required=True, metavar="TERM",
        help=f"dose terms: {SYNTAX}",
    )  # fmt: skip
    popn.add_argument("--patients", type=int, default=10_000, help="virtual patients")
    popn.add_argument("--seed", type=int, default=1, help="random seed (same seed, same result)")
    popn.add_argument("--days", type=float, default=365.0, help="simulate to this day")
    popn.add_argument("--step-days", type=float, default=1.0, help="time step (days)")
    popn.add_argument("--percentiles", default="5,25,50,75,95", help="e.g. 5,50,95")
    popn.add_argument("--csv", metavar="FILE", help="write the per-day percentiles as CSV")
    popn.add_argument("--workers", type=int, help="processes (default: the CPUs available)")
    popn.set_defaults(func=_population)

    opt = pk_sub.add_parser("optimise", help="smallest dose or longest interval for a trough")
    _common(opt)
    opt.add_argument("--target-trough-g-per-l", type=float, required=True)
    opt.add_argument("--find", choices=("dose", "interval"), default="dose")
    opt.add_argument("--interval-weeks", type=float, default=None)
    opt.add_argument("--interval-days", type=float, default=None)
    opt.add_argument(
        "--dose-g-per-kg",
        type=float,
        default=None,
        help="dose per course (needed with --find interval)",
    )
    opt.add_argument("--days-per-course", type=int, default=1)
    opt.add_argument("--route", choices=("iv", "sc"), default="iv")
    opt.add_argument(
        "--dose-step-g",
        type=float,
        default=0.0,
        help="round the dose up to a multiple of this many grams",
    )
    opt.add_argument("--interval-step-days", type=float, default=7.0)
    opt.add_argument(
        "--regimen",
        nargs="+",
        action="extend",
        default=None,
        metavar="TERM",
        help="doses already given (with --levels, to individualise)",
    )
    opt.add_argument("--plot-days", type=float, default=168.0)
    opt.set_defaults(func=_optimise)
