"""Uploaded files kept on disk under the data directory, named by content hash."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path

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
    return None


def is_complete(content: bytes, mime: str) -> bool:
    """Whether the file arrived whole: a photo cut off in transfer does not decode to its end, and a PDF ends with
    its %%EOF marker (within the last kilobyte, as readers allow). Decoding a photo takes a moment: call it in a
    worker thread."""
    if mime == "application/pdf":
        return b"%%EOF" in content[-1024:]
    from PIL import Image  # loaded when a photo arrives, not at start-up

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # a "photo" of billions of pixels
            with Image.open(io.BytesIO(content)) as image:
                image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        return False
    return True


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
