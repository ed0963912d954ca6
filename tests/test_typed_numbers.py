"""A typed number means what the person was shown, on the web, Telegram and Zalo, and after a restart.

One app serves all three channels (the real wiring); a restart is a new app on the same database.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlmodel import select
from telegram import Update

from bot.app import RUNNER, TELEGRAM, build_app
from bot.settings import Settings
from storage.events import create_event
from storage.models import ChatAccount
from storage.outbox import enqueue
from tests.support.catalog import says
from tests.support.fakes import FakeBotApi, outcome_of
from tests.support.notices import read_notice
from tests.support.seed import COMPLETE_PROFILE, add_application, add_producer
from tests.support.waiting import eventually
from tests.support.web import chat_id_of, token_for
from tests.support.zalo import TOKEN as ZALO_TOKEN
from tests.support.zalo import FakeZalo, reply_to_event

_ids = itertools.count(1)
FAIRS = ("Hội chợ OCOP Đà Lạt", "Hội chợ nông sản Bảo Lộc")


class Channels:
    """The bot as a producer on each channel sees it: say something, read what came back."""

    def __init__(self, tmp_path: Path, aiohttp_client: Any, zalo: FakeZalo) -> None:
        self.tmp_path, self.aiohttp_client, self.zalo = tmp_path, aiohttp_client, zalo
        self.telegram_api = FakeBotApi()
        self.client: TestClient | None = None
        self.web_token: str | None = None

    async def start(self) -> None:
        settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{self.tmp_path / 'n.db'}",
                            OCOP_DATA_DIR=str(self.tmp_path / "data"), OCOP_FLOOD_BURST=1000, OCOP_QUIET_HOURS="",
                            TELEGRAM_BOT_TOKEN="123:abc", TELEGRAM_API_BASE_URL="http://127.0.0.1:9",
                            ZALO_BOT_TOKEN=ZALO_TOKEN, ZALO_API_BASE_URL=f"http://127.0.0.1:{self.zalo.server.port}")
        self.client = await self.aiohttp_client(build_app(settings, telegram_request=self.telegram_api,
                                                          telegram_polling=False, run_scheduler=False))

    async def restart(self) -> None:
        assert self.client is not None
        await self.client.close()
        await self.start()

    async def web(self, text: str) -> str:
        assert self.client is not None
        if self.web_token is None:  # issued once: the same page keeps its identity across the restart
            self.web_token = await token_for(self.client, "lan")
        response = await self.client.post("/api/chat", json={"text": text},
                                          headers={"Authorization": f"Bearer {self.web_token}"})
        assert response.status == 200
        replies = (await response.json())["replies"]
        return "\n".join([r["text"] for r in replies] + [o["label"] for r in replies for o in r["options"]])

    async def open_page(self) -> ClientResponse:
        """The web page's event stream, as the open page holds it."""
        assert self.client is not None and self.web_token is not None
        response = await self.client.get("/api/events", headers={"Authorization": f"Bearer {self.web_token}"})
        assert response.status == 200 and response.content_type == "text/event-stream"
        return response

    async def telegram(self, text: str) -> str:
        assert self.client is not None
        app = self.client.app[TELEGRAM].application
        before = len(self.telegram_api.sent())
        message = {"message_id": next(_ids), "date": int(time.time()), "text": text,
                   "chat": {"id": 777, "type": "private"}, "from": {"id": 777, "is_bot": False, "first_name": "Lan"}}
        await app.process_update(Update.de_json({"update_id": next(_ids), "message": message}, app.bot))
        sent = self.telegram_api.sent()[before:]
        buttons = [b["text"] for m in sent for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
                   for b in row]
        return "\n".join([m["text"] for m in sent] + buttons)

    async def zalo_says(self, text: str) -> str:
        return await reply_to_event(self.zalo, lambda: self.zalo.say(text, chat="zalo-lan"))


@pytest.fixture
async def channels(tmp_path: Path, aiohttp_client: Any) -> AsyncIterator[Channels]:
    zalo = FakeZalo()
    await zalo.server.start_server()
    bot = Channels(tmp_path, aiohttp_client, zalo)
    await bot.start()
    assert bot.client is not None
    start = datetime.now(UTC) + timedelta(days=10)
    async with bot.client.app[RUNNER].sessions() as session, session.begin():
        producer = await add_producer(session, name="HTX Mật ong", province_code="lam-dong", **COMPLETE_PROFILE)
        await add_application(session, producer, name="Mật ong", group="food")
        bot.web_token = await token_for(bot.client, "lan")
        web_chat = chat_id_of(bot.web_token)
        for channel, chat_id in (("web", web_chat), ("telegram", "777"), ("zalo", "zalo-lan")):
            session.add(ChatAccount(channel=channel, chat_id=chat_id, producer_id=producer.id))
        for days, name in enumerate(FAIRS):
            await create_event(session, {"kind": "fair", "name": name, "place": "Quảng trường Lâm Viên",
                                         "starts_at": start + timedelta(days=days),
                                         "ends_at": start + timedelta(days=days, hours=8),
                                         "province_code": "lam-dong", "audience_groups": []},
                               officer_id=None, actor_account_id=None)
    yield bot
    if bot.client is not None:
        await bot.client.close()
    await zalo.server.close()




def sender(bot: Channels, channel: str) -> Callable[[str], Awaitable[str]]:
    return {"web": bot.web, "telegram": bot.telegram, "zalo": bot.zalo_says}[channel]


@pytest.mark.parametrize("channel", ["web", "telegram", "zalo"])
async def test_a_number_typed_after_the_fair_list_opens_that_fair_even_after_a_restart(
        channels: Channels, channel: str) -> None:
    say = sender(channels, channel)
    listed = await say("/hoicho")
    assert FAIRS[0] in listed and FAIRS[1] in listed
    opened = await say("2")
    assert "Quảng trường Lâm Viên" in opened and FAIRS[1] in opened
    assert not says(opened, "ask.product_name")  # not the main menu's "1. register"

    await say("/hoicho")
    await channels.restart()
    say = sender(channels, channel)
    opened = await say("1")
    assert FAIRS[0] in opened and says(opened, "event.join")


@pytest.mark.parametrize("channel", ["web", "telegram", "zalo"])
async def test_the_menu_answers_its_numbers_only_when_it_was_shown_last(channels: Channels, channel: str) -> None:
    say = sender(channels, channel)
    await say("/start")
    assert says(await say("1"), "consent.notice")  # the menu was last: 1 is "register a product"
    assert says(await say("1"), "ask.product_name")  # the notice was last: 1 is "agree"
    await say("/huy")
    await say("co")
    await say("/hoicho")
    await say("1")  # the first fair, with its own options
    await say("/trogiup")  # help ends with the menu again
    assert says(await say("1"), "ask.product_name")


@pytest.mark.parametrize("channel", ["web", "telegram", "zalo"])
async def test_a_notice_shown_after_the_menu_takes_over_its_numbers(channels: Channels, channel: str) -> None:
    say = sender(channels, channel)
    await say("/start")
    assert channels.client is not None
    async with channels.client.app[RUNNER].sessions() as session, session.begin():
        account = (await session.exec(select(ChatAccount).where(ChatAccount.channel == channel))).one()
        await enqueue(session, account_id=account.id, dedupe_key=f"test:{channel}", reason="test.notice",
                      text="Hội chợ mới", options=[{"id": "event:list:fair", "label": "Xem hội chợ"}])
    page = await channels.open_page() if channel == "web" else None
    channels.client.app[RUNNER].on_outbox()
    if page is not None:
        assert (await read_notice(page))["text"] == "Hội chợ mới"  # the open page is told without asking
        page.close()
    assert await eventually(lambda: channel == "web" or any("Hội chợ mới" in m["text"] for m in
                                                            channels.telegram_api.sent())
                            or any("Hội chợ mới" in text for text in channels.zalo.sent())), "the notice was not sent"
    assert (await outcome_of(channels.client.app[RUNNER].sessions, f"test:{channel}")).status in ("sent", "shown")
    listed = await say("1")  # the notice's option, not the menu's "register"
    assert FAIRS[0] in listed and not says(listed, "ask.product_name")


async def notify(bot: Channels, channel: str, key: str) -> None:
    assert bot.client is not None
    async with bot.client.app[RUNNER].sessions() as session, session.begin():
        account = (await session.exec(select(ChatAccount).where(ChatAccount.channel == channel))).one()
        await enqueue(session, account_id=account.id, dedupe_key=key, reason="test.notice", text=f"Thông báo {key}",
                      options=[{"id": "event:list:fair", "label": "Xem hội chợ"}])
    bot.client.app[RUNNER].on_outbox()
    assert await eventually(lambda: any(f"Thông báo {key}" in text for text in bot.zalo.sent())), \
        "the notice was not sent"
    assert (await outcome_of(bot.client.app[RUNNER].sessions, key)).status == "sent"


async def test_a_notice_in_the_middle_of_a_form_leaves_the_forms_numbers_alone(channels: Channels) -> None:
    await channels.zalo_says("/dangky")
    await channels.zalo_says("1")  # agrees to the personal-data notice
    asked = await channels.zalo_says("Mật ong hoa cà phê")
    assert "1. Thực phẩm" in asked
    await notify(channels, "zalo", "mid-form")
    notice = next(text for text in channels.zalo.sent() if "Thông báo mid-form" in text)
    assert "• Xem hội chợ" in notice and "1." not in notice  # drawn without a number
    answered = await channels.zalo_says("1")
    assert says(answered, "ask.subgroup")  # the form's 1: Thực phẩm, then its nhóm


async def test_on_the_review_one_number_is_one_action(channels: Channels) -> None:
    say = channels.zalo_says
    await say("/dangky")
    await say("dong y")
    text = await say("Mật ong hoa cà phê")
    for answer in ("1", "1", "2", "Mật ong nguyên chất từ vườn cà phê", "1", "2 tấn", "xong", "bo qua"):
        text = await say(answer)
    for _ in range(10):
        if says(text, "review.title"):
            break
        text = await say("bo qua" if "Bỏ qua" in text else "nop truc tiep")
    assert says(text, "review.title")
    numbered_lines = [line for line in text.splitlines() if line[:2].rstrip(".").isdigit()]
    assert all("Tên sản phẩm" not in line for line in numbered_lines), numbered_lines  # items are bullets
    assert "1. ✅ Xác nhận nộp hồ sơ" in text
    assert "OCOP-" in await say("1")
