"""Uploaded files kept on disk under the data directory, named by content hash."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_ignoring_duplicates
from storage.models import StoredFile, utcnow

EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


def sniff_mime(content: bytes) -> str | None:
    """The real type from the first bytes: a renamed .exe must not pass as a PDF."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content[4:8] == b"ftyp" and content[8:12] in HEIF_BRANDS:
        return "image/heic"
    return None


# An iPhone's photo saved as a file (HEIF/HEIC, its default since iOS 11); AVIF is the same container.
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif"}
HEIF_TYPES = {"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence", "image/avif"}
# The longest side a kept photo may have: an officer zooming on a label still reads its small print at 2560 px,
# and a phone's 12-megapixel photo (4032 px, 3-5 MB) costs every officer's download several times that.
PHOTO_LONG_SIDE = 2560


INCOMPLETE, NOT_GENUINE = "incomplete", "not_genuine"


def checked_content(content: bytes, mime: str) -> bytes | str:
    """The bytes to keep of an upload whose first bytes say `mime`, or why it is refused: INCOMPLETE (cut off in
    transfer: a photo that does not decode to its end, a PDF without its %%EOF in the last kilobyte) or NOT_GENUINE
    (something after the file's own end: a PDF or PNG carrying a script). A JPEG keeps only the photo: phones put
    a motion photo's video or further pictures after its end, and those are the person's, not an attack. A photo
    taken sideways (EXIF orientation) is kept upright and a large one at PHOTO_LONG_SIDE (re-encoded, which also
    drops its EXIF: the camera's GPS position is nobody's business). Decoding a photo takes a moment: call it in a
    worker thread."""
    if mime == "application/pdf":
        if b"%%EOF" not in content[-1024:]:
            return INCOMPLETE
        return content if content.rstrip(b" \t\r\n\x00").endswith(b"%%EOF") else NOT_GENUINE
    from PIL import Image  # loaded when a photo arrives, not at start-up

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # a "photo" of billions of pixels
            with Image.open(io.BytesIO(content)) as image:
                image.load()
                upright = _upright_and_sized(image, mime)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        return INCOMPLETE
    end = _png_end(content) if mime == "image/png" else _jpeg_end(content)
    if end is None:
        return INCOMPLETE
    if mime == "image/png" and end < len(content):
        return NOT_GENUINE
    return upright if upright is not None else content[:end]


def _upright_and_sized(image: Any, mime: str) -> bytes | None:
    """The photo turned as its EXIF orientation says and fitted in PHOTO_LONG_SIDE, or None when it is both already
    (then its own bytes are kept, untouched)."""
    from PIL import Image, ImageOps

    if image.getexif().get(ORIENTATION, 1) == 1 and max(image.size) <= PHOTO_LONG_SIDE:
        return None
    picture = ImageOps.exif_transpose(image)
    picture.thumbnail((PHOTO_LONG_SIDE, PHOTO_LONG_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if mime == "image/jpeg":
        picture.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
    else:
        picture.save(out, "PNG")
    return out.getvalue()


ORIENTATION = 0x0112  # the EXIF tag


def _png_end(content: bytes) -> int | None:
    """Where the IEND chunk ends, walking the chunks (each: length, type, data, CRC)."""
    at = 8
    while at + 12 <= len(content):
        length = int.from_bytes(content[at:at + 4], "big")
        kind, at = content[at + 4:at + 8], at + 12 + length
        if kind == b"IEND":
            return at if at <= len(content) else None
    return None


def _jpeg_end(content: bytes) -> int | None:
    """Just after the EOI marker that ends the main picture: marker segments are skipped by their length (so an
    EXIF thumbnail's own EOI is passed over), and scan data up to the next marker that is not a stuffed 0xFF00
    or a restart marker."""
    at = 2  # after SOI
    while at + 2 <= len(content):
        if content[at] != 0xFF:
            return None
        marker = content[at + 1]
        if marker == 0xD9:  # EOI
            return at + 2
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if at + 4 > len(content):
            return None
        at += 2 + int.from_bytes(content[at + 2:at + 4], "big")
        if marker == 0xDA:  # SOS: entropy-coded data follows, up to the next real marker
            # bytes.find, not a loop over every byte in Python: a phone photo's scan is megabytes.
            while (at := content.find(b"\xff", at)) != -1 and at + 1 < len(content) and content[at + 1] in _IN_SCAN:
                at += 1
            if at == -1:
                return None
    return None


_IN_SCAN = {0x00, *range(0xD0, 0xD8)}  # stuffed 0xFF and RST0–RST7 belong to the scan data


def blob_path(data_dir: Path, sha256: str, mime: str) -> Path:
    return data_dir / "files" / sha256[:2] / f"{sha256}{EXTENSIONS.get(mime, '')}"


def write_blob(data_dir: Path, content: bytes, extension: str) -> Path:
    """Keep bytes under their SHA-256 (same content, same file), written atomically."""
    sha = hashlib.sha256(content).hexdigest()
    path = data_dir / "files" / sha[:2] / f"{sha}{extension}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(content)
        os.replace(tmp, path)  # atomic: a crash never leaves a half file under the final name
    return path


async def save_file(session: AsyncSession, data_dir: Path, content: bytes, mime: str,
                    original_name: str | None) -> StoredFile:
    """Keep an upload and return its row."""
    sha = write_blob(data_dir, content, EXTENSIONS.get(mime, "")).name[:64]
    query = select(StoredFile).where(StoredFile.sha256 == sha)
    existing = (await session.exec(query)).first()
    if existing:
        return existing
    # Two people may send the very same file (the same printed form) at the same moment: one row, no error.
    await insert_ignoring_duplicates(session, StoredFile, [{
        "sha256": sha, "size": len(content), "mime": mime, "original_name": (original_name or "")[:200] or None,
        "created_at": utcnow()}], ["sha256"])
    return (await session.exec(query.execution_options(populate_existing=True))).one()


async def stored_file_at(session: AsyncSession, data_dir: Path, path: str) -> int | None:
    """The id of the kept upload at `path` (a file under the data directory, named by its hash), if it is one."""
    file = Path(path)
    if file.parent.parent != data_dir / "files" or len(file.stem) != 64:
        return None
    return (await session.exec(select(StoredFile.id).where(StoredFile.sha256 == file.stem))).first()
