"""Files as phones send them (tests/fixtures/, made by make_fixtures.py), and serving them as platforms do."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from storage.blobs import sniff_mime

FIXTURES = Path(__file__).parent.parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


CAMERA_12MP = "camera_12mp_rotated.jpg"  # 4032×3024 stored sideways, EXIF orientation 6, 3.1 MB
PHOTO_2MB = "photo_2mb.jpg"  # 2592×1944, 2.0 MB
PHOTO_150K = "photo_150k.jpg"  # 960×1280, 171 KB
SCREENSHOT = "screenshot.png"  # a phone screenshot, 1080×2340
DOSSIER_PDF = "dossier_3_pages.pdf"  # three A4 pages, one a scanned photo
IPHONE_HEIC = "iphone.heic"  # an iPhone photo saved as a file


async def serve_in_chunks(request: web.Request, content: bytes, *, chunk: int = 64 * 1024,
                          pause: float = 0.002, length: bool = True) -> web.StreamResponse:
    """The body as a file server on a real network sends it: in pieces with a pause between (so a client that reads
    only what is buffered gets part of it), with its type and, unless `length` is False, its Content-Length
    (otherwise chunked transfer encoding)."""
    response = web.StreamResponse(headers={"Content-Type": sniff_mime(content) or "application/octet-stream",
                                           "Cache-Control": "max-age=2592000", "Accept-Ranges": "bytes"})
    if length:
        response.content_length = len(content)
    else:
        response.enable_chunked_encoding()
    await response.prepare(request)
    for start in range(0, len(content), chunk):
        await response.write(content[start:start + chunk])
        await asyncio.sleep(pause)
    await response.write_eof()
    return response
