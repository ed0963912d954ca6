"""The Telegram channel through python-telegram-bot's real Application.process_update.

The Bot API is a recording fake (tests/support/fakes.py): nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.channels.telegram import TelegramChannel
from bot.channels.text import split_text
from messages import t
from tests.support.catalog import says
from tests.support.checks import found
from tests.support.fakes import EXE, JPEG, PDF, VALID_MST, FakeBotApi, outcome_of, telegram_app
from tests.support.flood_rules import CHAT_INTERVAL
from tests.support.seed import invite
from tests.support.telegram import TelegramUser, _ids
from tests.support.waiting import eventually
from tests.support.web import post_chat


@pytest.fixture
async def telegram(make_runner: Callable, db_url: str) -> AsyncIterator[tuple[TelegramChannel, FakeBotApi]]:
    api = FakeBotApi()
    runner = await make_runner(db_url)
    channel = TelegramChannel(telegram_app(api), runner.handle)
    await channel.start(polling=False)
    yield channel, api
    await channel.stop()


async def test_command_menu_is_set_at_start(telegram: tuple[TelegramChannel, FakeBotApi]) -> None:
    _, api = telegram
    menus = [params for endpoint, params in api.calls if endpoint == "setMyCommands"]
    assert len(menus) == 2
    vi = next(m for m in menus if "language_code" not in m)
    en = next(m for m in menus if m.get("language_code") == "en")
    assert {c["command"] for c in vi["commands"]} >= {"dangky", "trogiup", "ngonngu", "huy"}
    assert {c["command"] for c in en["commands"]} >= {"register", "help", "language", "cancel"}


async def test_an_officer_gets_the_officers_commands_in_their_own_chat(make_runner: Callable,
                                                                      sqlite_url: str) -> None:
    api = FakeBotApi()
    runner = await make_runner(sqlite_url)
    channel = TelegramChannel(telegram_app(api), runner.handle)
    await channel.start(polling=False)
    try:
        officer = TelegramUser(channel, api)
        await officer.say(f"/canbo {await invite(runner.sessions)}")
        assert says(officer.text, "officer.welcome")
    finally:
        await channel.stop()
    scoped = [params for endpoint, params in api.calls if endpoint == "setMyCommands" and params.get("scope")]
    assert [_json(m["scope"]) for m in scoped] == [{"type": "chat", "chat_id": officer.user_id}] * 2  # vi and en
    vi = next(m for m in scoped if "language_code" not in m)
    listed = {c["command"] for c in _json(vi["commands"])}
    assert {"hoso", "thongbao", "thongke", "dangky"} <= listed  # the officer's, and everyone's
    everyone = next(m for m in api.calls if m[0] == "setMyCommands" and not m[1].get("scope"))[1]
    assert "hoso" not in {c["command"] for c in _json(everyone["commands"])}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def test_full_registration_on_telegram(telegram: tuple[TelegramChannel, FakeBotApi]) -> None:
    channel, api = telegram
    lan = TelegramUser(channel, api)
    await lan.say("/start")
    assert says(lan.text, "welcome")
    await lan.press("📝 Đăng ký sản phẩm OCOP")
    await lan.press("✅ Đồng ý")
    await lan.press("Hộ sản xuất kinh doanh")
    for answer in ("Hộ Lò Văn Sáng", VALID_MST, "Lò Văn Sáng"):
        await lan.say(answer)
    assert t("vi", "nav.share_phone") in lan.buttons
    await lan.share_contact("+84 912 000 111", owner=9999)  # somebody else's contact card
    assert says(lan.text, "error.contact_not_yours")
    await lan.share_contact("84912000111", owner=lan.user_id)
    await lan.press("Sơn La")
    for answer in ("Xã Mường Bú", "Bản Bú", "Cà phê Arabica Mường Bú"):
        await lan.say(answer)
    await lan.press("Thực phẩm")
    await lan.press("Cà phê, ca cao")
    await lan.press("Cà phê")  # the phân nhóm
    await lan.say("Cà phê Arabica trồng dưới tán rừng, chế biến ướt")
    await lan.press("Trong tỉnh")
    await lan.say("12 tấn")
    question = api.sent()[-1]
    await lan.press_inline("Nhãn hiệu")  # a tap ticks it in place: the question's own buttons change
    [(edit, changed)] = [(e, p) for e, p in api.calls[-1:] if e == "editMessageReplyMarkup"]
    assert changed["message_id"] == lan.last_message_id and "✅ Nhãn hiệu" in str(changed["reply_markup"])
    assert api.sent()[-1] is question  # no second copy of the question
    await lan.press_inline("👍 Xong")
    await lan.photo(JPEG)
    assert says(lan.text, "form.files_received", count=1)
    await lan.press("👍 Xong")
    await lan.document(EXE, "application/x-msdownload", "hoso.exe")
    assert says(lan.text, "error.file_type_document")
    await lan.document(PDF, "application/pdf", "phieu.pdf", size=30 * 1024 * 1024)
    assert says(lan.text, "error.file_too_big")
    await lan.document(PDF, "application/pdf", "phieu.pdf")
    await lan.press("👍 Xong")
    while t("vi", "nav.paper") in lan.buttons:
        await lan.press("⏭ Bỏ qua" if t("vi", "nav.skip") in lan.buttons else t("vi", "nav.paper"))
    assert says(lan.text, "review.title") and "0912 000 111" in lan.shown
    await lan.press_inline("✅ Xác nhận nộp hồ sơ")
    assert re.search(r"OCOP-\d{4}-\d{6}", lan.text)
    assert [e for e, _ in api.calls].count("getFile") == 2  # the photo and the PDF were downloaded
    assert [e for e, _ in api.calls].count("answerCallbackQuery") == 3  # every tap acknowledged: tick, done, submit


async def test_an_album_of_three_photos_gets_one_answer(telegram: tuple[TelegramChannel, FakeBotApi]) -> None:
    channel, api = telegram
    lan = TelegramUser(channel, api)
    await lan.reach_photos()
    assert says(lan.text, "ask.photos")
    before = len(api.sent())
    await asyncio.gather(*(lan.photo(JPEG, album="13579") for _ in range(3)))  # as Telegram delivers an album
    answers = [m["text"] for m in api.sent()[before:]]
    assert len(answers) == 1 and says(answers[0], "form.files_received", count=3), answers


async def test_groups_are_ignored(telegram: tuple[TelegramChannel, FakeBotApi]) -> None:
    channel, api = telegram
    app = channel.application
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "/start",
                                          "chat": {"id": -100, "type": "supergroup", "title": "HTX"},
                                          "from": {"id": 5, "is_bot": False, "first_name": "A"}}}
    await app.process_update(Update.de_json(update, app.bot))
    assert api.sent() == []


async def test_stickers_and_voice_get_an_answer(telegram: tuple[TelegramChannel, FakeBotApi]) -> None:
    channel, api = telegram
    lan = TelegramUser(channel, api)
    await lan.say("/dangky")
    await lan.agree_if_asked()
    await lan._update({"message": lan._message(sticker={"file_id": "st", "file_unique_id": "st", "width": 1,
                                                        "height": 1, "is_animated": False, "is_video": False,
                                                        "type": "regular"})})
    assert says(lan.text, "error.file_not_expected")


def test_long_text_is_split_at_paragraphs() -> None:
    text = "\n\n".join(f"Đoạn {i}: " + "chữ " * 300 for i in range(5))
    pieces = split_text(text, 4096)
    assert all(len(p) <= 4096 for p in pieces) and len(pieces) > 1
    assert all(p.startswith("Đoạn") for p in pieces)


async def test_every_main_menu_button_works_when_tapped(telegram: tuple[TelegramChannel, FakeBotApi]) -> None:
    channel, api = telegram
    lan = TelegramUser(channel, api)
    await lan.say("/start")
    await lan.press("❓ Trợ giúp")
    assert "/dangky" in lan.text
    await lan.press("🌐 Ngôn ngữ / Language")
    await lan.press("English")
    assert "Switched to English" in lan.text
    await lan.press("📝 Register an OCOP product")
    assert "Personal Data Protection Law" in lan.text  # the notice comes before any personal question
    await lan.press("✅ I agree")
    assert "what kind of producer" in lan.text


async def test_restart_resumes_at_the_same_step(make_runner: Callable, sqlite_url: str) -> None:
    api = FakeBotApi()
    first = TelegramChannel(telegram_app(api),
                            (await make_runner(sqlite_url)).handle)
    await first.start(polling=False)
    lan = TelegramUser(first, api)
    await lan.say("/dangky")
    await lan.agree_if_asked()
    await lan.press("Hợp tác xã")
    await lan.say("HTX Dệt thổ cẩm Lũng Tám")
    await first.stop()  # the server goes down between two messages

    second = TelegramChannel(telegram_app(api),
                             (await make_runner(sqlite_url)).handle)
    await second.start(polling=False)
    lan.channel = second
    await asyncio.sleep(CHAT_INTERVAL)  # a restart takes longer than a chat's second (the new pacer cannot know)
    await lan.say("0300588569")
    assert "người đại diện" in lan.text  # the tax code answered the question that was open
    await lan.press("⬅️ Quay lại")
    assert "0300588569" in lan.text
    await second.stop()


async def test_officer_decisions_reach_a_telegram_producer_through_the_outbox(aiohttp_client, tmp_path) -> None:
    """Producer on Telegram, officer on the web chat, one app wired as in production (bot/app.py)."""

    from bot.app import RUNNER, TELEGRAM, build_app
    from bot.settings import Settings
    from tests.support.seed import invite

    api = FakeBotApi()
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), TELEGRAM_BOT_TOKEN="123456:TEST-TOKEN",
                        TELEGRAM_API_BASE_URL="http://127.0.0.1:9", OCOP_QUIET_HOURS="",  # time-independent
                        OCOP_FLOOD_BURST=1000)
    app = build_app(settings, telegram_request=api, telegram_polling=False)
    client = await aiohttp_client(app)
    lan = TelegramUser(app[TELEGRAM], api)
    await lan.say("/dangky")
    await lan.agree_if_asked()
    for answer in ("Doanh nghiệp", "Công ty Chè Hà Giang", VALID_MST, "Vàng Seo Páo", "0912000111", "ha giang",
                   "Xã Lũng Cú", "Thôn 1", "Chè Shan tuyết cổ thụ", "1", "5", "1", "Chè shan tuyết lá to", "1",
                   "2 tấn"):
        await lan.say(answer)
    await lan.say("xong")
    await lan.photo(JPEG)
    await lan.say("xong")
    await lan.document(PDF, "application/pdf", "phieu.pdf")
    await lan.say("xong")
    while t("vi", "nav.paper") in lan.buttons:
        await lan.press("⏭ Bỏ qua" if t("vi", "nav.skip") in lan.buttons else t("vi", "nav.paper"))
    await lan.press_inline("✅ Xác nhận nộp hồ sơ")
    lan_code = found(r"OCOP-\d{4}-\d{6}", lan.text)

    code = await invite(app[RUNNER].sessions, "tuyen-quang")

    async def officer(**body: str) -> dict:
        response = await post_chat(client, "officer-web", body)
        return await response.json()

    await officer(text=f"/canbo {code}")
    listing = await officer(text="/hoso")
    opened = next(o["id"] for r in listing["replies"] for o in r["options"] if o["id"].startswith("app:open:"))
    await officer(choice=opened)
    app_id = opened.rsplit(":", 1)[1]
    await officer(choice=f"app:act:{app_id}:commune_check")
    before = len(api.sent())
    await officer(choice="nav:yes")
    # The outbox sender runs once the officer's update commits, and Telegram paces messages to one chat.
    assert await eventually(lambda: len(api.sent()) > before)
    notice = api.sent()[-1]
    assert int(notice["chat_id"]) == lan.user_id
    assert notice["text"] == t("vi", "notice.commune_checked", code=lan_code, product="Chè Shan tuyết cổ thụ")
    row = await outcome_of(app[RUNNER].sessions)  # committed just after Telegram took it
    assert row.status == "sent" and row.attempts == 1

    # The same files, opened by an officer on Telegram, arrive as a photo and a document.
    officer_tg = TelegramUser(app[TELEGRAM], api, user_id=777)
    await officer_tg.say(f"/canbo {await invite(app[RUNNER].sessions, 'tuyen-quang', name='Cán bộ 2')}")
    await officer_tg.say("/hoso")
    before = len(api.calls)  # the producer's receipt went as a photo already
    await officer_tg.press_inline(next(b["text"] for row in officer_tg._markup()["inline_keyboard"] for b in row
                                       if b["callback_data"].startswith("app:open:")))
    endpoints = [e for e, _ in api.calls[before:]]
    assert endpoints.count("sendPhoto") == 1 and endpoints.count("sendDocument") == 1


class SlowForOneChat(FakeBotApi):
    """Telegram answering one chat's messages slowly (a poor connection on the way), the others at once."""

    def __init__(self, slow_chat: int, seconds: float) -> None:
        super().__init__()
        self.slow_chat, self.seconds = slow_chat, seconds
        self.sent_at: dict[int, float] = {}

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any, **kw: Any
                         ) -> tuple[int, bytes]:
        params = request_data.parameters if request_data else {}
        if url.endswith("/sendMessage"):
            chat = int(params["chat_id"])
            if chat == self.slow_chat:
                await asyncio.sleep(self.seconds)
            self.sent_at.setdefault(chat, asyncio.get_running_loop().time())
        return await super().do_request(url, method, request_data, *args, **kw)


class SlowFirstAnswer(FakeBotApi):
    slowed = False

    async def do_request(self, url: str, method: str, request_data: Any = None, *args: Any, **kw: Any
                         ) -> tuple[int, bytes]:
        answer = await super().do_request(url, method, request_data, *args, **kw)
        if url.endswith("/sendMessage") and not self.slowed:
            self.slowed = True
            await asyncio.sleep(0.3)  # Telegram's answer is slow to come back
        return answer


def update_for(channel: TelegramChannel, chat: int, text: str) -> Update:
    return Update.de_json({"update_id": next(_ids), "message": {
        "message_id": next(_ids), "date": int(time.time()), "text": text, "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "Lan"}}}, channel.application.bot)


async def test_a_slow_chat_does_not_hold_up_the_others(make_runner: Callable, sqlite_url: str) -> None:
    api = SlowForOneChat(slow_chat=1, seconds=1.0)
    channel = TelegramChannel(telegram_app(api),
                              (await make_runner(sqlite_url)).handle)
    await channel.start(polling=False)  # updates go through PTB's own queue and update processor, as in production
    try:
        started = asyncio.get_running_loop().time()
        await channel.application.update_queue.put(update_for(channel, 1, "/start"))
        await channel.application.update_queue.put(update_for(channel, 2, "/start"))
        for _ in range(100):
            if len(api.sent_at) == 2:
                break
            await asyncio.sleep(0.05)
        assert api.sent_at[2] - started < 0.5  # answered while chat 1's reply was still on its way
        assert api.sent_at[1] > api.sent_at[2]
    finally:
        await channel.stop()


async def test_one_chats_quick_messages_are_handled_and_answered_in_order(make_runner: Callable,
                                                                         sqlite_url: str) -> None:
    api = SlowFirstAnswer()  # the answer to the first message takes a while to reach Telegram
    runner = await make_runner(sqlite_url)
    channel = TelegramChannel(telegram_app(api), runner.handle)
    await channel.start(polling=False)
    try:
        for text in ("/dangky", "Đồng ý", "Hợp tác xã", "HTX Tân Thành", VALID_MST, "Trần Văn Bình"):
            await channel.application.update_queue.put(update_for(channel, 7, text))
        for _ in range(100):
            if sum(1 for m in api.sent() if m["chat_id"] == 7) >= 6:
                break
            await asyncio.sleep(0.05)
    finally:
        await channel.stop()
    texts = [m["text"] for m in api.sent() if m["chat_id"] == 7]
    questions = ["Nghị định 13/2023", "thuộc loại nào", "Tên đầy đủ", "Mã số thuế", "người đại diện", "Số điện thoại"]
    assert all(q in t for q, t in zip(questions, texts, strict=True)), texts


def test_the_time_a_telegram_message_was_sent_travels_with_it() -> None:
    from telegram import Bot

    from bot.channels.telegram import to_incoming

    update = Update.de_json({"update_id": 1, "message": {
        "message_id": 1, "date": 1_790_000_000, "text": "/start", "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "Lan"}}}, Bot("123:abc"))
    incoming = to_incoming(update)
    assert incoming is not None and incoming.sent_at is not None
    assert incoming.sent_at.timestamp() == 1_790_000_000  # so a backlog after downtime is not taken for a flood


async def test_a_dossiers_files_arrive_as_albums_and_a_retry_sends_only_what_is_missing(tmp_path: Path) -> None:
    """Twelve files (eight photos, four PDFs) are three messages, not thirteen; if the PDFs' album is refused, what
    is kept for later is the four PDFs alone."""
    from bot.channels.telegram import rest_after, send_reply
    from handlers.types import Attachment, Reply

    files = []
    for n in range(12):
        photo = n < 8
        path = tmp_path / (f"anh-{n}.jpg" if photo else f"giay-{n}.pdf")
        path.write_bytes(JPEG if photo else PDF)
        files.append(Attachment(str(path), "image/jpeg" if photo else "application/pdf", path.name))
    reply = Reply("Hồ sơ OCOP-2026-0001: 12 tệp", attachments=tuple(files))
    api = FakeBotApi()
    application = telegram_app(api)
    await application.initialize()
    try:
        await send_reply(application, 4242, reply)
    finally:
        await application.shutdown()
    assert [endpoint for endpoint, _ in api.calls if endpoint.startswith("send")] == [
        "sendMessage", "sendMediaGroup", "sendMediaGroup"]
    assert api.refused == []
    rest = rest_after(reply, 2)  # the text and the photos' album went out; the PDFs' did not
    assert rest.text == "" and [a.name for a in rest.attachments] == [f"giay-{n}.pdf" for n in range(8, 12)]
    assert rest_after(reply, 0) == reply
