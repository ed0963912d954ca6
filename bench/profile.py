"""Where an update's CPU goes: registrations as in bench.throughput's `ours` mode, under yappi's CPU clock on every
thread (the writer thread does the storage work, which cProfile, one thread only, would miss).

    python -m bench.profile --producers 60
Prints one JSON line: each package's share of the CPU spent in its own code (not in what it calls). yappi slows
everything about fivefold, so read the shares, not the milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sysconfig
import tempfile
from collections import Counter
from pathlib import Path

import yappi  # type: ignore[import-untyped]

from bench.seed import seed
from bench.throughput import ours

ROOT = Path(__file__).resolve().parents[1]
STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()
OURS = ("bot", "handlers", "storage", "messages", "bench")


def package(module: str, name: str) -> str:
    """The package a function belongs to: site-packages' top level, our own top-level packages, the standard
    library's module (asyncio, copy, ...), or for built-ins (yappi gives no file for those) sqlite3 or the rest."""
    if not module or not module.endswith(".py"):
        return "sqlite3 (C)" if "sqlite3" in name else "built-ins (C)"
    path = Path(module).resolve()
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    if path.is_relative_to(ROOT):
        top = path.relative_to(ROOT).parts[0]
        return top if top in OURS else "other"
    if path.is_relative_to(STDLIB):
        return path.relative_to(STDLIB).parts[0].removesuffix(".py")
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--producers", type=int, default=60)
    parser.add_argument("--db-producers", type=int, default=1000)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocop-profile-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'ocop.db'}"
        asyncio.run(seed(url, args.db_producers))
        yappi.set_clock_type("cpu")
        yappi.start(builtins=True, profile_threads=True)
        result = asyncio.run(ours(Path(tmp), url, args.producers, 16, 0.0))
        yappi.stop()
    own: Counter[str] = Counter()
    for stat in yappi.get_func_stats():
        own[package(stat.module, stat.name)] += stat.tsub
    total = sum(own.values())
    shares = {name: round(100 * seconds / total, 1) for name, seconds in own.most_common(args.top)}
    print(json.dumps({"producers": args.producers, "db_producers": args.db_producers, "updates": result["updates"],
                      "profiled_cpu_ms_per_update": round(total / result["updates"] * 1000, 2),
                      "shares_percent": shares}))


if __name__ == "__main__":
    main()
