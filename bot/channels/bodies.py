"""Reading an HTTP body that comes from outside: to its end, however the server chunks it, but never past a cap."""

from __future__ import annotations

import aiohttp

CHUNK = 256 * 1024
# What a download from a platform may bring: a little past OCOP_MAX_UPLOAD_MB's ceiling of 20 (the Bot API itself
# serves files of at most 20 MB), so the upload's own size check refuses a larger one with the configured limit.
MAX_DOWNLOAD = 21 * 1024 * 1024


async def read_capped(content: aiohttp.StreamReader, limit: int) -> bytes:
    """The whole body, or its first `limit` + 1 bytes when it is longer: enough for the size check that follows to
    refuse it, without holding a body of any size. (StreamReader.read(n) is not this: it returns what happens to be
    buffered, so a photo served in several chunks arrived cut off.) A body shorter than its Content-Length raises
    aiohttp.ClientPayloadError."""
    body = bytearray()
    async for chunk in content.iter_chunked(CHUNK):
        body += chunk
        if len(body) > limit:
            return bytes(body[:limit + 1])
    return bytes(body)
