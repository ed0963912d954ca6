"""Zalo Bot Platform adapter on aiohttp. The Bot API is Telegram-like (getUpdates, sendMessage, setWebhook with a
secret token) but has no buttons: options are drawn as numbered lines, and a number typed back is read by the
handlers against the options stored with the chat's state (handlers/shown.py). Messages are cut under 2,000
characters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bot.channels.bodies import MAX_DOWNLOAD, read_capped
from bot.channels.chat_order import CONCURRENT_UPDATES, ChatOrder
from bot.channels.text import merged, split_text
from bot.outbox.outcomes import Outcome, PartlySent, Permanent, RetryLater, Send, Transient
from bot.outbox.pacer import DEFAULT_RATE, Pacer
from bot.replies import Journal, answer_after_commit, send_in_order
from handlers.forms.validators import has_control_characters
from handlers.shown import numbered, question_index
from handlers.types import Attachment, Incoming, IncomingFile, Reply
from messages import DEFAULT_LANGUAGE, t

log = logging.getLogger(__name__)
Handle = Callable[[Incoming], Awaitable[list[Reply]]]
MAX_TEXT = 2000
NO_UPDATES = 408  # getUpdates' answer when its long poll ended with nothing new: not an error
ZALO_SECRET_HEADER = "X-Bot-Api-Secret-Token"
DEFAULT_RETRY_AFTER = 1.0  # seconds, for a 429 that does not say


class ZaloError(Exception):
    def __init__(self, code: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code, self.description = code, description
        # Zalo does not document a retry_after; when an answer carries one (Telegram-style) it is honoured.
        self.retry_after = retry_after if retry_after is not None else DEFAULT_RETRY_AFTER


class WebhookInUse(ZaloError):
    def __init__(self) -> None:
        super().__init__(409, "a webhook is set for this bot")


class ZaloClient:
    def __init__(self, token: str, base_url: str, session: aiohttp.ClientSession, pacer: Pacer | None = None) -> None:
        self._url = f"{base_url.rstrip('/')}/bot{token}"
        self._session = session
        self.pacer = pacer or Pacer(DEFAULT_RATE)  # the channel's one pacer: replies, outbox, everything that sends

    async def send(self, method: str, payload: dict[str, Any], *, urgent: bool) -> Any:
        """A call that puts something in a chat, in its turn; a 429 tells the pacer to slow that chat (or more)."""
        return await self.pacer.call(str(payload["chat_id"]), lambda: self.call(method, payload), urgent=urgent,
                                     retry_after=_retry_after)

    async def call(self, method: str, payload: dict[str, Any] | None = None, *, http_seconds: float = 15) -> Any:
        try:
            async with self._session.post(f"{self._url}/{method}", json=payload or {},
                                          timeout=aiohttp.ClientTimeout(total=http_seconds)) as response:
                body = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ZaloError(599, type(exc).__name__) from None  # never the URL: it holds the token
        if not isinstance(body, dict) or not body.get("ok"):
            details = body if isinstance(body, dict) else {}
            wait = _object(details.get("parameters")).get("retry_after")
            raise ZaloError(int(details.get("error_code") or status), str(details.get("description", "")),
                            float(wait) if isinstance(wait, int | float) and 0 < wait < 3600 else None)
        return body.get("result")

    async def get_updates(self, long_poll_seconds: int = 25) -> list[dict[str, Any]]:
        try:
            result = await self.call("getUpdates", {"timeout": str(long_poll_seconds)},
                                     http_seconds=long_poll_seconds + 10)
        except ZaloError as exc:
            if exc.code == NO_UPDATES:
                return []  # the long poll ended with nothing to deliver: poll again at once
            raise
        if result is None:
            return []
        return result if isinstance(result, list) else [result]  # Zalo may answer one update, not a list


def render(reply: Reply, *, question: bool) -> str:
    """The reply's text with its options as lines: numbered on the message that asks the question (when a typed
    number picks an option there), plain bullets elsewhere, so a number never means two things. What a typed
    number means is decided by the handlers from the chat's stored state, with the same numbering."""
    if not reply.options:
        return reply.text
    if not question or not reply.numbered:
        return "\n".join([reply.text, "", *(f"• {o.label}" for o in reply.options)])
    return "\n".join([reply.text, "", *(f"{n}. {o.label}" for n, o in numbered(reply.options))])


class ZaloChannel:
    def __init__(self, client: ZaloClient, handle: Handle, session: aiohttp.ClientSession, *,
                 link: Callable[[Attachment], str] | None = None,
                 upload_link: Callable[[str], str] | None = None,
                 journal: Journal | None = None, lang: str = DEFAULT_LANGUAGE) -> None:
        self.client = client
        self._link = link  # signed file links; None when there is no public address to link to
        self._lang = lang  # a reply does not carry its chat's language: what the channel says itself is in this
        self._upload_link = upload_link  # a page to send a PDF from; None without a public address
        self._journal = journal  # where each reply's fate is written (ConversationRunner.journal("zalo"))
        self._handle = handle
        self._session = session
        self._poller: asyncio.Task[None] | None = None
        self._order = ChatOrder()
        self._slots = asyncio.Semaphore(CONCURRENT_UPDATES)
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, *, polling: bool = True, webhook_url: str | None = None, secret: str | None = None) -> None:
        await self.client.call("getMe")
        if webhook_url is not None:
            await self.client.call("setWebhook", {"url": webhook_url, "secret_token": secret})
        elif polling:
            # getUpdates does not work while a webhook is set. Deleting it here would silently cut off the
            # deployment that set it (a test instance started with the production token), so stop instead.
            info = await self.client.call("getWebhookInfo")
            if isinstance(info, dict) and info.get("url"):
                raise WebhookInUse()
            self._poller = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        await self.settled()

    async def settled(self) -> None:
        """Return once the updates in hand are answered (sent, or kept for later)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _poll(self) -> None:
        delay = 1.0
        while True:
            try:
                updates = await self.client.get_updates()
                delay = 1.0
            except ZaloError as exc:
                log.warning("zalo getUpdates failed: %s", exc.code)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60)
                continue
            for update in updates:
                await self._slots.acquire()  # at most CONCURRENT_UPDATES at once; the poll waits for a slot
                task = asyncio.create_task(self._process_in_slot(update))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _process_in_slot(self, update: dict[str, Any]) -> None:
        try:
            await self.process(update)
        except Exception:  # one bad update must not end the others
            log.exception("zalo update failed")
        finally:
            self._slots.release()

    async def receive(self, update: dict[str, Any]) -> None:
        """A webhook's event: returns once its step (and its replies, journaled) is committed."""
        await answer_after_commit(self._tasks, "zalo", lambda committed: self.process(update, committed))

    async def process(self, update: dict[str, Any], committed: asyncio.Future[None] | None = None) -> None:
        """Handle one event and send the answers. Events run concurrently; one chat's in arrival order (its typed
        numbers mean the options of the reply before, so that reply must have gone out first)."""
        chat = _chat_of(update)
        if chat is None:
            return
        async with self._order.turn(chat):
            incoming = self.to_incoming(update)
            if incoming is None:
                return
            replies = await self._handle(incoming)
            if committed is not None:
                committed.set_result(None)
            await self.send_replies(incoming.chat_id, replies)

    async def send_replies(self, chat_id: str, replies: list[Reply]) -> None:
        """Answers to one message, in order; only the question's options are numbered. What Zalo does not take now
        (429, 5xx, a timeout) is kept and sent later, in order."""
        replies = merged(replies, MAX_TEXT)
        asking = question_index(replies)
        await send_in_order("zalo", chat_id, replies,
                            lambda index, reply: self.send(chat_id, reply, question=index == asking),
                            lambda index, reply, parts: self._rest_after(chat_id, reply, parts,
                                                                         question=index == asking), self._journal)

    def to_incoming(self, update: Any) -> Incoming | None:
        """The neutral message, or None for what we ignore. Bodies come from outside: every field is checked."""
        update, message = _event(update)
        if message is None:
            return None
        chat, sender = _object(message.get("chat")), _object(message.get("from"))
        chat_id = _id(chat.get("id"))
        if chat_id is None or str(chat.get("chat_type", "PRIVATE")).upper() != "PRIVATE":
            return None
        event = str(update.get("event_name", ""))
        # Webhooks name the sender display_name, polled updates first_name (older payloads: name).
        name = sender.get("display_name") or sender.get("first_name") or sender.get("name")
        base: dict[str, Any] = {
            "channel": "zalo", "chat_id": chat_id, "user_id": _id(sender.get("id")) or chat_id,
            "carries_documents": False,  # Zalo delivers text and pictures only
            "display_name": name if isinstance(name, str) else None,
            "update_key": _id(message.get("message_id"), 128), "sent_at": _sent_at(message.get("date"))}
        if not isinstance(message.get("text"), str | None):
            message = message | {"text": None}
        if event == "message.text.received" or (message.get("text") and "image" not in event):
            return Incoming(**base, text=str(message.get("text") or ""))
        if event == "message.unsupported.received":  # Zalo withheld the content (a protected account)
            return Incoming(**base, unreadable=True)
        # The documentation's example names the image's address `photo`, the maintained clients `photo_url`.
        photo = message.get("photo_url") or message.get("photo")
        if event == "message.image.received" and isinstance(photo, str) and photo:
            return Incoming(**base, file=IncomingFile(mime=None, size=None, name=None, read=self._download(photo)))
        # Stickers and anything unsupported still get an answer ("please send text, a photo or a PDF").
        return Incoming(**base, file=IncomingFile(mime="application/x-zalo-unsupported", size=None, name=None,
                                                  read=self._download("")))

    def _download(self, url: str) -> Callable[[], Awaitable[bytes]]:
        async def read() -> bytes:
            if not url.startswith(("http://", "https://")):
                raise ZaloError(400, "no file")
            async with self._session.get(url, timeout=aiohttp.ClientTimeout(total=30)) as response:
                if response.status != 200:  # an error page is not the picture: ask for it again
                    raise ZaloError(response.status, "the picture could not be fetched")
                # To the end, or a little past the largest upload: the size check that follows refuses it.
                return await read_capped(response.content, MAX_DOWNLOAD)
        return read

    def _calls(self, chat_id: str, reply: Reply, *, question: bool) -> tuple[list[tuple[str, dict[str, Any]]], int,
                                                                              list[Attachment]]:
        """The API calls that send a reply (its text's pieces, then each photo), how many are text, and the photos."""
        text = render(reply, question=question)
        if question and reply.upload_hint and self._upload_link is not None:
            text += "\n\n" + reply.upload_hint.replace("{url}", self._upload_link(chat_id))
        photos: list[tuple[Attachment, str]] = []
        for attachment in reply.attachments:
            url = self._link(attachment) if self._link is not None else None
            if url is None:  # no public address: Zalo fetches files by address, so say where to see it instead
                text += "\n" + t(self._lang, "upload.file_not_sent", name=attachment.name)
            elif attachment.mime.startswith("image/"):
                photos.append((attachment, url))
            else:
                text += f"\n📎 {attachment.name}: {url}"
        calls = [("sendMessage", {"chat_id": chat_id, "text": piece}) for piece in split_text(text, MAX_TEXT)
                 if piece]  # a row holding a file alone has no text
        texts = len(calls)
        calls += [("sendPhoto", {"chat_id": chat_id, "photo": url, "caption": attachment.name[:500]})  # Zalo fetches
                  for attachment, url in photos]
        return calls, texts, [attachment for attachment, _ in photos]

    async def send(self, chat_id: str, reply: Reply, *, question: bool = True) -> None:
        """Send one reply, each call in its turn; a retry starts at reply.from_part, so no part is sent twice. A part
        that fails raises PartlySent when earlier parts were delivered, else what to do about it (an Outcome)."""
        calls, _, _ = self._calls(chat_id, reply, question=question)
        part = reply.from_part
        try:
            for method, payload in calls[reply.from_part:]:
                await self.client.send(method, payload, urgent=not reply.proactive)
                part += 1
        except ZaloError as exc:
            outcome = _outcome(exc)
            raise PartlySent(part, outcome) if part > reply.from_part else outcome from exc

    def _rest_after(self, chat_id: str, reply: Reply, parts: int, *, question: bool) -> Reply:
        """What is left of a reply once its first `parts` calls were delivered."""
        _, texts, photos = self._calls(chat_id, reply, question=question)
        if parts < texts:
            return replace(reply, from_part=parts)
        return replace(reply, text="", options=(), upload_hint=None, attachments=tuple(photos[parts - texts:]),
                       from_part=0)


def zalo_outbox_send(channel: ZaloChannel) -> Send:
    """Sending for the dispatcher."""

    async def send(chat_id: str, reply: Reply) -> None:
        await channel.send(chat_id, reply)

    return send


def _retry_after(exc: Exception) -> float | None:
    return exc.retry_after if isinstance(exc, ZaloError) and exc.code == 429 else None


def _outcome(exc: ZaloError) -> Outcome:
    """What the dispatcher should do about a Zalo error. Zalo does not document what 429 and 403 mean for a bot: a
    429 is read as "slow down a little" (retry this row after its retry_after, or a second; the pacer slows the
    chat, and pauses the channel only when many calls get one); a 403 fails this message alone rather than marking
    the chat blocked, which would silence its later reminders."""
    if exc.code == 429:
        return RetryLater(exc.retry_after)
    if exc.code >= 500 or exc.code == 599:
        return Transient(str(exc))
    return Permanent(str(exc))


def _event(update: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The event (webhooks may wrap it in "result") and its message, if it has one shaped like a message."""
    if isinstance(update, dict) and isinstance(update.get("result"), dict):
        update = update["result"]
    event = _object(update)
    message = event.get("message")
    return event, message if isinstance(message, dict) else None


def _chat_of(update: Any) -> str | None:
    _, message = _event(update)
    return _id(_object(message.get("chat")).get("id")) if message is not None else None


def _sent_at(milliseconds: Any) -> datetime | None:
    """Zalo's `date` (milliseconds since the epoch) as an aware time; None when absent or nonsense."""
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, int | float):
        return None
    try:
        return datetime.fromtimestamp(milliseconds / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _id(value: Any, longest: int = 64) -> str | None:
    """An id as Zalo sends it (a string or a number); anything else, or too long to store, is no id."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if 0 < len(text) <= longest and not has_control_characters(text) else None
