"""Files as phones send them, on every channel: real camera photos of several MB (one stored sideways with an EXIF
orientation), a screenshot, a multi-page PDF and an iPhone HEIC, served by the fakes in chunks with real headers.
A 216-byte stub served in one piece once hid that Zalo refused every real photo."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image, ImageChops, ImageStat
from telegram import Bot, Update

from bot.app import build_app
from bot.channels.bodies import MAX_DOWNLOAD
from bot.channels.telegram import TelegramChannel, to_incoming
from bot.channels.telegram_request import AiohttpBotRequest
from bot.settings import Settings
from tests.support.catalog import says
from tests.support.fakes import FakeBotApi, telegram_app
from tests.support.files import (
    CAMERA_12MP,
    DOSSIER_PDF,
    IPHONE_HEIC,
    PHOTO_2MB,
    PHOTO_150K,
    SCREENSHOT,
    fixture,
    serve_in_chunks,
)
from tests.support.flows import TYPED_TO_PHOTOS
from tests.support.telegram import TelegramUser
from tests.support.uploads import reach_photos, say, text, upload
from tests.support.zalo import FakeZalo, pump_webhook, reply_to, reply_to_event, start

ANSWERS_TO_PHOTOS = ("đồng ý", *TYPED_TO_PHOTOS)


def kept_photos(tmp_path: Path) -> list[Image.Image]:
    files = sorted((tmp_path / "data" / "files").rglob("*.*"), key=lambda p: p.stat().st_mtime)
    return [Image.open(io.BytesIO(p.read_bytes())) for p in files if p.suffix in (".jpg", ".png")]


def looks_like(kept: Image.Image, upright: Image.Image) -> bool:
    """Whether two pictures show the same thing the same way up (small grey versions, compared pixel by pixel)."""
    size = (48, 64)
    a, b = (image.convert("L").resize(size) for image in (kept, upright))
    return ImageStat.Stat(ImageChops.difference(a, b)).mean[0] < 12


def upright_original(name: str) -> Image.Image:
    from PIL import ImageOps
    return ImageOps.exif_transpose(Image.open(io.BytesIO(fixture(name))))


@pytest.fixture
async def zalo_and_page(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[tuple[FakeZalo, TestClient]]:
    fake = FakeZalo()
    client = await start(aiohttp_client, tmp_path, fake, OCOP_PUBLIC_URL="https://ocop.example.vn")
    pump = asyncio.create_task(pump_webhook(fake, client))  # with a public address, Zalo posts to the webhook
    yield fake, client
    pump.cancel()
    await client.close()
    await fake.server.close()


@pytest.fixture
def zalo(zalo_and_page: tuple[FakeZalo, TestClient]) -> FakeZalo:
    return zalo_and_page[0]


@pytest.mark.parametrize("field", ["photo_url", "photo"])
async def test_camera_photos_of_several_mb_sent_on_zalo_are_kept_whole_and_upright(
        zalo: FakeZalo, tmp_path: Path, field: str) -> None:
    await reply_to(zalo, "/dangky")
    for answer in ANSWERS_TO_PHOTOS:
        text = await reply_to(zalo, answer)
    assert says(text, "ask.photos")
    assert says(text, "upload.link_photo")  # Zalo may refuse a photo: the upload page is offered at a photo step too
    for count, name in enumerate((PHOTO_150K, PHOTO_2MB, CAMERA_12MP), 1):
        text = await reply_to_event(zalo, partial(zalo.send_photo, fixture(name), field=field))
        assert says(text, "form.files_received", count=count), (name, text)
    small, medium, camera = kept_photos(tmp_path)
    assert small.size == (960, 1280)  # small enough: kept as sent
    assert medium.size == (2560, 1920)  # a 5-megapixel photo fitted into 2560 px
    assert camera.size == (1920, 2560)  # the phone was held upright: so is the kept photo
    assert looks_like(camera, upright_original(CAMERA_12MP))
    assert not looks_like(camera.rotate(180), upright_original(CAMERA_12MP))  # the comparison can tell


async def test_an_iphone_heic_or_a_cut_off_photo_on_zalo_gets_what_to_do_next(zalo: FakeZalo) -> None:
    await reply_to(zalo, "/dangky")
    for answer in ANSWERS_TO_PHOTOS:
        await reply_to(zalo, answer)
    text = await reply_to_event(zalo, lambda: zalo.send_photo(fixture(IPHONE_HEIC)))
    assert says(text, "error.file_heic") and says(text, "upload.link_photo")
    cut = fixture(PHOTO_2MB)[:1_500_000]
    text = await reply_to_event(zalo, lambda: zalo.send_photo(cut))
    assert says(text, "error.file_incomplete") and says(text, "upload.link_photo")
    text = await reply_to_event(zalo, lambda: zalo.send_photo(fixture(PHOTO_150K)))
    assert says(text, "form.files_received", count=1)


async def test_a_multi_page_pdf_reaches_a_zalo_dossier_through_the_upload_page(
        zalo_and_page: tuple[FakeZalo, TestClient], tmp_path: Path) -> None:
    fake, client = zalo_and_page
    await reply_to(fake, "/dangky")
    for answer in ANSWERS_TO_PHOTOS:
        await reply_to(fake, answer)
    text = await reply_to(fake, "bo qua")  # no photos: the first document is asked, with the upload page
    assert says(text, "upload.link")
    page = re.search(r"https://ocop\.example\.vn(/u/\S+)", text)
    assert page is not None
    form = aiohttp.FormData()
    form.add_field("file", fixture(DOSSIER_PDF), filename="phieu_dang_ky.pdf", content_type="application/pdf")
    before = len(fake.sent())
    response = await client.post(page.group(1), data=form)
    assert response.status == 200 and says((await response.json())["text"], "upload.back_to_zalo")
    for _ in range(200):  # the conversation goes on in Zalo
        if len(fake.sent()) > before:
            break
        await asyncio.sleep(0.05)
    assert says("\n".join(fake.sent()[before:]), "form.files_received", count=1)
    assert [p.read_bytes() for p in (tmp_path / "data" / "files").rglob("*.pdf")] == [fixture(DOSSIER_PDF)]
    for message in fake.sent():  # no list on Zalo shows an item twice, and no option line is cut
        items = [line.split(". ", 1)[1] for line in message.splitlines() if re.match(r"^\d+\. ", line)]
        assert len(items) == len(set(items)), message


# --- Telegram: getFile, then the file from the Bot API's file server, in chunks -------------------------------------

@pytest.fixture
async def bot_api() -> AsyncIterator[tuple[TestServer, dict[str, bytes]]]:
    files: dict[str, bytes] = {}

    async def method(request: web.Request) -> web.Response:
        form = await request.post()
        if request.match_info["method"] == "getFile":
            file_id = str(form["file_id"])
            return web.json_response({"ok": True, "result": {
                "file_id": file_id, "file_unique_id": file_id, "file_size": len(files[file_id]),
                "file_path": f"photos/{file_id}.jpg"}})
        return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "OCOP",
                                                         "username": "ocop_bot"}})  # getMe

    async def download(request: web.Request) -> web.StreamResponse:
        content = files[request.match_info["path"].removeprefix("photos/").removesuffix(".jpg")]
        return await serve_in_chunks(request, content, length=len(content) % 2 == 0)

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", method)
    app.router.add_get("/file/bot{token}/{path:.+}", download)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server, files
    await server.close()


def photo_update(bot: Bot, file_id: str, size: int) -> Update:
    return Update.de_json({"update_id": 7, "message": {
        "message_id": 1, "date": 1_765_000_000, "chat": {"id": 42, "type": "private"},
        "from": {"id": 42, "is_bot": False, "first_name": "Lan"},
        "photo": [{"file_id": f"{file_id}-thumb", "file_unique_id": "t", "width": 90, "height": 120, "file_size": 900},
                  {"file_id": file_id, "file_unique_id": "u", "width": 1280, "height": 960, "file_size": size}]}},
        bot)


@pytest.mark.parametrize("name", [CAMERA_12MP, PHOTO_2MB, SCREENSHOT, DOSSIER_PDF])
async def test_a_telegram_file_is_downloaded_whole(bot_api: tuple[TestServer, dict[str, bytes]], name: str) -> None:
    server, files = bot_api
    files["f1"] = fixture(name)
    base = f"http://127.0.0.1:{server.port}"
    async with Bot("1:T", base_url=f"{base}/bot", base_file_url=f"{base}/file/bot",
                   request=AiohttpBotRequest()) as bot:
        incoming = to_incoming(photo_update(bot, "f1", len(files["f1"])))
        assert incoming is not None and incoming.file is not None
        assert await incoming.file.read() == fixture(name)


async def test_a_telegram_download_stops_just_past_the_cap(bot_api: tuple[TestServer, dict[str, bytes]]) -> None:
    server, files = bot_api
    files["big"] = b"\xff\xd8\xff" + b"\x00" * (MAX_DOWNLOAD + 5 * 1024 * 1024)
    base = f"http://127.0.0.1:{server.port}"
    async with Bot("1:T", base_url=f"{base}/bot", base_file_url=f"{base}/file/bot",
                   request=AiohttpBotRequest()) as bot:
        incoming = to_incoming(photo_update(bot, "big", len(files["big"])))
        assert incoming is not None and incoming.file is not None
        assert len(await incoming.file.read()) == MAX_DOWNLOAD + 1  # enough to refuse it, not the whole body


# --- The web page: multipart from a phone browser, each file read to its end ---------------------------------------

@pytest.fixture
async def web_client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_FLOOD_BURST=1000)
    return await aiohttp_client(build_app(settings, run_scheduler=False))


async def test_real_files_from_a_phone_browser_are_kept_and_a_heic_is_refused_kindly(web_client: TestClient,
                                                                                     tmp_path: Path) -> None:
    await reach_photos(web_client)
    replies = await upload(web_client, (fixture(CAMERA_12MP), "20261120_084107.jpg", "image/jpeg"),
                           (fixture(SCREENSHOT), "Screenshot_20261120.png", "image/png"))
    assert says(text(replies), "form.files_received", count=2)
    assert says(text(await upload(web_client, (fixture(IPHONE_HEIC), "IMG_0042.HEIC", "image/heic"))),
                "error.file_heic")
    assert says(text(await upload(web_client, (fixture(IPHONE_HEIC), "IMG_0042.jpg", "image/jpeg"))),
                "error.file_heic")  # named .jpg by the browser, HEIC by its bytes
    camera, screenshot = kept_photos(tmp_path)
    assert camera.size == (1920, 2560) and looks_like(camera, upright_original(CAMERA_12MP))
    assert screenshot.size == (1080, 2340)
    replies = await say(web_client, "xong")
    assert replies[-1]["accepts"] == "document"
    assert says(text(await upload(web_client, (fixture(DOSSIER_PDF), "don_dang_ky.pdf", "application/pdf"))),
                "form.files_received", count=1)
    pdfs = list((tmp_path / "data" / "files").rglob("*.pdf"))
    assert [p.read_bytes() for p in pdfs] == [fixture(DOSSIER_PDF)]  # a PDF is kept to the byte


async def test_a_camera_photo_and_a_multi_page_pdf_sent_on_telegram_are_kept(make_runner: Callable, sqlite_url: str,
                                                                              tmp_path: Path) -> None:
    api = FakeBotApi()
    runner = await make_runner(sqlite_url, max_upload_mb=10)
    channel = TelegramChannel(telegram_app(api), runner.handle)
    await channel.start(polling=False)
    lan = TelegramUser(channel, api)
    try:
        await lan.reach_photos()
        assert says(lan.text, "ask.photos")
        await lan.photo(fixture(CAMERA_12MP))
        assert says(lan.text, "form.files_received", count=1)
        await lan.say("xong")
        await lan.document(fixture(DOSSIER_PDF), "application/pdf", "phieu_dang_ky.pdf")
        assert says(lan.text, "form.files_received", count=1)
        [camera] = kept_photos(tmp_path)
        assert camera.size == (1920, 2560) and looks_like(camera, upright_original(CAMERA_12MP))
        assert [p.read_bytes() for p in (tmp_path / "data" / "files").rglob("*.pdf")] == [fixture(DOSSIER_PDF)]
    finally:
        await channel.stop()
