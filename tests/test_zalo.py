"""The Zalo channel against a fake Zalo Bot API on 127.0.0.1: polling, webhook, numbered options."""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from bot.app import DISPATCHER, RUNNER, ZALO, build_app
from bot.file_links import link_maker
from bot.settings import Settings
from bot.webhooks import webhook_secret
from bot.zalo_channel import ZALO_SECRET_HEADER
from handlers.types import Attachment, Reply
from storage.models import ChatAccount
from storage.outbox import enqueue
from tests.fakes import VALID_MST

TOKEN = "1234567890:zalo-test-token"


class FakeZalo:
    def __init__(self, single_object: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.single_object = single_object
        self._ids = itertools.count(1)
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._method)
        self.server = TestServer(app, host="127.0.0.1")

    async def _method(self, request: web.Request) -> web.Response:
        method, body = request.match_info["method"], await request.json()
        assert request.match_info["token"] == TOKEN
        self.calls.append((method, body))
        if method == "getUpdates":
            try:
                update = await asyncio.wait_for(self.updates.get(), 0.3)
            except TimeoutError:
                return web.json_response({"ok": True, "result": []})
            # Zalo may answer one update object instead of a list.
            return web.json_response({"ok": True, "result": update if self.single_object else [update]})
        if method == "getMe":
            return web.json_response({"ok": True, "result": {"id": "bot", "name": "OCOP"}})
        return web.json_response({"ok": True, "result": {"message_id": str(next(self._ids))}})

    def say(self, text: str, chat: str = "zalo-user-1", message_id: str | None = None) -> None:
        self.updates.put_nowait({"event_name": "message.text.received", "message": {
            "message_id": message_id or f"m{next(self._ids)}", "date": 1_790_000_000_000, "text": text,
            "from": {"id": chat, "display_name": "Lan"}, "chat": {"id": chat, "chat_type": "PRIVATE"}}})

    def sent(self) -> list[str]:
        return [body["text"] for method, body in self.calls if method == "sendMessage"]


async def start(aiohttp_client: Any, tmp_path: Path, fake: FakeZalo, **extra: str) -> TestClient:
    await fake.server.start_server()
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'z.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), ZALO_BOT_TOKEN=TOKEN, OCOP_QUIET_HOURS="",
                        ZALO_API_BASE_URL=f"http://127.0.0.1:{fake.server.port}", OCOP_FLOOD_BURST=1000, **extra)
    return await aiohttp_client(build_app(settings))


async def reply_to(fake: FakeZalo, text: str) -> str:
    before = len(fake.sent())
    fake.say(text)
    for _ in range(200):
        await asyncio.sleep(0.02)
        if len(fake.sent()) > before and fake.updates.empty():
            await asyncio.sleep(0.05)
            break
    return "\n".join(fake.sent()[before:])


@pytest.mark.parametrize("single_object", [False, True])
async def test_full_registration_over_zalo_by_numbers(aiohttp_client: Any, tmp_path: Path,
                                                      single_object: bool) -> None:
    fake = FakeZalo(single_object)
    client = await start(aiohttp_client, tmp_path, fake)
    try:
        assert "1. 📝 Đăng ký sản phẩm OCOP" in await reply_to(fake, "/start")
        text = await reply_to(fake, "1")  # the number shown beside "Đăng ký sản phẩm OCOP"
        assert "4. Hộ sản xuất kinh doanh" in text
        await reply_to(fake, "4")
        await reply_to(fake, "Hộ Giàng Thị Mai")
        await reply_to(fake, VALID_MST)
        assert "Số điện thoại" in await reply_to(fake, "Giàng Thị Mai")  # asked as text: Zalo has no button
        assert "tỉnh/thành phố" in await reply_to(fake, "0912 333 444")
        for answer in ("ha giang", "Xã Lũng Cú", "Thôn Séo Lủng", "Chè Shan tuyết", "1", "5", "Chè cổ thụ",
                       "trong tinh", "2 tấn"):
            await reply_to(fake, answer)
        await reply_to(fake, "xong")  # no certifications
        await reply_to(fake, "bo qua")  # no photos
        text = ""
        for _ in range(8):  # documents: hand in on paper, skip the optional ones
            text = await reply_to(fake, "bo qua" if "Bỏ qua" in text else "nop truc tiep")
            if "kiểm tra lại hồ sơ" in text:
                break
        assert "kiểm tra lại hồ sơ" in text
        number = re.search(r"(\d+)\. ✅ Xác nhận nộp hồ sơ", text).group(1)  # type: ignore[union-attr]
        assert re.search(r"OCOP-\d{4}-\d{6}", await reply_to(fake, number))
    finally:
        await client.close()
        await fake.server.close()


async def test_redelivery_long_text_and_groups(aiohttp_client: Any, tmp_path: Path) -> None:
    fake = FakeZalo()
    client = await start(aiohttp_client, tmp_path, fake)
    try:
        fake.say("/start", message_id="same")
        fake.say("/start", message_id="same")  # Zalo delivered it twice
        await asyncio.sleep(1.0)
        assert sum("Xin chào" in text for text in fake.sent()) == 1
        await reply_to(fake, "/dangky")
        await reply_to(fake, "1")
        text = await reply_to(fake, "x" * 5000)
        assert "5.000 ký tự" in text and all(len(t) <= 2000 for t in fake.sent())
        fake.updates.put_nowait({"event_name": "message.text.received", "message": {
            "message_id": "g1", "text": "/start", "from": {"id": "u9"}, "chat": {"id": "grp", "chat_type": "GROUP"}}})
        await asyncio.sleep(0.6)
        assert not [b for m, b in fake.calls if m == "sendMessage" and b["chat_id"] == "grp"]
    finally:
        await client.close()
        await fake.server.close()


async def test_zalo_webhook(aiohttp_client: Any, tmp_path: Path) -> None:
    fake = FakeZalo()
    client = await start(aiohttp_client, tmp_path, fake, OCOP_PUBLIC_URL="https://ocop.example.vn")
    secret = webhook_secret(TOKEN, "zalo")
    try:
        [(_, registered)] = [(m, b) for m, b in fake.calls if m == "setWebhook"]
        assert registered == {"url": "https://ocop.example.vn/webhook/zalo", "secret_token": secret}
        for headers, body, status in (({}, b"{}", 401), ({ZALO_SECRET_HEADER: "x"}, b"{}", 403),
                                      ({ZALO_SECRET_HEADER: secret}, b"{oops", 400),
                                      ({ZALO_SECRET_HEADER: secret}, b"[]", 400),
                                      ({ZALO_SECRET_HEADER: secret}, b'{"a": "' + b"b" * 100_000 + b'"}', 413)):
            assert (await client.post("/webhook/zalo", data=body, headers=headers)).status == status
        event = {"ok": True, "result": {"event_name": "message.text.received", "message": {
            "message_id": "w1", "text": "/start", "from": {"id": "z9"}, "chat": {"id": "z9", "chat_type": "PRIVATE"}}}}
        response = await client.post("/webhook/zalo", json=event, headers={ZALO_SECRET_HEADER: secret})
        assert response.status == 200
        for _ in range(100):
            if fake.sent():
                break
            await asyncio.sleep(0.02)
        assert "Xin chào" in fake.sent()[0]
    finally:
        await client.close()
        await fake.server.close()


async def test_files_reach_zalo_through_signed_links(aiohttp_client: Any, tmp_path: Path) -> None:
    fake = FakeZalo()
    client = await start(aiohttp_client, tmp_path, fake, OCOP_PUBLIC_URL="https://ocop.example.vn")
    try:
        channel = client.app[ZALO]
        png = b"\x89PNG\r\n\x1a\n" + b"chart" * 100
        calendar = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
        await channel.send("z1", Reply("Thống kê", attachments=(
            Attachment("thong-ke.png", "image/png", "Biểu đồ", content=png),
            Attachment("ocop-training-1.ics", "text/calendar", "Tập huấn", content=calendar))))
        [(_, photo)] = [(m, b) for m, b in fake.calls if m == "sendPhoto"]
        assert photo["photo"].startswith("https://ocop.example.vn/files/") and photo["caption"] == "Biểu đồ"
        [text] = fake.sent()
        ics_link = re.search(r"📎 Tập huấn: (https://\S+)", text).group(1)  # type: ignore[union-attr]
        for link, body in ((photo["photo"], png), (ics_link, calendar)):
            response = await client.get(link.removeprefix("https://ocop.example.vn"))
            assert response.status == 200 and await response.read() == body
        path = photo["photo"].removeprefix("https://ocop.example.vn")
        assert (await client.get(path.replace("sig=", "sig=0"))).status == 403  # altered
        assert (await client.get(path.split("?")[0])).status == 403  # unsigned
        expired = link_maker("", webhook_secret(TOKEN, "files"), clock=lambda: 0)(path.split("/")[2].split("?")[0])
        assert (await client.get(expired)).status == 403
        missing = link_maker("", webhook_secret(TOKEN, "files"))("0" * 64 + ".png")
        assert (await client.get(missing)).status == 404
    finally:
        await client.close()
        await fake.server.close()


async def test_proactive_messages_reach_zalo_through_the_dispatcher(aiohttp_client: Any, tmp_path: Path) -> None:
    fake = FakeZalo()
    client = await start(aiohttp_client, tmp_path, fake)
    try:
        await reply_to(fake, "/start")  # the chat exists
        async with client.app[RUNNER].sessions() as session, session.begin():
            account = (await session.exec(select(ChatAccount).where(ChatAccount.channel == "zalo"))).one()
            button = {"id": "reeval:1", "label": "🔄 Đăng ký đánh giá lại"}
            await enqueue(session, account_id=account.id, dedupe_key="cert-expiry:1:30:z",  # type: ignore[arg-type]
                          reason="cert-expiry", text="⏰ Chứng nhận sắp hết hạn", options=[button])
        client.app[DISPATCHER].kick()
        for _ in range(100):
            if any("Chứng nhận sắp hết hạn" in text for text in fake.sent()):
                break
            await asyncio.sleep(0.02)
        [notice] = [text for text in fake.sent() if "Chứng nhận sắp hết hạn" in text]
        assert "1. 🔄 Đăng ký đánh giá lại" in notice  # the notice's button becomes a number to type
    finally:
        await client.close()
        await fake.server.close()
