"""A real `ocop-bot run` at DEBUG, with a bot token, the webhook secret made from it and a database password, through
polling, webhooks and a network error: none of the three reaches its output, wherever a library put it."""

from __future__ import annotations

import asyncio
import io
import logging
import signal
import sys
import time
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from bot.http.webhooks import TELEGRAM_SECRET_HEADER
from bot.logs import RedactingFormatter
from bot.settings import Settings, webhook_secret
from tests.support.catalog import says
from tests.support.checks import present
from tests.support.fake_bot_api_server import FakeBotApiServer
from tests.support.processes import ROOT, TOKEN, clean_env, free_port

PASSWORD = "pg-Pa55word-never-logged"  # trust auth on the test server: accepted and not checked


def update(update_id: int, text: str) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text, "chat": {"id": 4242, "type": "private"},
        "from": {"id": 4242, "is_bot": False, "first_name": "Lan"}}}


async def wait_for(condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_debug_output_holds_no_token_webhook_secret_or_database_password(tmp_path: Path, postgres_url: str,
                                                                               mode: str) -> None:
    database_url = make_url(postgres_url).set(password=PASSWORD).render_as_string(hide_password=False)
    secret = webhook_secret(TOKEN, "telegram")
    port = free_port()
    async with FakeBotApiServer() as api:
        env = clean_env(PYTHONPATH=ROOT, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.base_url,
                        OCOP_DATABASE_URL=database_url, OCOP_HTTP_PORT=str(port), OCOP_LOG_LEVEL="DEBUG",
                        OCOP_DATA_DIR=str(tmp_path / "data"),
                        **({"OCOP_PUBLIC_URL": "https://ocop.example.vn"} if mode == "webhook" else {}))
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        lines: list[str] = []

        async def read() -> None:
            async for line in present(proc.stdout):
                lines.append(line.decode(errors="replace"))

        reader = asyncio.create_task(read())
        try:
            await wait_for(lambda: any("OCOP Bot" in line for line in lines), 60)
            webhook = f"http://127.0.0.1:{port}/webhook/telegram"
            async with aiohttp.ClientSession() as http:
                if mode == "polling":
                    api.pending_updates.append(update(1, "/start"))
                else:
                    assert any(m == "setWebhook" and p.get("secret_token") == secret for m, p in api.calls)
                    async with http.post(webhook, json=update(1, "/start"),
                                         headers={TELEGRAM_SECRET_HEADER: secret}) as response:
                        assert response.status == 200
                    async with http.post(webhook, json=update(2, "/start"),
                                         headers={TELEGRAM_SECRET_HEADER: "guessed"}) as response:
                        assert response.status == 403
                await wait_for(lambda: any(says(text, "welcome") for text in api.sent_texts()))
                await api.server.close()  # the Bot API goes away: the next calls fail at the network
                before = len(lines)
                if mode == "polling":  # the updater logs the failed getUpdates, the error's text included
                    await wait_for(lambda: any("Cannot connect" in line for line in lines[before:]))
                else:  # a reply meets the closed port, and is retried with back-off
                    async with http.post(webhook, json=update(3, "/trogiup"),
                                         headers={TELEGRAM_SECRET_HEADER: secret}) as response:
                        assert response.status == 200
                    await wait_for(lambda: any("`sendMessage`" in line for line in lines[before:]))
                    await asyncio.sleep(2.0)
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
            await reader
    output = "".join(lines)
    assert " DEBUG " in output  # it really ran at DEBUG
    for leaked in (TOKEN, TOKEN.split(":")[1], secret, PASSWORD):
        assert leaked not in output, leaked


def test_a_secret_inside_a_traceback_or_an_argument_is_redacted() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s", Settings(
        _env_file=None, OCOP_DATABASE_URL=f"postgresql+asyncpg://ocop:{PASSWORD}@db/ocop",
        TELEGRAM_BOT_TOKEN=TOKEN).secrets()))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        raise ConnectionError(f"cannot reach http://api/bot{TOKEN}/getMe via ocop:{quote(PASSWORD)}@db")
    except ConnectionError:
        logger.exception("failed with %r", {"secret_token": webhook_secret(TOKEN, "telegram")})
    text = out.getvalue()
    assert "Traceback" in text and "ConnectionError" in text and text.count("***") == 3
    for leaked in (TOKEN, TOKEN.split(":")[1], webhook_secret(TOKEN, "telegram"), PASSWORD):
        assert leaked not in text
