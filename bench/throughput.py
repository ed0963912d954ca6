"""Benchmark 1: registration updates per second through python-telegram-bot's real Application.process_update.

Run one configuration per process (so peak RSS is that configuration's own):
    python -m bench.throughput --db-producers 1000 --mode ours
Prints one JSON line. `python -m bench.run` runs all of them and writes docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application

from bench.offline_bot_api import BASE_URL, OfflineBotApi
from bench.producer_script import callback, registration, text
from bench.seed import seed, seed_officers, valid_tax_codes
from handlers.buttons import EventPeople

TOKEN = "123456:BENCH-TOKEN"


async def drive(application: Application, api: OfflineBotApi, *, producers: int, concurrency: int,
                after_update: Callable[[Update], Awaitable[None]] | None = None,
                check: Callable[[int], bool] | None = None,
                officers: list[tuple[int, int]] = (),  # type: ignore[assignment]
                officer_pause: float = 0.0) -> dict[str, Any]:
    """`producers` people register at once, `concurrency` at a time; each waits for the bot's answer before the
    next step, as a person does. Returns throughput and latency."""
    codes = valid_tax_codes(300_000_000)
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(producers):
        queue.put_nowait(900_000_000 + n)
    done: list[int] = []

    async def person() -> None:
        while not queue.empty():
            chat = queue.get_nowait()
            for steps, payload in enumerate(registration(chat, next(codes), api)):
                if steps > 60:
                    raise RuntimeError(f"registration did not finish for chat {chat}: {api.last_text.get(chat)}")
                started = time.perf_counter()
                update = Update.de_json(payload, application.bot)
                # The way PTB's own update fetcher hands an update over: through the update processor, which
                # decides how many run at once (ours: 64; the stock default: one at a time).
                await application.update_processor.process_update(update, application.process_update(update))
                if after_update is not None:
                    await after_update(update)
                latencies.append(time.perf_counter() - started)
            done.append(chat)

    finished_people = asyncio.Event()
    officer_latencies: list[float] = []

    async def officer(chat: int, fair: int) -> None:
        """Asks for the province's statistics (a chart drawn), then the fair's registrants (a workbook), again
        and again while the producers register, each time waiting for the answer (and `officer_pause` seconds more)
        as a person does."""
        while not finished_people.is_set():
            for payload in (text(chat, "/thongke"), callback(chat, EventPeople(fair).id)):
                update = Update.de_json(payload, application.bot)
                asked = time.perf_counter()
                await application.update_processor.process_update(update, application.process_update(update))
                officer_latencies.append(time.perf_counter() - asked)
                with contextlib.suppress(TimeoutError):  # reading what came, before asking again
                    await asyncio.wait_for(finished_people.wait(), officer_pause)

    async def people() -> tuple[float, float]:
        await asyncio.gather(*(person() for _ in range(concurrency)))
        finished_people.set()
        return time.perf_counter() - started, time.process_time() - cpu_started

    started, cpu_started = time.perf_counter(), time.process_time()
    (elapsed, cpu), *_ = await asyncio.gather(people(), *(officer(chat, fair) for chat, fair in officers))
    finished = sum(1 for chat in done if check is None or check(chat))
    latencies.sort()
    return {"updates": len(latencies), "seconds": round(elapsed, 2), "updates_per_s": round(len(latencies) / elapsed),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
            "cpu_ms_per_update": round(cpu / len(latencies) * 1000, 2),
            "registrations_completed": finished, "registrations": producers} | ({
                "officers": len(officers), "officer_requests": len(officer_latencies),
                "officer_p50_ms": round(statistics.median(officer_latencies) * 1000, 1),
                "officer_max_ms": round(max(officer_latencies) * 1000, 1),
                "officer_files_sent": api.calls["sendPhoto"] + api.calls["sendDocument"]} if officer_latencies else {})


async def ours(workdir: Path, url: str, producers: int, concurrency: int, latency: float,
               officers: list[tuple[int, int]] = (),  # type: ignore[assignment]
               officer_pause: float = 0.0) -> dict[str, Any]:
    from bot.channels.telegram import TelegramChannel, build_application
    from bot.conversation import ConversationRunner
    from bot.outbox.pacer import Pacer
    from storage.db import create_engine, create_sessionmaker

    engine = create_engine(url)
    runner = ConversationRunner(create_sessionmaker(engine), data_dir=workdir / "data", max_upload_bytes=10 << 20,
                                default_language="vi")
    api = OfflineBotApi(latency)
    # Paced as the stock bot is (not at all): the bench measures the bot's own cost, not Telegram's limits. Replies
    # are journaled as `ocop-bot run` does: a row per reply, marked sent once Telegram took it.
    pacer = Pacer(1e9, per_chat_interval=0)
    channel = TelegramChannel(build_application(TOKEN, BASE_URL, api, pacer=pacer), runner.handle,
                              journal=runner.journal("telegram"))
    await channel.start(polling=False)
    try:
        result = await drive(channel.application, api, producers=producers, concurrency=concurrency,
                             check=api.registered.__contains__, officers=officers,
                             officer_pause=officer_pause)
    finally:
        await channel.stop()
        await engine.dispose()
    return result


async def stock(workdir: Path, db_producers: int, producers: int, concurrency: int, latency: float, *,
                every_update: bool = False, floor: bool = False) -> dict[str, Any]:
    from bench.durable_floor import FloorWriter
    from bench.stock_form import build_stock_application, prefill_pickle

    path = workdir / "stock.pickle"
    prefill_pickle(path, db_producers)
    api = OfflineBotApi(latency)
    application = build_stock_application(TOKEN, BASE_URL, api, path, on_flush=not every_update)
    await application.initialize()
    await application.start()
    writer = FloorWriter(workdir / "floor.db") if floor else None
    after_update: Callable[[Update], Awaitable[None]] | None = None
    if every_update:  # persistence is flushed after each update, so a crash loses nothing
        async def after_update(_update: Update) -> None:
            await application.update_persistence()
    elif writer is not None:  # the chat's answers committed after each update, commits shared (durable_floor)
        async def after_update(update: Update) -> None:
            await writer.save(application, update)
    try:
        result = await drive(application, api, producers=producers, concurrency=concurrency,
                             after_update=after_update, check=api.registered.__contains__)
    finally:
        if writer is not None:
            writer.close()
        await application.stop()
        await application.shutdown()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db-producers", type=int, default=1000)
    parser.add_argument("--mode", choices=("ours", "ours-postgres", "stock-every-update", "stock-on-flush",
                                           "stock-durable-floor"),
                        default="ours")
    parser.add_argument("--producers", type=int, default=300, help="people registering during the run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seeded", type=Path, help="a database already seeded with --db-producers (copied)")
    parser.add_argument("--officers", type=int, default=0,
                        help="officers asking for statistics and a fair's registrants all the while (ours modes)")
    parser.add_argument("--officer-pause-s", type=float, default=0.0,
                        help="how long an officer reads an answer before asking again")
    parser.add_argument("--api-latency-ms", type=float, default=0.0, help="how long Telegram takes per reply")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocop-bench-") as tmp:
        workdir = Path(tmp)
        if args.mode == "ours":
            db = workdir / "ocop.db"
            if args.seeded:
                shutil.copy(args.seeded, db)
            else:
                asyncio.run(seed(f"sqlite+aiosqlite:///{db}", args.db_producers))
            officers = asyncio.run(seed_officers(f"sqlite+aiosqlite:///{db}", args.officers))
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            result = asyncio.run(ours(workdir, f"sqlite+aiosqlite:///{db}", args.producers, args.concurrency,
                                      args.api_latency_ms / 1000, officers, args.officer_pause_s))
        elif args.mode == "ours-postgres":  # a database of its own on OCOP_TEST_POSTGRES_URL's server, dropped after
            from bench.mixed import drop_database, fresh_database

            name, url = asyncio.run(fresh_database())
            try:
                asyncio.run(seed(url, args.db_producers))
                officers = asyncio.run(seed_officers(url, args.officers))
                rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                result = asyncio.run(ours(workdir, url, args.producers, args.concurrency, args.api_latency_ms / 1000,
                                          officers, args.officer_pause_s))
            finally:
                asyncio.run(drop_database(name))
        else:
            warnings.filterwarnings("ignore", message="If 'per_message=False'")  # PTB's advice for other bots
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            result = asyncio.run(stock(workdir, args.db_producers, args.producers, args.concurrency,
                                       args.api_latency_ms / 1000, every_update=args.mode == "stock-every-update",
                                       floor=args.mode == "stock-durable-floor"))
    result |= {"mode": args.mode, "db_producers": args.db_producers, "concurrency": args.concurrency,
               "officers": args.officers, "officer_pause_s": args.officer_pause_s,
               "api_latency_ms": args.api_latency_ms,
               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
               "rss_before_run_mb": round(rss_before / 1024)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
