"""Who a web chat is: an identity the server issues, never a string the page chooses.

A token is `<id>.<signature>`: a random id and an HMAC of it under a server secret. The page keeps it in an
HttpOnly, SameSite cookie; a script obtains one from `POST /api/session` and sends it as `Authorization: Bearer`.
Checking it needs no database read; the chat behind it is `web-<id>`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from aiohttp import web

COOKIE = "ocop_web"
COOKIE_SECONDS = 365 * 24 * 3600
SECRET_FILE = "web-secret"


class WebIdentity:
    def __init__(self, data_dir: Path, secret: str | None = None, *, secure_cookie: bool = False) -> None:
        self._data_dir = data_dir
        self._secret = secret.encode() if secret else None
        self._secure = secure_cookie

    def _key(self) -> bytes:
        """OCOP_WEB_SECRET, or one made on first use and kept in the data directory (so a restart keeps every
        page's identity). Replicas that do not share the data directory must set OCOP_WEB_SECRET."""
        if self._secret is None:
            path = self._data_dir / SECRET_FILE
            try:
                self._secret = path.read_bytes().strip()
            except FileNotFoundError:
                path.parent.mkdir(parents=True, exist_ok=True)
                made = secrets.token_hex(32).encode()
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:  # another process made it first: use theirs
                    self._secret = path.read_bytes().strip()
                else:
                    with os.fdopen(fd, "wb") as file:
                        file.write(made)
                    self._secret = made
        return self._secret

    def derived(self, purpose: str) -> str:
        """A secret for another use (signed file links), derived so one secret is all an operator keeps."""
        return hmac.new(self._key(), purpose.encode(), hashlib.sha256).hexdigest()

    def issue(self) -> str:
        chat = secrets.token_urlsafe(16)
        return f"{chat}.{self._sign(chat)}"

    def chat_of(self, token: str | None) -> str | None:
        """The chat id a token stands for; None for anything the server did not issue."""
        if not token or len(token) > 128 or token.count(".") != 1:
            return None
        chat, signature = token.split(".")
        if not chat or not hmac.compare_digest(signature, self._sign(chat)):
            return None
        return f"web-{chat}"

    def _sign(self, chat: str) -> str:
        return hmac.new(self._key(), chat.encode(), hashlib.sha256).hexdigest()[:32]

    def token_of(self, request: web.Request) -> str | None:
        """A script's bearer token first, else the page's cookie."""
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.cookies.get(COOKIE)

    def chat_for(self, request: web.Request) -> str | None:
        return self.chat_of(self.token_of(request))

    def set_cookie(self, response: web.StreamResponse, token: str) -> None:
        response.set_cookie(COOKIE, token, max_age=COOKIE_SECONDS, path="/", httponly=True, samesite="Lax",
                            secure=self._secure)
