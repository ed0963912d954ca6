"""The issue's whole check, on the web page, Telegram and Zalo alike, through one real app (a restart is a new app).

A producer on each channel registers a product with a photo and a PDF, receives an officer's request for documents
and a certificate reminder without sending anything first (the web page is open), answers a numbered list by typing
its number, and does so again after a restart.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import col, select
from telegram import Update

from bot.app import RUNNER, TELEGRAM, build_app
from bot.channels.zalo import ZALO_SECRET_HEADER
from bot.settings import Settings, webhook_secret
from handlers.notices.reminders import ReminderRules, scan
from storage.events import create_event
from storage.lifecycle import add_months
from storage.models import ChatAccount, OutboxMessage
from storage.producers import get_producer
from tests.support.catalog import says
from tests.support.checks import found, present
from tests.support.fakes import JPEG, PDF, FakeBotApi
from tests.support.notices import read_notice
from tests.support.seed import add_application, invite
from tests.support.waiting import eventually
from tests.support.web import post_chat, token_for
from tests.support.zalo import TOKEN as ZALO_TOKEN
from tests.support.zalo import FakeZalo, reply_to_event

PUBLIC = "https://ocop.example.vn"
_ids = itertools.count(1)
TAX_CODES = {"web": "0300588569", "telegram": "0401876549", "zalo": "3100123459"}


class Bot:
    """The running bot and the three producers' phones."""

    def __init__(self, tmp_path: Path, aiohttp_client: Any, zalo: FakeZalo) -> None:
        self.tmp_path, self.aiohttp_client, self.zalo = tmp_path, aiohttp_client, zalo
        self.telegram_api = FakeBotApi()
        self.client: TestClient | None = None
        self.web_token = ""

    async def start(self) -> None:
        settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{self.tmp_path / 'e2e.db'}",
                            OCOP_DATA_DIR=str(self.tmp_path / "data"), OCOP_FLOOD_BURST=1000, OCOP_QUIET_HOURS="",
                            OCOP_PUBLIC_URL=PUBLIC, TELEGRAM_BOT_TOKEN="123:abc",
                            TELEGRAM_API_BASE_URL="http://127.0.0.1:9", ZALO_BOT_TOKEN=ZALO_TOKEN,
                            ZALO_API_BASE_URL=f"http://127.0.0.1:{self.zalo.server.port}")
        self.client = await self.aiohttp_client(build_app(settings, telegram_request=self.telegram_api,
                                                          telegram_polling=False, run_scheduler=False))
        if not self.web_token:
            self.web_token = await token_for(self.client, "producer")

    async def restart(self) -> None:
        assert self.client is not None
        await self.client.close()
        await self.start()

    @property
    def app(self) -> Any:
        assert self.client is not None
        return self.client.app

    # What each producer types or sends; each returns everything the bot said back, as one text.
    async def say(self, channel: str, text: str) -> str:
        if channel == "web":
            return await self._web("/api/chat", json={"text": text})
        if channel == "telegram":
            return await self._telegram({"text": text})
        return await self._zalo({"event_name": "message.text.received", "message": {"text": text}})

    async def photo(self, channel: str) -> str:
        if channel == "web":
            return await self._web("/api/upload", data=_form((JPEG, "mat-ong.jpg", "image/jpeg")))
        if channel == "telegram":
            self.telegram_api.files["photo1"] = JPEG
            return await self._telegram({"photo": [{"file_id": "photo1", "file_unique_id": "p1", "width": 640,
                                                    "height": 480, "file_size": len(JPEG)}]})
        name = f"p{next(_ids)}.jpg"
        self.zalo.photos[name] = JPEG
        return await self._zalo({"event_name": "message.image.received", "message": {
            "photo_url": f"http://127.0.0.1:{self.zalo.server.port}/photos/{name}"}})

    async def pdf(self, channel: str, question: str) -> str:
        if channel == "web":
            return await self._web("/api/upload", data=_form((PDF, "phieu-dang-ky.pdf", "application/pdf")))
        if channel == "telegram":
            self.telegram_api.files["doc1"] = PDF
            return await self._telegram({"document": {"file_id": "doc1", "file_unique_id": "d1", "mime_type":
                                                      "application/pdf", "file_name": "phieu-dang-ky.pdf",
                                                      "file_size": len(PDF)}})
        link = found(rf"{PUBLIC}(/u/\S+)", question, 1)  # Zalo: the link
        before = len(self.zalo.sent())
        assert self.client is not None
        page = await self.client.post(link, data=_form((PDF, "phieu-dang-ky.pdf", "application/pdf")))
        assert page.status == 200
        return "\n".join(self.zalo.sent()[before:])  # the answer arrives back in Zalo

    async def _web(self, path: str, **body: Any) -> str:
        assert self.client is not None
        response = await self.client.post(path, headers={"Authorization": f"Bearer {self.web_token}"}, **body)
        assert response.status == 200, await response.text()
        replies = (await response.json())["replies"]
        return "\n".join([r["text"] for r in replies] + [o["label"] for r in replies for o in r["options"]])

    async def _telegram(self, fields: dict[str, Any]) -> str:
        application = self.app[TELEGRAM].application
        before = len(self.telegram_api.sent())
        message = {"message_id": next(_ids), "date": int(time.time()), "chat": {"id": 777, "type": "private"},
                   "from": {"id": 777, "is_bot": False, "first_name": "Lan"}} | fields
        await application.process_update(Update.de_json({"update_id": next(_ids), "message": message},
                                                         application.bot))
        sent = self.telegram_api.sent()[before:]
        buttons = [b["text"] for m in sent for kind in ("inline_keyboard", "keyboard")
                   for row in (m.get("reply_markup") or {}).get(kind, []) for b in row]
        return "\n".join([m["text"] for m in sent] + buttons)

    async def _zalo(self, event: dict[str, Any]) -> str:
        assert self.client is not None
        event["message"] |= {"message_id": f"z{next(_ids)}", "date": int(time.time() * 1000),
                             "from": {"id": "zalo-lan", "display_name": "Lan"},
                             "chat": {"id": "zalo-lan", "chat_type": "PRIVATE"}}
        client = self.client

        async def post() -> None:
            response = await client.post("/webhook/zalo", json=event,
                                         headers={ZALO_SECRET_HEADER: webhook_secret(ZALO_TOKEN, "zalo")})
            assert response.status == 200

        return await reply_to_event(self.zalo, post)

    def pushed(self, channel: str) -> list[str]:
        """What reached the producer's Telegram or Zalo chat so far."""
        if channel == "telegram":
            return [m["text"] for m in self.telegram_api.sent()]
        return self.zalo.sent()


def _form(*files: tuple[bytes, str, str]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for content, name, mime in files:
        form.add_field("file", io.BytesIO(content), filename=name, content_type=mime)
    return form


@pytest.fixture
async def bot(tmp_path: Path, aiohttp_client: Any) -> Any:
    zalo = FakeZalo()
    await zalo.server.start_server()
    running = Bot(tmp_path, aiohttp_client, zalo)
    await running.start()
    yield running
    if running.client is not None:
        await running.client.close()
    await zalo.server.close()


async def register(bot: Bot, channel: str) -> str:
    say = bot.say
    await say(channel, "/dangky")
    for answer in ("đồng ý", "1", f"HTX Mật ong {channel}", TAX_CODES[channel], "Trần Văn Bình", "0912 345 678",
                   "lam dong", "lac duong", "Thôn 1", "Mật ong rừng", "1", "1", "1", "Mật ong rừng nguyên chất", "1",
                   "2 tấn"):
        await say(channel, answer)
    asked = await say(channel, "xong")  # no certifications: the product photos
    assert says(asked, "ask.photos"), (channel, asked)
    assert says(await bot.photo(channel), "form.files_received", count=1), channel
    question = await say(channel, "xong")  # the first dossier document: the registration form, as a PDF
    assert "Phiếu đăng ký" in question, (channel, question)
    assert says(await bot.pdf(channel, question), "form.files_received", count=1), channel
    text = await say(channel, "xong")
    for _ in range(10):
        if says(text, "review.title"):
            break
        text = await say(channel, "bo qua" if "Bỏ qua" in text else "nop truc tiep")
    assert says(text, "review.title"), (channel, text)
    submitted = await say(channel, "xac nhan")
    return found(r"OCOP-\d{4}-\d{6}", submitted)


async def received(bot: Bot, channel: str, page: Any, words: str) -> str:
    """The notice the producer got without sending anything: on the open web page, or in the chat."""
    if channel == "web":
        return (await read_notice(page, seconds=10))["text"]
    assert await eventually(lambda: any(words in text for text in bot.pushed(channel))), \
        f"{channel} never received {words!r}"
    return [text for text in bot.pushed(channel) if words in text][-1]


async def test_every_channel_registers_is_told_and_answers_by_number_across_a_restart(bot: Bot) -> None:
    assert bot.client is not None
    codes = {channel: await register(bot, channel) for channel in ("web", "telegram", "zalo")}
    page = await bot.client.get("/api/events", headers={"Authorization": f"Bearer {bot.web_token}"})

    # An officer (on the web, too) asks each for a document, opening each application by typing its number.
    officer = "officer"
    await post_chat(bot.client, officer, {"text": f"/canbo {await invite(bot.app[RUNNER].sessions)}"})
    for channel, code in codes.items():
        listing = await (await post_chat(bot.client, officer, {"text": "/hoso"})).json()
        number = _line_number(listing, code)
        opened = await (await post_chat(bot.client, officer, {"text": number})).json()
        app_id = next(o["id"] for r in opened["replies"] for o in r["options"] if o["id"].endswith(":request_more"))
        for step in ({"choice": app_id}, {"choice": "business-plan"}, {"choice": "nav:done"},
                     {"text": "Xin gửi phương án kinh doanh có chữ ký."}, {"choice": "nav:submit"}):
            await post_chat(bot.client, officer, step)
        assert "Phương án / dự án sản xuất kinh doanh" in await received(bot, channel, page, "cần bổ sung"), channel

    # A certificate of each producer nears its expiry; the morning scan tells all three at once.
    async with bot.app[RUNNER].sessions() as session, session.begin():
        accounts = (await session.exec(select(ChatAccount).where(col(ChatAccount.producer_id).is_not(None)))).all()
        today = datetime.now(UTC).date()
        decided = add_months(today + timedelta(days=20), -36)
        for account in accounts:
            owner = present(await get_producer(session, present(account.producer_id)))
            await add_application(session, owner, name=f"Trà hoa vàng {account.channel}", status="recognised",
                                  decided=decided)
        start = datetime.now(UTC) + timedelta(days=10)
        await create_event(session, {"kind": "fair", "name": "Hội chợ OCOP Đà Lạt", "place": "Quảng trường Lâm Viên",
                                     "starts_at": start, "ends_at": start + timedelta(hours=8),
                                     "province_code": "lam-dong", "audience_groups": []},
                           officer_id=None, actor_account_id=None)
        added = await scan(session, today=today, now=datetime.now(UTC), rules=ReminderRules())
        assert added["cert-expiry"] == 3  # (on a Monday the officer gets the weekly digest as well)
    bot.app[RUNNER].on_outbox()
    for channel in codes:
        reminder = await received(bot, channel, page, "Trà hoa vàng")
        assert "còn 20 ngày" in reminder, (channel, reminder)
    page.close()
    statuses: dict[str, str] = {}
    for _ in range(100):  # each outcome is committed a moment after its send
        async with bot.app[RUNNER].sessions() as session:
            statuses = {(await session.get(ChatAccount, m.account_id)).channel: m.status
                        for m in (await session.exec(select(OutboxMessage).where(
                            OutboxMessage.reason == "cert-expiry"))).all()}
        if "sending" not in statuses.values():
            break
        await asyncio.sleep(0.05)
    assert statuses == {"web": "shown", "telegram": "sent", "zalo": "sent"}

    # A numbered list answered by typing its number, before and after a restart.
    for channel in codes:
        assert "Hội chợ OCOP Đà Lạt" in await bot.say(channel, "/hoicho")
    await bot.restart()
    for channel in codes:
        opened = await bot.say(channel, "1")
        assert "Quảng trường Lâm Viên" in opened and says(opened, "event.join"), (channel, opened)


def _line_number(listing: dict, code: str) -> str:
    """The number the officer's list shows beside an application code."""
    for reply in listing["replies"]:
        for line in reply["text"].splitlines():
            if code in line:
                return line.split(".")[0]
    raise AssertionError(code)

