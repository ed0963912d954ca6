"""Signed, expiring links to kept files, for platforms that fetch media by URL (Zalo's sendPhoto).

A link names the file by its content hash and carries an expiry, the name to save it under, and an HMAC of all
three, so it cannot be guessed, altered, or used after a day. Made only when OCOP_PUBLIC_URL is set (and for the
web page, relative to it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

from aiohttp import web
from aiohttp.helpers import content_disposition_header

from handlers.types import Attachment
from storage.blobs import EXTENSIONS, write_blob

VALID_SECONDS = 24 * 3600
_NAME = re.compile(r"^([0-9a-f]{64})(\.[a-z]{3,4})?$")
_MIME_BY_EXTENSION = {ext: mime for mime, ext in EXTENSIONS.items()} | {
    ".ics": "text/calendar", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _signature(secret: str, name: str, expires: int, download: str = "") -> str:
    # Links made before they carried a download name are signed over the hash and expiry alone: still valid.
    signed = f"{name}:{expires}:{download}" if download else f"{name}:{expires}"
    return hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()[:32]


def keep(data_dir: Path, content: bytes, extension: str) -> str:
    """Keep generated content (an .ics, a chart) as uploads are kept; returns the file name."""
    return write_blob(data_dir, content, extension).name


class LinkMaker(Protocol):
    def __call__(self, name: str, download: str = "") -> str: ...


def link_maker(public_url: str, secret: str, clock: Callable[[], float] = time.time) -> LinkMaker:
    """link(kept file name, name to save it under ("" for the kept name))."""
    def link(name: str, download: str = "") -> str:
        expires = int(clock()) + VALID_SECONDS
        saved_as = f"&n={quote(download)}" if download else ""
        return f"{public_url}/files/{name}?exp={expires}{saved_as}&sig={_signature(secret, name, expires, download)}"
    return link


def attachment_linker(data_dir: Path, public_url: str, secret: str) -> Callable[[Attachment], str]:
    """A signed, expiring address for a reply's file (under `public_url`, "" for page-relative); a file made for
    the reply (an .ics, a chart) is kept on disk first, as uploads are."""
    make = link_maker(public_url, secret)

    def link(attachment: Attachment) -> str:
        if attachment.content is not None:  # made for this reply: saved under the name it was made with
            download = Path(attachment.path).name
            return make(keep(data_dir, attachment.content, Path(attachment.path).suffix.lower()), download)
        return make(Path(attachment.path).name)

    return link


def add_file_route(app: web.Application, data_dir: Path, secret: str, clock: Callable[[], float] = time.time) -> None:
    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        match = _NAME.match(name)
        try:
            expires = int(request.query.get("exp", ""))
        except ValueError:
            return web.json_response({"error": "bad link"}, status=403)
        given, download = request.query.get("sig", ""), request.query.get("n", "")
        if not match or expires < clock() or not hmac.compare_digest(given,
                                                                     _signature(secret, name, expires, download)):
            return web.json_response({"error": "bad or expired link"}, status=403)
        path = data_dir / "files" / name[:2] / name
        if not path.is_file():  # noqa: ASYNC240  (a stat, not a read)
            return web.json_response({"error": "not found"}, status=404)
        mime = _MIME_BY_EXTENSION.get(match.group(2) or "", "application/octet-stream")
        # A browser shows a photo and saves anything else, and never guesses another type from the bytes.
        shown = "inline" if mime.startswith("image/") else "attachment"
        return web.FileResponse(path, headers={
            "Content-Type": mime, "X-Content-Type-Options": "nosniff",
            "Content-Disposition": content_disposition_header(shown, filename=download or name)})

    app.router.add_get("/files/{name}", serve)
