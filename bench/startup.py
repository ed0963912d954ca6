"""Benchmark 4: from `ocop-bot run` to ready (/readyz answers 200), and the idle process's resident memory.

Runs the real console script as a child process, on a fresh database (migrations included) and on an existing
one, with the web chat only and with Telegram on (against bench/fake_telegram.py on 127.0.0.1).

    python -m bench.startup --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:  # noqa: S310 (a local URL we built)
            return response.status == 200
    except OSError:
        return False


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_start(workdir: Path, env: dict[str, str]) -> tuple[float, float]:
    port = free_port()
    env = os.environ | env | {"OCOP_HTTP_PORT": str(port), "OCOP_DATA_DIR": str(workdir / "data"),
                              "OCOP_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'ocop.db'}"}
    script = Path(sys.executable).parent / "ocop-bot"
    started = time.perf_counter()
    process = subprocess.Popen([str(script), "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not ready(f"http://127.0.0.1:{port}/readyz"):
            if process.poll() is not None:
                raise RuntimeError("ocop-bot run exited before it was ready")
            if time.perf_counter() - started > 30:
                raise RuntimeError("not ready after 30 s")
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        time.sleep(3)  # idle: the scheduler, dispatcher and (with a token) polling are all running
        return elapsed, rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure(runs: int, env: dict[str, str]) -> dict[str, Any]:
    fresh, again, memory = [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="ocop-bench-") as tmp:
            seconds, rss = one_start(Path(tmp), env)  # a fresh database: creates it and runs every migration
            fresh.append(seconds)
            seconds, rss = one_start(Path(tmp), env)  # the usual restart on an existing database
            again.append(seconds)
            memory.append(rss)
    return {"ready_fresh_db_s": round(statistics.median(fresh), 2),
            "ready_existing_db_s": round(statistics.median(again), 2),
            "idle_rss_mb": round(statistics.median(memory)), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    results = {"web_chat_only": measure(args.runs, {})}
    port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "bench.fake_telegram", "--port", str(port)])
    try:
        time.sleep(1.0)
        results["with_telegram"] = measure(args.runs, {"TELEGRAM_BOT_TOKEN": "123456:BENCH-TOKEN",
                                                       "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{port}"})
    finally:
        api.terminate()
        api.wait()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
