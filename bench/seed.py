"""A database with N producers as the bot would have made them, written in bulk (the ORM would take minutes)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select, text

from storage.db import create_engine
from storage.lifecycle import RECOGNISED, SUBMITTED, certificate_valid_until
from storage.migrate import upgrade_database
from storage.models import (
    Application,
    Certificate,
    ChatAccount,
    ConversationState,
    Event,
    EventRegistration,
    Officer,
    Producer,
    Product,
)

PROVINCES = ("lam-dong", "son-la", "thai-nguyen", "ha-noi", "dak-lak", "nghe-an", "can-tho", "lao-cai")
CHUNK = 5_000


def valid_tax_codes(start: int) -> Iterator[str]:
    """Ten-digit tax codes with a correct check digit, from `start` on (new producers register with these)."""
    for n in range(start, 1_000_000_000):
        nine = f"{n:09d}"
        check = 10 - sum(int(d) * w for d, w in zip(nine, (31, 29, 23, 19, 17, 13, 7, 5, 3), strict=True)) % 11
        if check <= 9:
            yield nine + str(check)


async def seed(url: str, producers: int, *, today: date | None = None, chat_base: int = 10_000_000) -> None:
    """`producers` producers, each with a Telegram chat, an idle conversation, one product, one application,
    and (for three in four) a certificate. Expiries come in batches, the way provinces certify: a few decision
    dates a year, hundreds of products each."""
    today = today or datetime.now(UTC).date()
    rng = random.Random(7)
    now = datetime.now(UTC)
    engine = create_engine(url)
    await upgrade_database(engine)
    # Decision days over the last three years; a certificate lasts 36 months, so expiries fall on a few days.
    decision_days = [today - timedelta(days=d) for d in sorted(rng.sample(range(30, 1_095), 24))]
    async with engine.begin() as conn:
        for start in range(0, producers, CHUNK):
            ids = range(start + 1, min(start + CHUNK, producers) + 1)
            await conn.execute(insert(Producer), [{
                "id": i, "entity_type": "cooperative", "name": f"HTX Nông nghiệp số {i}",
                "tax_code": f"{i:010d}", "representative": "Nguyễn Văn An", "phone": f"+8491{i:07d}",
                "province_code": PROVINCES[i % len(PROVINCES)], "commune": "Xã Tân Thành", "address": "Thôn 1",
                "created_at": now, "updated_at": now} for i in ids])
            await conn.execute(insert(ChatAccount), [{
                "id": i, "channel": "telegram", "chat_id": str(chat_base + i), "user_id": str(chat_base + i),
                "display_name": "Nông dân", "producer_id": i, "role": "producer", "language": "vi",
                "created_at": now, "last_seen_at": now, "reminder_optouts": []} for i in ids])
            await conn.execute(insert(ConversationState), [{
                "account_id": i, "flow": None, "step": None, "data": {}, "version": 30, "updated_at": now}
                for i in ids])
            await conn.execute(insert(Product), [{
                "id": i, "producer_id": i, "name": f"Sản phẩm {i}", "group_code": "food", "subgroup_code": None,
                "description": "Sản phẩm truyền thống", "material_origin": "commune", "yearly_output": 3.0,
                "output_unit": "tấn", "certifications": [], "name_folded": f"san pham {i}", "created_at": now}
                for i in ids])
            await conn.execute(insert(Application), [{
                "id": i, "code": f"OCOP-2025-{i:06d}", "product_id": i, "producer_id": i, "kind": "new",
                "status": RECOGNISED if i % 4 else SUBMITTED, "missing_items": [], "submitted_at": now,
                "created_at": now, "updated_at": now} for i in ids])
            certified = [i for i in ids if i % 4]
            decided = {i: rng.choice(decision_days) for i in certified}
            await conn.execute(insert(Certificate), [{
                "id": i, "product_id": i, "application_id": i, "score": 75, "stars": 4,
                "decision_number": f"{i}/QĐ-UBND", "decision_date": decided[i],
                "valid_until": certificate_valid_until(decided[i]), "created_at": now} for i in certified])
        if engine.dialect.name == "postgresql":
            for table in ("producer", "chat_account", "product", "application", "certificate"):
                # The seed writes its own ids: move each sequence past them, as a real import would.
                await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT coalesce(max(id), 1) FROM {table}))"))
    if engine.dialect.name == "sqlite":
        # Everything into the main file: a bench copies that file alone (`--seeded`).
        async with engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    await engine.dispose()


async def seed_officers(url: str, officers: int, *, registrants: int = 300,
                        chat_base: int = 800_000_000) -> list[tuple[int, int]]:
    """`officers` officers, one per province in turn, each with a fair in their province that up to `registrants` of
    its seeded producers signed up for. Returns (officer chat id, fair id) pairs."""
    now = datetime.now(UTC)
    engine = create_engine(url)
    out: list[tuple[int, int]] = []
    async with engine.begin() as conn:
        for k in range(officers):
            province = PROVINCES[k % len(PROVINCES)]
            account = (await conn.execute(insert(ChatAccount).returning(ChatAccount.id), [{  # type: ignore[arg-type]
                "channel": "telegram", "chat_id": str(chat_base + k), "user_id": str(chat_base + k),
                "display_name": "Cán bộ", "role": "officer", "language": "vi", "created_at": now,
                "last_seen_at": now, "reminder_optouts": []}])).scalar_one()
            await conn.execute(insert(Officer), [{
                "name": f"Cán bộ {k}", "province_code": province, "code_hash": f"bench-{k}",
                "code_expires_at": now, "code_used_at": now, "account_id": account, "created_at": now}])
            fair = (await conn.execute(insert(Event).returning(Event.id), [{  # type: ignore[arg-type]
                "kind": "fair", "name": f"Hội chợ OCOP {province}", "place": "Nhà văn hoá tỉnh",
                "starts_at": now + timedelta(days=30), "ends_at": now + timedelta(days=33),
                "province_code": province, "audience_groups": [], "created_at": now, "updated_at": now}])).scalar_one()
            people = (await conn.execute(select(ChatAccount.id, ChatAccount.producer_id).join(
                Producer, Producer.id == ChatAccount.producer_id).where(  # type: ignore[arg-type]
                Producer.province_code == province).limit(registrants))).all()
            if people:
                await conn.execute(insert(EventRegistration), [
                    {"event_id": fair, "account_id": a, "producer_id": p, "registered_at": now} for a, p in people])
            out.append((chat_base + k, fair))
    await engine.dispose()
    return out


def main() -> None:
    import argparse
    import asyncio
    import json

    parser = argparse.ArgumentParser(description="write a database with N producers, for the benchmarks")
    parser.add_argument("--producers", type=int, required=True)
    parser.add_argument("--out", type=str, required=True)
    args = parser.parse_args()
    asyncio.run(seed(f"sqlite+aiosqlite:///{args.out}", args.producers))
    print(json.dumps({"producers": args.producers, "database": args.out}))


if __name__ == "__main__":
    main()
