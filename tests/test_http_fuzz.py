"""Fuzzing the HTTP surface — the web chat API and both webhooks: whatever arrives, the answer is a 2xx or a 4xx,
never a 500, nothing is left failing in the background, and the bot still answers real messages afterwards."""

from __future__ import annotations

import asyncio
import copy
import io
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import TELEGRAM, ZALO, build_app
from bot.channels.zalo import ZALO_SECRET_HEADER
from bot.http.webhooks import TELEGRAM_SECRET_HEADER
from bot.settings import Settings, webhook_secret
from messages import t
from tests.support.catalog import says
from tests.support.fakes import FakeBotApi
from tests.support.waiting import eventually
from tests.support.zalo import TOKEN as ZALO_TOKEN
from tests.support.zalo import FakeZalo

TELEGRAM_TOKEN = "123456:TEST-TOKEN"
UNEXPECTED = {t(lang, "error.unexpected") for lang in ("vi", "en")}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)

TELEGRAM_UPDATE: dict[str, Any] = {"update_id": 7, "message": {
    "message_id": 7, "date": 1_790_000_000, "text": "/start", "chat": {"id": 42, "type": "private"},
    "from": {"id": 42, "is_bot": False, "first_name": "Lan"}}}
ZALO_EVENT: dict[str, Any] = {"event_name": "message.text.received", "message": {
    "message_id": "m1", "date": 1_790_000_000_000, "text": "/start", "from": {"id": "z1", "display_name": "Lan"},
    "chat": {"id": "z1", "chat_type": "PRIVATE"}}}
WEB_BODY: dict[str, Any] = {"text": "/start"}


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """A real body with one part changed: a value replaced by any JSON, a key dropped, or a key added."""
    body = copy.deepcopy(valid)
    node: Any = body
    path: list[str] = []
    while isinstance(node, dict) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node)))
        path.append(key)
        if not isinstance(node[key], dict):
            break
        node = node[key]
    parent: Any = body
    for key in path[:-1]:
        parent = parent[key]
    how = draw(st.sampled_from(["replace", "drop", "add"]))
    if not path:
        return draw(json_values) if how == "replace" else body
    if how == "replace":
        parent[path[-1]] = draw(json_values)
    elif how == "drop":
        del parent[path[-1]]
    else:
        parent[draw(st.text(max_size=8))] = draw(json_values)
    return body


raw_bodies = st.one_of(
    st.binary(max_size=200), st.sampled_from([b"", b"{", b"null", b"[]", b'"x"', b"1e999", b"\xff\xfe{}",
                                               b'{"a":' * 2000, b'{"user": "\x00"}']),
    json_values.map(lambda v: json.dumps(v).encode()))


@dataclass
class Fuzzed:
    """The bot under fuzzing, its platforms' fakes, and every error it logged."""

    http: TestClient
    api: FakeBotApi
    zalo: FakeZalo
    web_token: str
    errors: list[logging.LogRecord]


class KeptErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> AsyncIterator[Fuzzed]:
    zalo = FakeZalo()
    await zalo.server.start_server()
    api = FakeBotApi()
    settings_ = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'f.db'}",
                         OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_FLOOD_BURST=1000, OCOP_QUIET_HOURS="",
                         TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN, TELEGRAM_API_BASE_URL="http://127.0.0.1:9",
                         ZALO_BOT_TOKEN=ZALO_TOKEN, ZALO_API_BASE_URL=f"http://127.0.0.1:{zalo.server.port}",
                         OCOP_PUBLIC_URL="https://ocop.example.vn")
    http = await aiohttp_client(build_app(settings_, telegram_request=api))
    token = (await (await http.post("/api/session")).json())["token"]
    handler = KeptErrors()
    logging.getLogger().addHandler(handler)
    yield Fuzzed(http, api, zalo, token, handler.records)
    logging.getLogger().removeHandler(handler)
    await http.close()
    await zalo.server.close()


async def post(client: Fuzzed, path: str, body: Any, *, raw: bool = False) -> int:
    headers = {"Content-Type": "application/json",
               TELEGRAM_SECRET_HEADER: webhook_secret(TELEGRAM_TOKEN, "telegram"),
               ZALO_SECRET_HEADER: webhook_secret(ZALO_TOKEN, "zalo"),
               "Authorization": f"Bearer {client.web_token}"}
    data = io.BytesIO(body if raw else json.dumps(body, allow_nan=True).encode())
    response = await client.http.post(path, data=data, headers=headers)
    await invariant_a_2xx_or_a_4xx_never_a_5xx(response, path, body)
    if path == "/api/chat" and response.status == 200:
        await invariant_an_accepted_web_message_gets_a_real_answer(response, body)
    # Replies to webhook updates go out after the webhook's answer: wait for them.
    await client.http.app[TELEGRAM].settled()
    await client.http.app[ZALO].settled()
    await asyncio.sleep(0)
    invariant_nothing_failed_in_the_background(client)
    return response.status


# The invariants every request keeps, whatever its body.


async def invariant_a_2xx_or_a_4xx_never_a_5xx(response: Any, path: str, body: Any) -> None:
    assert response.status < 500, (path, repr(body)[:300], response.status, (await response.text())[:300])


async def invariant_an_accepted_web_message_gets_a_real_answer(response: Any, body: Any) -> None:
    replies = (await response.json())["replies"]
    assert replies and not UNEXPECTED & {r["text"] for r in replies}, (repr(body)[:300], replies)


def invariant_nothing_failed_in_the_background(client: Fuzzed) -> None:
    assert not client.errors, [r.getMessage()[:300] for r in client.errors]


async def still_answers(client: Fuzzed) -> None:
    api, zalo = client.api, client.zalo
    assert await post(client, "/api/chat", {"text": "/start"}) == 200
    sent_before = len(api.sent())
    await post(client, "/webhook/telegram", TELEGRAM_UPDATE | {"update_id": 10**9})
    async def both_answered() -> bool:
        if not zalo.sent():
            await post(client, "/webhook/zalo", ZALO_EVENT | {"message": ZALO_EVENT["message"] | {
                "message_id": f"final-{len(zalo.calls)}"}})
        return len(api.sent()) > sent_before and bool(zalo.sent())

    await eventually(both_answered)
    assert any(says(m["text"], "welcome") for m in api.sent()[sent_before:])
    assert any(says(text, "welcome") for text in zalo.sent())


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PATHS = ("/api/chat", "/webhook/telegram", "/webhook/zalo")
VALID: dict[str, dict[str, Any]] = {"/api/chat": WEB_BODY, "/webhook/telegram": TELEGRAM_UPDATE,
                                    "/webhook/zalo": ZALO_EVENT}


@FUZZ
@given(data=st.data())
async def test_mutated_bodies_get_a_2xx_or_4xx(client: Fuzzed, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(PATHS))
    await post(client, path, data.draw(mutated(VALID[path])))


@FUZZ
@given(path=st.sampled_from(PATHS), body=raw_bodies)
async def test_raw_garbage_gets_a_4xx(client: Fuzzed, path: str, body: bytes) -> None:
    await post(client, path, body, raw=True)


async def test_huge_bodies_and_wrong_types_are_refused_and_the_bot_carries_on(client: Fuzzed) -> None:
    for path in PATHS:
        assert await post(client, path, b'{"text": "' + b"a" * 5_000_000 + b'"}', raw=True) == 413
    wrong: tuple[Any, ...] = ({"text": ["x"]}, {"user": "u"}, {}, {"choice": {}}, {"choice": "c" * 129},
                              {"text": "a" * 10_001}, [WEB_BODY])
    for body in wrong:
        assert await post(client, "/api/chat", body) == 400
    updates: tuple[dict[str, Any], ...] = ({"update_id": "7"}, {"message": {}}, {"update_id": 1.5})
    for update in updates:
        assert await post(client, "/webhook/telegram", update) == 400
    await still_answers(client)


async def test_telegram_fields_of_the_wrong_type_are_not_read(client: Fuzzed) -> None:
    """Found by the fuzzing above: the library keeps a list where the text should be, and it reached the router."""
    message = TELEGRAM_UPDATE["message"]
    for number, change in enumerate(({"text": ["/start"]}, {"text": {"a": 1}},
                                     {"contact": {"phone_number": ["0912"], "first_name": "A", "user_id": 1}}), 1):
        await post(client, "/webhook/telegram", TELEGRAM_UPDATE | {"update_id": number, "message": message | change})
    await still_answers(client)


async def test_after_the_fuzzing_the_bot_still_answers(client: Fuzzed) -> None:
    for path in PATHS:
        for body in (VALID[path], {}, {"x": None}):
            await post(client, path, body)
    await still_answers(client)



async def test_zalo_events_of_the_wrong_shape_are_ignored(client: Fuzzed) -> None:
    message = ZALO_EVENT["message"]
    for body in ({"message": {"chat": "z1", "text": "hi"}}, {"message": message | {"from": "z1"}},
                 {"message": message | {"chat": {"id": ["z1"]}}}, {"message": message | {"text": {"a": 1}}},
                 {"message": message | {"from": {"id": "z1", "display_name": {"x": 1}}}},
                 {"message": message | {"message_id": "m" * 5000}}, {"result": [ZALO_EVENT]}):
        assert await post(client, "/webhook/zalo", body) == 200
    await still_answers(client)
