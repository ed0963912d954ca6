"""Every response defends itself: pages allow exactly their own script and style (by hash, never 'unsafe-inline'),
nothing frames them, types are not sniffed, the referrer stays ours, no powerful feature is granted, HSTS behind
https, and the Server header names no versions."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import build_app
from bot.settings import Settings
from tests.support.zalo import FakeZalo, start


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'h.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_PUBLIC_URL="https://ocop.example.vn")
    return await aiohttp_client(build_app(settings, run_scheduler=False))


def inline_hashes(page: str, tag: str) -> set[str]:
    return {f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'"
            for block in re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.S)}


def assert_only_its_own(page: str, policy: str) -> None:
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert set(directives["script-src"].split()) == {"'self'", *inline_hashes(page, "script")}
    assert set(directives["style-src"].split()) == {"'self'", *inline_hashes(page, "style")}
    assert directives["frame-ancestors"] == "'none'" and directives["default-src"] == "'none'"
    assert len(inline_hashes(page, "script")) == 1  # the page's one script, nothing else inline


async def test_the_chat_page_allows_only_its_own_script_and_style(client: TestClient) -> None:
    response = await client.get("/")
    assert_only_its_own(await response.text(), response.headers["Content-Security-Policy"])


async def test_the_zalo_upload_page_allows_only_its_own_script_and_style(aiohttp_client: Any, tmp_path: Path) -> None:
    fake = FakeZalo()
    zalo = await start(aiohttp_client, tmp_path, fake, OCOP_PUBLIC_URL="https://ocop.example.vn")
    try:
        response = await zalo.get("/u/not-a-token")  # the page that says the link has expired runs its script too
        assert response.status == 403
        assert_only_its_own(await response.text(), response.headers["Content-Security-Policy"])
        assert response.headers["X-Frame-Options"] == "DENY"
    finally:
        await zalo.close()
        await fake.server.close()


@pytest.mark.parametrize("path", ["/", "/api/push", "/healthz", "/sw.js", "/favicon.ico", "/manifest.webmanifest",
                                  "/no-such-page"])
async def test_every_response_carries_the_defending_headers(client: TestClient, path: str) -> None:
    response = await client.get(path)
    headers = response.headers
    assert headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in headers["Permissions-Policy"] and "geolocation=()" in headers["Permissions-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=")  # served as https://ocop.example.vn
    assert headers["Server"] == "ocop-bot" and not re.search(r"\d", headers["Server"])  # no versions


async def test_api_answers_may_run_nothing(client: TestClient) -> None:
    response = await client.post("/api/session")
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


async def test_without_https_there_is_no_hsts(aiohttp_client: Any, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"))
    response = await (await aiohttp_client(build_app(settings, run_scheduler=False))).get("/")
    assert "Strict-Transport-Security" not in response.headers and "Content-Security-Policy" in response.headers
