"""Benchmark: score computation and course review on the bundled histories (prints figures)."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from ivig.core.review import review_course
from ivig.core.scores import compute_score
from ivig.knowledge import load_knowledge

HISTORIES = Path(__file__).resolve().parents[1] / "examples" / "histories"


def main() -> None:
    kb = load_knowledge()
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        compute_score(kb, "incat", {"arm": 2, "leg": 3})
    per_score_us = (time.perf_counter() - start) / n * 1e6
    print(f"compute_score(incat): {per_score_us:.1f} us per call ({n} calls)")
    histories = [yaml.safe_load(p.read_text()) for p in sorted(HISTORIES.glob("*.yaml"))]
    rounds = 100
    start = time.perf_counter()
    for _ in range(rounds):
        for history in histories:
            review_course(kb, history)
    per_review_ms = (time.perf_counter() - start) / (rounds * len(histories)) * 1e3
    print(f"review_course: {per_review_ms:.2f} ms per history ({len(histories)} histories)")


if __name__ == "__main__":
    main()
