"""A writer process for the reliability tests: records infusions one transaction at a time
(far more grams than authorised, so each one is recorded with an explicit override).

Usage: python writer.py URL COURSE_ID COUNT TAG. Prints one line per committed infusion.
"""

from __future__ import annotations

import sys

from ivig.registry import api
from ivig.registry.db import make_engine, session_scope


def main() -> None:
    url, course_id, count, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    engine = make_engine(url)
    for k in range(count):
        with session_scope(engine) as s:
            api.record_infusion(
                s,
                course_id,
                date="2026-01-05",
                product="privigen",
                lot_number=f"{tag}-{k}",
                grams=10,
                actor="pharmacist",
                substitution_reason="load test: any product",
                override_reason="load test: more grams than authorised",
            )
        print(f"committed {tag}-{k}", flush=True)


if __name__ == "__main__":
    main()
