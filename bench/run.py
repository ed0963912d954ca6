"""Runs every benchmark, each in its own process, and writes docs/benchmarks.md (`make bench`).

    python -m bench.run            # everything, about forty minutes on two cores (the mixed runs take half)
    python -m bench.run --quick    # smaller runs, to check the harness
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
RAW = ROOT / "docs" / "benchmarks.json"
NOTES = Path(__file__).with_name("NOTES.md")


def run(module: str, *args: object) -> dict[str, Any]:
    command = [sys.executable, "-m", module, *map(str, args)]
    print("$", " ".join(["python", "-m", module, *map(str, args)]), flush=True)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        print(done.stderr[-4000:], file=sys.stderr, flush=True)
        done.check_returncode()
    out = done.stdout
    result = json.loads(out.strip().splitlines()[-1])
    print("  ", json.dumps(result, ensure_ascii=False), flush=True)
    # The command to rerun it alone: a --seeded database is a temporary copy the module can make itself.
    shown = [str(a) for a in args]
    if "--seeded" in shown:
        i = shown.index("--seeded")
        del shown[i:i + 2]
    return result | {"command": " ".join(["python", "-m", module, *shown])}


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    packages = ", ".join(f"{p} {version(p)}" for p in ("python-telegram-bot", "sqlalchemy", "aiosqlite", "aiohttp"))
    return (f"{os.cpu_count()} cores ({model}), {mem_kb / 1024 / 1024:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}; {packages}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--render", action="store_true", help="rewrite the page from the last run's figures")
    args = parser.parse_args()
    if args.render:
        saved = json.loads(RAW.read_text(encoding="utf-8"))
        DOC.write_text(render(saved["results"], saved["seconds"], quick=saved["quick"], when=saved["when"],
                              on=saved["machine"]), encoding="utf-8")
        return
    q = args.quick
    started = time.perf_counter()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ocop-bench-") as tmp:
        seeded = {n: Path(tmp) / f"seed-{n}.db" for n in (1_000, 100_000)}
        for n, path in seeded.items():
            run("bench.seed", "--producers", n if not q else min(n, 5_000), "--out", path)
        people = 60 if q else 300
        results["throughput"] = [
            run("bench.throughput", "--mode", "ours", "--db-producers", 1_000, "--seeded", seeded[1_000],
                "--producers", people // 3, "--concurrency", 1),
            *[run("bench.throughput", "--mode", "ours", "--db-producers", n, "--seeded", seeded[n],
                  "--producers", people, "--concurrency", 16) for n in (1_000, 100_000)],
            *[run("bench.throughput", "--mode", "stock-on-flush", "--db-producers", n, "--producers", people,
                  "--concurrency", 16) for n in (1_000, 100_000)],
            # The stock form plus the least a durable bot writes: what a target relative to the stock form can ask.
            *[run("bench.throughput", "--mode", "stock-durable-floor", "--db-producers", n, "--producers", people,
                  "--concurrency", 16) for n in (1_000, 100_000)],
            # Two officers asking for statistics (a chart) and a fair's registrants (a workbook) back to back.
            *[run("bench.throughput", "--mode", "ours", "--db-producers", n, "--seeded", seeded[n],
                  "--producers", people, "--concurrency", 16, "--officers", 2) for n in (1_000, 100_000)],
            run("bench.throughput", "--mode", "ours-postgres", "--db-producers", 1_000, "--producers", people // 3,
                "--concurrency", 16),
            run("bench.throughput", "--mode", "stock-every-update", "--db-producers", 1_000, "--producers",
                10 if q else 50, "--concurrency", 16),
            # With Telegram taking 50 ms per reply, as over a real network: who waits for whom.
            run("bench.throughput", "--mode", "ours", "--db-producers", 1_000, "--seeded", seeded[1_000],
                "--producers", people // 3, "--concurrency", 16, "--api-latency-ms", 50),
            run("bench.throughput", "--mode", "stock-on-flush", "--db-producers", 1_000, "--producers", people // 3,
                "--concurrency", 16, "--api-latency-ms", 50),
            # Every update rewrites the whole pickle of 100,000 people: two registrations take minutes already.
            run("bench.throughput", "--mode", "stock-every-update", "--db-producers", 100_000, "--producers", 2,
                "--concurrency", 1),
        ]
        recipients = 2_000 if q else 10_000
        results["broadcast"] = [run("bench.broadcast", "--recipients", recipients, "--rate", 250),
                                # Telegram's own limits, enforced as a sliding second: 30 overall, 1 per chat.
                                run("bench.broadcast", "--recipients", 500 if q else 2_000, "--rate", 25,
                                    "--limit", 30, "--per-chat", 1),
                                run("bench.broadcast", "--recipients", recipients, "--unlimited")]
        # Replies and a broadcast through one sender, as a black box: one and two replicas on PostgreSQL, with and
        # without a SIGKILL, on Telegram and on Zalo.
        size = ("--recipients", 300, "--people", 6) if q else ("--recipients", 2_000, "--people", 50)
        results["mixed"] = [run("bench.mixed", "--channel", channel, "--replicas", replicas, *kill, *size)
                            for channel in ("telegram", "zalo") for replicas in (1, 2)
                            for kill in ((), ("--kill",))]
        results["reminders"] = run("bench.reminder_scan", "--producers", 5_000 if q else 100_000,
                                   "--seeded", seeded[100_000])
        results["profile"] = run("bench.profile", "--producers", 20 if q else 60)
    results["startup"] = run("bench.startup", "--runs", 2 if q else 5)
    seconds, when = time.perf_counter() - started, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    RAW.write_text(json.dumps({"results": results, "seconds": seconds, "quick": q, "when": when,
                               "machine": machine()}, ensure_ascii=False, indent=1), encoding="utf-8")
    DOC.write_text(render(results, seconds, quick=q, when=when, on=machine()), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")


def render(r: dict[str, Any], seconds: float, *, quick: bool, when: str, on: str) -> str:
    out = ["# Benchmarks", "",
           f"Written by `make bench` (`python -m bench.run{' --quick' if quick else ''}`) on {when}, in "
           f"{seconds / 60:.0f} min; the raw figures are in `docs/benchmarks.json`.", f"Machine: {on}.", "",
           "Each line is one process; its command reruns it alone. Timing goals are measured here, never asserted "
           "in tests. Shared virtual machines vary: run twice before reading much into a 10% difference.", ""]
    out += ["## 1. Update throughput (full registrations through PTB's update processor and `process_update`)",
            "",
            "People register at the same time, each waiting for the bot's answer before the next step; the Bot API "
            "is answered in-process (bench/offline_bot_api.py), so this is the bot's own cost. ‘Durable’: each step "
            "is committed before the reply is sent. ‘× stock’: updates/s over the stock non-durable form's at the "
            "same size, at once and latency, in this run. Officers: each asks for statistics (a chart is drawn) and "
            "a fair's registrants (a workbook is made) over and over while the producers register; their median "
            "answer time follows the updates/s.", "",
            "| setup | durable | producers in DB | at once | officers | Telegram latency ms | updates | updates/s "
            "| × stock | p50 ms | p99 ms | CPU ms/update | peak RSS MB | registrations done |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    names = {"ours": "OCOP Bot, SQLite", "ours-postgres": "OCOP Bot, PostgreSQL",
             "stock-on-flush": "PTB ConversationHandler + PicklePersistence(on_flush=True)",
             "stock-durable-floor": "the same + each update's replies and id group-committed (durable floor)",
             "stock-every-update": "PTB ConversationHandler + PicklePersistence, flushed every update"}
    stock = {(t["db_producers"], t["concurrency"], t.get("api_latency_ms", 0)): t["updates_per_s"]
             for t in r["throughput"] if t["mode"] == "stock-on-flush"}
    for t in r["throughput"]:
        durable = "yes" if t["mode"] != "stock-on-flush" else "no"
        peer = stock.get((t["db_producers"], t["concurrency"], t.get("api_latency_ms", 0)))
        ratio = f"{t['updates_per_s'] / peer:.2f}×" if peer else "—"
        officers = (f"{t['officers']} (p50 {t['officer_p50_ms']} ms)" if t.get("officer_requests")
                    else str(t.get("officers", 0)))
        out.append(f"| {names[t['mode']]} | {durable} | {t['db_producers']:,} | {t['concurrency']} | {officers} "
                   f"| {t.get('api_latency_ms', 0):g} | {t['updates']:,} "
                   f"| **{t['updates_per_s']:,}** | {ratio} | {t['p50_ms']} | {t['p99_ms']} "
                   f"| {t['cpu_ms_per_update']} | {t['peak_rss_mb']} "
                   f"| {t['registrations_completed']}/{t['registrations']} |")
    out += ["", "Commands:", ""] + [f"- `{t['command']}`" for t in r["throughput"]]
    if r.get("profile"):
        p = r["profile"]
        out += ["", f"Where an update's CPU goes (yappi, CPU clock, every thread; {p['producers']} registrations, "
                f"{p['updates']:,} updates; yappi slows the run about fivefold, so read the shares): each package's "
                "own code, not what it calls.", "", "| package | share of CPU |", "|---|---|"]
        out += [f"| {name} | {share}% |" for name, share in p["shares_percent"].items()]
        out += ["", f"Command: `{p['command']}`"]
    out += ["", "## 2. Broadcast through the outbox dispatcher (fake Bot API in another process)", "",
            "The fake refuses with 429 any call over its limit within a sliding second (overall, and per chat "
            "where given), besides the injected 429s and 5xx.", "",
            "| configured rate/s | platform limit (per chat) | requests/s (share) | deliveries/s | seconds "
            "| duplicates | lost | server answers | outbox | CPU ms/send |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for b in r["broadcast"]:
        rate = b["configured_rate"] or "lifted"
        share = f" ({b['request_rate_share']:.1%})" if b["request_rate_share"] else ""
        limit = b.get("platform_limit") or ("—" if rate == "lifted" else rate)
        limit = f"{limit} ({b['per_chat_limit']})" if b.get("per_chat_limit") else limit
        out.append(f"| {rate} | {limit} | **{b['request_rate']}**{share} | {b['delivery_rate']} | {b['seconds']} "
                   f"| {b['duplicates']} | {b['lost']} | {b['server_answers']} | {b['outbox_statuses']} "
                   f"| {b['cpu_ms_per_send']} |")
    out += ["", "Commands:", ""] + [f"- `{b['command']}`" for b in r["broadcast"]]
    if r.get("mixed"):
        out += ["", "## 5. Replies and a broadcast through one sender (real `ocop-bot run` replicas, PostgreSQL)", "",
                "A 2,000-recipient broadcast is due while 50 people each go through a whole registration (about 30 "
                "steps, reading for 3 s after every answer), their updates arriving as webhooks spread over the "
                "replicas. The fake Bot API (its own process, bench/fake_telegram.py) enforces 30 calls in any sliding "
                "second over the bot and one call a second per chat, refusing with 429 and retry_after 1 what goes "
                "over, and injects 5% 429 and 2% 5xx on top. Zalo publishes no limits: the same rules stand in. "
                "`OCOP_SEND_RATE=25`. ‘Killed’: one replica is SIGKILLed 20 s in and started again 2 s later. "
                "Calls/s are every sending call (broadcast, replies, retries) from the broadcast's first delivery "
                "to its last; ‘unanswered’ is a step with no answer within 30 s; ‘repeats’ are the same text with "
                "the same buttons twice in one chat; ‘overruns’ are the fake's 429s that our own pace caused.", "",
                "| channel | replicas | killed | calls/s during broadcast (share of 25) | broadcast/s | broadcast lost "
                "| broadcast duplicated | registered | unanswered steps | repeats | overruns | outbox |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for x in r["mixed"]:
            out.append(f"| {x['channel']} | {x['replicas']} | {'yes' if x['killed'] else 'no'} "
                       f"| **{x['calls_per_s']}** ({x['call_rate_share']:.0%}) | {x['broadcast_per_s']} "
                       f"| {x['broadcast_lost']} | {x['broadcast_duplicated']} | {x['registered']}/{x['people']} "
                       f"| {x['unanswered_steps']} | {x['replies_repeated_back_to_back']} "
                       f"| {sum(x['our_overruns'].values())} | {x['outbox']} |")
        out += ["", "Commands:", ""] + [f"- `{x['command']}`" for x in r["mixed"]]
    m = r["reminders"]
    out += ["", "## 3. Daily reminder scan", "",
            f"{m['producers']:,} producers, {m['certificates']:,} certificates expiring in batches (24 decision days "
            "over three years).", "", "| scan | seconds | reminders queued |", "|---|---|---|",
            f"| first | **{m['first_scan_s']}** | {m['reminders_added']:,} |",
            f"| second, straight after | **{m['second_scan_s']}** | {m['second_added']:,} |", "",
            f"Command: `{m['command']}`"]
    s = r["startup"]
    out += ["", "## 4. Start-up", "", "`ocop-bot run` as a child process until `/readyz` answers 200; resident memory "
            "3 s later (scheduler, dispatcher and, with a token, polling all running). Median of the runs.", "",
            "| setup | ready, new database (migrations) s | ready, existing database s | idle RSS MB |",
            "|---|---|---|---|"]
    for name, label in (("web_chat_only", "web chat only"), ("with_telegram", "web chat + Telegram")):
        v = s[name]
        out.append(f"| {label} | {v['ready_fresh_db_s']} | **{v['ready_existing_db_s']}** | **{v['idle_rss_mb']}** |")
    out += ["", f"Command: `{s['command']}`", ""]
    if NOTES.exists():
        out += [NOTES.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(out)


if __name__ == "__main__":
    main()
