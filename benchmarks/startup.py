"""Start-up time of `ivig dose --json` against `python -c pass` (target: ratio <= 4).

Compiles the package's bytecode (as an install does), runs each command N times after one
warm-up (which also fills the knowledge cache) and prints the median wall times, the ratio, and
the heavy modules the dose command imported (none expected).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 30
IVIG = str(Path(sys.executable).parent / "ivig")
DOSE = [
    IVIG,
    "dose",
    "--sex",
    "female",
    "--age",
    "54",
    "--height-cm",
    "160",
    "--weight-kg",
    "90",
    "--condition",
    "gbs",
    "--phase",
    "induction",
    "--policy",
    "au-2026",
    "--json",
]


def median_wall_s(cmd: list[str]) -> float:
    subprocess.run(cmd, check=True, capture_output=True)  # warm-up
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    import compileall

    import ivig

    # an installed package has its bytecode compiled (pip does it); an editable checkout with
    # PYTHONDONTWRITEBYTECODE set would otherwise recompile every module on every run
    compileall.compile_dir(str(Path(ivig.__file__).parent), quiet=1)
    base = median_wall_s([sys.executable, "-c", "pass"])
    dose = median_wall_s(DOSE)
    imported = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import sys; sys.argv=['ivig']+sys.argv[1:];"
            "from ivig.cli import main; main(" + repr(DOSE[1:]) + ")",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    heavy = [m for m in ("pydantic", "yaml", "rich", "numpy") if f"| {m}\n" in imported]
    print(f"python -c pass      median {base * 1000:7.1f} ms over {RUNS} runs")
    print(f"ivig dose --json    median {dose * 1000:7.1f} ms over {RUNS} runs")
    print(f"ratio               {dose / base:7.2f}  (target <= 4.00)")
    print(f"heavy modules imported by ivig dose: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
