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
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

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
    """The test EHR: an ES384 key (``k1``) and an RS384 key (``k2``), their JWK Set and 5-minute
    tokens for one audience. CDS Hooks 2.0 allows both algorithms; ES384 is the default row."""

    KIDS: ClassVar[dict[str, str]] = {"ES384": "k1", "RS384": "k2"}

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {
            "ES384": ec.generate_private_key(ec.SECP384R1()),
            "RS384": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        }
        es = jwt.algorithms.ECAlgorithm.to_jwk(self.keys["ES384"].public_key(), as_dict=True)
        rs = jwt.algorithms.RSAAlgorithm.to_jwk(self.keys["RS384"].public_key(), as_dict=True)
        self.jwks = {"keys": [{**es, "kid": "k1"}, {**rs, "kid": "k2"}]}

    def token(self, aud: str, alg: str = "ES384") -> str:
        now = int(time.time())
        claims = {"iss": ISS, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        headers = {"kid": self.KIDS[alg], "typ": "JWT"}
        return jwt.encode(claims, self.keys[alg], algorithm=alg, headers=headers)


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


def _start_server(
    port: int, ehr: Ehr, workers: int, db_url: str, log: Path | None = None
) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["IVIG_CDS_ISSUERS"] = json.dumps([{"iss": ISS, "jwks": ehr.jwks}])
    env["IVIG_JURISDICTION"] = "au"
    ivig = str(Path(sys.executable).parent / "ivig")
    cmd = [ivig, "serve", "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    if db_url == "none":
        cmd.append("--no-registry")
    else:
        env["IVIG_DATABASE_URL"] = db_url
    stderr = log.open("ab") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
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
    error_kinds: dict[str, int] = field(default_factory=dict)

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


async def _one(conn: RawConnection, call: Call, headers: dict[str, str]) -> tuple[float, str]:
    """Latency and what went wrong ("" when the answer is right)."""
    start = time.perf_counter()
    try:
        status, body = await conn.request(call.method, _path(call.url), headers, call.body)
    except (OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
        conn.close()
        return time.perf_counter() - start, f"connection: {type(exc).__name__}"
    took = time.perf_counter() - start
    if call.check(status, body):
        return took, ""
    return took, f"HTTP {status}" if status != 200 else "HTTP 200 without cards"


async def _saturate(
    call: Call, headers: list[dict[str, str]], clients: int
) -> tuple[list[float], Counter[str]]:
    """One call per entry of ``headers`` (signed beforehand: signing is the EHR's cost) from
    ``clients`` keep-alive connections, each sending back-to-back."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    headers = list(headers)

    async def worker() -> None:
        conn = RawConnection(call.url)
        while headers:
            took, wrong = await _one(conn, call, headers.pop())
            latencies.append(took)
            if wrong:
                errors[wrong] += 1
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
    """``count`` calls back-to-back; every JWT is signed before the timed window opens."""
    warm = [call.headers() for _ in range(max(clients * 2, count // 10))]
    asyncio.run(_saturate(call, warm, clients))  # warm-up
    headers = [call.headers() for _ in range(count)]
    cpu0, started = _server_cpu_s(pid), time.perf_counter()
    latencies, errors = asyncio.run(_saturate(call, headers, clients))
    elapsed = time.perf_counter() - started
    result = Result(name, latencies, sum(errors.values()), elapsed, _server_cpu_s(pid) - cpu0)
    result.error_kinds = dict(errors)
    return result


#: a pooled connection idle this long is closed rather than reused: the server closes idle
#: keep-alive connections after 30 s, and an HTTP client retires them before that (as httpx does)
IDLE_RETIRE_S = 20.0


async def _paced(
    call: Call, rate: float, seconds: float, retire_s: float = IDLE_RETIRE_S
) -> list[tuple[float, float, str]]:
    """Offer ``rate`` calls/s for ``seconds``; (send time, latency, what went wrong) per call.
    Connections are kept alive in a pool, opened when none is free and retired after
    ``retire_s`` idle (0: never). Each JWT is signed as its call is due (a 5-minute token signed
    at the start would expire during a 10-minute soak), outside the latency measured."""
    out: list[tuple[float, float, str]] = []
    idle: list[tuple[float, RawConnection]] = []
    t0 = time.perf_counter()

    def take() -> RawConnection:
        while idle:
            returned_at, conn = idle.pop()
            if not retire_s or time.perf_counter() - returned_at < retire_s:
                return conn
            conn.close()
        return RawConnection(call.url)

    async def one(at: float, headers: dict[str, str]) -> None:
        conn = take()
        took, wrong = await _one(conn, call, headers)
        idle.append((time.perf_counter(), conn))
        out.append((at, took, wrong))

    tasks = []
    for i in range(int(rate * seconds)):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        headers = call.headers()
        tasks.append(asyncio.create_task(one(i / rate, headers)))
    await asyncio.gather(*tasks)
    for _, conn in idle:
        conn.close()
    return out


#: p99 targets by row, ms, and what the row is (RS384 is labelled: the targets name the default)
TARGETS = {"cds": 50.0, "cds-rs384": 50.0, "rest": 100.0}
LABELS = {"cds-rs384": "RS384 tokens, not the ES384 default"}


def _report(result: Result, floor: Result | None, single: Result | None) -> None:
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
    if result.name in TARGETS:
        line += f"  (p99 target < {TARGETS[result.name]:.0f} ms)"
    if result.name in LABELS:
        line += f"  [{LABELS[result.name]}]"
    if result.error_kinds:
        line += f"  errors: {result.error_kinds}"
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
        "cds-rs384": Call(
            "POST",
            cds_url,
            hook,
            lambda: {**json_headers, "Authorization": f"Bearer {ehr.token(aud, 'RS384')}"},
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


def _soak(call: Call, rate: float, seconds: float, retire_s: float) -> None:
    samples = asyncio.run(_paced(call, rate, seconds, retire_s))
    samples.sort()
    tenth = max(1, len(samples) // 10)
    first, last = samples[:tenth], samples[-tenth:]

    def summary(part: list[tuple[float, float, str]]) -> tuple[float, float, float, int]:
        span = (part[-1][0] - part[0][0]) or 1.0
        ms = [s[1] * 1000 for s in part]
        good = sum(not s[2] for s in part)
        cuts = statistics.quantiles(ms, n=100)
        return good / span, cuts[49], cuts[98], len(part) - good

    (r0, m0, p0, e0), (r1, m1, p1, e1) = summary(first), summary(last)
    print(f"soak: {rate:.0f} calls/s offered for {seconds:.0f} s (5-min tokens): {len(samples)}")
    print(f"  first 10 %: {r0:6.1f} good calls/s  p50 {m0:5.1f}  p99 {p0:6.1f} ms  {e0} errors")
    print(f"  last 10 %:  {r1:6.1f} good calls/s  p50 {m1:5.1f}  p99 {p1:6.1f} ms  {e1} errors")
    print(f"  last/first throughput {r1 / r0:.3f} (target within 10 %), p99 ratio {p1 / p0:.2f}")
    kinds = Counter(s[2] for s in samples if s[2])
    print(f"  errors over the whole soak: {dict(kinds) or 'none'}")


def _in_process(
    ehr: Ehr, db_url: str, api_token: str, rows: list[str], count: int, *, gc_pauses: bool
) -> None:
    """CPU ms per call of the app driven through ASGI in this process: no HTTP server, no
    client, no second process; the calls run one after another (``--in-process N``)."""
    from ivig.cli.serve import build_app
    from ivig.service.settings import Settings

    os.environ["IVIG_CDS_ISSUERS"] = json.dumps([{"iss": ISS, "jwks": ehr.jwks}])
    os.environ["IVIG_JURISDICTION"] = "au"
    base = "http://127.0.0.1:8000"
    database = None if db_url == "none" else db_url
    app = build_app(Settings.from_env(public_base_url=base, database_url=database))
    logging.getLogger("ivig").handlers[:] = [logging.NullHandler()]  # formatted, not written
    calls = _calls(base, ehr, api_token, base)
    print(f"in-process, {count} calls per row one after another (no HTTP, no client):")
    floor_ms = 0.0
    for name in rows:
        call = calls[name]
        asyncio.run(_asgi_calls(app, call, [call.headers() for _ in range(count // 10 + 1)]))
        headers = [call.headers() for _ in range(count)]
        started = time.process_time()
        asyncio.run(_asgi_calls(app, call, headers))
        ms = 1000 * (time.process_time() - started) / count
        floor_ms = floor_ms or ms
        label = f"  [{LABELS[name]}]" if name in LABELS else ""
        print(f"  {name:<10} {ms:6.3f} ms CPU per call  = {ms / floor_ms:5.2f} x floor{label}")
    if gc_pauses:
        _gc_pauses(app, calls["cds"], count)


def _gc_pauses(app: Any, call: Call, count: int) -> None:
    """Garbage-collector pauses over ``count`` in-process calls, before and after the server's
    start-up freeze (:func:`ivig.service.app.freeze_startup_heap`)."""
    import gc

    from ivig.service.app import freeze_startup_heap

    pauses: list[tuple[int, float]] = []
    started = [0.0]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((int(info["generation"]), 1000 * (time.perf_counter() - started[0])))

    gc.callbacks.append(watch)
    try:
        for label in ("heap not frozen", "heap frozen at start-up"):
            if label != "heap not frozen":
                freeze_startup_heap()
            pauses.clear()
            asyncio.run(_asgi_calls(app, call, [call.headers() for _ in range(count)]))
            full = [ms for gen, ms in pauses if gen == 2]
            young = [ms for gen, ms in pauses if gen < 2]
            print(
                f"  gc, {label}: {len(full)} full collections (longest {max(full, default=0):.1f}"
                f" ms, {sum(full):.0f} ms in all), {len(young)} young ones"
                f" ({sum(young):.0f} ms) in {count} cds calls"
            )
    finally:
        gc.callbacks.remove(watch)
        gc.unfreeze()


async def _asgi_call(app: Any, scope: dict[str, Any], body: bytes) -> tuple[int, bytes]:
    """One request straight into the ASGI app: status and body of the answer."""
    sent: list[dict[str, Any]] = []
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return pending.pop() if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    reply = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(sent[0]["status"]), reply


async def _asgi_calls(app: Any, call: Call, headers: list[dict[str, str]]) -> None:
    path = _path(call.url)
    body = call.body or b""
    for extra in headers:
        raw = [(b"host", b"127.0.0.1:8000"), (b"content-length", str(len(body)).encode())]
        raw += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": call.method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": raw, "state": {},
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000),
        }  # fmt: skip
        status, reply = await _asgi_call(app, scope, body)
        if not call.check(status, reply):
            raise SystemExit(f"in-process {path}: {status} {reply[:200]!r}")


def _run_workers(args: argparse.Namespace, ehr: Ehr, db_url: str, api_token: str) -> bool:
    """The saturation rows for each worker count (and the soak); True if a call failed."""
    singles: dict[str, Result] = {}
    failed = False
    for workers in args.workers:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = _start_server(port, ehr, workers, db_url, args.server_log)
        try:
            calls = _calls(base, ehr, api_token, base)
            print(f"{workers} worker(s):")
            floor = run_saturation("floor", calls["floor"], args.calls, args.clients, proc.pid)
            _report(floor, None, singles.get("floor"))
            for name in [r for r in args.rows if r != "floor"]:
                result = run_saturation(name, calls[name], args.calls, args.clients, proc.pid)
                _report(result, floor, singles.get(name))
                failed = failed or result.errors > 0
                singles.setdefault(name, result)
            singles.setdefault("floor", floor)
            if args.soak and workers == max(args.workers):
                _soak(calls["cds"], args.rate, args.soak, args.idle_retire_s)
        finally:
            _stop(proc)
    return failed


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
    parser.add_argument("--rows", nargs="+", default=["floor", "cds", "cds-rs384", "rest"])
    parser.add_argument("--skip-rest", action="store_true")
    parser.add_argument(
        "--in-process", type=int, default=0, metavar="N", help="N calls per row through ASGI"
    )
    parser.add_argument(
        "--gc", action="store_true", help="with --in-process: garbage-collector pauses"
    )
    parser.add_argument("--server-log", type=Path, help="append the server's stderr here")
    parser.add_argument(
        "--idle-retire-s",
        type=float,
        default=IDLE_RETIRE_S,
        help="soak: close a pooled connection idle this long (0: never)",
    )
    args = parser.parse_args(argv)
    ehr = Ehr()
    if args.database_url == "none":  # in-memory replay cache, no REST (one worker only)
        db_url, api_token, args.skip_rest = "none", "", True
    else:
        db_url, api_token = _registry(args.database_url)
    if args.skip_rest:
        args.rows = [r for r in args.rows if r != "rest"]
    args.rows = ["floor", *[r for r in args.rows if r != "floor"]]
    if args.in_process:
        _in_process(ehr, db_url, api_token, args.rows, args.in_process, gc_pauses=args.gc)
        return 0
    backend = db_url.split(":", 1)[0]
    print(
        f"ivig service on loopback, {os.cpu_count()} CPU(s) shared with the client; registry "
        f"{backend}; {args.clients} clients back-to-back, JWTs signed before each timed run; "
        "figures noisy on a shared machine"
    )
    return 1 if _run_workers(args, ehr, db_url, api_token) else 0


if __name__ == "__main__":
    sys.exit(main())
