"""Volume: how much one producer, one chat or one network address may ask for, each a setting, each refused
politely with nothing lost."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlmodel import select

from bot.app import build_app
from bot.flood import HourlyLimit
from bot.settings import Settings
from handlers.types import Quotas
from storage.models import Application
from tests.support.catalog import says
from tests.support.fakes import JPEG, Chat
from tests.support.flows import answer_dossier, answer_product, reach_review


async def test_submissions_a_day_are_limited_and_the_refused_one_waits_at_its_review(make_runner: Callable,
                                                                                    db_url: str, clock) -> None:
    runner = await make_runner(db_url, quotas=Quotas(submissions_per_day=2))
    chat = Chat(runner, user="lan")
    await reach_review(chat)
    await chat.tap("nav:submit")
    for name in ("Chè Shan tuyết", "Miến dong"):
        await chat.tap("menu:register")
        await chat.agree_if_asked()
        await answer_product(chat, name=name)
        await answer_dossier(chat)
        await chat.tap("nav:submit")
    assert says(chat.text, "register.daily_limit", max=2)
    assert "Miến dong" in chat.shown and any("Xác nhận nộp hồ sơ" in o for o in chat.option_labels)  # kept
    clock.advance(days=1)
    await chat.say("hồ sơ")  # a day later: asked whether to go on with the kept draft
    await chat.tap("resume:continue")
    await chat.tap("nav:submit")
    assert "OCOP-" in chat.text and "Miến dong" in chat.text
    async with runner.sessions() as session:
        assert len((await session.exec(select(Application))).all()) == 3


async def test_files_a_chat_may_send_in_an_hour(make_runner: Callable, sqlite_url: str) -> None:
    clock = [0.0]
    runner = await make_runner(sqlite_url, uploads=HourlyLimit(3, clock=lambda: clock[0]))
    chat = Chat(runner, user="lan")
    await chat.say("/dangky")
    await chat.agree_if_asked()
    for _ in range(3):
        await chat.send_file(JPEG, "image/jpeg")  # a photo too early: answered as any photo out of place
    await chat.send_file(JPEG, "image/jpeg")
    assert says(chat.text, "error.upload_limit", max=3, minutes=60)
    clock[0] += 3601
    await chat.send_file(JPEG, "image/jpeg")
    assert "số tối đa" not in chat.text


async def test_new_web_identities_from_one_address_are_limited(aiohttp_client: Any, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_MAX_WEB_IDENTITIES_PER_HOUR=3)
    client: TestClient = await aiohttp_client(build_app(settings, run_scheduler=False))
    assert (await client.get("/")).cookies  # the page opens one on a first visit
    tokens = []
    for _ in range(2):
        response = await client.post("/api/session")
        assert response.status == 200
        tokens.append((await response.json())["token"])
    refused = await client.post("/api/session")
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 3000
    assert says((await refused.json())["error"], "api.too_many_identities")
    assert not (await client.get("/", cookies={})).cookies  # the page opens, and asks for one later
    response = await client.post("/api/chat", json={"text": "/start"},  # a chat opened before goes on
                                 headers={"Authorization": f"Bearer {tokens[0]}"})
    assert response.status == 200 and says((await response.json())["replies"][0]["text"], "welcome")


async def test_open_drafts_of_one_producer_are_limited_over_its_chats(make_runner: Callable, sqlite_url: str) -> None:
    from storage.models import ChatAccount
    from tests.support.seed import COMPLETE_PROFILE, add_producer

    runner = await make_runner(sqlite_url, quotas=Quotas(open_drafts=2))
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, **COMPLETE_PROFILE)
        for user in ("a", "b", "c"):  # three chats of one cooperative, each already agreed to the notice
            session.add(ChatAccount(channel="web", chat_id=user, producer_id=producer.id,
                                    consented_at=producer.created_at))
    a, b, c = (Chat(runner, user=user) for user in ("a", "b", "c"))
    for chat in (a, b):
        await chat.say("/dangky")
        assert "Tên sản phẩm" in chat.last
        await chat.say("Mật ong")  # a draft, kept
    await c.say("/dangky")
    assert says(c.text, "register.too_many_drafts", max=2)
    assert "menu:register" in c.option_ids  # back at the menu, nothing lost or opened
    await a.say("/huy")
    await a.say("có")
    await c.say("/dangky")
    assert "Tên sản phẩm" in c.last
