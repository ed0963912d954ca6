"""The Zalo channel against a fake Zalo Bot API on 127.0.0.1: polling, webhook, numbered options."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import select

from bot.app import DISPATCHER, RUNNER, ZALO, StartupError, build_app
from bot.channels.web_identity import WebIdentity
from bot.channels.zalo import ZALO_SECRET_HEADER
from bot.cli.outbox import drain
from bot.http.file_links import link_maker
from bot.settings import Settings, webhook_secret
from handlers.types import Attachment, Reply
from messages import t
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_database
from storage.models import ChatAccount
from storage.outbox import enqueue
from tests.support.catalog import says
from tests.support.checks import found
from tests.support.fakes import EXE, JPEG, PDF, VALID_MST, outcome_of
from tests.support.waiting import eventually
from tests.support.zalo import TOKEN, FakeZalo, reply_to, reply_to_event, start


@pytest.fixture
async def zalo_bot(aiohttp_client: Any, tmp_path: Path) -> Any:
    """The app polling a fake Zalo API: (fake, client)."""
    fake = FakeZalo()
    client = await start(aiohttp_client, tmp_path, fake)
    yield fake, client
    await client.close()
    await fake.server.close()


@pytest.mark.parametrize("single_object", [False, True])
async def test_full_registration_over_zalo_by_numbers(aiohttp_client: Any, tmp_path: Path,
                                                      single_object: bool) -> None:
    fake = FakeZalo(single_object)
    client = await start(aiohttp_client, tmp_path, fake)
    try:
        assert "1. 📝 Đăng ký sản phẩm OCOP" in await reply_to(fake, "/start")
        text = await reply_to(fake, "1")  # the number shown beside "Đăng ký sản phẩm OCOP"
        assert says(text, "consent.notice") and "1. ✅ Đồng ý" in text  # the notice first, numbered too
        text = await reply_to(fake, "1")
        assert "4. Hộ sản xuất kinh doanh" in text
        await reply_to(fake, "4")
        await reply_to(fake, "Hộ Giàng Thị Mai")
        await reply_to(fake, VALID_MST)
        assert says(await reply_to(fake, "Giàng Thị Mai"), "ask.phone_typed")  # asked as text: Zalo has no button
        assert says(await reply_to(fake, "0912 333 444"), "ask.province_code")
        for answer in ("ha giang", "Xã Lũng Cú", "Thôn Séo Lủng", "Chè Shan tuyết", "1", "5", "1", "Chè cổ thụ",
                       "trong tinh", "2 tấn"):
            await reply_to(fake, answer)
        await reply_to(fake, "xong")  # no certifications
        await reply_to(fake, "bo qua")  # no photos
        text = ""
        for _ in range(8):  # documents: hand in on paper, skip the optional ones
            text = await reply_to(fake, "bo qua" if "Bỏ qua" in text else "nop truc tiep")
            if says(text, "review.title"):
                break
        assert says(text, "review.title")
        assert text.count(t("vi", "nav.cancel")) == 1, text  # offered once, among the numbered actions
        number = found(r"(\d+)\. ✅ Xác nhận nộp hồ sơ", text, 1)
        assert re.search(r"OCOP-\d{4}-\d{6}", await reply_to(fake, number))
        assert fake.refused == []  # the pacer kept the chat within Zalo's limits throughout
    finally:
        await client.close()
        await fake.server.close()


async def test_redelivery_long_text_and_groups(aiohttp_client: Any, tmp_path: Path) -> None:
    fake = FakeZalo()
    client = await start(aiohttp_client, tmp_path, fake)
    try:
        fake.say("/start", message_id="same")
        fake.say("/start", message_id="same")  # Zalo delivered it twice
        await reply_to(fake, "/dangky")  # answered after both deliveries: a chat's updates are taken in order
        assert sum(says(text, "welcome") for text in fake.sent()) == 1
        await reply_to(fake, "1")  # agrees to the notice
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
        event = {"event_name": "message.text.received", "message": {
            "message_id": "w1", "text": "/start", "from": {"id": "z9", "display_name": "Lan"},
            "chat": {"id": "z9", "chat_type": "PRIVATE"}}}
        response = await client.post("/webhook/zalo", json=event, headers={ZALO_SECRET_HEADER: secret})
        assert response.status == 200
        await eventually(lambda: bool(fake.sent()))
        assert says(fake.sent()[0], "welcome")
        async with client.app[RUNNER].sessions() as session:
            account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == "z9"))).one()
            assert account.display_name == "Lan"  # webhooks name the sender display_name
        assert not [m for m, _ in fake.calls if m == "deleteWebhook"]
    finally:
        await client.close()
        await fake.server.close()


async def test_without_a_public_address_a_file_on_zalo_says_where_to_see_it_and_the_operator_is_told(
        aiohttp_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeZalo()
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        client = await start(aiohttp_client, tmp_path, fake)
    try:
        assert any("OCOP_PUBLIC_URL" in r.getMessage() for r in caplog.records if r.name == "bot.app")
        await client.app[ZALO].send("z1", Reply("Thống kê", attachments=(
            Attachment("thong-ke.png", "image/png", "Biểu đồ", content=b"\x89PNG\r\n\x1a\n" + b"c" * 100),)))
        assert not [m for m, _ in fake.calls if m == "sendPhoto"]  # Zalo fetches photos by address: there is none
        [text] = fake.sent()
        assert "📎 Biểu đồ: tệp này chưa gửi qua Zalo được" in text and "trang web chat" in text
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
        ics_link = found(r"📎 Tập huấn: (https://\S+)", text, 1)
        for link, body, shown in ((photo["photo"], png, "inline"),
                                  (ics_link, calendar, 'attachment; filename="ocop-training-1.ics"')):
            response = await client.get(link.removeprefix("https://ocop.example.vn"))
            assert response.status == 200 and await response.read() == body
            # A browser shows the photo, saves the calendar under its own name, and guesses no other type.
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Content-Disposition"].startswith(shown)
        renamed = ics_link.removeprefix("https://ocop.example.vn").replace("n=ocop-training-1.ics", "n=x.html")
        assert (await client.get(renamed)).status == 403  # the name to save under is signed too
        path = photo["photo"].removeprefix("https://ocop.example.vn")
        assert (await client.get(path.replace("sig=", "sig=0"))).status == 403  # altered
        assert (await client.get(path.split("?")[0])).status == 403  # unsigned
        secret = WebIdentity(tmp_path / "data").derived("files")  # the server's own secret, kept in its data dir
        expired = link_maker("", secret, clock=lambda: 0)(path.split("/")[2].split("?")[0])
        assert (await client.get(expired)).status == 403
        missing = link_maker("", secret)("0" * 64 + ".png")
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
            await enqueue(session, account_id=account.id, dedupe_key="cert-expiry:1:30:z",
                          reason="cert-expiry", text="⏰ Chứng nhận sắp hết hạn", options=[button])
        client.app[DISPATCHER].kick()
        await eventually(lambda: any("Chứng nhận sắp hết hạn" in text for text in fake.sent()))
        [notice] = [text for text in fake.sent() if "Chứng nhận sắp hết hạn" in text]
        assert "1. 🔄 Đăng ký đánh giá lại" in notice  # the notice's button becomes a number to type
        assert (await outcome_of(client.app[RUNNER].sessions)).status == "sent"
        # Typing 1 is that button (here: a product this chat does not own), not the main menu's "register".
        assert says(await reply_to(fake, "1"), "reevaluate.not_yours")
    finally:
        await client.close()
        await fake.server.close()


async def test_an_empty_long_poll_is_not_an_error(zalo_bot: Any, tmp_path: Path) -> None:
    fake, client = zalo_bot
    await asyncio.sleep(2.0)  # several polls end with 408, "nothing new"
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert says(await reply_to(fake, "/start"), "welcome")
    # With 408 taken for a failure the poller backed off 1, 2, 4 s…: the person waited for the back-off.
    assert loop.time() - started < 1.5
    async with client.app[RUNNER].sessions() as session:
        account = (await session.exec(select(ChatAccount).where(ChatAccount.channel == "zalo"))).one()
        assert account.display_name == "Lan"  # polled updates name the sender first_name


async def test_polling_never_removes_a_webhook_set_elsewhere(aiohttp_client: Any, tmp_path: Path) -> None:
    fake = FakeZalo(webhook="https://production.example.vn/webhook/zalo")
    await fake.server.start_server()
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'z.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), ZALO_BOT_TOKEN=TOKEN,
                        ZALO_API_BASE_URL=f"http://127.0.0.1:{fake.server.port}")
    runner = web.AppRunner(build_app(settings))  # as `ocop-bot run` starts it
    try:
        with pytest.raises(StartupError, match="webhook"):
            await runner.setup()
        assert fake.webhook == "https://production.example.vn/webhook/zalo"
        assert not [m for m, _ in fake.calls if m == "deleteWebhook"]
    finally:
        await runner.cleanup()
        await fake.server.close()


@pytest.mark.parametrize("field", ["photo_url", "photo"])
async def test_a_photo_sent_on_zalo_is_stored_like_any_upload(zalo_bot: Any, tmp_path: Path,
                                                             field: str) -> None:
    fake, _client = zalo_bot
    await reply_to(fake, "/dangky")
    for answer in ("đồng ý", "1", "HTX Tân Thành", VALID_MST, "Trần Văn Bình", "0912 345 678", "lam dong", "lac duong",
                   "Thôn 1", "Mật ong", "1", "1", "1", "Mật ong rừng", "1", "2 tấn"):
        text = await reply_to(fake, answer)
    text = await reply_to(fake, "xong")  # no certifications: now the product photos
    assert says(text, "ask.photos")
    text = await reply_to_event(fake, lambda: fake.send_photo(JPEG, field=field))
    assert says(text, "form.files_received", count=1)
    text = await reply_to_event(fake, lambda: fake.send_photo(EXE, field=field))
    assert "JPG" in text and says(text, "form.files_received", count=1)  # refused by its bytes; the first photo is kept
    text = await reply_to_event(fake, lambda: fake.send_photo(None, field=field))  # Zalo lost the file
    assert says(text, "form.files_received", count=1) and says(text, "error.file_download_failed")
    files = list((tmp_path / "data" / "files").rglob("*.jpg"))
    assert len(files) == 1 and files[0].read_bytes() == JPEG


async def test_a_withheld_message_gets_a_kind_answer_and_the_question_again(zalo_bot: Any) -> None:
    fake, _client = zalo_bot
    await reply_to(fake, "/dangky")
    text = await reply_to_event(fake, fake.send_unsupported)
    assert says(text, "error.unreadable") and "1. ✅ Đồng ý" in text  # the notice again, not the menu
    await reply_to(fake, "1")
    text = await reply_to_event(fake, fake.send_unsupported)
    assert says(text, "error.unreadable") and "1. Hợp tác xã" in text
    assert "JPG" not in text


async def test_zalo_prompts_promise_no_buttons(zalo_bot: Any) -> None:
    fake, _client = zalo_bot
    said = [await reply_to(fake, "/start"), await reply_to(fake, "/dangky")]
    for answer in ("1", "1", "HTX Tân Thành", VALID_MST, "Trần Văn Bình"):
        said.append(await reply_to(fake, answer))
    assert says(said[-1], "ask.phone_typed")
    assert not [text for text in said if re.search(r"\bbấm\b|\bnút\b", text, re.IGNORECASE)], said


async def test_a_pdf_reaches_a_zalo_chat_through_a_one_time_upload_link(aiohttp_client: Any, tmp_path: Path) -> None:
    fake = FakeZalo()
    client = await start(aiohttp_client, tmp_path, fake, OCOP_PUBLIC_URL="https://ocop.example.vn")
    secret = webhook_secret(TOKEN, "zalo")

    async def say(text: str) -> str:
        event = {"event_name": "message.text.received", "message": {
            "message_id": f"w{len(fake.calls)}-{text[:8]}", "text": text, "date": int(time.time() * 1000),
            "from": {"id": "z1", "display_name": "Lan"}, "chat": {"id": "z1", "chat_type": "PRIVATE"}}}

        async def post() -> None:
            assert (await client.post("/webhook/zalo", json=event,
                                      headers={ZALO_SECRET_HEADER: secret})).status == 200

        return await reply_to_event(fake, post)

    async def post_files(path: str, *files: tuple[bytes, str, str]) -> Any:
        form = aiohttp.FormData()
        for content, name, mime in files:
            form.add_field("file", io.BytesIO(content), filename=name, content_type=mime)
        return await client.post(path, data=form)

    try:
        await say("/dangky")
        for answer in ("1", "1", "HTX Tân Thành", VALID_MST, "Trần Văn Bình", "0912 345 678", "lam dong", "lac duong",
                       "Thôn 1", "Mật ong", "1", "1", "1", "Mật ong rừng", "1", "2 tấn", "xong"):
            await say(answer)
        text = await say("bo qua")  # no product photos: the first dossier document, which may be a PDF
        link = found(r"https://ocop\.example\.vn(/u/\S+)", text, 1)
        assert says(text, "upload.link")
        page = await client.get(link)
        assert page.status == 200 and says(await page.text(), "api.upload_title")
        refused = await post_files(link, (PDF[:-8], "cut.pdf", "application/pdf"))  # cut off in transfer
        assert refused.status == 200 and says((await refused.json())["text"], "error.file_incomplete")
        assert says(fake.sent()[-2], "error.file_incomplete") or says(fake.sent()[-1], "error.file_incomplete")
        assert (await post_files(link, (PDF, "a.pdf", "application/pdf"))).status == 403  # once only
        link = found(r"https://ocop\.example\.vn(/u/\S+)", fake.sent()[-1], 1)
        sent = await post_files(link, (PDF, "phieu-dang-ky.pdf", "application/pdf"))
        assert sent.status == 200 and says((await sent.json())["text"], "upload.back_to_zalo")
        assert says(fake.sent()[-1], "form.files_received", count=1)  # the conversation goes on in Zalo
        assert [p.suffix for p in (tmp_path / "data" / "files").rglob("*.pdf")] == [".pdf"]
        assert (await client.get(link[:-4] + "0000")).status == 403  # altered
    finally:
        await client.close()
        await fake.server.close()


async def test_outbox_drain_sends_with_only_zalo_configured(tmp_path: Path) -> None:
    fake = FakeZalo()
    await fake.server.start_server()
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'd.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), ZALO_BOT_TOKEN=TOKEN, OCOP_QUIET_HOURS="",
                        ZALO_API_BASE_URL=f"http://127.0.0.1:{fake.server.port}")
    try:
        engine = create_engine(settings.database_url)
        await upgrade_database(engine)
        async with create_sessionmaker(engine)() as session, session.begin():
            account = ChatAccount(channel="zalo", chat_id="z-drain")
            session.add(account)
            await session.flush()
            await enqueue(session, account_id=account.id, dedupe_key="drain:1", reason="app-status",
                          text="📋 Hồ sơ đã được xã kiểm tra")
        await engine.dispose()
        code, lines = await drain(settings)
        assert code == 0 and "1" in lines[0]
        assert fake.sent() == ["📋 Hồ sơ đã được xã kiểm tra"]
    finally:
        await fake.server.close()


def test_the_time_a_message_was_sent_is_read_so_a_backlog_is_not_a_flood() -> None:
    from bot.channels.zalo import _sent_at

    assert _sent_at(1_790_000_000_000) == datetime(2026, 9, 21, 14, 13, 20, tzinfo=UTC)
    assert _sent_at("soon") is None and _sent_at(True) is None and _sent_at(10**20) is None
