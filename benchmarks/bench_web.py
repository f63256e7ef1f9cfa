"""The dashboard under load (issue 18): 50 concurrent clients for 30 s (``WEB_BENCH_S``) on loopback against the
list, a run's page and plotly.js (4.8 MB), each client a thread issuing requests one after another against
`fab2token serve` in its own process; prints the requests served, the errors (any status but 200, any exception)
and the p50 / p99 latency. Printed, not asserted."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 50
SECONDS = float(os.environ.get("WEB_BENCH_S", "30"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(base: str, deadline_s: float = 60.0) -> None:
    stop = time.monotonic() + deadline_s
    while time.monotonic() < stop:
        try:
            with urllib.request.urlopen(base + "/", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the dashboard did not start")


def main() -> None:
    from fab2token.api import run_file

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "web.duckdb"
        run_id = run_file(ROOT / "examples" / "small.yaml", db=db).run_id
        port = _free_port()
        # the server in a process of its own, as `fab2token serve` runs: the clients' threads do not share its GIL
        server = subprocess.Popen(
            [sys.executable, "-m", "fab2token", "serve", "--db", str(db), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        _wait_up(base)
        paths = ["/", f"/runs/{run_id}", "/static/plotly.min.js"]
        latencies: list[float] = []
        errors = [0]
        lock = threading.Lock()
        stop = time.monotonic() + SECONDS

        def client(k: int) -> None:
            i = k
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                try:
                    with urllib.request.urlopen(base + paths[i % len(paths)], timeout=30) as r:
                        r.read()
                        ok = r.status == 200
                except Exception:
                    ok = False
                dt = time.perf_counter() - t0
                with lock:
                    latencies.append(dt)
                    errors[0] += not ok
                i += 1

        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        server.terminate()
        server.wait(timeout=30)
        q = statistics.quantiles(latencies, n=100)
        print(
            f"dashboard, {CLIENTS} clients x {SECONDS:g} s on loopback ({os.cpu_count()} cores): {len(latencies):,} "
            f"requests ({len(latencies) / SECONDS:,.0f}/s), {errors[0]} errors, latency p50 {q[49] * 1000:.0f} ms, "
            f"p99 {q[98] * 1000:.0f} ms (list, run page, plotly.js in turn)"
        )


if __name__ == "__main__":
    main()
