"""Telegram webhooks: the secret header, bad bodies, and a real update answered from the queue."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import build_app
from bot.http.webhooks import TELEGRAM_SECRET_HEADER
from bot.settings import Settings, webhook_secret
from tests.support.catalog import says
from tests.support.fakes import FakeBotApi
from tests.support.waiting import eventually

TOKEN = "123456:TEST-TOKEN"
SECRET = webhook_secret(TOKEN, "telegram")


@pytest.fixture
async def hooked(aiohttp_client: Any, tmp_path: Path) -> tuple[TestClient, FakeBotApi]:
    api = FakeBotApi()
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_FLOOD_BURST=1000, TELEGRAM_BOT_TOKEN=TOKEN,
                        TELEGRAM_API_BASE_URL="http://127.0.0.1:9", OCOP_PUBLIC_URL="https://ocop.example.vn",
                        OCOP_QUIET_HOURS="")
    return await aiohttp_client(build_app(settings, telegram_request=api)), api


def update(update_id: int, text: str) -> dict:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": int(time.time()), "text": text,
                                                "chat": {"id": 42, "type": "private"},
                                                "from": {"id": 42, "is_bot": False, "first_name": "Lan"}}}


async def test_webhook_is_registered_with_a_secret_that_is_not_the_token(hooked) -> None:
    _, api = hooked
    [(_, params)] = [(e, p) for e, p in api.calls if e == "setWebhook"]
    assert params["url"] == "https://ocop.example.vn/webhook/telegram"
    assert params["secret_token"] == SECRET and TOKEN.split(":")[1] not in SECRET
    assert not [e for e, _ in api.calls if e == "getUpdates"]  # no polling alongside


@pytest.mark.parametrize(("headers", "body", "status"), [
    ({}, b"{}", 401),
    ({TELEGRAM_SECRET_HEADER: "wrong"}, b"{}", 403),
    ({TELEGRAM_SECRET_HEADER: SECRET}, b"{not json", 400),
    ({TELEGRAM_SECRET_HEADER: SECRET}, b"[1, 2]", 400),
    ({TELEGRAM_SECRET_HEADER: SECRET}, b'{"update_id": "x"}', 400),
    ({TELEGRAM_SECRET_HEADER: SECRET}, b'{"update_id": 5, "message": "nonsense"}', 400),
    ({TELEGRAM_SECRET_HEADER: SECRET}, b'{"update_id": 1, "x": "' + b"a" * 100_000 + b'"}', 413),
])
async def test_bad_requests_get_4xx(hooked, headers: dict, body: bytes, status: int) -> None:
    client, api = hooked
    response = await client.post("/webhook/telegram", data=body, headers=headers)
    assert response.status == status
    assert not api.sent()


async def test_an_update_is_answered_and_a_redelivery_is_not(hooked) -> None:
    client, api = hooked
    for _ in range(2):  # Telegram retries when it thinks we did not answer
        response = await client.post("/webhook/telegram", json=update(7, "/start"),
                                     headers={TELEGRAM_SECRET_HEADER: SECRET})
        assert response.status == 200
    await eventually(lambda: bool(api.sent()))
    await asyncio.sleep(0.2)
    texts = [m["text"] for m in api.sent()]
    assert len(texts) == 1 and says(texts[0], "welcome") and says(texts[0], "menu.title")  # greeting + menu, once


@pytest.mark.parametrize("ids", [{"chat": None, "from": 42}, {"chat": "42", "from": 42}, {"chat": 42, "from": None},
                                 {"chat": True, "from": 42}, {"chat": 4.2, "from": 42}])
async def test_an_update_with_no_usable_chat_or_sender_id_is_received_and_ignored(
        hooked, ids: dict[str, Any], tmp_path: Path) -> None:
    """A forged body the library parses, whose chat is not a number: no chat is kept for it and nothing is sent (the
    reply could go nowhere), and the platform is told it was received."""
    client, api = hooked
    body = update(8, "/start")
    body["message"]["chat"]["id"], body["message"]["from"]["id"] = ids["chat"], ids["from"]
    response = await client.post("/webhook/telegram", json=body, headers={TELEGRAM_SECRET_HEADER: SECRET})
    assert response.status < 500
    await asyncio.sleep(0.2)
    assert not api.sent()
    with sqlite3.connect(tmp_path / "w.db") as db:
        assert db.execute("SELECT count(*) FROM chat_account").fetchone() == (0,)
