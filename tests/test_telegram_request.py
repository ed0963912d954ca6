"""Our aiohttp networking for python-telegram-bot, against a Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.channels.telegram_request import AiohttpBotRequest
from tests.support.fakes import PDF


class RecordingServer(TestServer):
    received: list[tuple[str, dict]]


@pytest.fixture
async def api() -> AsyncIterator[RecordingServer]:
    received: list[tuple[str, dict]] = []

    async def method(request: web.Request) -> web.Response:
        name = request.match_info["method"]
        form = await request.post()
        fields = {k: (v.file.read(), v.filename, v.content_type) if isinstance(v, web.FileField) else v
                  for k, v in form.items()}
        received.append((name, fields))
        if name == "sendMessage" and fields.get("text") == "slow":
            await asyncio.sleep(2)
        if name == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "OCOP", "username": "ocop_bot"}
        else:
            result = {"message_id": 5, "date": 0, "chat": {"id": int(str(fields["chat_id"])), "type": "private"}}
        return web.json_response({"ok": True, "result": result})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", method)
    server = RecordingServer(app, host="127.0.0.1")
    await server.start_server()
    server.received = received
    yield server
    await server.close()


def bot(base: str, read_timeout: float = 5.0) -> Bot:
    return Bot("1:T", base_url=f"{base}/bot", request=AiohttpBotRequest(read_timeout=read_timeout),
               get_updates_request=AiohttpBotRequest(connection_pool_size=1))


async def test_messages_and_files_reach_the_api(api: RecordingServer) -> None:
    async with bot(f"http://127.0.0.1:{api.port}") as b:
        await b.send_message(42, "Xin chào 🌾", reply_markup=None)
        await b.send_document(42, PDF, filename="lich.pdf", caption="Lịch tập huấn")
    sent = dict(api.received)
    assert sent["sendMessage"]["text"] == "Xin chào 🌾" and sent["sendMessage"]["chat_id"] == "42"
    content, name, mime = sent["sendDocument"]["document"]
    assert content == PDF and name == "lich.pdf" and sent["sendDocument"]["caption"] == "Lịch tập huấn"


async def test_a_slow_api_times_out_and_a_closed_port_is_a_network_error(api: RecordingServer) -> None:
    async with bot(f"http://127.0.0.1:{api.port}", read_timeout=0.3) as b:
        with pytest.raises(TimedOut):
            await b.send_message(42, "slow")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    request = AiohttpBotRequest()
    unreachable = Bot("1:T", base_url=f"http://127.0.0.1:{closed}/bot", request=request, get_updates_request=request)
    with pytest.raises(NetworkError):
        await unreachable.initialize()
    await request.shutdown()
