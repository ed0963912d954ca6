"""The bot as a producer on each channel sees it (web, Telegram, Zalo, one app with the real wiring): say something,
read what came back. A restart is a new app on the same database."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlmodel import select
from telegram import Update

from bot.app import RUNNER, TELEGRAM, build_app
from bot.settings import Settings
from storage.events import create_event
from storage.models import ChatAccount
from storage.outbox import enqueue
from tests.support.fakes import FakeBotApi
from tests.support.notices import read_notice
from tests.support.seed import COMPLETE_PROFILE, add_application, add_producer
from tests.support.waiting import eventually
from tests.support.web import chat_id_of, token_for
from tests.support.zalo import TOKEN as ZALO_TOKEN
from tests.support.zalo import FakeZalo, reply_to_event

_ids = itertools.count(1)
FAIRS = ("Hội chợ OCOP Đà Lạt", "Hội chợ nông sản Bảo Lộc")
TRAINING = "Tập huấn câu chuyện sản phẩm"


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

    async def notice_reaches(self, channel: str, key: str, text: str,
                             options: list[dict[str, str]] | None = None) -> None:
        """A notice for the producer's chat on `channel`, as any handler queues it, once the person has it: on the
        open web page, or sent by Telegram or Zalo."""
        assert self.client is not None
        async with self.client.app[RUNNER].sessions() as session, session.begin():
            account = (await session.exec(select(ChatAccount).where(ChatAccount.channel == channel))).one()
            await enqueue(session, account_id=account.id, dedupe_key=key, reason="test.notice", text=text,
                          options=options)
        page = await self.open_page() if channel == "web" else None
        kick = self.client.app[RUNNER].on_outbox
        assert kick is not None
        kick()
        if page is not None:
            assert (await read_notice(page))["text"] == text  # the open page is told without asking
            page.close()
        assert await eventually(lambda: channel == "web" or any(text in m["text"] for m in self.telegram_api.sent())
                                or any(text in sent for sent in self.zalo.sent())), "the notice was not sent"

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




def sender(bot: Channels, channel: str) -> Callable[[str], Awaitable[str]]:
    return {"web": bot.web, "telegram": bot.telegram, "zalo": bot.zalo_says}[channel]


async def producer_on_three_channels(tmp_path: Path, aiohttp_client: Any) -> AsyncIterator[Channels]:
    """A linked producer (one product) on all three channels, and two fairs in its province."""
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
        for days, (kind, name) in enumerate([*(("fair", fair) for fair in FAIRS), ("training", TRAINING)]):
            await create_event(session, {"kind": kind, "name": name, "place": "Quảng trường Lâm Viên",
                                         "starts_at": start + timedelta(days=days),
                                         "ends_at": start + timedelta(days=days, hours=8),
                                         "province_code": "lam-dong", "audience_groups": []},
                               officer_id=None, actor_account_id=None)
    yield bot
    if bot.client is not None:
        await bot.client.close()
    await zalo.server.close()
