"""Benchmark 3: the daily reminder scan over N producers' certificates (three in four certified, expiring in
batches on a few decision days), then an immediate second scan, which should find nothing new to do.

    python -m bench.reminder_scan --producers 100000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.seed import seed
from bot.outbox.scheduler import ReminderScheduler
from handlers.notices.reminders import ReminderRules
from storage.db import create_engine, create_sessionmaker
from storage.models import Certificate, OutboxMessage


async def run(db: Path, producers: int, seeded: Path | None) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{db}"
    if seeded:
        shutil.copy(seeded, db)
    else:
        await seed(url, producers)
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    scheduler = ReminderScheduler(sessions, ReminderRules(), timezone="Asia/Ho_Chi_Minh", scan_at=dt_time(8))
    today = datetime.now(UTC).date()
    timings, added = [], []
    for _ in range(2):
        started = time.perf_counter()
        counts = await scheduler.run_scan(today)
        timings.append(time.perf_counter() - started)
        added.append(sum(counts.values()))
    async with sessions() as session:
        certificates = (await session.exec(select(func.count()).select_from(Certificate))).one()[0]
        queued = (await session.exec(select(func.count()).select_from(OutboxMessage))).one()[0]
    await engine.dispose()
    return {"producers": producers, "certificates": certificates, "first_scan_s": round(timings[0], 3),
            "reminders_added": added[0], "second_scan_s": round(timings[1], 3), "second_added": added[1],
            "outbox_rows": queued}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--producers", type=int, default=100_000)
    parser.add_argument("--seeded", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocop-bench-") as tmp:
        print(json.dumps(asyncio.run(run(Path(tmp) / "r.db", args.producers, args.seeded))))


if __name__ == "__main__":
    main()
