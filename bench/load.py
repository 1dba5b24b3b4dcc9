"""Step e: pages under gunicorn with a bounded loopback load generator.

gunicorn runs `config.wsgi` with DJANGO_SETTINGS_MODULE=bench.settings (the project's settings
plus /bench/ping/), gthread workers. Each URL gets a warm-up, then a fixed-duration run at N
connections: wrk when installed (`apt-get install -y wrk`), else a bounded Python client (threads,
keep-alive, one request in flight per connection). Both report requests/s and p50/p99 latency.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *, database_url: str, workers: int, threads: int, port: int | None = None, log_path: str | None = None):
        self.port = port or free_port()
        self.database_url = database_url
        self.workers, self.threads = workers, threads
        self.log_path = log_path or f"/tmp/bench-gunicorn-{self.port}.log"
        self.proc = None

    def __enter__(self):
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_URL=self.database_url, PYTHONPATH=str(ROOT))
        env.pop("DEBUG", None)
        cmd = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
            "--worker-class", "gthread", "--threads", str(self.threads),
            "--backlog", "2048", "--log-level", "warning", "--timeout", "60",
        ]  # fmt: skip
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}; see {self.log_path}")
            try:
                status, _ = get(self.port, "/bench/ping/")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within 60 s; see {self.log_path}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()

    def peak_rss_mb(self) -> dict:
        """VmHWM of the master and of each worker (read while they still run)."""
        pids = [self.proc.pid]
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            pids += [int(c) for c in children]
        except OSError:
            pass
        peaks = []
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) / 1024)
            except OSError:
                pass
        return {"max_process_mb": round(max(peaks), 1) if peaks else None, "sum_mb": round(sum(peaks), 1), "processes": len(peaks)}


def get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(port: int, path: str, *, connections: int, seconds: float, threads: int = 2) -> dict:
    out = subprocess.run(
        ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "5s", f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    )  # fmt: skip
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    pct = {m.group(1): _ms(m.group(2), m.group(3)) for m in re.finditer(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)}
    total = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {
        "client": "wrk",
        "requests": total,
        "rps": round(rps, 1),
        "p50_ms": round(pct.get("50", float("nan")), 2),
        "p99_ms": round(pct.get("99", float("nan")), 2),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
    }


def run_python(port: int, path: str, *, connections: int, seconds: float) -> dict:
    """A bounded closed-loop client: `connections` threads, keep-alive, for `seconds`."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    bad = [0] * connections
    stop = time.monotonic() + seconds

    def worker(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 400:
                    bad[i] += 1
            except (OSError, http.client.HTTPException):
                bad[i] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            latencies[i].append(time.perf_counter() - t0)
        conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(seconds + 30)
    elapsed = time.perf_counter() - started
    flat = sorted(x for part in latencies for x in part)

    def pct(p):
        return round(1000 * flat[min(len(flat) - 1, int(p * len(flat)))], 2) if flat else None

    return {"client": "python", "requests": len(flat), "rps": round(len(flat) / elapsed, 1), "p50_ms": pct(0.50), "p99_ms": pct(0.99), "non_2xx": sum(bad), "socket_errors": 0}


def measure(port: int, path: str, *, connections: int, seconds: float, client: str) -> dict:
    for _ in range(5):  # every worker imports, connects, fills its caches ...
        get(port, path)
    run = run_wrk if client == "wrk" else run_python
    # ... and a short run at full concurrency, discarded: with 5 requests alone, the first URL
    # measured (the trivial view) still paid for threads that had never served one.
    run(port, path, connections=connections, seconds=min(2.0, seconds))
    return run(port, path, connections=connections, seconds=seconds)


def pick_client(requested: str) -> str:
    if requested == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if requested == "wrk" and not shutil.which("wrk"):
        raise SystemExit("--client wrk: wrk is not installed (apt-get install -y wrk)")
    return requested
