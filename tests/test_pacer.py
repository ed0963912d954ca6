"""The one pacer per chat platform, alone and under python-telegram-bot, against Telegram's real limits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.channels.telegram import TelegramChannel, build_application
from bot.outbox.pacer import Pacer
from tests.support.fakes import FakeBotApi
from tests.support.telegram import TelegramUser


async def times_of(pacer: Pacer, calls: list[tuple[str, bool]]) -> list[float]:
    """When each (chat, urgent) call got its turn, relative to the start, all asked for at once."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    got: list[float] = [0.0] * len(calls)

    async def one(index: int, chat: str, urgent: bool) -> None:
        await pacer.wait(chat, urgent=urgent)
        got[index] = loop.time() - start

    await asyncio.gather(*(one(i, chat, urgent) for i, (chat, urgent) in enumerate(calls)))
    return got


async def test_calls_go_at_the_configured_rate_with_almost_no_burst() -> None:
    pacer = Pacer(20)
    got = await times_of(pacer, [(f"c{i}", False) for i in range(21)])
    # Two at once (a tenth of a second's rate), then one every 50 ms: a second's worth takes about a second.
    assert 0.85 <= max(got) <= 1.3
    assert sum(t < 0.06 for t in got) <= 3


async def test_a_reply_goes_before_proactive_messages_already_waiting() -> None:
    pacer = Pacer(10)
    loop = asyncio.get_running_loop()
    broadcast = [asyncio.create_task(pacer.wait(f"b{i}", urgent=False)) for i in range(20)]
    await asyncio.sleep(0.05)  # the broadcast is queued and going out
    asked = loop.time()
    await pacer.wait("person", urgent=True)
    assert loop.time() - asked < 0.25  # its turn is the next one, not after twenty more
    assert sum(task.done() for task in broadcast) < 5
    await asyncio.gather(*broadcast)


async def test_one_chat_is_kept_about_one_call_a_second_and_others_are_not_held() -> None:
    pacer = Pacer(100)
    got = await times_of(pacer, [("lan", True), ("lan", True), ("lan", True), ("minh", True)])
    assert got[1] - got[0] >= 0.99 and got[2] - got[1] >= 0.99
    assert got[3] < 0.1


async def test_a_429_for_one_chat_slows_that_chat_only() -> None:
    pacer = Pacer(100)
    for _ in range(10):
        pacer.answered()
    assert not pacer.refused("lan", 2.0)
    got = await times_of(pacer, [("lan", True), ("minh", True)])
    assert got[0] >= 1.9 and got[1] < 0.1


async def test_many_429s_or_a_long_retry_after_pause_the_whole_channel() -> None:
    pacer = Pacer(100)
    for _ in range(50):
        pacer.answered()
    paused = [pacer.refused(f"c{i}", 0.5) for i in range(9)]
    assert paused == [False] * 8 + [True]  # 9 of 59 answers (15%): the platform is limiting us as a whole
    got = await times_of(pacer, [("someone-else", True)])
    assert got[0] >= 0.45
    assert Pacer(100).refused("x", 6.0)  # "retry after 6 s" is never one chat's business


async def test_a_few_chance_429s_at_the_start_do_not_pause_the_channel() -> None:
    # The start of a broadcast: 4 of the first 22 answers are 429 by chance (18%, from too few to mean anything).
    pacer = Pacer(100)
    for _ in range(18):
        pacer.answered()
    assert not any(pacer.refused(f"c{i}", 1.0) for i in range(4))
    got = await times_of(pacer, [("someone-else", False)])
    assert got[0] < 0.1


async def test_replicas_share_the_rate() -> None:
    pacer = Pacer(20)
    pacer.replicas = 2
    got = await times_of(pacer, [(f"c{i}", False) for i in range(11)])
    assert max(got) >= 0.85  # ten a second, not twenty


class CountingBotApi(FakeBotApi):
    """Telegram at its real limits (30 a sliding second, one a second per chat)."""

    def __init__(self) -> None:
        super().__init__(chat_window=1.0)


async def test_at_telegrams_real_limits_replies_and_a_broadcast_are_never_refused(make_runner: Callable,
                                                                                 sqlite_url: str) -> None:
    """Forty people each answered at once while the bot broadcasts: with one pacer for both, Telegram refuses
    nothing, and no person waits behind the broadcast."""
    from bot.channels.telegram import outbox_send
    from handlers.types import Reply

    api = CountingBotApi()
    runner = await make_runner(sqlite_url)
    application = build_application("123456:TEST-TOKEN", "http://127.0.0.1:9", api, pacer=Pacer(25))
    channel = TelegramChannel(application, runner.handle)
    await channel.start(polling=False)
    send = outbox_send(application)
    loop = asyncio.get_running_loop()
    try:
        broadcast = [asyncio.ensure_future(send(str(5000 + i), Reply("📣 Hội chợ", proactive=True))) for i in range(40)]
        await asyncio.sleep(0.2)
        people = [TelegramUser(channel, api, user_id=100 + i) for i in range(10)]
        asked = loop.time()
        await asyncio.gather(*(person.say("/start") for person in people))
        answered = loop.time() - asked
        await asyncio.gather(*broadcast)
    finally:
        await channel.stop()
    assert api.refused == []
    assert answered < 1.5  # ten replies at 25 a second go first, not after forty broadcast messages
    assert len([c for c in api.calls if c[0] == "sendMessage"]) == 50


async def test_replicas_learn_how_many_share_the_limit_and_a_dead_one_stops_counting(make_runner: Callable,
                                                                                    db_url: str) -> None:
    from datetime import UTC, datetime

    from bot.replicas import ALIVE, ReplicaHeartbeat

    now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    first_runner, second_runner = await make_runner(db_url), await make_runner(db_url)
    one, two = Pacer(30), Pacer(30)
    first = ReplicaHeartbeat(first_runner.sessions, "host-a:8080", [one], clock=lambda: now)
    second = ReplicaHeartbeat(second_runner.sessions, "host-b:8080", [two], clock=lambda: now)
    assert await first.beat() == 1 and one.rate == 30
    assert await second.beat() == 2 and await first.beat() == 2
    assert one.rate == two.rate == 15  # together they stay under the platform's 30
    now += ALIVE * 2  # host-b was killed: it beats no more
    assert await first.beat() == 1 and one.rate == 30
    await second.beat()
    await second.stop()  # stopping cleanly leaves at once
    assert await first.beat() == 1


async def test_a_replica_that_joins_sends_only_replies_until_the_others_have_slowed_down(make_runner: Callable,
                                                                                       db_url: str) -> None:
    from bot.replicas import EVERY, ReplicaHeartbeat

    runner = await make_runner(db_url)
    old = ReplicaHeartbeat(runner.sessions, "host-a:8080", [Pacer(30)])
    await old.beat()  # already sending at the full rate; it hears of the newcomer at its next beat
    joining = Pacer(30, per_chat_interval=0.0)
    newcomer = ReplicaHeartbeat(runner.sessions, "host-b:8080", [joining])
    await newcomer.start()
    try:
        got = await times_of(joining, [("broadcast", False), ("person", True)])
    finally:
        await newcomer.stop()
    assert got[1] < 0.2  # the person is answered at once
    assert got[0] >= EVERY  # the broadcast waits until the old replica has halved its pace


async def test_replicas_started_together_send_only_replies_until_they_have_seen_each_other(make_runner: Callable,
                                                                                         db_url: str) -> None:
    from bot.replicas import FIRST_LOOK, ReplicaHeartbeat

    first_runner, second_runner = await make_runner(db_url), await make_runner(db_url)
    one, two = Pacer(30, per_chat_interval=0.0), Pacer(30, per_chat_interval=0.0)
    first = ReplicaHeartbeat(first_runner.sessions, "host-a:8080", [one])
    second = ReplicaHeartbeat(second_runner.sessions, "host-b:8080", [two])
    await asyncio.gather(first.start(), second.start())
    try:
        got = await asyncio.gather(times_of(one, [("broadcast", False)]), times_of(two, [("broadcast", False)]))
        assert one.replicas == two.replicas == 2 and one.rate == two.rate == 15  # together under the 30
    finally:
        await asyncio.gather(first.stop(), second.stop())
    assert min(g[0] for g in got) >= FIRST_LOOK  # neither sent a broadcast before it had looked again


async def test_a_chat_another_sender_wrote_to_a_moment_ago_waits_the_rest_of_its_second() -> None:
    pacer = Pacer(25)
    pacer.written_to("lan", seconds_ago=0.4)  # told by the database: another replica's reply, 0.4 s ago
    got = await times_of(pacer, [("lan", True), ("binh", True)])
    assert 0.5 <= got[0] <= 0.8 and got[1] < 0.1  # only that chat waits
