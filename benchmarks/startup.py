"""Start-up time of the command line against ``python -c pass`` in the same run.

Commands: ``ivig --help`` (target <= 4x), ``ivig recommend examples/cidp-maintenance.yaml
--json`` (target <= 5x) and ``ivig dose ... --json``. Each is timed twice: *with bytecode*
(ivig's modules compiled, as ``pip install`` leaves them) and *without* (ivig's ``__pycache__``
folders removed and ``PYTHONDONTWRITEBYTECODE=1``, so every run compiles every ivig module it
imports, as from a read-only checkout or an image built with ``pip install --no-compile``;
third-party packages and the standard library keep their bytecode in both, which only favours
the command).

The runs are interleaved: each round runs ``python -c pass`` and then every command once, so a
change of load on a shared machine falls on the baseline and the commands alike. Prints, per
mode, the median wall time over ``--runs`` rounds after one warm-up (which also fills the
knowledge cache) and its ratio to the baseline's median - the figure the targets are about -
and the median CPU time (user + system, from ``wait4``) with its ratio, which load disturbs
less; then the heavy modules each command imported, and how much ivig source the commands
compile without bytecode and what compiling it alone costs (the floor of that mode).

With ``--instructions`` it also counts the instructions each command executes (one run per
command and mode under ``valgrind --tool=callgrind``, about 30 s): a figure that load on a shared
machine does not move, for comparing two versions of the code; wall time remains the target's
measure, and an instruction ratio is not a time ratio (compiling runs more instructions per
second than start-up's page faults and system calls).

    python benchmarks/startup.py            # 20 rounds per mode
    python benchmarks/startup.py --runs 5   # a quick look
    python benchmarks/startup.py --runs 5 --instructions
"""

from __future__ import annotations

import argparse
import json
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
BASELINE = ("python -c pass", [sys.executable, "-c", "pass"])
COMMANDS: list[tuple[str, list[str], float]] = [
    ("ivig --help", [IVIG, "--help"], 4.0),
    ("ivig recommend --json", [IVIG, "recommend", "examples/cidp-maintenance.yaml", "--json"], 5.0),
    ("ivig dose --json", DOSE, 4.0),
]
HEAVY = ("sqlalchemy", "numpy", "scipy", "pydantic", "yaml", "rich", "jinja2", "fastapi", "typing")


def timed_run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``cmd``, which must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return wall, usage.ru_utime + usage.ru_stime


def interleaved_medians(
    commands: list[tuple[str, list[str]]], runs: int, env: dict[str, str]
) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each command over ``runs`` rounds of all of them."""
    for _, cmd in commands:
        timed_run(cmd, env)  # warm-up
    walls: dict[str, list[float]] = {name: [] for name, _ in commands}
    cpus: dict[str, list[float]] = {name: [] for name, _ in commands}
    for _ in range(runs):
        for name, cmd in commands:
            wall, cpu = timed_run(cmd, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {n: (statistics.median(walls[n]), statistics.median(cpus[n])) for n in walls}


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


def compiled_source(cmd: list[str]) -> tuple[int, int, float]:
    """(modules, bytes, CPU seconds to compile them in a fresh process) of the ivig source that
    ``cmd`` imports: what its run without bytecode pays on top of the run with, which only
    compiling less source lowers."""
    listing = (
        "import io, json, sys, contextlib; from ivig.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    main({cmd[1:]!r})\n"
        "print(json.dumps([m.__file__ for n, m in list(sys.modules.items())"
        " if n.split('.')[0] == 'ivig' and getattr(m, '__file__', None)]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", listing], capture_output=True, text=True, cwd=ROOT, check=True
    )
    files: list[str] = json.loads(out.stdout.splitlines()[-1])
    timing = (
        "import sys, time\nstart = time.process_time()\nfor f in sys.argv[1:]:\n"
        "    with open(f, 'rb') as fh:\n        compile(fh.read(), f, 'exec')\n"
        "print(time.process_time() - start)"
    )
    cpu = statistics.median(
        float(subprocess.run([sys.executable, "-c", timing, *files], capture_output=True,
                             text=True, check=True).stdout)
        for _ in range(5)
    )  # fmt: skip
    return len(files), sum(os.path.getsize(f) for f in files), cpu


def instructions(cmd: list[str], env: dict[str, str]) -> int | None:
    """Instructions one run of ``cmd`` executes (valgrind's callgrind), or ``None`` without
    valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    out = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        check=True,
    )  # fmt: skip
    collected = [line for line in out.stderr.splitlines() if "Collected :" in line]
    return int(collected[-1].rsplit(":", 1)[1]) if collected else None


def _package_dir() -> Path:
    import ivig

    return Path(ivig.__file__).parent


def _drop_bytecode() -> None:
    for folder in _package_dir().rglob("__pycache__"):
        shutil.rmtree(folder, ignore_errors=True)


MODES = ("with bytecode", "without bytecode")


def _mode_env(mode: str) -> dict[str, str]:
    """Prepare ivig's bytecode for ``mode`` (compiled, or removed) and return the environment of
    its runs."""
    import compileall

    env = dict(os.environ)
    if mode == "with bytecode":
        compileall.compile_dir(str(_package_dir()), quiet=1)
    else:
        _drop_bytecode()
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _report(mode: str, figures: dict[str, tuple[float, float]]) -> None:
    base_wall, base_cpu = figures[BASELINE[0]]
    print(f"{mode}:  python -c pass {base_wall * 1000:.1f} ms wall, {base_cpu * 1000:.1f} ms CPU")
    for name, _, target in COMMANDS:
        wall, cpu = figures[name]
        print(
            f"  {name:<24} {wall * 1000:7.1f} ms  ratio {wall / base_wall:5.2f}"
            f"  (target <= {target:.0f})   CPU {cpu * 1000:6.1f} ms  ratio {cpu / base_cpu:5.2f}"
        )


def main(argv: list[str] | None = None) -> None:
    import compileall

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions under valgrind"
    )
    args = parser.parse_args(argv)
    commands = [BASELINE] + [(name, cmd) for name, cmd, _ in COMMANDS]
    results: dict[str, dict[str, tuple[float, float]]] = {}
    counts: dict[str, dict[str, int | None]] = {}
    try:
        for mode in MODES:
            results[mode] = interleaved_medians(commands, args.runs, _mode_env(mode))
        for mode in MODES if args.instructions else ():  # after every timing: none disturbed
            env = _mode_env(mode)
            counts[mode] = {name: instructions(cmd, env) for name, cmd in commands}
    finally:
        compileall.compile_dir(str(_package_dir()), quiet=1)
    print(
        f"medians over {args.runs} interleaved rounds, {os.cpu_count()} CPU(s), load average "
        f"{os.getloadavg()[0]:.1f} at the end (a shared machine makes wall ratios noisy)"
    )
    for mode, figures in results.items():
        _report(mode, figures)
    for mode, count in counts.items():
        base = count[BASELINE[0]]
        if base is None:
            print("instructions: valgrind is not installed")
            break
        print(
            f"instructions {mode}: python -c pass {base / 1e6:.1f} M; "
            + ", ".join(f"{name} {(count[name] or 0) / base:.2f}x" for name, _, _ in COMMANDS)
        )
    for name, cmd, _ in COMMANDS:
        print(f"heavy modules imported by {name}: {', '.join(heavy_imports(cmd)) or 'none'}")
    base_cpu = results["without bytecode"][BASELINE[0]][1]
    for name, cmd, _ in COMMANDS[1:]:
        modules, size, cpu = compiled_source(cmd)
        print(
            f"{name} compiles {modules} ivig modules, {size / 1000:.0f} kB, without bytecode: "
            f"{cpu * 1000:.1f} ms CPU = {cpu / base_cpu:.2f}x python -c pass on its own"
        )


if __name__ == "__main__":
    main()
