"""Memory of the service when a client sends a huge body (issue 17): measured, not asserted.

Starts ``ivig`` on a free loopback port in a child process (no registry, default 1 MB body
limit), reads the child's resident memory (VmRSS) and peak (VmHWM) from /proc, then sends
``SIZE_MB`` of body without a token: once with a Content-Length header (refused before one byte
is read) and once chunked (cut off at the limit). Prints the status codes, bytes the client got
to send, and the child's memory before and after; the baseline is the same child's memory
after one ordinary small request.
Run: ``.venv/bin/python benchmarks/body_limit_rss.py [SIZE_MB]`` (default 300; Linux only).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time

SERVER = """
import sys, uvicorn
from ivig.service import Settings, create_app
app = create_app(Settings(public_base_url="http://127.0.0.1:" + sys.argv[1], json_logs=False))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _memory_mb(pid: int) -> tuple[float, float]:
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024.0
    return values["VmRSS"], values["VmHWM"]


def _wait(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the service did not start")


def _send(port: int, head: bytes, size: int, *, chunked: bool) -> tuple[str, int]:
    """Send ``head`` then up to ``size`` bytes of body; return the status line and bytes sent."""
    block = b"x" * (1 << 20)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        sock.settimeout(0.0)
        answer = b""
        while sent < size:
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(4096)
            if answer:
                break
            piece = (b"%x\r\n" % len(block) + block + b"\r\n") if chunked else block
            try:
                sock.setblocking(True)
                sock.settimeout(5)
                sock.sendall(piece)
                sock.settimeout(0.0)
            except OSError:
                break
            sent += len(block)
        sock.settimeout(10)
        with contextlib.suppress(OSError):
            answer += sock.recv(4096)
    return answer.split(b"\r\n", 1)[0].decode("latin-1") or "(connection closed)", sent


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    size = size_mb << 20
    port = _free_port()
    child = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        _wait(port)
        small = (
            b'{"sex":"male","age_years":62,"weight_kg":85,"condition":"gbs","phase":"induction"}'
        )
        status, _ = _send(
            port,
            b"POST /api/dose HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(small) + small,
            0,
            chunked=False,
        )
        base_rss, base_peak = _memory_mb(child.pid)
        print(
            f"baseline after one small request ({status}): "
            f"RSS {base_rss:.1f} MB, peak {base_peak:.1f} MB"
        )
        head = (
            b"POST /api/dose HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % size
        )
        status, sent = _send(port, head, size, chunked=False)
        rss, peak = _memory_mb(child.pid)
        print(
            f"{size_mb} MB with Content-Length, no token: {status}; client sent {sent >> 20} MB; "
            f"RSS {rss:.1f} MB (+{rss - base_rss:.1f}), "
            f"peak {peak:.1f} MB (+{peak - base_peak:.1f})"
        )
        head = (
            b"POST /api/dose HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        status, sent = _send(port, head, size, chunked=True)
        rss, peak = _memory_mb(child.pid)
        print(
            f"{size_mb} MB chunked, no token: {status}; client sent {sent >> 20} MB; "
            f"RSS {rss:.1f} MB (+{rss - base_rss:.1f}), "
            f"peak {peak:.1f} MB (+{peak - base_peak:.1f})"
        )
    finally:
        child.terminate()
        child.wait(10)


if __name__ == "__main__":
    main()
