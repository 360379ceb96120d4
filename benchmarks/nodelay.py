"""Keep-alive latency with 2 workers: ``ivig serve``'s socket against uvicorn's own socket.

Starts the same app twice with 2 worker processes: once with ``ivig serve --workers 2`` (the
listening socket created with ``IPPROTO_TCP`` and ``TCP_NODELAY``), once with ``uvicorn
--workers 2 --factory ivig.cli.serve:worker_app`` (uvicorn binds its own socket). One client
sends requests one after another on one kept-alive connection (``GET /api/health`` and ``POST
/api/dose``) and prints the median and p90 latency of each, and their ratio.

    python benchmarks/nodelay.py [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cds_load import RawConnection, _free_port

DOSE = {
    "sex": "female",
    "age_years": 54,
    "height_cm": 160,
    "weight_kg": 90,
    "condition": "gbs",
    "phase": "induction",
    "policy": "au-2026",
}


def _start(cmd: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            asyncio.run(_sequential(f"http://127.0.0.1:{port}", "GET", "/api/health", None, 1))
            time.sleep(1.5)  # both workers up
            return proc
        except OSError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("the service did not start")


async def _sequential(
    base: str, method: str, path: str, body: bytes | None, calls: int
) -> list[float]:
    conn = RawConnection(base + path)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer bench"}
    out = []
    try:
        for _ in range(calls):
            start = time.perf_counter()
            status, _ = await conn.request(method, path, headers, body)
            out.append(time.perf_counter() - start)
            if status >= 500:
                raise SystemExit(f"{path} answered {status}")
    finally:
        conn.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args(argv)
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ)
    spec = {"public_base_url": "http://127.0.0.1", "database_url": None}
    env["IVIG_SERVE_WORKER"] = json.dumps({**spec, "cds_require_jwt": False, "demo": False})
    body = json.dumps(DOSE).encode()
    figures: dict[str, dict[str, tuple[float, float]]] = {}
    for name in ("ivig serve (TCP_NODELAY socket)", "uvicorn's own socket"):
        port = _free_port()
        if name.startswith("ivig"):
            cmd = [str(bin_dir / "ivig"), "serve", "--no-registry", "--workers", "2"]
        else:
            cmd = [str(bin_dir / "uvicorn"), "--factory", "ivig.cli.serve:worker_app"]
            cmd += ["--workers", "2", "--no-access-log"]
        cmd += ["--port", str(port), "--log-level", "warning"]
        proc = _start(cmd, port, env)
        try:
            base = f"http://127.0.0.1:{port}"
            figures[name] = {}
            for label, method, path, data in (
                ("GET /api/health", "GET", "/api/health", None),
                ("POST /api/dose", "POST", "/api/dose", body),
            ):
                ms = [
                    x * 1000 for x in asyncio.run(_sequential(base, method, path, data, args.calls))
                ]
                figures[name][label] = (statistics.median(ms), statistics.quantiles(ms, n=10)[8])
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
    print(f"one kept-alive client, {args.calls} sequential calls each, 2 workers (shared machine)")
    ours, theirs = figures.values()
    for label in ours:
        print(
            f"  {label:<16} ivig serve p50 {ours[label][0]:6.2f} ms p90 {ours[label][1]:6.2f} ms"
            f" | uvicorn socket p50 {theirs[label][0]:6.2f} ms p90 {theirs[label][1]:6.2f} ms"
            f" | ratio {theirs[label][0] / ours[label][0]:.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
