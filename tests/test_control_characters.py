"""Control characters: nobody types them, PostgreSQL refuses NUL, and a pasted Word line break is one. What a person
sent through a platform is answered with them turned into spaces; a web request carrying them is refused with a 400."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlmodel import select

from bot.app import build_app
from bot.settings import Settings
from storage.models import ConversationState
from tests.support.catalog import says
from tests.support.fakes import Chat
from tests.support.web import post_chat


async def test_a_person_pasting_control_characters_on_telegram_is_answered_and_nothing_breaks(
        make_runner: Callable, db_url: str) -> None:
    runner = await make_runner(db_url)
    chat = Chat(runner, user="4242", channel="telegram")
    await chat.say("/dangky")
    await chat.agree_if_asked()
    await chat.say("ho\x00 kinh doanh")
    await chat.say("Hộ bà\x0bNguyễn\x00Thị Lan\x1b[31m")  # Word's line break, a NUL, a terminal colour code
    assert "Mã số thuế" in chat.last
    async with runner.sessions() as session:
        state = (await session.exec(select(ConversationState))).one()
    assert state.data["producer_name"] == "Hộ bà Nguyễn Thị Lan [31m"


async def test_the_web_api_refuses_control_characters_with_a_400(aiohttp_client: Any, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"))
    client: TestClient = await aiohttp_client(build_app(settings, run_scheduler=False))
    for body in ({"text": "Xin chào\x00"}, {"choice": "menu:register\x07"}, {"text": "a", "\x01": 1}):
        response = await post_chat(client, "lan", body)
        assert response.status == 400
        assert says((await response.json())["error"], "api.control_characters")
    response = await post_chat(client, "lan", {"text": "Xin chào\ttab và\ndòng mới"})  # these are allowed
    assert response.status == 200
