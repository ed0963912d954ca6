"""Checking and keeping a file a person sent."""

from __future__ import annotations

from typing import Any

from handlers.forms.validators import Invalid
from handlers.types import Context, IncomingFile
from storage.blobs import HEIF_TYPES, INCOMPLETE, checked_content, save_file, sniff_mime
from storage.writer import off_the_loop

IMAGE_TYPES = {"image/jpeg", "image/png"}
DOCUMENT_TYPES = IMAGE_TYPES | {"application/pdf"}


async def accept_upload(ctx: Context, file: IncomingFile, *, allow_pdf: bool) -> dict[str, Any]:
    """Check type and size (before downloading when the platform says them), keep the bytes, and return
    a reference to store in the draft."""
    allowed = DOCUMENT_TYPES if allow_pdf else IMAGE_TYPES
    wrong_type = "error.file_type_document" if allow_pdf else "error.file_type_photo"
    limit_mb = ctx.max_upload_bytes // (1024 * 1024)
    if file.mime in HEIF_TYPES:  # an iPhone's photo sent as a file: say how to send it so that it can be read
        raise Invalid("error.file_heic")
    if file.mime is not None and file.mime not in allowed:
        raise Invalid(wrong_type)
    if file.size is not None and file.size > ctx.max_upload_bytes:
        raise Invalid("error.file_too_big", {"max_mb": limit_mb})
    try:
        content = await file.read()
    except Exception as exc:  # the platform refused or timed out: ask again, nothing is lost
        raise Invalid("error.file_download_failed") from exc
    if len(content) > ctx.max_upload_bytes:
        raise Invalid("error.file_too_big", {"max_mb": limit_mb})
    real = sniff_mime(content)
    if real in HEIF_TYPES:
        raise Invalid("error.file_heic")
    if real not in allowed:
        raise Invalid(wrong_type)
    kept = file.checked if file.checked is not None else await off_the_loop(checked_content, content, real)
    if isinstance(kept, str):
        raise Invalid("error.file_incomplete" if kept == INCOMPLETE else "error.file_not_genuine")
    content = kept
    row = await save_file(ctx.session, ctx.data_dir, content, real, file.name)
    return {"id": row.id, "sha256": row.sha256, "mime": real, "size": row.size}
