"""The web chat page in a real browser: Debian's headless Chromium, driven by Playwright, against the real app."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.app import NOTICES, RUNNER, build_app
from bot.channels.web_identity import COOKIE
from bot.channels.web_push import new_private_key
from bot.settings import Settings
from storage.models import ChatAccount
from storage.outbox import enqueue
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


def policy_violations(page: Page) -> list[str]:
    """What the browser reports refusing under the page's Content-Security-Policy, from now on (kept up to date)."""
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text else None)
    return refused


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
        refused = policy_violations(page)
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
            if "kiểm tra lại" in last:
                break
            count = await page.locator(".msg.bot").count()
            await page.fill("#text", "bo qua" if await page.locator('.options button[data-id="nav:skip"]:enabled')
                            .count() else "nop truc tiep")
            await page.press("#text", "Enter")
            await expect(page.locator(".msg.bot")).not_to_have_count(count)
        await page.locator('.options button[data-id="nav:submit"]').last.click()
        await expect(page.locator(".msg.bot", has_text="OCOP-")).to_have_count(2)  # the note, then the receipt
        receipt = page.locator("img.receipt")
        await expect(receipt).to_be_visible()
        await expect(receipt).to_be_in_viewport()  # the page stays at the receipt, not at the menu after it
        save = page.locator("a.save")
        await expect(save).to_have_attribute("download", re.compile(r"bien-nhan-OCOP-\d{4}-\d{6}\.png"))
        saved = await page.request.get(await save.evaluate("a => a.href"))
        assert saved.ok and (await saved.body()).startswith(b"\x89PNG")  # the link serves the picture itself
        await expect(offer).to_have_count(1)  # asked once, after the registration went in: after the receipt
        assert await page.evaluate("""() => {
            const receipt = document.querySelector("img.receipt"), offer = [...document.querySelectorAll(".msg.bot")]
                .find(m => m.textContent.includes("nhận thông báo trên điện thoại"));
            return !!(receipt.compareDocumentPosition(offer) & Node.DOCUMENT_POSITION_FOLLOWING);
        }""")
        await page.screenshot(path=str(tmp_path / "receipt.png"))
        assert refused == []  # the receipt picture and the push offer run under the page's policy
        await expect(page.get_by_role("button", name="🔔 Có, nhận thông báo")).to_be_visible()
        await page.reload()
        await expect(page.locator(".msg.bot", has_text="OCOP-")).to_have_count(2)
        await expect(offer).to_have_count(0)  # asked once only: not again after a reload
        await context.close()
    finally:
        await server.close()


async def test_phone_sized_screen(server: TestServer, browser: Browser) -> None:
    context = await browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True,
                                        device_scale_factor=2)
    page = await context.new_page()
    refused = policy_violations(page)
    await _register_first_steps(page, str(server.make_url("/")))
    assert refused == []  # the page's own script and style run under its policy, and nothing else was needed
    with contextlib.suppress(playwright_api.Error):  # an injected inline script, as an XSS adds it: refused, seen
        await page.add_script_tag(content="window.injected = 1")
    assert await page.evaluate("window.injected === undefined")
    await page.wait_for_timeout(200)  # the console message comes a moment after the refusal
    assert refused and "inline script" in refused[0]
    # Nothing runs off the side of a small phone, and the answer box and its button stay on screen.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    for selector in ("#text", "#form button"):
        box = await page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
        assert box["y"] + box["height"] <= 640
    await context.close()


# Debian's Chromium has no push service (it is built without Google's API keys): pushManager.subscribe is refused
# with "permission denied" whatever the page does. This stands in for the push service's registration alone: it
# answers with the fake push service's subscription for this browser, and only under the condition that broke the
# page before (an active service worker), with Chromium's own error otherwise. Everything else is the browser's.
SUBSCRIBE = """(fake) => {
  PushManager.prototype.subscribe = async function () {
    const registration = await navigator.serviceWorker.getRegistration();
    if (!registration || !registration.active) {
      throw new DOMException("Subscription failed - no active Service Worker", "AbortError");
    }
    localStorage.setItem("test-subscription", "1");
    return {endpoint: fake.endpoint, toJSON: () => fake,
            unsubscribe: async () => { localStorage.removeItem("test-subscription"); return true; }};
  };
  PushManager.prototype.getSubscription = async function () {
    return localStorage.getItem("test-subscription") ? {endpoint: fake.endpoint, toJSON: () => fake,
      unsubscribe: async () => { localStorage.removeItem("test-subscription"); return true; }} : null;
  };
}"""


async def test_push_turned_on_after_later_reaches_a_closed_page_and_opens_at_the_notice(
        tmp_path: Path, browser: Browser) -> None:
    import aiohttp

    from storage.models import WebPushSubscription
    from tests.support.fake_push_service import Browser as PushSubscriber
    from tests.support.fake_push_service import FakePushService
    from tests.support.waiting import eventually

    service = FakePushService(tmp_path)
    await service.start()
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=service.client_ssl()))
    # Quiet hours all day: what goes out is an answer to a person who wrote in the last hour, as at 05:45.
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'push.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_FLOOD_BURST=1000, OCOP_QUIET_HOURS="00:00-23:59",
                        OCOP_VAPID_PRIVATE_KEY=new_private_key(), OCOP_VAPID_SUBJECT="mailto:ocop@lamdong.gov.vn")
    app = build_app(settings, push_http=http)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    expect = playwright_api.expect
    phone = PushSubscriber(service, "lan-phone")
    base = str(server.make_url("/")).rstrip("/")
    try:
        context = await browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
        await context.grant_permissions(["notifications"], origin=base)
        await context.add_init_script(f"({SUBSCRIBE})({json.dumps(phone.subscription())})")
        page = await context.new_page()
        await page.goto(base + "/")
        await expect(page.locator(".msg.bot").first).to_contain_text("Xin chào")
        await page.fill("#text", "/nhanthongbao")
        await page.press("#text", "Enter")
        await expect(page.get_by_role("button", name="Để sau")).to_be_visible()
        await page.get_by_role("button", name="Để sau").click()
        await expect(page.locator(".msg.bot").last).to_contain_text("bấm 🔔")
        await page.get_by_role("button", name="Thông báo trên điện thoại").click()  # the bell, later
        await page.get_by_role("button", name="🔔 Có, nhận thông báo").last.click()
        await expect(page.locator(".msg.bot").last).to_contain_text("Đã bật thông báo")
        async with app[RUNNER].sessions() as session:
            [kept] = (await session.exec(select(WebPushSubscription))).all()
        assert kept.endpoint == phone.endpoint
        await page.get_by_role("button", name="Thông báo trên điện thoại").click()
        await expect(page.locator(".msg.bot").last).to_contain_text("đang bật")  # asked again: it says so

        cdp = await context.new_cdp_session(page)
        registrations: list[dict] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
        await cdp.send("ServiceWorker.enable")
        await eventually(lambda: bool(registrations))
        # While the page is open and in view, a push is shown in the chat, not as a notification.
        await cdp.send("ServiceWorker.deliverPushMessage", {
            "origin": base, "registrationId": registrations[0]["registrationId"],
            "data": json.dumps({"text": "📣 Hội chợ OCOP Đà Lạt mở đăng ký", "options": [], "files": []})})
        await expect(page.locator(".msg.bot").last).to_contain_text("Hội chợ OCOP Đà Lạt mở đăng ký")
        await page.wait_for_timeout(3500)  # past the worker's wait for the page to say it showed it
        [worker] = context.service_workers
        assert await worker.evaluate("self.registration.getNotifications().then(ns => ns.length)") == 0
        chat = chat_id_of((await context.cookies())[0]["value"])
        await page.close()  # the page is closed: the officer's request must come as a notification
        await eventually(lambda: chat not in app[NOTICES].chats())
        async with app[RUNNER].sessions() as session, session.begin():
            account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == chat))).one()
            await enqueue(session, account_id=account.id, dedupe_key="supplement", reason="application.status",
                          text="📋 Hồ sơ OCOP-2026-000001 cần bổ sung giấy tờ\nPhương án kinh doanh có chữ ký.")
        kick = app[RUNNER].on_outbox
        assert kick is not None
        kick()
        await eventually(lambda: bool(service.received), seconds=10)
        pushed = phone.read(service.received[0][1])
        blank = await context.new_page()  # the browser, with no page of the chat open
        browser_cdp = await context.new_cdp_session(blank)
        await browser_cdp.send("ServiceWorker.enable")
        await browser_cdp.send("ServiceWorker.deliverPushMessage", {
            "origin": base, "registrationId": registrations[0]["registrationId"], "data": json.dumps(pushed)})
        worker = context.service_workers[-1]
        titles: list[str] = []

        async def notified() -> bool:
            titles[:] = await worker.evaluate("self.registration.getNotifications().then(ns => ns.map(n => n.title))")
            return bool(titles)
        await eventually(notified)
        assert titles == ["📋 Hồ sơ OCOP-2026-000001 cần bổ sung giấy tờ"]
        reopened = await context.new_page()  # what tapping the notification opens
        await reopened.goto(base + "/")
        await expect(reopened.locator(".msg.bot").last).to_contain_text("Phương án kinh doanh có chữ ký")
        await reopened.screenshot(path=str(tmp_path / "push-opened.png"))
        await reopened.get_by_role("button", name="Thông báo trên điện thoại").click()
        await reopened.get_by_role("button", name="🔕 Tắt thông báo").click()
        await expect(reopened.locator(".msg.bot").last).to_contain_text("Đã tắt thông báo")
        async with app[RUNNER].sessions() as session:
            assert not (await session.exec(select(WebPushSubscription))).all()
        await context.close()
    finally:
        await server.close()
        await http.close()
        await service.server.close()


async def test_the_page_can_be_added_to_the_home_screen_and_opens_offline(server: TestServer,
                                                                          browser: Browser) -> None:
    base = str(server.make_url("/")).rstrip("/")
    context = await browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = await context.new_page()
    refused = policy_violations(page)
    await page.goto(base + "/")
    await playwright_api.expect(page.locator(".msg.bot").first).to_contain_text("Xin chào")
    manifest = await page.evaluate("""async () => {
        const link = document.querySelector('link[rel="manifest"]');
        return (await fetch(link.href)).json();
    }""")
    assert manifest["name"] and manifest["start_url"] == "/" and manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert (await page.request.get(base + icon["src"])).ok
    assert (await page.request.get(base + "/favicon.ico")).headers["content-type"] == "image/x-icon"
    await page.evaluate("navigator.serviceWorker.ready")
    await page.reload()  # now controlled by the worker, which has kept the shell
    await context.set_offline(True)
    await page.reload()  # a weak connection: the chat still opens, with its history
    await playwright_api.expect(page.locator(".msg.bot").first).to_contain_text("Xin chào")
    await page.fill("#text", "/trangthai")  # typed offline: kept, and said so
    await page.press("#text", "Enter")
    await playwright_api.expect(page.locator("#status")).not_to_be_empty()
    await context.set_offline(False)
    await playwright_api.expect(page.locator(".msg.bot").last).not_to_contain_text("Xin chào", timeout=15000)
    assert refused == []  # the worker, the manifest and the icons load under the page's policy
    await context.close()


async def test_a_multi_select_ticks_in_the_same_bubble(server: TestServer, browser: Browser) -> None:
    expect = playwright_api.expect
    context = await browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await _register_first_steps(page, str(server.make_url("/")))
    for answer in ("HTX Tân Thành", VALID_MST, "Trần Văn Bình", "0912 345 678", "lam dong", "lac duong", "Thôn 1",
                   "Mật ong", "1", "1", "1", "Mật ong rừng", "1", "2 tấn"):
        async with page.expect_response("**/api/chat"):
            await page.fill("#text", answer)
            await page.press("#text", "Enter")
    await expect(page.locator(".msg.bot").last).to_contain_text("chứng nhận")
    bubbles = await page.locator(".msg").count()
    for label in ("VietGAP", "Hữu cơ", "VietGAP"):  # VietGAP ticked, Hữu cơ ticked, VietGAP unticked
        async with page.expect_response("**/api/chat"):
            await page.locator(".options").last.get_by_role("button", name=label, exact=False).first.click()
    await expect(page.locator(".options").last.get_by_role("button", name="✅ Hữu cơ")).to_be_visible()
    await expect(page.locator(".options").last.get_by_role("button", name="VietGAP", exact=True)).to_be_visible()
    assert await page.locator(".msg").count() == bubbles  # the same question, no copies and no tap bubbles
    await page.reload()  # the kept conversation has the question once, with its ticks as they are
    await expect(page.locator(".options").last.get_by_role("button", name="✅ Hữu cơ")).to_be_visible()
    assert await page.locator(".msg.bot", has_text="chứng nhận nào").count() == 1
    async with page.expect_response("**/api/chat"):
        await page.locator(".options").last.get_by_role("button", name="👍 Xong").click()
    await expect(page.locator(".msg.bot").last).to_contain_text("ảnh sản phẩm")
    await context.close()


async def test_the_zalo_upload_page_runs_under_its_policy(aiohttp_client: Any, tmp_path: Path,
                                                          browser: Browser) -> None:
    from tests.support.zalo import FakeZalo, start

    fake = FakeZalo()
    client = await start(aiohttp_client, tmp_path, fake, OCOP_PUBLIC_URL="https://ocop.example.vn")
    try:
        context = await browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
        page = await context.new_page()
        refused = policy_violations(page)
        await page.goto(str(client.server.make_url("/u/an-old-link")))
        await playwright_api.expect(page.locator("#problem")).to_contain_text("hết hạn")
        await playwright_api.expect(page.locator("#pick")).to_be_hidden()  # its script ran: no picker on a dead link
        assert refused == []
        await context.close()
    finally:
        await client.close()
        await fake.server.close()
