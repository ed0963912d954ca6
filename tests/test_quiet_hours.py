"""Quiet hours hold what nobody asked for, not what a person is waiting for: an officer's request on a producer's
own application reaches an open page at 05:45 at once, and the officer is told when a sleeping producer will read
it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.app import RUNNER, build_app
from bot.settings import Settings
from handlers.notices.quiet import QuietHours
from storage.models import ChatAccount, ConversationState, OutboxMessage
from storage.outbox import enqueue
from tests.support.catalog import says
from tests.support.chats import linked_chat
from tests.support.fakes import Chat
from tests.support.notices import read_notice
from tests.support.seed import COMPLETE_PROFILE, add_application, add_producer, invite
from tests.support.web import chat_id_of, open_page, post_chat, status_of, token_for

DAWN = datetime(2026, 12, 8, 22, 45, tzinfo=UTC)  # 05:45 on 9/12 in Vietnam
QUIET = QuietHours(time(21), time(7))


async def commune_check(officer: Chat, application_id: int) -> None:
    await officer.press_stale(f"app:act:{application_id}:commune_check")
    await officer.say("có")


async def test_the_officer_is_told_when_a_sleeping_producer_will_read_it(make_runner: Callable, sqlite_url: str,
                                                                        clock: Any) -> None:
    runner = await make_runner(sqlite_url, quiet=QUIET)
    clock.now = DAWN - timedelta(hours=6)  # 23:45 the evening before: the producer's last message
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, **COMPLETE_PROFILE)
        _, first = await add_application(session, producer, name="Mật ong")
        _, second = await add_application(session, producer, name="Trà")
        producer_id, ids = producer.id, (first.id, second.id)
    chat = await linked_chat(runner, producer_id)
    officer = Chat(runner, user="officer-1", channel="telegram")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    clock.now = DAWN
    await commune_check(officer, ids[0])
    assert says(officer.text, "told.producer_at", time="07:00", day="09/12/2026", quiet="21:00–07:00")
    await chat.say("hồ sơ đến đâu rồi")  # the producer is awake now
    await commune_check(officer, ids[1])
    assert says(officer.text, "told.producer_now") and not says(officer.text, "told.producer_at")


async def test_at_dawn_an_open_page_gets_an_answer_to_its_application_but_not_a_reminder(aiohttp_client: Any,
                                                                                         tmp_path: Path) -> None:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'q.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_QUIET_HOURS="00:00-23:59")  # always quiet
    client = await aiohttp_client(build_app(settings, run_scheduler=False))
    await post_chat(client, "lan", {"text": "/start"})
    async with client.app[RUNNER].sessions() as session, session.begin():
        account = (await session.exec(select(ChatAccount).where(
            ChatAccount.chat_id == chat_id_of(await token_for(client, "lan"))))).one()
        # The producer's page has been open for hours: they last wrote long ago.
        state = await session.get(ConversationState, account.id)
        state.updated_at = datetime.now(UTC) - timedelta(hours=3)
        session.add(state)
        for reason, text in (("cert-expiry", "⏰ Chứng nhận sắp hết hạn"),
                             ("application.status", "📋 Hồ sơ OCOP-2026-000001 cần bổ sung giấy tờ")):
            await enqueue(session, account_id=account.id, dedupe_key=reason, reason=reason, text=text)
        rows = {m.reason: m.id for m in await session.exec(select(OutboxMessage).where(
            OutboxMessage.reason != "reply"))}
    page = await open_page(client, "lan")
    client.app[RUNNER].on_outbox()
    assert (await read_notice(page))["text"].startswith("📋 Hồ sơ OCOP-2026-000001")
    assert await status_of(client, rows["application.status"], "shown") == "shown"
    await asyncio.sleep(1.5)  # another round: the reminder still waits for the morning
    assert await status_of(client, rows["cert-expiry"]) == "pending"
    page.close()
