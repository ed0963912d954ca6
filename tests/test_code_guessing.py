"""Guessing one-time codes: a person who mistypes is barely slowed, a chat that keeps guessing waits longer and
longer and is then locked for a day, and an attacker opening new chats meets a limit shared by all of them."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import select

from bot.metrics import Metrics
from handlers import code_guard
from storage.models import AuditEvent
from tests.support.catalog import says
from tests.support.fakes import Chat
from tests.support.seed import invite

WRONG = "ABCD2345EF"


async def test_one_chat_guessing_waits_longer_each_time_then_is_locked_for_a_day(make_runner: Callable,
                                                                                 db_url: str, clock) -> None:
    runner = await make_runner(db_url)
    code = await invite(runner.sessions, days=30)
    chat = Chat(runner, user="guesser")
    for _ in range(code_guard.FREE_FAILURES):  # mistakes cost nothing
        await chat.say(f"/canbo {WRONG}")
        assert "không đúng" in chat.text
    await chat.say(f"/canbo {WRONG}")
    assert says(chat.text, "code.wait", seconds=30)
    await chat.say(f"/canbo {code}")  # not even the right code while waiting: no guess is read
    assert "đợi" in chat.text
    waits = []
    for _ in range(code_guard.CHAT_LOCK_AFTER - code_guard.FREE_FAILURES):
        clock.advance(seconds=3600)
        await chat.say(f"/canbo {WRONG}")
        await chat.say(f"/canbo {WRONG}")
        waits.append(chat.text)
    assert says(waits[0], "code.wait", seconds=60) and says(waits[1], "code.wait", seconds=120)
    assert says(waits[-1], "code.locked")
    clock.advance(hours=20)
    await chat.say(f"/canbo {code}")
    assert says(chat.text, "code.locked")
    clock.advance(hours=24)
    await chat.say(f"/canbo {code}")
    assert "cán bộ OCOP tỉnh Lâm Đồng" in chat.text  # a day later the right code works


async def test_rotating_chats_meet_one_shared_limit_and_every_failure_is_audited_and_counted(
        make_runner: Callable, db_url: str, clock) -> None:
    metrics = Metrics()
    runner = await make_runner(db_url, metrics=metrics)
    code = await invite(runner.sessions)
    for n in range(code_guard.OVERALL_LIMIT):  # a new web identity, or a new Zalo account, for every guess
        guesser = Chat(runner, user=f"bot-{n}")
        await guesser.say(f"/lienket {WRONG[:8]}" if n % 2 else f"/canbo {WRONG}")
        assert "không đúng" in guesser.text
    fresh = Chat(runner, user="bot-fresh")
    await fresh.say(f"/canbo {WRONG}")
    assert says(fresh.text, "code.busy", minutes=60)
    officer = Chat(runner, user="real-officer")
    await officer.say(f"/canbo {code}")  # the price of the shared limit: the real officer waits too
    assert says(officer.text, "code.busy")
    clock.advance(minutes=61)
    await officer.say(f"/canbo {code}")
    assert "cán bộ OCOP tỉnh Lâm Đồng" in officer.text

    async with runner.sessions() as session:
        failures = (await session.exec(select(AuditEvent).where(AuditEvent.action == "code.failed"))).all()
    assert len(failures) == code_guard.OVERALL_LIMIT
    assert {f.details["kind"] for f in failures} == {"officer", "link"}
    assert all(WRONG[:8] not in str(f.details) for f in failures)  # nothing typed is kept
    counted = {s.labels["kind"]: s.value for m in metrics.registry.collect() if m.name == "ocop_code_failures"
               for s in m.samples if s.name == "ocop_code_failures_total"}
    assert counted == {"officer": code_guard.OVERALL_LIMIT // 2, "link": code_guard.OVERALL_LIMIT // 2}
