"""Load on the service: CDS Hooks order-select and REST ``/api/recommend``, 1 and N workers.

Starts ``ivig serve --workers W`` in a separate process on a loopback port, on a registry
database (a fresh SQLite file, or ``--database-url`` for PostgreSQL) that holds the JWT replay
cache shared by the workers, trusting one test EHR (ES384 key in ``IVIG_CDS_ISSUERS``). Tokens
live 5 minutes (the default bound). For each worker count:

- *floor*: ``GET /api/health`` back-to-back from the same clients (the framework, the server
  setup and the client, without ivig's work): the ceiling any endpoint can reach here;
- *cds*: order-select for the bundled GBS example, each call with its own JWT, back-to-back;
- *rest*: ``POST /api/recommend`` with a registry API token, back-to-back.

Ratios are printed against the floor of the same run and against the 1-worker figure, with the
server's CPU time per call (parent and workers). The client speaks HTTP/1.1 on raw asyncio
streams (keep-alive, TCP_NODELAY) so that its own cost stays small beside the server's.
``--soak S`` then offers ``--rate`` calls/s for S seconds (fresh 5-minute tokens) and compares
the first and last 10 % of the run (target: within 10 %). Targets: CDS p99 < 50 ms and
throughput >= 1/3 of the floor with 2 workers at 50 clients; REST p99 < 100 ms.

    python benchmarks/cds_load.py                      # 1 and 2 workers, SQLite, short runs
    python benchmarks/cds_load.py --soak 600           # the 10-minute soak
    python benchmarks/cds_load.py --database-url postgresql://...   # on PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

ISS = "https://bench-ehr.example.org"
BUNDLE = Path(__file__).resolve().parents[1] / "tests" / "service" / "data" / "gbs_bundle.json"
REST_BODY = {
    "patient": {"sex": "male", "age_years": 62, "height_cm": 178, "weight_kg": 85},
    "condition": "gbs",
    "phase": "induction",
    "findings": {"able_to_walk_unaided": False, "days_since_onset": 5},
    "jurisdiction": "au",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": r} for r in resources]}  # fmt: skip


def _hook_body() -> dict[str, Any]:
    res = [e["resource"] for e in json.loads(BUNDLE.read_text())["entry"]]

    def of(kind: str) -> list[dict[str, Any]]:
        return [r for r in res if r["resourceType"] == kind]

    def obs(code: str) -> dict[str, Any]:
        found = [o for o in of("Observation") if o["code"]["coding"][0]["code"] == code]
        return _searchset(sorted(found, key=lambda o: o["effectiveDateTime"], reverse=True))

    return {
        "hook": "order-select",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/dr-1",
            "patientId": "p1",
            "selections": ["MedicationRequest/mr1"],
            "draftOrders": _searchset(of("MedicationRequest")),
        },
        "prefetch": {
            "patient": of("Patient")[0],
            "weight": obs("29463-7"),
            "height": obs("8302-2"),
            "iga": obs("2458-8"),
            "creatinine": None,
            "egfr": obs("98979-8"),
            "findings": obs("able_to_walk_unaided"),
            "conditions": _searchset(of("Condition")),
            "igOrders": _searchset([]),
        },
    }


class Ehr:
    """The test EHR: an ES384 key, its JWK and 5-minute tokens for one audience."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP384R1())
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwk = {**jwk, "kid": "k1"}

    def token(self, aud: str) -> str:
        now = int(time.time())
        claims = {"iss": ISS, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})


def _registry(url: str | None) -> tuple[str, str]:
    """A migrated registry (``url`` or a fresh SQLite file) and a clinician's API token."""
    from ivig.registry import api
    from ivig.registry.db import make_engine, session_scope, upgrade

    url = url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='ivig-bench-')) / 'registry.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as s:
        if not api.list_users(s):
            api.create_user(s, "admin", "admin", actor="system")
        if not any(u["username"] == "bench" for u in api.list_users(s)):
            api.create_user(s, "bench", "clinician", actor="admin")
    with session_scope(engine) as s:
        token: str = api.issue_token(s, "bench", actor="admin", label="benchmark")["token"]
    engine.dispose()
    return url, token


def _start_server(port: int, ehr: Ehr, workers: int, db_url: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["IVIG_CDS_ISSUERS"] = json.dumps([{"iss": ISS, "jwks": {"keys": [ehr.jwk]}}])
    env["IVIG_JURISDICTION"] = "au"
    ivig = str(Path(sys.executable).parent / "ivig")
    cmd = [ivig, "serve", "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    if db_url == "none":
        cmd.append("--no-registry")
    else:
        env["IVIG_DATABASE_URL"] = db_url
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
            time.sleep(1.0 if workers > 1 else 0.0)  # let every worker finish starting
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    _stop(proc)
    raise SystemExit("the service did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    import signal

    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@dataclass
class Call:
    """One kind of request: method, URL, body and a header factory (a fresh JWT per call)."""

    method: str
    url: str
    body: bytes | None
    headers: Callable[[], dict[str, str]]
    check: Callable[[int, bytes], bool]


@dataclass
class Result:
    name: str
    latencies_s: list[float]
    errors: int
    elapsed_s: float
    server_cpu_s: float = 0.0

    @property
    def cpu_ms_per_call(self) -> float:
        return 1000 * self.server_cpu_s / max(1, len(self.latencies_s))

    @property
    def throughput(self) -> float:
        return len(self.latencies_s) / self.elapsed_s

    def cut_ms(self, q: int) -> float:
        return statistics.quantiles([x * 1000 for x in self.latencies_s], n=100)[q - 1]


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: far cheaper per request than a
    full client library, so that on a shared machine the client does not set the ceiling."""

    def __init__(self, url: str) -> None:
        rest = url.split("://", 1)[1]
        self.hostport = rest.partition("/")[0]
        self.host, _, port = self.hostport.partition(":")
        self.port = int(port or 80)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            sock = self.writer.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.hostport}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"Content-Length: {len(body or b'')}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed by the server")
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        return int(status_line.split()[1]), payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].partition("/")[2]


async def _one(conn: RawConnection, call: Call, headers: dict[str, str]) -> tuple[float, bool]:
    start = time.perf_counter()
    try:
        status, body = await conn.request(call.method, _path(call.url), headers, call.body)
    except (OSError, ConnectionError, asyncio.IncompleteReadError):
        conn.close()
        return time.perf_counter() - start, False
    return time.perf_counter() - start, call.check(status, body)


async def _saturate(call: Call, count: int, clients: int) -> tuple[list[float], int]:
    """``count`` calls from ``clients`` keep-alive connections, each sending back-to-back."""
    latencies: list[float] = []
    errors = 0
    headers = [call.headers() for _ in range(count)]

    async def worker() -> None:
        nonlocal errors
        conn = RawConnection(call.url)
        while headers:
            took, ok = await _one(conn, call, headers.pop())
            latencies.append(took)
            errors += 0 if ok else 1
        conn.close()

    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies, errors


def _server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its child processes (Linux /proc)."""
    total = 0.0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        pids += [int(c) for c in children]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_saturation(name: str, call: Call, count: int, clients: int, pid: int) -> Result:
    asyncio.run(_saturate(call, max(clients * 2, count // 10), clients))  # warm-up
    cpu0, started = _server_cpu_s(pid), time.perf_counter()
    latencies, errors = asyncio.run(_saturate(call, count, clients))
    elapsed = time.perf_counter() - started
    return Result(name, latencies, errors, elapsed, _server_cpu_s(pid) - cpu0)


async def _paced(call: Call, rate: float, seconds: float) -> list[tuple[float, float, bool]]:
    """Offer ``rate`` calls/s for ``seconds``; (send time, latency, ok) per call. Connections
    are kept alive in a pool and opened when none is free."""
    out: list[tuple[float, float, bool]] = []
    idle: list[RawConnection] = []
    t0 = time.perf_counter()

    async def one(at: float) -> None:
        conn = idle.pop() if idle else RawConnection(call.url)
        took, ok = await _one(conn, call, call.headers())
        idle.append(conn)
        out.append((at, took, ok))

    tasks = []
    for i in range(int(rate * seconds)):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i / rate)))
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.close()
    return out


def _report(result: Result, floor: Result | None, single: Result | None, target_ms: float) -> None:
    line = (
        f"  {result.name:<10} {len(result.latencies_s):6d} calls {result.errors:3d} errors"
        f"  p50 {result.cut_ms(50):6.1f}  p99 {result.cut_ms(99):6.1f} ms"
        f"  {result.throughput:7.0f}/s"
    )
    line += f"  server CPU {result.cpu_ms_per_call:.2f} ms/call"
    if floor is not None and result is not floor:
        line += f"  = {result.throughput / floor.throughput:.2f} x floor"
    if single is not None and single is not result:
        line += f", {result.throughput / single.throughput:.2f} x 1 worker"
    if target_ms:
        line += f"  (p99 target < {target_ms:.0f} ms)"
    print(line, flush=True)


def _calls(base: str, ehr: Ehr, api_token: str, public: str) -> dict[str, Call]:
    hook = json.dumps(_hook_body()).encode()
    cds_url = base + "/cds-services/ivig-order"
    aud = public + "/cds-services/ivig-order"
    json_headers = {"Content-Type": "application/json"}
    return {
        "floor": Call("GET", base + "/api/health", None, lambda: {}, lambda st, _: st == 200),
        "cds": Call(
            "POST",
            cds_url,
            hook,
            lambda: {**json_headers, "Authorization": f"Bearer {ehr.token(aud)}"},
            lambda st, body: st == 200 and bool(json.loads(body)["cards"]),
        ),
        "rest": Call(
            "POST",
            base + "/api/recommend",
            json.dumps(REST_BODY).encode(),
            lambda: {**json_headers, "Authorization": f"Bearer {api_token}"},
            lambda st, _: st == 200,
        ),
    }


def _soak(call: Call, rate: float, seconds: float) -> None:
    samples = asyncio.run(_paced(call, rate, seconds))
    samples.sort()
    tenth = max(1, len(samples) // 10)
    first, last = samples[:tenth], samples[-tenth:]

    def summary(part: list[tuple[float, float, bool]]) -> tuple[float, float, int]:
        span = (part[-1][0] - part[0][0]) or 1.0
        ms = [s[1] * 1000 for s in part]
        return len(part) / span, statistics.quantiles(ms, n=100)[98], sum(not s[2] for s in part)

    (r0, p0, e0), (r1, p1, e1) = summary(first), summary(last)
    print(f"soak: {rate:.0f} calls/s offered for {seconds:.0f} s (5-min tokens): {len(samples)}")
    print(f"  first 10 %: {r0:6.1f} calls/s  p99 {p0:6.1f} ms  {e0} errors")
    print(f"  last 10 %:  {r1:6.1f} calls/s  p99 {p1:6.1f} ms  {e1} errors")
    print(f"  last/first throughput {r1 / r0:.3f} (target within 10 %), p99 ratio {p1 / p0:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--calls", type=int, default=2000, help="calls per saturation run")
    parser.add_argument(
        "--database-url", help="registry URL (default: a fresh SQLite file; none: no registry)"
    )
    parser.add_argument("--soak", type=float, default=0, help="soak seconds (0: no soak)")
    parser.add_argument("--rate", type=float, default=50.0, help="soak calls per second")
    parser.add_argument("--skip-rest", action="store_true")
    args = parser.parse_args(argv)
    ehr = Ehr()
    if args.database_url == "none":  # in-memory replay cache, no REST (one worker only)
        db_url, api_token, args.skip_rest = "none", "", True
    else:
        db_url, api_token = _registry(args.database_url)
    backend = db_url.split(":", 1)[0]
    print(
        f"ivig service on loopback, {os.cpu_count()} CPU(s) shared with the client; registry "
        f"{backend}; {args.clients} clients back-to-back; figures noisy on a shared machine"
    )
    singles: dict[str, Result] = {}
    failed = False
    for workers in args.workers:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = _start_server(port, ehr, workers, db_url)
        try:
            calls = _calls(base, ehr, api_token, base)
            print(f"{workers} worker(s):")
            floor = run_saturation("floor", calls["floor"], args.calls, args.clients, proc.pid)
            _report(floor, None, singles.get("floor"), 0)
            names = ["cds"] if args.skip_rest else ["cds", "rest"]
            for name in names:
                result = run_saturation(name, calls[name], args.calls, args.clients, proc.pid)
                _report(result, floor, singles.get(name), 50 if name == "cds" else 100)
                failed = failed or result.errors > 0
                singles.setdefault(name, result)
            singles.setdefault("floor", floor)
            if args.soak and workers == max(args.workers):
                _soak(calls["cds"], args.rate, args.soak)
        finally:
            _stop(proc)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
