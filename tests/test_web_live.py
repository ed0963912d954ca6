"""The web page is told at once, and its identity is the server's: the real app over HTTP, Server-Sent Events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlmodel import select

from bot.app import RUNNER, build_app
from bot.channels.web_identity import COOKIE
from bot.channels.web_push import new_private_key
from bot.settings import Settings
from storage.models import ChatAccount, OutboxMessage, WebPushSubscription
from storage.outbox import enqueue
from tests.support.catalog import says
from tests.support.fake_push_service import Browser, FakePushService
from tests.support.notices import read_notice
from tests.support.web import chat_id_of, open_page, post_chat, status_of, token_for


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_FLOOD_BURST=1000, OCOP_QUIET_HOURS="")
    return await aiohttp_client(build_app(settings, run_scheduler=False))


async def notice_for(client: TestClient, person: str, text: str) -> int:
    """An officer's decision, say: a row in the outbox for the person's chat, as any handler writes it."""
    chat = chat_id_of(await token_for(client, person))
    async with client.app[RUNNER].sessions() as session, session.begin():
        account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == chat))).one()
        await enqueue(session, account_id=account.id, dedupe_key=f"test:{text}", reason="app-status",
                      text=text, options=[{"id": "menu:status", "label": "🔎 Tra cứu hồ sơ"}])
        row = (await session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"test:{text}"))).one()
    client.app[RUNNER].on_outbox()  # what the runner does after such an update commits
    return row.id


async def test_an_open_page_is_told_at_once_without_sending_anything(client: TestClient) -> None:
    assert (await post_chat(client, "lan", {"text": "/start"})).status == 200
    page = await open_page(client, "lan")
    row = await notice_for(client, "lan", "📋 Hồ sơ OCOP-2026-000001: cần bổ sung giấy tờ")
    shown = await read_notice(page)
    assert shown["text"].startswith("📋 Hồ sơ OCOP-2026-000001") and shown["options"][0]["id"] == "menu:status"
    assert await status_of(client, row, "shown") == "shown"
    page.close()


async def test_a_closed_page_gets_what_waited_as_soon_as_it_opens(client: TestClient) -> None:
    await post_chat(client, "lan", {"text": "/start"})
    row = await notice_for(client, "lan", "⏰ Chứng nhận sắp hết hạn")
    await asyncio.sleep(0.5)  # the dispatcher has had its chance: no page is open, so the notice waits
    assert await status_of(client, row) == "pending"
    page = await open_page(client, "lan")  # the page opens again (or reconnects)
    assert (await read_notice(page))["text"] == "⏰ Chứng nhận sắp hết hạn"
    assert await status_of(client, row, "shown") == "shown"
    page.close()
    again = await open_page(client, "lan")  # shown once: a reconnect does not show it twice
    second = await notice_for(client, "lan", "📣 Thông báo mới")
    assert (await read_notice(again))["text"] == "📣 Thông báo mới"
    assert await status_of(client, second, "shown") == "shown"
    again.close()


async def test_the_identity_is_issued_by_the_server(client: TestClient) -> None:
    page = await client.get("/")
    cookie = page.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    # The page's cookie works; a chosen "user" is not an identity, and a made-up token is refused.
    response = await client.post("/api/chat", json={"user": "web-somebody-else", "text": "/start"})
    assert response.status == 200 and says((await response.json())["replies"][0]["text"], "welcome")
    async with client.app[RUNNER].sessions() as session:
        chats = [a.chat_id for a in await session.exec(select(ChatAccount))]
    assert chats == [chat_id_of(cookie.value)]
    forged = cookie.value.split(".")[0] + "." + "0" * 32
    for headers in ({"Authorization": f"Bearer {forged}"}, {"Authorization": "Bearer web-somebody-else"}):
        refused = await client.post("/api/chat", json={"text": "/start"}, headers=headers)
        assert refused.status == 401 and "/api/session" in (await refused.json())["error"]
    assert (await client.get("/api/events", headers={"Authorization": f"Bearer {forged}"})).status == 401


async def test_the_identity_survives_a_restart(aiohttp_client: Any, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"))
    first = await aiohttp_client(build_app(settings, run_scheduler=False))
    token = await token_for(first, "lan")
    await first.post("/api/chat", json={"text": "/dangky"}, headers={"Authorization": f"Bearer {token}"})
    await first.close()
    second = await aiohttp_client(build_app(settings, run_scheduler=False))
    response = await second.post("/api/chat", json={"text": "1"}, headers={"Authorization": f"Bearer {token}"})
    # The same chat, at the same step: 1 agrees to the personal-data notice, and the next question is the first.
    assert response.status == 200 and says((await response.json())["replies"][-1]["text"], "ask.entity_type")


@pytest.fixture
async def push_service(tmp_path: Path) -> Any:
    service = FakePushService(tmp_path)
    await service.start()
    yield service
    await service.server.close()


async def test_a_closed_page_is_told_by_web_push(aiohttp_client: Any, tmp_path: Path, push_service: Any) -> None:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'push.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_QUIET_HOURS="",
                        OCOP_VAPID_PRIVATE_KEY=new_private_key(), OCOP_VAPID_SUBJECT="mailto:ocop@lamdong.gov.vn")
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=push_service.client_ssl()))
    try:
        client = await aiohttp_client(build_app(settings, run_scheduler=False, push_http=http))
        bearer = {"Authorization": f"Bearer {await token_for(client, 'lan')}"}
        key = await client.get("/api/push")
        assert key.status == 200 and len((await key.json())["public_key"]) > 80
        await post_chat(client, "lan", {"text": "/start"})
        phone = Browser(push_service, "lan-phone")
        for refused in ({"endpoint": "http://127.0.0.1:9/x", "keys": phone.subscription()["keys"]},
                        {"endpoint": phone.endpoint}, ["x"]):
            assert (await client.post("/api/push", json=refused, headers=bearer)).status == 400
        assert (await client.post("/api/push", json=phone.subscription(), headers=bearer)).status == 200
        assert (await client.post("/api/push", json=phone.subscription())).status in (200, 401)  # cookie or none

        push_service.busy_once.add("lan-phone")  # the push service asks us to slow down once
        row = await notice_for(client, "lan", "✅ Sản phẩm Mật ong được công nhận 4 sao")
        # The page is closed: pushed, not shown (after the 429's retry a second later and the next round).
        assert await status_of(client, row, "pushed", seconds=8) == "pushed", push_service.refused
        [(name, body, headers)] = push_service.received
        assert name == "lan-phone" and int(headers["TTL"]) > 0 and not push_service.refused
        assert phone.read(body)["text"] == "✅ Sản phẩm Mật ong được công nhận 4 sao"

        long = await notice_for(client, "lan", "📣 " + "Thông báo rất dài về hội chợ. " * 300)  # ~9 KB of text
        assert await status_of(client, long, "pushed", seconds=5) == "pushed"
        shortened = phone.read(push_service.received[-1][1])["text"]
        assert shortened.startswith("📣 Thông báo rất dài") and shortened.endswith("…")  # cut to fit 4 KB

        push_service.refusing.add("lan-phone")  # a push service that will never take this notice
        undeliverable = await notice_for(client, "lan", "📋 Một thông báo bị từ chối")
        assert await status_of(client, undeliverable, "failed", seconds=5) == "failed"
        push_service.refusing.clear()

        push_service.live.discard("lan-phone")  # the person turned notifications off: the service says 410
        gone = await notice_for(client, "lan", "📣 Thông báo tập huấn")
        await asyncio.sleep(0.5)
        assert await status_of(client, gone, "pending", seconds=4) == "pending"  # waits for the page
        await asyncio.sleep(2.5)  # another dispatcher round: it is not pushed again, nor lost
        assert await status_of(client, gone) == "pending"
        async with client.app[RUNNER].sessions() as session:
            assert not (await session.exec(select(WebPushSubscription))).all()
        page = await open_page(client, "lan")
        assert (await read_notice(page))["text"] == "📣 Thông báo tập huấn"
        page.close()
    finally:
        await http.close()


async def test_without_a_key_the_page_is_not_offered_push(client: TestClient) -> None:
    assert (await client.get("/api/push")).status == 404
    bearer = {"Authorization": f"Bearer {await token_for(client, 'lan')}"}
    subscription = {"endpoint": "https://push.example/x", "keys": {"p256dh": "a", "auth": "b"}}
    assert (await client.post("/api/push", json=subscription, headers=bearer)).status == 404


async def test_opt_outs_and_quiet_hours_hold_for_the_web_page_as_for_any_channel(aiohttp_client: Any,
                                                                                tmp_path: Path) -> None:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'q.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_QUIET_HOURS="00:00-23:59")
    quiet = await aiohttp_client(build_app(settings, run_scheduler=False))
    await post_chat(quiet, "lan", {"text": "/nhacnho"})
    page = await open_page(quiet, "lan")
    row = await notice_for(quiet, "lan", "⏰ Nhắc nhở lúc nửa đêm")
    await asyncio.sleep(2.5)  # a dispatcher round has passed: nothing goes out in quiet hours, even to a page
    assert await status_of(quiet, row) == "pending"
    page.close()


async def test_a_turned_off_reminder_kind_is_skipped_for_the_web_page(client: TestClient) -> None:
    await post_chat(client, "lan", {"text": "/start"})
    chat = chat_id_of(await token_for(client, "lan"))
    async with client.app[RUNNER].sessions() as session, session.begin():
        account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == chat))).one()
        account.reminder_optouts = ["training"]
        session.add(account)
        await enqueue(session, account_id=account.id, dedupe_key="training:1:new", reason="training.new",
                      text="📚 Tập huấn mới")
        await enqueue(session, account_id=account.id, dedupe_key="app:1", reason="app-status",
                      text="📋 Hồ sơ đã được xã kiểm tra")
    page = await open_page(client, "lan")
    client.app[RUNNER].on_outbox()
    assert (await read_notice(page))["text"] == "📋 Hồ sơ đã được xã kiểm tra"  # the opted-out one never shows
    async with client.app[RUNNER].sessions() as session:
        skipped = (await session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == "training:1:new"))).one()
    assert skipped.status == "skipped"
    page.close()
