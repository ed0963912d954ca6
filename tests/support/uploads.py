"""The web chat's upload endpoint as the page uses it: one person ("lan"), replies as JSON."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient

from tests.support.catalog import says
from tests.support.fakes import VALID_MST
from tests.support.web import post_chat, token_for


async def say(client: TestClient, text: str) -> list[dict]:
    response = await post_chat(client, "lan", {"text": text})
    assert response.status == 200
    return (await response.json())["replies"]


async def upload(client: TestClient, *files: tuple[bytes, str, str]) -> list[dict]:
    form = aiohttp.FormData()
    for content, name, mime in files:
        form.add_field("file", io.BytesIO(content), filename=name, content_type=mime)
    response = await client.post("/api/upload", data=form,
                                 headers={"Authorization": f"Bearer {await token_for(client, 'lan')}"})
    assert response.status == 200, await response.text()
    return (await response.json())["replies"]


def text(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies)


def kept(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "data" / "files").rglob("*") if p.is_file()) \
        if (tmp_path / "data" / "files").exists() else []


async def reach_photos(client: TestClient) -> list[dict]:
    await say(client, "/dangky")
    for answer in ("đồng ý", "1", "HTX Tân Thành", VALID_MST, "Trần Văn Bình", "0912 345 678", "lam dong", "lac duong",
                   "Thôn 1", "Mật ong", "1", "1", "1", "Mật ong rừng", "1", "2 tấn"):
        await say(client, answer)
    replies = await say(client, "xong")  # no certifications: the product photos are asked for
    assert says(text(replies), "ask.photos")
    return replies
