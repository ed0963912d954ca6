"""Web Push for web chats whose page is closed (RFC 8030 with VAPID, RFC 8292; payloads encrypted per RFC 8291).

pywebpush encrypts and posts; its one-call helper is synchronous, so this signs the VAPID header itself (py_vapid,
which pywebpush uses) and sends with pywebpush's async sender over our aiohttp session. Both are imported only
when Web Push is configured: most deployments need neither at start-up.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.outbox.outcomes import NotThere, Permanent, RetryLater, Transient
from storage.web_push import forget_subscription, subscriptions_of_chat
from storage.writer import Transactions

TTL_SECONDS = 3 * 24 * 3600  # a push service keeps a notice this long for a phone that is off
MAX_PAYLOAD = 3000  # bytes before encryption: push services refuse more than 4096 after it


def new_private_key() -> str:
    """A fresh VAPID key, as OCOP_VAPID_PRIVATE_KEY takes it (base64url of the raw P-256 private number)."""
    from py_vapid import Vapid02

    vapid = Vapid02()
    vapid.generate_keys()
    raw = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class WebPush:
    def __init__(self, private_key: str, subject: str, sessions: async_sessionmaker[AsyncSession],
                 http: aiohttp.ClientSession) -> None:
        from py_vapid import Vapid02

        self._vapid = Vapid02.from_string(private_key)
        self._subject = subject
        self._sessions = sessions
        self._transactions = Transactions(sessions)
        self._http = http

    @property
    def public_key(self) -> str:
        """What the page passes to pushManager.subscribe as applicationServerKey."""
        from cryptography.hazmat.primitives import serialization

        raw = self._vapid.public_key.public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.UncompressedPoint)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    async def push(self, chat_id: str, payload: dict[str, Any]) -> None:
        """Push one notice to every subscription of the chat; NotThere when it has none that took it."""
        from pywebpush import WebPusher

        async with self._sessions() as session:
            subscriptions = await subscriptions_of_chat(session, chat_id)
        if not subscriptions:
            raise NotThere(chat_id)
        data = _fitting(payload)
        delivered, refused = False, None
        retry: Transient | RetryLater | None = None
        for subscription in subscriptions:
            endpoint = subscription.endpoint
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(endpoint))
            headers = self._vapid.sign({"sub": self._subject, "aud": origin, "exp": int(time.time()) + 12 * 3600})
            pusher = WebPusher({"endpoint": endpoint, "keys": {"p256dh": subscription.p256dh,
                                                               "auth": subscription.auth}}, aiohttp_session=self._http)
            try:
                response = await pusher.send_async(data=data, headers=headers, ttl=TTL_SECONDS,
                                                   timeout=aiohttp.ClientTimeout(total=15))
            except (aiohttp.ClientError, TimeoutError) as exc:
                retry = Transient(type(exc).__name__)
                continue
            status = response.status
            if status in (200, 201, 202):
                delivered = True
            elif status in (404, 410):  # the person revoked it or the browser dropped it: never again
                await self._transactions.run(functools.partial(_forget, endpoint))
            elif status == 429:
                retry = RetryLater(_seconds(response.headers.get("Retry-After")))
            elif status >= 500:
                retry = Transient(f"push service {status}")
            else:  # 400, 413, …: this notice will never be taken as it is
                refused = Permanent(f"push service refused it ({status})")
        if delivered:
            return
        if retry is not None:
            raise retry
        if refused is not None:
            raise refused
        raise NotThere(chat_id)


def _fitting(payload: dict[str, Any]) -> str:
    """The notice as JSON within what push services carry (4 KB, encrypted): a long text is cut; the page shows
    the whole of it when it next opens."""
    data = json.dumps(payload, ensure_ascii=False)
    text = str(payload.get("text", ""))
    while len(data.encode()) > MAX_PAYLOAD and len(text) > 20:
        text = text[: len(text) * 3 // 4]
        data = json.dumps(payload | {"text": text.rstrip() + "…"}, ensure_ascii=False)
    return data


def _seconds(retry_after: str | None) -> float:
    """Retry-After in seconds; a date or nonsense counts as a short wait."""
    try:
        return max(1.0, min(float(retry_after or 2), 3600.0))
    except ValueError:
        return 2.0


def acceptable_endpoint(endpoint: object) -> bool:
    """Push services are https; anything else (an internal address, another scheme) is never posted to."""
    if not isinstance(endpoint, str) or len(endpoint) > 500:
        return False
    parts = urlsplit(endpoint)
    return parts.scheme == "https" and bool(parts.hostname)


async def _forget(endpoint: str, session: AsyncSession) -> None:
    await forget_subscription(session, endpoint)
