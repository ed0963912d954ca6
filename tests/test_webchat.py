"""The web chat page and its JSON API, through aiohttp's test client and the real app wiring."""

from __future__ import annotations

import platform
import re
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlmodel import select

from bot.app import RUNNER, build_app
from bot.settings import Settings
from storage.events import create_event
from storage.models import ChatAccount
from tests.support.catalog import says
from tests.support.fakes import VALID_MST
from tests.support.seed import add_application, add_producer
from tests.support.web import chat_id_of, post_chat, token_for


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'web.db'}",
                    OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_FLOOD_BURST=1000)


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient:
    return await aiohttp_client(build_app(settings))


class WebUser:
    def __init__(self, client: TestClient, user: str) -> None:
        self.client, self.user = client, user
        self.replies: list[dict] = []

    async def send(self, **body: str) -> list[dict]:
        response = await post_chat(self.client, self.user, body)
        assert response.status == 200, await response.text()
        self.replies = (await response.json())["replies"]
        return self.replies

    async def say(self, text: str) -> None:
        await self.send(text=text)

    async def agree_if_asked(self) -> None:
        """Agree to the personal-data notice when it is what the bot asked (the first registration only)."""
        if "consent:yes" in self.option_ids:
            await self.tap("consent:yes")

    async def tap(self, option_id: str) -> None:
        assert option_id in self.option_ids, (option_id, self.option_ids)
        await self.send(choice=option_id)

    @property
    def option_ids(self) -> list[str]:
        return [o["id"] for r in self.replies for o in r["options"]]

    async def chat_id(self) -> str:
        return chat_id_of(await token_for(self.client, self.user))

    @property
    def text(self) -> str:
        return "\n".join(r["text"] for r in self.replies)

    @property
    def shown(self) -> str:
        """The texts and the buttons' labels: a review's answers are its rows."""
        return "\n".join([self.text, *(o["label"] for r in self.replies for o in r["options"])])


async def test_registration_over_the_web_api(client: TestClient) -> None:
    web = WebUser(client, "web-6f1c")
    await web.say("/start")
    assert says(web.text, "welcome")
    await web.tap("menu:register")
    await web.agree_if_asked()
    for answer in ("Hợp tác xã", "HTX Chè Tân Cương", VALID_MST, "Lê Văn Nam", "0987 654 321", "Thái Nguyên",
                   "Xã Tân Cương", "Xóm Soi Mít", "Chè Tân Cương đặc biệt"):
        await web.say(answer)
    await web.tap("food")
    await web.say("che")  # the nhóm "Chè", typed without diacritics
    await web.say("chè chế biến")  # its phân nhóm, by words
    await web.say("Chè búp non sao suốt thủ công")
    await web.say("trong xa")
    await web.say("3 tấn")
    await web.tap("nav:done")
    await web.tap("nav:skip")  # no photos from the web
    while "nav:paper" in web.option_ids:  # web users hand in documents on paper; optional ones skipped
        await web.tap("nav:skip" if "nav:skip" in web.option_ids else "nav:paper")
    assert says(web.text, "review.title") and "Chè búp non" in web.shown
    await web.tap("nav:submit")
    assert re.search(r"OCOP-\d{4}-\d{6}", web.text)


async def test_page_is_served_in_vietnamese(client: TestClient) -> None:
    response = await client.get("/")
    assert response.status == 200 and response.content_type == "text/html"
    page = await response.text()
    assert says(page, "api.page_title") and says(page, "api.page_placeholder") and "{{" not in page


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[]", b"null", b'{"user": "u"}', b'{"text": 7}',
                                  b'{"choice": ["x"]}', b"{}"])
async def test_malformed_requests_get_400(client: TestClient, body: bytes) -> None:
    response = await post_chat(client, "someone", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert "error" in await response.json()


async def test_oversized_body_gets_413(client: TestClient) -> None:
    response = await post_chat(client, "someone", data=b'{"text": "' + b"a" * 100_000 + b'"}')
    assert response.status == 413


async def test_long_text_gets_a_polite_answer_not_an_error(client: TestClient) -> None:
    web = WebUser(client, "web-long")
    await web.say("/dangky")
    await web.agree_if_asked()
    await web.say("1")
    await web.say("a" * 5000)
    assert "5.000 ký tự" in web.text


async def test_a_calendar_file_reaches_the_web_page(client: TestClient) -> None:
    async with client.app[RUNNER].sessions() as session, session.begin():
        producer = await add_producer(session)
        await add_application(session, producer)
        start = datetime.now(UTC) + timedelta(days=10)
        event = await create_event(session, {"kind": "training", "name": "Tập huấn", "place": "Xã", "starts_at": start,
                                             "ends_at": start + timedelta(hours=3), "province_code": "lam-dong",
                                             "audience_groups": []}, officer_id=None, actor_account_id=None)
        producer_id, event_id = producer.id, event.id
    web = WebUser(client, "web-ics")
    await web.say("/start")
    async with client.app[RUNNER].sessions() as session, session.begin():
        account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == await web.chat_id()))).one()
        account.producer_id = producer_id
        session.add(account)
    await web.send(choice=f"event:ics:{event_id}")
    [file] = web.replies[0]["files"]
    assert file["mime"] == "text/calendar" and file["name"].endswith(".ics")
    fetched = await client.get(file["url"])  # a signed, expiring address on the same server
    assert fetched.status == 200 and (await fetched.read()).startswith(b"BEGIN:VCALENDAR")
    assert (await client.get(file["url"].split("?")[0])).status == 403


async def test_health_readiness_and_metrics(client: TestClient) -> None:
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["status"] == "ready"
    web = WebUser(client, "web-metrics")
    await web.say("/start")
    await web.say("/dangky")
    await web.agree_if_asked()
    metrics = await (await client.get("/metrics")).text()
    assert 'ocop_updates_total{channel="web"} 3.0' in metrics
    assert 'ocop_handler_seconds_count{channel="web"} 3.0' in metrics
    assert 'ocop_outbox_messages{status="pending"} 0.0' in metrics
    # What any exporter gives (memory, CPU, the runtime), which release runs, and no `_created` twin per counter.
    for series in ("process_resident_memory_bytes ", "process_cpu_seconds_total ", "python_info{",
                   "python_gc_objects_collected_total{", f'ocop_build_info{{python="{platform.python_version()}",'
                   f'version="{version("ocop-bot")}"}} 1.0'):
        assert series in metrics, series
    assert "_created" not in metrics

    async with client.app[RUNNER].sessions() as session, session.begin():  # as if a newer release's migration
        await session.exec(text("UPDATE alembic_version SET version_num = '0005'"))
    pending = await client.get("/readyz")
    assert pending.status == 503 and (await pending.json())["status"] == "migrations pending"
