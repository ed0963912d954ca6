"""Several `ocop-bot` processes on one PostgreSQL database behave as one bot."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import select

from handlers.notices.reminders import ReminderRules, scan
from handlers.types import Incoming
from storage import outbox
from storage.chats import get_or_create_chat_account, load_state_for_update
from storage.models import ChatAccount, ConversationState, OutboxMessage, StoredFile
from tests.support.broadcasts import MORNING, broadcast_to
from tests.support.catalog import says
from tests.support.clock import Clock
from tests.support.dispatching import RecordingSender, dispatcher
from tests.support.fakes import JPEG, OTHER_MST, VALID_MST, Chat
from tests.support.flows import answer_product_until_photos, answer_profile
from tests.support.seed import add_application, add_producer


async def test_a_burst_for_one_chat_across_two_instances_loses_no_step(make_runner: Callable,
                                                                       postgres_url: str) -> None:
    first, second = await make_runner(postgres_url), await make_runner(postgres_url)
    chat = Chat(first, user="double-tapper")
    await chat.say("/dangky")
    await chat.agree_if_asked()
    await chat.say("1")  # now asked for the business name
    names = [f"HTX Số {i}" for i in range(12)]
    runners = [first, second] * 6
    await asyncio.gather(*(runner.handle(Incoming(channel="web", chat_id="double-tapper", user_id="double-tapper",
                                                  text=name)) for runner, name in zip(runners, names, strict=True)))
    async with first.sessions() as session:
        state = (await session.exec(select(ConversationState))).one()
    # Every message was applied to the state the previous one left: 3 + 12 versions, none lost.
    assert state.version == 15
    assert state.data["producer_name"] in names and state.step == "tax_code"


async def test_a_new_chat_reaching_two_instances_at_once_gets_one_account(make_runner: Callable,
                                                                          postgres_url: str) -> None:
    first, second = await make_runner(postgres_url), await make_runner(postgres_url)
    messages = [Incoming(channel="telegram", chat_id="777", user_id="777", text="/start", update_key=str(i))
                for i in range(6)]
    replies = await asyncio.gather(*(runner.handle(m) for runner, m in zip([first, second] * 3, messages,
                                                                              strict=True)))
    assert all(says(r[0].text, "welcome") for r in replies)  # nobody got the "something went wrong" apology
    async with first.sessions() as session:
        assert len((await session.exec(select(ChatAccount))).all()) == 1


async def test_a_redelivered_update_is_handled_once(make_runner: Callable, db_url: str) -> None:
    first, second = await make_runner(db_url), await make_runner(db_url)
    update = Incoming(channel="zalo", chat_id="z1", user_id="z1", text="/dangky", update_key="msg-42")
    assert (await first.handle(update))[0].text.startswith("🔒 Trước khi đăng ký")
    assert await second.handle(update) == []  # the same update, again, on the other instance
    async with first.sessions() as session:
        assert (await session.exec(select(ConversationState))).one().version == 1


async def test_a_chat_being_handled_on_one_instance_waits_on_the_other(make_runner: Callable,
                                                                      postgres_url: str) -> None:
    """The primitive the burst test relies on: the state row lock (SELECT … FOR UPDATE)."""
    first, second = await make_runner(postgres_url), await make_runner(postgres_url)
    async with first.sessions() as session, session.begin():
        account = await get_or_create_chat_account(session, "web", "c", user_id="c", display_name=None,
                                                   default_language="vi")
        account_id = account.id
        await load_state_for_update(session, account_id)  # the row exists from here on
    async with first.sessions() as holder, holder.begin():
        await load_state_for_update(holder, account_id)

        async def other_instance() -> None:
            async with second.sessions() as waiter, waiter.begin():
                await load_state_for_update(waiter, account_id)

        waiting = asyncio.create_task(other_instance())
        await asyncio.sleep(0.5)
        assert not waiting.done()  # blocked behind the first instance's transaction
    await asyncio.wait_for(waiting, 10)  # and free as soon as it commits


async def test_broadcast_and_reminders_sent_once_when_an_instance_dies(make_runner: Callable,
                                                                      postgres_url: str) -> None:
    """1,000 broadcast rows and 1,000 reminders; one instance claims a batch and dies before sending it."""
    first, second = await make_runner(postgres_url), await make_runner(postgres_url)
    await broadcast_to(first.sessions, 1000, officer_channel="telegram")
    async with first.sessions() as session, session.begin():
        producer = await add_producer(session, name="HTX nhắc", phone=None)
        for i in range(1000):
            await add_application(session, producer, name=f"SP {i}", status="recognised",
                                  decided=date(2024, 1, 15))
        session.add(ChatAccount(channel="telegram", chat_id="producer", producer_id=producer.id))
    async with first.sessions() as session, session.begin():
        added = await scan(session, today=date(2026, 12, 20), now=MORNING, rules=ReminderRules())
    assert added == {"cert-expiry": 1000}
    # The scan queues reminders as of the wall clock: everything below runs from then on, whatever MORNING is.
    start = max(MORNING, datetime.now(UTC))
    async with first.sessions() as session, session.begin():  # the instance that dies mid-way
        claimed = await outbox.claim_due(session, channel="telegram", worker="killed", now=start,
                                         lease=timedelta(seconds=60), limit=300)
    assert len(claimed) == 300
    sender, clock = RecordingSender(), Clock(start)
    survivors = [dispatcher(runner.sessions, sender, clock, batch=100, quiet_start=time(0), quiet_end=time(0))
                 for runner in (first, second)]
    await asyncio.gather(*(d.drain() for d in survivors))
    clock.now += timedelta(seconds=61)  # the dead instance's lease runs out
    await asyncio.gather(*(d.drain() for d in survivors))
    async with first.sessions() as session:
        rows = [r for r in await session.exec(select(OutboxMessage)) if r.reason in ("broadcast", "cert-expiry")]
    assert len(rows) == 2000 and {r.status for r in rows} == {"sent"}
    # Each exactly once: the broadcast goes to 1,000 distinct chats, the 1,000 reminders name 1,000 products.
    assert len(sender.sent) == 2000 and len(set(sender.sent)) == 2000


async def test_the_same_update_reaching_two_instances_at_once_is_handled_once(make_runner: Callable,
                                                                              db_url: str) -> None:
    first, second = await make_runner(db_url), await make_runner(db_url)
    await first.handle(Incoming(channel="telegram", chat_id="55", user_id="55", text="/start", update_key="1"))
    update = Incoming(channel="telegram", chat_id="55", user_id="55", text="/dangky", update_key="2")
    replies = await asyncio.gather(first.handle(update), second.handle(update))
    assert sorted(len(r) > 0 for r in replies) == [False, True]  # one answered, the other stood down
    assert not any(says(reply.text, "error.unexpected") for r in replies for reply in r)
    async with first.sessions() as session:
        assert (await session.exec(select(ConversationState))).one().version == 2


async def test_two_people_sending_the_same_file_at_once_both_keep_it(make_runner: Callable, db_url: str) -> None:
    runner = await make_runner(db_url)
    chats = [Chat(runner, user="lan"), Chat(runner, user="binh")]
    for chat, tax_code in zip(chats, (VALID_MST, OTHER_MST), strict=True):
        await answer_profile(chat, tax_code=tax_code)
        await answer_product_until_photos(chat)
    # The same printed form, photographed identically (same bytes), arrives from both at the same moment.
    await asyncio.gather(*(chat.send_file(JPEG, "image/jpeg") for chat in chats))
    for chat in chats:
        assert says(chat.text, "form.files_received", count=1), chat.text
    async with runner.sessions() as session:
        assert len((await session.exec(select(StoredFile))).all()) == 1
