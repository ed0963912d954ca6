"""Headers that make every response defend itself: a Content-Security-Policy (pages: their own inline script and
style by hash, no 'unsafe-inline'; everything else: nothing at all), no framing by other sites (clickjacking), no
sniffing of types, the referrer kept to our origin, no powerful browser features, HSTS behind https, and a `Server`
header that names no versions."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache

from aiohttp import web

# What a page of ours may load: itself, pictures it was sent (signed same-origin links, data: for the QR stamp and
# blob: for a photo being sent), its service worker and manifest, and its API and event stream.
PAGE_POLICY = ("default-src 'none'; script-src {scripts}; style-src {styles}; img-src 'self' data: blob:; "
               "connect-src 'self'; manifest-src 'self'; worker-src 'self'; font-src 'self'; form-action 'self'; "
               "base-uri 'none'; frame-ancestors 'none'")
# The API's answers and streams: nothing in them may run or load. Files (a dossier's PDF opened in the browser's
# viewer, photos, icons) and the service worker's own script are only kept out of frames.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
FILE_POLICY = "frame-ancestors 'none'"
API_TYPES = frozenset({"application/json", "text/event-stream", "text/plain"})
# The page uses none of these: a compromised script could not either.
PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


@cache
def page_policy(page: str) -> str:
    """The policy for one rendered page: its inline <script> and <style> blocks allowed by their SHA-256, nothing
    else inline (an injected script or style attribute does not run)."""
    def hashes(tag: str) -> str:
        blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.S)
        found = [f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in blocks]
        return " ".join(["'self'", *found])
    return PAGE_POLICY.format(scripts=hashes("script"), styles=hashes("style"))


def html_page(page: str, *, status: int = 200) -> web.Response:
    """A page of ours with the policy that lets exactly its own script and style run."""
    response = web.Response(text=page, content_type="text/html", charset="utf-8", status=status)
    response.headers["Content-Security-Policy"] = page_policy(page)
    return response


def defend(app: web.Application, *, https: bool) -> None:
    """Add the headers to every response the app sends (pages set their own policy; the rest get none at all)."""
    async def on_prepare(_request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        headers.setdefault("Content-Security-Policy",
                           API_POLICY if response.content_type in API_TYPES else FILE_POLICY)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        headers["Permissions-Policy"] = PERMISSIONS
        headers["Server"] = "ocop-bot"  # no versions for anyone looking for a known hole
        if https:
            headers["Strict-Transport-Security"] = "max-age=31536000"

    app.on_response_prepare.append(on_prepare)
