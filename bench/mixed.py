"""Benchmark 5: replies and a broadcast through one sender, as a black box. A 2,000-recipient broadcast is due while
50 people go through a whole registration, on one or two `ocop-bot run` replicas sharing a PostgreSQL database,
against a fake Bot API in its own process that enforces Telegram's limits (30 calls in any sliding second, one a
second per chat) and injects 5% 429 and 2% 5xx. Updates reach the replicas as webhooks, spread over them the way a
load balancer would; `--kill` SIGKILLs one replica in the middle and starts it again. `--channel zalo` runs the same
over Zalo (JSON webhooks, typed answers, the same limits: Zalo publishes none).

    python -m bench.mixed --replicas 2 [--kill] [--channel zalo] [--recipients 2000] [--people 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from bench.broadcast import free_port, wait_for_server
from bench.producer_script import registration, zalo_registration
from bench.seed import seed, valid_tax_codes
from bot.http.webhooks import TELEGRAM_SECRET_HEADER, ZALO_SECRET_HEADER
from bot.settings import webhook_secret
from storage.db import create_engine
from storage.models import ChatAccount, OutboxMessage

TOKEN = "123456:BENCH-TOKEN"
RATE = 25.0
POSTGRES = os.environ.get("OCOP_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


class FakeView:
    """What a person sees in their chat, read from the fake Bot API (buttons to tap, messages received)."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self._http, self._base = http, base
        self.seen: dict[int, dict[str, Any]] = {}

    async def refresh(self, chat: int) -> dict[str, Any]:
        async with self._http.get(f"{self._base}/chat/{chat}") as response:
            self.seen[chat] = await response.json()
        return self.seen[chat]

    def buttons(self, chat: int) -> list[str]:
        return [b["text"] for row in self.seen[chat]["keyboard"].get("keyboard", []) for b in row]

    def inline(self, chat: int) -> dict[str, str]:
        return {b["text"]: b["callback_data"] for row in self.seen[chat]["inline"].get("inline_keyboard", [])
                for b in row}


async def fresh_database() -> tuple[str, str]:
    name = f"ocop_bench_{uuid.uuid4().hex[:10]}"
    base = make_url(POSTGRES)
    conn = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(hide_password=False))
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return name, base.set(database=name).render_as_string(hide_password=False)


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(make_url(POSTGRES).set(drivername="postgresql").render_as_string(hide_password=False))
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


async def prepare(url: str, recipients: int, channel: str) -> None:
    await seed(url, recipients)
    engine = create_engine(url)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE chat_account SET channel = :channel"), {"channel": channel})
        for table in ("producer", "chat_account", "product", "application", "certificate"):
            # The seed writes its own ids: move each sequence past them, as a real import would.
            await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT coalesce(max(id), 1) FROM {table}))"))
        ids = (await conn.execute(select(ChatAccount.id))).scalars().all()
        await conn.execute(insert(OutboxMessage), [{
            "account_id": i, "dedupe_key": f"broadcast:1:{i}", "reason": "broadcast", "broadcast_id": None,
            "text": "Hội chợ OCOP Lâm Đồng 2026 mở đăng ký đến hết 30/11. Chi tiết: /hoicho", "options": [],
            "status": "pending", "due_at": now, "attempts": 0, "created_at": now} for i in ids])
    await engine.dispose()


async def start_replica(port: int, url: str, api: str, data_dir: Path, channel: str) -> asyncio.subprocess.Process:
    platform = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api} if channel == "telegram" else {
        "ZALO_BOT_TOKEN": TOKEN, "ZALO_API_BASE_URL": api}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_"))} | platform | {
        "OCOP_DATABASE_URL": url, "OCOP_HTTP_PORT": str(port), "OCOP_PUBLIC_URL": "https://ocop.bench.invalid",
        "OCOP_QUIET_HOURS": "",
        "OCOP_SEND_RATE": str(RATE), "OCOP_CHAT_INTERVAL": "1", "OCOP_DATA_DIR": str(data_dir),
        "OCOP_FLOOD_BURST": "1000", "OCOP_LOG_LEVEL": "WARNING"}
    command = "import sys; from bot.cli import main; sys.exit(main())"
    return await asyncio.create_subprocess_exec(sys.executable, "-c", command, "run", env=env)


async def person(chat: int, tax_code: str, view: FakeView, http: aiohttp.ClientSession, ports: list[int],
                 stats: dict[str, Any], channel: str, api: str) -> None:
    """One producer: sends a step, waits until the bot answers it, then the next; counts unanswered questions."""
    await view.refresh(chat)
    answer = {"text": ""}  # everything the bot said since the person's last step (Zalo: the numbers to type)
    steps = registration(chat, tax_code, view) if channel == "telegram" else zalo_registration(  # type: ignore[arg-type]
        chat, tax_code, lambda _chat: answer["text"], api)
    header = TELEGRAM_SECRET_HEADER if channel == "telegram" else ZALO_SECRET_HEADER
    secret = webhook_secret(TOKEN, channel)
    n = 0
    typed: list[str] = []
    while True:
        # The confirm button comes with the review; a part refused for a moment can take a few retries to arrive.
        for _ in range(300 if channel == "telegram" else 0):
            texts = view.seen[chat]["texts"]
            if not texts or "kiểm tra lại hồ sơ" not in texts[-1] or view.inline(chat):
                break
            await asyncio.sleep(0.1)
            await view.refresh(chat)
        try:
            update = next(steps)
        except StopIteration:
            break
        except KeyError:
            print("stuck:", json.dumps(view.seen[chat]["texts"][-3:], ensure_ascii=False), view.seen[chat]["inline"])
            raise
        n += 1
        message = update.get("message") or update.get("callback_query") or {}
        typed.append(str(message.get("text") or message.get("data") or ",".join(sorted(message)))[:40])
        before = len(view.seen[chat]["texts"])
        port = ports[(chat + n) % len(ports)]  # the load balancer: any replica, turn by turn
        for _ in range(100):  # a replica that is down: Telegram retries the webhook (here: the other one)
            try:
                async with http.post(f"http://127.0.0.1:{port}/webhook/{channel}", json=update,
                                     headers={header: secret}) as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            port = ports[(ports.index(port) + 1) % len(ports)]
            await asyncio.sleep(0.2)
        deadline = time.monotonic() + 30
        while len((await view.refresh(chat))["texts"]) == before:
            if time.monotonic() > deadline:
                stats["unanswered"] += 1
                stats.setdefault("unanswered_examples", []).append(typed[-1])
                break
            await asyncio.sleep(0.1)
        # The rest of the answer (a part refused for now comes a little later), and a person's reading time.
        count = -1
        while count != len((await view.refresh(chat))["texts"]):
            count = len(view.seen[chat]["texts"])
            await asyncio.sleep(3.0)  # a reply refused for a moment is sent again after retry_after
        answer["text"] = "\n".join(view.seen[chat]["texts"][before:])
    stats["steps"] += n + 1
    if any("OCOP-20" in t for t in view.seen[chat]["texts"]):
        stats["registered"] += 1
    else:  # where that person was left: what they typed last, and what they saw after it
        saw = [t[:100] for t in view.seen[chat]["texts"][-4:]]
        stats.setdefault("stuck_at", []).append({"typed": typed[-3:], "saw": saw})


async def run(replicas: int, recipients: int, people: int, kill: bool, channel: str) -> dict[str, Any]:
    name, url = await fresh_database()
    api_port = free_port()
    fake = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fake_telegram", "--port", str(api_port), "--rate", "30", "--per-chat", "1",
        "--p429", "0.05", "--p5xx", "0.02")
    api = f"http://127.0.0.1:{api_port}"
    processes: list[asyncio.subprocess.Process] = []
    try:
        await prepare(url, recipients, channel)
        await wait_for_server(f"{api}/stats")
        ports = [free_port() for _ in range(replicas)]
        with tempfile.TemporaryDirectory(prefix="ocop-mixed-") as tmp:
            processes = [await start_replica(port, url, api, Path(tmp), channel) for port in ports]
            async with aiohttp.ClientSession() as http:
                await asyncio.gather(*(wait_for_server(f"http://127.0.0.1:{port}/readyz") for port in ports))
                started = time.perf_counter()
                view = FakeView(http, api)
                stats: dict[str, Any] = {"unanswered": 0, "steps": 0, "registered": 0}
                codes = valid_tax_codes(900_000)
                chats = [900_000_000 + i for i in range(people)]
                crowd = asyncio.gather(*(person(chat, next(codes), view, http, ports, stats, channel, api)
                                         for chat in chats))
                if kill:
                    await asyncio.sleep(20)
                    processes[0].send_signal(signal.SIGKILL)
                    await processes[0].wait()
                    await asyncio.sleep(2)
                    processes[0] = await start_replica(ports[0], url, api, Path(tmp), channel)
                await crowd
                engine = create_engine(url)
                while True:
                    async with engine.connect() as conn:
                        open_rows = (await conn.execute(select(func.count()).select_from(OutboxMessage).where(
                            OutboxMessage.status.in_(("pending", "sending"))))).scalar_one()  # type: ignore[attr-defined]
                    if open_rows == 0:
                        break
                    await asyncio.sleep(1)
                elapsed = time.perf_counter() - started
                async with engine.connect() as conn:
                    statuses = {f"{reason}:{status}": n for reason, status, n in (await conn.execute(
                        select(OutboxMessage.reason, OutboxMessage.status, func.count())
                        .group_by(OutboxMessage.reason, OutboxMessage.status))).all()}
                await engine.dispose()
                async with http.get(f"{api}/stats", params={"broadcast_below": "900000000"}) as response:
                    fake_stats = await response.json()
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
                await process.wait()
        fake.terminate()
        await fake.wait()
        await drop_database(name)
    per_chat = fake_stats.pop("per_chat")
    fake_stats["repeats"] = {c: n for c, n in fake_stats["repeats"].items() if n}
    broadcast_chats = [c for c in per_chat if int(c) < 900_000_000]
    repeated = fake_stats["back_to_back"]  # the same text with the same buttons twice in a row
    return {
        "channel": channel, "replicas": replicas, "killed": kill, "recipients": recipients, "people": people,
        "seconds": round(elapsed, 1), "configured_rate": RATE,
        "broadcast_seconds": round(fake_stats["broadcast_span_s"], 1),
        # While the broadcast ran: every sending call (the broadcast, replies, retries), and the broadcast alone.
        "calls_per_s": round(fake_stats["calls_per_s_during_broadcast"], 1),
        "call_rate_share": round(fake_stats["calls_per_s_during_broadcast"] / RATE, 3),
        "broadcast_per_s": round(fake_stats["broadcast_per_s"], 1),
        "deliveries_per_s": round(fake_stats["delivered_per_s"], 1),
        "broadcast_reached": len(broadcast_chats), "broadcast_lost": recipients - len(broadcast_chats),
        "broadcast_duplicated": sum(fake_stats["repeats"].get(c, 0) for c in broadcast_chats),
        "registered": stats["registered"], "steps": stats["steps"], "unanswered_steps": stats["unanswered"],
        "unanswered_examples": sorted(set(stats.get("unanswered_examples", [])))[:5],
        "not_registered_at": stats.get("stuck_at", [])[:3],
        "replies_repeated_back_to_back": len(repeated), "repeated_examples": repeated[:3],
        "calls_each_second": fake_stats["calls_each_second"],
        "our_overruns": fake_stats["our_overruns"], "per_chat_overrun_gaps_s": fake_stats["per_chat_overrun_gaps_s"],
        "per_chat_collisions": fake_stats["per_chat_collisions"],
        "answers": fake_stats["answers"], "outbox": statuses}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--kill", action="store_true")
    parser.add_argument("--channel", choices=("telegram", "zalo"), default="telegram")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.replicas, args.recipients, args.people, args.kill, args.channel))))


if __name__ == "__main__":
    main()
