"""Start-up time of the command line against ``python -c pass`` in the same run.

Commands: ``ivig --help`` (target <= 4x), ``ivig recommend examples/cidp-maintenance.yaml
--json`` (target <= 5x) and ``ivig dose ... --json``. Each is timed twice: *with bytecode*
(ivig's modules compiled, as ``pip install`` leaves them) and *without* (ivig's ``__pycache__``
folders removed and ``PYTHONDONTWRITEBYTECODE=1``, as in an editable checkout that cannot write;
third-party packages keep their bytecode in both). Prints medians over ``--runs`` runs after one
warm-up (which also fills the knowledge cache), the ratios, and the heavy modules each command
imported.

    python benchmarks/startup.py            # 20 runs each
    python benchmarks/startup.py --runs 5   # a quick look
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IVIG = str(Path(sys.executable).parent / "ivig")
DOSE = [IVIG, "dose", "--sex", "female", "--age", "54", "--height-cm", "160", "--weight-kg"]
DOSE += ["90", "--condition", "gbs", "--phase", "induction", "--policy", "au-2026", "--json"]
COMMANDS: list[tuple[str, list[str], float]] = [
    ("ivig --help", [IVIG, "--help"], 4.0),
    ("ivig recommend --json", [IVIG, "recommend", "examples/cidp-maintenance.yaml", "--json"], 5.0),
    ("ivig dose --json", DOSE, 4.0),
]
HEAVY = ("sqlalchemy", "numpy", "pydantic", "yaml", "rich", "jinja2")


def median_wall_s(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT, env=env)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def heavy_imports(cmd: list[str]) -> list[str]:
    code = (
        "import sys; from ivig.cli import main\n"
        f"try:\n    main({cmd[1:]!r})\nexcept SystemExit:\n    pass\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return out.stderr.split()


def _package_dir() -> Path:
    import ivig

    return Path(ivig.__file__).parent


def _drop_bytecode() -> None:
    for folder in _package_dir().rglob("__pycache__"):
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    import compileall

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    base_env = dict(os.environ)
    results: dict[str, dict[str, float]] = {}
    for mode in ("with bytecode", "without bytecode"):
        env = dict(base_env)
        if mode == "with bytecode":
            compileall.compile_dir(str(_package_dir()), quiet=1)
        else:
            _drop_bytecode()
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        base = median_wall_s([sys.executable, "-c", "pass"], args.runs, env)
        results[mode] = {"python -c pass": base}
        for name, cmd, _ in COMMANDS:
            results[mode][name] = median_wall_s(cmd, args.runs, env)
    compileall.compile_dir(str(_package_dir()), quiet=1)
    print(f"medians over {args.runs} runs, {os.cpu_count()} CPU(s) (shared machine: noisy)")
    for mode, figures in results.items():
        base = figures["python -c pass"]
        print(f"{mode}:  python -c pass {base * 1000:.1f} ms")
        for name, _, target in COMMANDS:
            took = figures[name]
            print(
                f"  {name:<24} {took * 1000:7.1f} ms  ratio {took / base:5.2f}"
                f"  (target <= {target:.0f})"
            )
    for name, cmd, _ in COMMANDS:
        print(f"heavy modules imported by {name}: {', '.join(heavy_imports(cmd)) or 'none'}")


if __name__ == "__main__":
    main()
