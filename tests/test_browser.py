"""The web chat page in a real browser: Debian's headless Chromium, driven by Playwright, against the real app."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.app import RUNNER, build_app
from bot.channels.web_identity import COOKIE
from bot.channels.web_push import new_private_key
from bot.settings import Settings
from storage.models import ChatAccount
from storage.outbox import enqueue
from tests.support.catalog import says
from tests.support.checks import present
from tests.support.fakes import JPEG, PDF, VALID_MST
from tests.support.web import chat_id_of

if TYPE_CHECKING:  # the browser tools are an optional install
    from playwright.async_api import Browser, Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI must run the browser tests: .ci/run installs Debian's chromium package")
    pytest.skip("Chromium is not installed (apt-get install chromium); CI installs it", allow_module_level=True)

playwright_api = pytest.importorskip("playwright.async_api")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_QUIET_HOURS="", OCOP_FLOOD_BURST=1000)
    server = TestServer(build_app(settings), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        await browser.close()


async def _register_first_steps(page: Page, base: str) -> None:
    expect = playwright_api.expect
    await page.goto(base)
    # The page greets by itself: it sends /start on load.
    await expect(page.locator(".msg.bot").first).to_contain_text("Xin chào")
    register = page.locator('.options button[data-id="menu:register"]').last
    await register.click()
    # The tapped option shows as the person's own bubble; old buttons are switched off.
    await expect(page.locator(".msg.me").last).to_have_text(await register.text_content())
    await expect(register).to_be_disabled()
    # The personal-data notice comes first, with its two buttons; agreeing is a tap like any other.
    await expect(page.locator(".msg.bot").last).to_contain_text("Nghị định 13/2023")
    await page.locator('.options button[data-id="consent:yes"]').last.click()
    await expect(page.locator(".msg.bot").last).to_contain_text("thuộc loại nào")
    await page.fill("#text", "Hợp tác xã")
    await page.press("#text", "Enter")
    await expect(page.locator(".msg.me").last).to_have_text("Hợp tác xã")
    await expect(page.locator(".msg.bot").last).to_contain_text("Tên đầy đủ")
    await expect(page.locator("#text")).to_have_value("")


async def test_open_tap_type_and_read_replies(server: TestServer, browser: Browser) -> None:
    page = await browser.new_page()
    await _register_first_steps(page, str(server.make_url("/")))
    # A reload keeps the same chat (the server's identity cookie) and shows the recent conversation, the open
    # question still answerable; nothing was sent to the server for it.
    await page.reload()
    expect = playwright_api.expect
    await expect(page.locator(".msg.bot").first).to_contain_text("Xin chào")
    await expect(page.locator(".msg.me").last).to_have_text("Hợp tác xã")
    await expect(page.locator(".msg.bot").last).to_contain_text("Tên đầy đủ")
    await expect(page.locator('.options button[data-id="menu:register"]').last).to_be_disabled()
    await expect(page.locator('.options button[data-id="nav:cancel"]').last).to_be_enabled()
    await page.fill("#text", "HTX Tân Thành")
    await page.press("#text", "Enter")
    await expect(page.locator(".msg.bot").last).to_contain_text("Mã số thuế")


async def test_what_is_typed_while_the_server_is_down_is_answered_after_a_reload(server: TestServer,
                                                                               browser: Browser) -> None:
    """The connection drops, the person types their answer anyway and reloads the page: the answer is sent when the
    server is back, once, and the next question comes."""
    expect = playwright_api.expect
    page = await browser.new_page()
    await _register_first_steps(page, str(server.make_url("/")))
    await page.route("**/api/chat", lambda route: route.abort())  # the server cannot be reached
    await page.fill("#text", "HTX Tân Thành")
    await page.press("#text", "Enter")
    await expect(page.locator("#status")).not_to_be_empty()  # "trying again" is said
    await page.unroute("**/api/chat")  # back
    await page.reload()
    await expect(page.locator(".msg.bot").last).to_contain_text("Mã số thuế")
    assert await page.locator(".msg.me", has_text="HTX Tân Thành").count() == 1


async def test_a_notice_appears_on_the_open_page_without_typing(server: TestServer, browser: Browser) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(str(server.make_url("/")))
    await playwright_api.expect(page.locator(".msg.bot").first).to_contain_text("Xin chào")
    [cookie] = [c for c in await context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    async with server.app[RUNNER].sessions() as session, session.begin():
        account = (await session.exec(select(ChatAccount).where(
            ChatAccount.chat_id == chat_id_of(cookie["value"])))).one()
        await enqueue(session, account_id=account.id, dedupe_key="browser-notice", reason="app-status",
                      text="✅ Hồ sơ của anh/chị đã được công nhận 4 sao",
                      options=[{"id": "menu:status", "label": "🔎 Tra cứu hồ sơ"}])
    present(server.app[RUNNER].on_outbox)()
    await playwright_api.expect(page.locator(".msg.bot").last).to_contain_text("công nhận 4 sao")
    await playwright_api.expect(page.locator('.options button[data-id="menu:status"]').last).to_be_enabled()
    await context.close()


async def test_photos_and_a_pdf_attached_from_the_phone(server: TestServer, browser: Browser,
                                                        tmp_path: Path) -> None:
    expect = playwright_api.expect
    context = await browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await _register_first_steps(page, str(server.make_url("/")))
    attach = page.locator("#attach")
    await expect(attach).to_be_hidden()  # no file is asked for yet: nothing to attach
    for answer in ("HTX Tân Thành", VALID_MST, "Trần Văn Bình", "0912 345 678", "lam dong", "lac duong", "Thôn 1",
                   "Mật ong", "1", "1", "1", "Mật ong rừng", "1", "2 tấn", "xong"):
        count = await page.locator(".msg.bot").count()
        await page.fill("#text", answer)
        await page.press("#text", "Enter")
        await expect(page.locator(".msg.bot")).not_to_have_count(count)
    await expect(page.locator(".msg.bot").last).to_contain_text("Gửi ảnh sản phẩm")
    await expect(attach).to_be_visible()
    await expect(page.locator("#document")).to_be_hidden()  # photos only at this step
    photo, pdf = tmp_path / "mat-ong.jpg", tmp_path / "phieu.pdf"
    photo.write_bytes(JPEG)
    pdf.write_bytes(PDF)
    await page.locator("#camera input").set_input_files([str(photo), str(photo)])
    await expect(page.locator(".msg.bot").last).to_contain_text("Đã nhận 2 tệp")
    await page.locator('.options button[data-id="nav:done"]').last.click()
    await expect(page.locator(".msg.bot").last).to_contain_text("Giấy tờ")
    await expect(page.locator("#document")).to_be_visible()  # a document step takes PDFs too
    await page.locator("#document input").set_input_files([str(pdf)])
    await expect(page.locator(".msg.bot").last).to_contain_text("Đã nhận 1 tệp")
    await page.screenshot(path=str(tmp_path / "attached.png"))
    await context.close()


async def test_notifications_are_offered_once_after_the_first_registration(tmp_path: Path, browser: Browser) -> None:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_FLOOD_BURST=1000,
                        OCOP_VAPID_PRIVATE_KEY=new_private_key(), OCOP_VAPID_SUBJECT="mailto:ocop@lamdong.gov.vn")
    server = TestServer(build_app(settings), host="127.0.0.1")  # http on 127.0.0.1 counts as secure for push
    await server.start_server()
    expect = playwright_api.expect
    try:
        context = await browser.new_context()
        page = await context.new_page()
        await _register_first_steps(page, str(server.make_url("/")))
        offer = page.locator(".msg.bot", has_text="nhận thông báo trên điện thoại")
        await expect(offer).to_have_count(0)  # never on first load, nor while registering
        for answer in ("HTX Tân Thành", VALID_MST, "Trần Văn Bình", "0912 345 678", "lam dong", "lac duong",
                       "Thôn 1", "Mật ong", "1", "1", "1", "Mật ong rừng", "1", "2 tấn", "xong", "bo qua"):
            count = await page.locator(".msg.bot").count()
            await page.fill("#text", answer)
            await page.press("#text", "Enter")
            await expect(page.locator(".msg.bot")).not_to_have_count(count)
        for _ in range(12):
            last = await page.locator(".msg.bot").last.text_content() or ""
            if says(last, "review.question") or "kiểm tra lại" in last:
                break
            count = await page.locator(".msg.bot").count()
            await page.fill("#text", "bo qua" if await page.locator('.options button[data-id="nav:skip"]:enabled')
                            .count() else "nop truc tiep")
            await page.press("#text", "Enter")
            await expect(page.locator(".msg.bot")).not_to_have_count(count)
        await page.locator('.options button[data-id="nav:submit"]').last.click()
        await expect(page.locator(".msg.bot", has_text="OCOP-")).to_have_count(1)
        await expect(offer).to_have_count(1)  # asked once, after the registration went in
        await expect(page.get_by_role("button", name="🔔 Có, nhận thông báo")).to_be_visible()
        await page.reload()
        await expect(page.locator(".msg.bot", has_text="OCOP-")).to_have_count(1)
        await expect(offer).to_have_count(0)  # asked once only: not again after a reload
        await context.close()
    finally:
        await server.close()


async def test_phone_sized_screen(server: TestServer, browser: Browser) -> None:
    context = await browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True,
                                        device_scale_factor=2)
    page = await context.new_page()
    await _register_first_steps(page, str(server.make_url("/")))
    # Nothing runs off the side of a small phone, and the answer box and its button stay on screen.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    for selector in ("#text", "#form button"):
        box = await page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
        assert box["y"] + box["height"] <= 640
    await context.close()
