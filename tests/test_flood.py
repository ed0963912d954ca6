"""Flood control: one chat sending far too fast is slowed politely; nobody else notices."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlmodel import select

from bot.app import build_app
from bot.flood import FloodGuard
from bot.settings import Settings
from handlers.types import Incoming
from storage.models import ChatAccount, ConversationState
from tests.support.catalog import says
from tests.support.fakes import VALID_MST, Chat
from tests.support.web import post_chat, token_for


class Seconds:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_fifty_messages_in_five_seconds_are_slowed_and_others_unaffected(
        make_runner: Callable, sqlite_url: str) -> None:
    seconds = Seconds()
    runner = await make_runner(sqlite_url, flood=FloodGuard(burst=10, per_second=1.0, clock=seconds))
    flooder, neighbour = Chat(runner, user="flooder"), Chat(runner, user="neighbour")
    await flooder.say("/start")
    await flooder.tap("menu:register")
    await flooder.agree_if_asked()
    answered, warnings, silent = 2, 0, 0
    for i in range(50):
        seconds.now += 0.1  # 50 messages in 5 seconds
        replies = await flooder.say(f"Hợp tác xã {i}")
        if not replies:
            silent += 1
        elif says(replies[0].text, "error.flood"):
            warnings += 1
        else:
            answered += 1
        # The neighbour chats normally through the same bot the whole time.
        if i % 10 == 0:
            await neighbour.say("/start")
            assert says(neighbour.text, "welcome")
    # 10 at once, then about one a second: roughly 15 of the 52 are read; one polite warning; the rest not read.
    assert 12 <= answered <= 17, answered
    assert warnings >= 1 and warnings <= 5, warnings  # once per burst, not once per message
    assert silent > 25

    # After a short pause the chat works normally again, at the step it had reached.
    seconds.now += 15
    await flooder.say("/trangthai")
    assert not says(flooder.text, "error.flood")


async def test_the_warning_speaks_the_chats_language(make_runner: Callable, sqlite_url: str) -> None:
    seconds = Seconds()
    runner = await make_runner(sqlite_url, flood=FloodGuard(burst=3, per_second=0.5, clock=seconds))
    chat = Chat(runner, user="english-speaker")
    await chat.say("/start")
    await chat.say("/language")
    await chat.tap("lang:en")
    replies = await chat.say("hello")
    assert replies and "sending messages very quickly" in replies[0].text


async def test_refused_messages_do_not_touch_the_stored_conversation(make_runner: Callable, sqlite_url: str) -> None:
    seconds = Seconds()
    runner = await make_runner(sqlite_url, flood=FloodGuard(burst=2, per_second=0.1, clock=seconds))
    chat = Chat(runner, user="u1")
    await chat.say("/dangky")
    await chat.agree_if_asked()

    async def stored() -> tuple[str | None, str | None, dict]:
        async with runner.sessions() as session:
            account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == "u1"))).one()
            state = (await session.exec(select(ConversationState).where(
                ConversationState.account_id == account.id))).one()
            return state.flow, state.step, state.data

    before = await stored()
    assert before[0] == "register"
    for _ in range(5):
        await chat.say("Hộ kinh doanh")
        assert not chat.replies or says(chat.text, "error.flood")  # refused, not read
    assert await stored() == before
    seconds.now += 30
    await chat.say("Hộ kinh doanh")  # read now: the form moves on
    assert (await stored())[1] != before[1]


async def test_the_running_app_slows_a_flooding_web_chat(aiohttp_client: Any, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'f.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"))
    client: TestClient = await aiohttp_client(build_app(settings))

    async def post(user: str, text: str) -> list[dict]:
        response = await post_chat(client, user, {"text": text})
        assert response.status == 200
        return (await response.json())["replies"]

    await token_for(client, "flooder")  # one identity, issued before the burst
    flood = await asyncio.gather(*(post("flooder", "/start") for _ in range(50)))
    texts = [r[0]["text"] for r in flood if r]
    assert sum(says(x, "error.flood") for x in texts) == 1
    assert sum(says(x, "welcome") for x in texts) >= settings.flood_burst
    assert says((await post("someone-else", "/start"))[0]["text"], "welcome")


async def test_a_backlog_that_waited_while_the_bot_was_down_is_answered_not_refused(make_runner: Callable,
                                                                                   sqlite_url: str,
                                                                                   clock: Any) -> None:
    seconds = Seconds()
    runner = await make_runner(sqlite_url, flood=FloodGuard(burst=3, per_second=0.1, clock=seconds))
    sent = clock.now - timedelta(minutes=20)  # written during the outage, delivered on restart
    answers = []
    for i, text in enumerate(["/start", "/dangky", "đồng ý", "1", "HTX Tân Thành", VALID_MST, "Trần Văn Bình"]):
        answers.append(await runner.handle(Incoming(channel="telegram", chat_id="42", user_id="42", text=text,
                                                    sent_at=sent + timedelta(seconds=i))))
    texts = ["\n".join(r.text for r in replies) for replies in answers]
    assert not any(says(t, "error.flood") for t in texts) and all(texts)  # every one answered, in order
    assert says(texts[-1], "ask.phone_typed")
    live = [await runner.handle(Incoming(channel="telegram", chat_id="42", user_id="42", text="x", sent_at=clock.now))
            for _ in range(5)]
    assert sum(bool(r) and says(r[0].text, "error.flood") for r in live) == 1  # what is sent now is still limited
