"""Benchmark 2: a broadcast to N recipients through the real outbox dispatcher and python-telegram-bot's HTTP
client, to a fake Bot API in another process on 127.0.0.1 (bench/fake_telegram.py).

    python -m bench.broadcast --recipients 10000 --rate 250 --p429 0.05 --p5xx 0.02
    python -m bench.broadcast --recipients 2000 --rate 25 --limit 30 --per-chat 1   # Telegram's own limits
    python -m bench.broadcast --recipients 10000 --unlimited
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, insert, select

from bench.seed import seed
from bot.channels.telegram import build_application, outbox_send
from bot.outbox.dispatcher import Dispatcher, Limits
from bot.outbox.pacer import Pacer
from storage.db import create_engine, create_sessionmaker
from storage.models import ChatAccount, OutboxMessage

TOKEN = "123456:BENCH-TOKEN"
UNLIMITED = 1_000_000.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for_server(url: str) -> None:
    """Until `url` answers 200 (a fake Bot API's /stats, a replica's /readyz)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


async def run(db: Path, recipients: int, rate: float, p429: float, p5xx: float, *, limit: float | None = None,
              per_chat: float = 0) -> dict[str, Any]:
    """`rate` is ours (OCOP_SEND_RATE); `limit` the platform's sliding-window limit (default: the same as rate)."""
    url = f"sqlite+aiosqlite:///{db}"
    await seed(url, recipients)
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        ids = (await conn.execute(select(ChatAccount.id))).scalars().all()
        for start in range(0, len(ids), 5_000):
            await conn.execute(insert(OutboxMessage), [{
                "account_id": i, "dedupe_key": f"broadcast:1:{i}", "reason": "broadcast", "broadcast_id": None,
                "text": "Hội chợ OCOP Lâm Đồng 2026 mở đăng ký đến hết 30/11. Chi tiết: /hoicho", "options": [],
                "status": "pending", "due_at": now, "attempts": 0, "created_at": now}
                for i in ids[start:start + 5_000]])
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fake_telegram", "--port", str(port),
        "--rate", str(0 if rate >= UNLIMITED else (limit or rate)), "--per-chat", str(per_chat),
        "--p429", str(p429), "--p5xx", str(p5xx))
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_for_server(f"{base}/stats")
        application = build_application(TOKEN, base, pacer=Pacer(rate, per_chat_interval=1.0 if per_chat else 0.0))
        await application.initialize()
        limits = Limits(quiet_start=clock_time(0), quiet_end=clock_time(0), backoff_base=0.5,
                        max_attempts=8, lease=timedelta(seconds=30))
        dispatcher = Dispatcher(sessions, {"telegram": outbox_send(application)}, limits)
        started, cpu_started = time.perf_counter(), time.process_time()
        dispatcher.start(poll_seconds=0.2)
        while True:
            await asyncio.sleep(0.5)
            async with sessions() as session:
                open_rows = (await session.exec(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status.in_(("pending", "sending"))))).one()[0]  # type: ignore[attr-defined]
            if open_rows == 0:
                break
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        await dispatcher.stop()
        await application.shutdown()
        async with sessions() as session:
            statuses = dict((await session.exec(select(OutboxMessage.status, func.count())  # type: ignore[call-overload]
                                                .group_by(OutboxMessage.status))).all())
        async with aiohttp.ClientSession() as http, http.get(f"{base}/stats") as response:
            stats = await response.json()
    finally:
        server.terminate()
        await server.wait()
        await engine.dispose()
    lost = recipients - stats["chats"]
    return {"recipients": recipients, "configured_rate": None if rate >= UNLIMITED else rate,
            "platform_limit": None if rate >= UNLIMITED else (limit or rate), "per_chat_limit": per_chat or None,
            "request_rate": round(stats["requests_per_s"], 1), "delivery_rate": round(stats["delivered_per_s"], 1),
            "seconds": round(elapsed, 1),
            "request_rate_share": round(stats["requests_per_s"] / rate, 3) if rate < UNLIMITED else None,
            "delivery_rate_share": round(stats["delivered_per_s"] / rate, 3) if rate < UNLIMITED else None,
            "duplicates": stats["duplicates"], "lost": lost, "outbox_statuses": statuses,
            "server_answers": stats["answers"], "cpu_ms_per_send": round(cpu / max(1, stats["deliveries"]) * 1000, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=250.0)
    parser.add_argument("--unlimited", action="store_true", help="no rate limit anywhere, no injected errors")
    parser.add_argument("--limit", type=float, default=None, help="the platform's calls per sliding second")
    parser.add_argument("--per-chat", type=float, default=0, help="the platform's calls per chat per second")
    parser.add_argument("--p429", type=float, default=0.05)
    parser.add_argument("--p5xx", type=float, default=0.02)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocop-bench-") as tmp:
        if args.unlimited:
            result = asyncio.run(run(Path(tmp) / "b.db", args.recipients, UNLIMITED, 0.0, 0.0))
        else:
            result = asyncio.run(run(Path(tmp) / "b.db", args.recipients, args.rate, args.p429, args.p5xx,
                                     limit=args.limit, per_chat=args.per_chat))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
