"""Registry under load (issue 17): writers and readers at once on SQLite and PostgreSQL.

``WRITERS`` threads record infusions (one transaction each, with the audit entry) while
``READERS`` threads read request lists, lot recalls and the audit log in read-only transactions,
for ``SECONDS``. Prints per database: writes committed and failed, writes found afterwards
(lost = committed - found), p50/p99 write latency, reads per second, and whether the audit
chain verifies. Read throughput with no writers running (same run, same database) is the
baseline of the reads-per-second ratio.

Run: ``.venv/bin/python benchmarks/registry_load.py [SECONDS] [WRITERS] [READERS]``
(default 60 s, 8 writers, 20 readers). PostgreSQL: ``IVIG_BENCH_PG_URL``, else a throwaway
server is started with the Debian binaries (initdb/pg_ctl) on a free loopback port, else it is
skipped with a note.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REQUEST: dict[str, Any] = {
    "patient": {"sex": "male", "age_years": 62, "weight_kg": 85, "height_cm": 178},
    "condition": "cidp",
    "indication": "maintenance",
    "phase": "maintenance",
    "jurisdiction": "au",
    "findings": {"previous_ig_response": True, "baseline_measure_recorded": True},
}


def _setup(engine: Any, kb: Any) -> int:
    from ivig.registry import api
    from ivig.registry.db import session_scope, upgrade

    upgrade(engine)
    with session_scope(engine) as s:
        api.create_user(s, "admin", "admin", actor="system")
        for role in ("steward", "clinician", "pharmacist"):
            api.create_user(s, role, role, actor="admin")
        made = api.create_request(s, REQUEST, patient_ref="P-1", actor="clinician", knowledge=kb)
        api.authorise(s, made["request_id"], outcome="approve", reason="ok", actor="steward")
        course = api.start_course(
            s, made["request_id"], start_date="2026-01-05", actor="pharmacist"
        )
    return int(course["id"])


def _writer(
    engine: Any, kb: Any, course_id: int, tag: str, stop: threading.Event, out: dict[str, Any]
) -> None:
    from ivig.registry import api
    from ivig.registry.db import session_scope

    k = 0
    while not stop.is_set():
        started = time.perf_counter()
        try:
            with session_scope(engine) as s:
                api.record_infusion(
                    s,
                    course_id,
                    date="2026-01-05",
                    product=out["product"],
                    lot_number=f"{tag}-{k}",
                    grams=10,
                    actor="pharmacist",
                    override_reason="load benchmark",
                    knowledge=kb,
                )
            out["latencies"].append(time.perf_counter() - started)
            out["committed"] += 1
        except Exception as exc:  # counted and shown: a failed write is a finding
            out["failed"] += 1
            out["errors"].add(type(exc).__name__ + ": " + str(exc)[:120])
        k += 1


def _reader(engine: Any, stop: threading.Event, out: dict[str, Any]) -> None:
    from ivig.registry import api
    from ivig.registry.db import read_scope

    while not stop.is_set():
        try:
            with read_scope(engine) as s:
                api.list_requests(s, limit=50)
                api.list_audit(s, limit=50)
                api.recall_lot(s, "W0-1")
            out["reads"] += 1
        except Exception as exc:
            out["read_failed"] += 1
            out["errors"].add(type(exc).__name__ + ": " + str(exc)[:120])


def _run(threads: list[Callable[[threading.Event], None]], seconds: float) -> float:
    stop = threading.Event()
    workers = [threading.Thread(target=fn, args=(stop,)) for fn in threads]
    started = time.perf_counter()
    for w in workers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join(120)
    return time.perf_counter() - started


def bench(name: str, url: str, seconds: float, writers: int, readers: int) -> None:
    from sqlalchemy import func, select

    from ivig.knowledge import load_knowledge
    from ivig.registry import api
    from ivig.registry.db import make_engine, read_scope
    from ivig.registry.models import Course, Infusion

    kb = load_knowledge()
    engine = (
        make_engine(url, pool_size=writers + readers + 2, max_overflow=4)
        if "postgresql" in url
        else make_engine(url)
    )
    course_id = _setup(engine, kb)
    with read_scope(engine) as s:
        product = s.get(Course, course_id).product or "privigen"  # type: ignore[union-attr]
    out: dict[str, Any] = {"committed": 0, "failed": 0, "reads": 0, "read_failed": 0,
                           "latencies": [], "errors": set(), "product": product}  # fmt: skip
    alone = _run([lambda e: _reader(engine, e, out)] * readers, min(5.0, seconds / 4))
    reads_alone = out["reads"] / alone
    out["reads"] = 0
    jobs: list[Callable[[threading.Event], None]] = []
    for w in range(writers):
        jobs.append(lambda e, w=w: _writer(engine, kb, course_id, f"W{w}", e, out))
    jobs += [lambda e: _reader(engine, e, out)] * readers
    elapsed = _run(jobs, seconds)
    with read_scope(engine) as s:
        found = s.scalar(select(func.count()).select_from(Infusion)) or 0
        verified = api.verify_audit(s)["ok"]
    lat = sorted(out["latencies"]) or [0.0]
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    reads_per_s = out["reads"] / elapsed
    print(f"{name}: {elapsed:.0f} s, {writers} writers, {readers} readers")
    lost = out["committed"] - found
    print(
        f"  writes committed {out['committed']}, failed {out['failed']}, found {found}, lost {lost}"
    )
    print(f"  write latency p50 {statistics.median(lat) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    ratio = reads_per_s / reads_alone if reads_alone else 0.0
    print(
        f"  reads {reads_per_s:.1f}/s with writers, {reads_alone:.1f}/s alone (ratio {ratio:.2f})"
    )
    print(f"  failed reads {out['read_failed']}")
    print(f"  audit chain verifies: {verified}")
    for error in sorted(out["errors"])[:5]:
        print(f"  error: {error}")
    engine.dispose()


def _find(name: str) -> str | None:
    found = shutil.which(name) or shutil.which(name, path="/usr/local/bin")
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@contextmanager
def _postgres() -> Iterator[str | None]:
    if os.environ.get("IVIG_BENCH_PG_URL"):
        yield os.environ["IVIG_BENCH_PG_URL"]
        return
    initdb, pg_ctl = _find("initdb"), _find("pg_ctl")
    if not initdb or not pg_ctl:
        yield None
        return
    user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="ivig-bench-pg-"))
    base.chmod(0o777)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = base / "data"
    subprocess.run([*user, initdb, "-D", str(data), "-U", "ivig", "-A", "trust", "--no-sync"],
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run([*user, pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                    f"-h 127.0.0.1 -p {port} -k {base} -c max_connections=100", "start"],
                   check=True, capture_output=True)  # fmt: skip
    try:
        yield f"postgresql+psycopg://ivig@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*user, pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True, check=False
        )
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    writers = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    readers = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    folder = Path(tempfile.mkdtemp(prefix="ivig-bench-"))
    os.environ.setdefault("IVIG_AUDIT_KEY_FILE", str(folder / "audit.key"))
    os.environ.setdefault("IVIG_AUDIT_CHECKPOINT_FILE", str(folder / "checkpoints.json"))
    try:
        bench("SQLite (WAL)", f"sqlite:///{folder / 'registry.db'}", seconds, writers, readers)
        with _postgres() as pg:
            if pg is None:
                print("PostgreSQL: skipped (no IVIG_BENCH_PG_URL and no initdb/pg_ctl)")
            else:
                bench("PostgreSQL", pg, seconds, writers, readers)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
