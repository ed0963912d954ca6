"""Outbound HTTP goes through the proxy a province's network sets (HTTPS_PROXY/HTTP_PROXY), except where NO_PROXY
says not to: a bot that ignored them could not reach Telegram or Zalo from behind such a network at all."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from tests.support.checks import present
from tests.support.fake_bot_api_server import FakeBotApiServer
from tests.support.forward_proxy import ForwardProxy
from tests.support.processes import ROOT, TOKEN, clean_env, free_port
from tests.support.zalo import TOKEN as ZALO_TOKEN
from tests.support.zalo import FakeZalo


async def run_bot_briefly(tmp_path: Path, **env: str) -> str:
    """`ocop-bot run` with Telegram and Zalo on, until it is ready and has polled both; returns its output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=clean_env(PYTHONPATH=ROOT, OCOP_HTTP_PORT=str(free_port()), OCOP_DATA_DIR=str(tmp_path / "data"),
                      TELEGRAM_BOT_TOKEN=TOKEN, ZALO_BOT_TOKEN=ZALO_TOKEN, **env))
    try:
        line = b"-"
        while line and b"OCOP Bot" not in line:
            line = await asyncio.wait_for(present(proc.stdout).readline(), 30)
        assert line, "the bot did not start"
        await asyncio.sleep(1.5)  # a few polls of each platform
    finally:
        proc.send_signal(signal.SIGTERM)
        output = (await asyncio.wait_for(present(proc.stdout).read(), 30)).decode()
        await proc.wait()
    assert proc.returncode == 0, output
    return output


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy"])
async def test_telegram_and_zalo_are_reached_through_the_proxy_unless_no_proxy_says_otherwise(
        tmp_path: Path, variable: str) -> None:
    zalo = FakeZalo()
    await zalo.server.start_server()
    try:
        async with FakeBotApiServer() as telegram, ForwardProxy() as proxy:
            platforms = {"TELEGRAM_API_BASE_URL": telegram.base_url,
                         "ZALO_API_BASE_URL": f"http://127.0.0.1:{zalo.server.port}"}
            await run_bot_briefly(tmp_path, **platforms, **{variable: proxy.url})
            through = set(proxy.seen)
            assert f"127.0.0.1:{telegram.server.port}/bot{TOKEN}/getMe" in through
            assert f"127.0.0.1:{zalo.server.port}/bot{ZALO_TOKEN}/getMe" in through
            assert any(seen.endswith("/getUpdates") for seen in through)

            proxy.seen.clear()
            telegram.calls.clear()
            await run_bot_briefly(tmp_path, **platforms, **{variable: proxy.url}, NO_PROXY="127.0.0.1")
            assert proxy.seen == [] and any(method == "getMe" for method, _ in telegram.calls)
    finally:
        await zalo.server.close()
