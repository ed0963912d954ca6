"""Telegram adapter (python-telegram-bot v22): updates in, neutral replies out."""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType, MessageLimit
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, BaseRateLimiter, ContextTypes, TypeHandler
from telegram.request import BaseRequest

from bot.channels.chat_order import CONCURRENT_UPDATES, ChatOrder
from bot.channels.telegram_request import AiohttpBotRequest
from bot.channels.text import merged, split_text
from bot.outbox.outcomes import Outcome, PartlySent, Permanent, RetryLater, Send, Transient, Unreachable
from bot.outbox.pacer import DEFAULT_RATE, Pacer
from bot.replies import Journal, answer_after_commit, send_in_order
from handlers import commands
from handlers.buttons import Nav, parse
from handlers.shown import button_label, question_index
from handlers.types import Attachment, Contact, Incoming, IncomingFile, Option, Reply
from messages import LANGUAGES

log = logging.getLogger(__name__)
# We read durations as timedelta already (RetryAfter): opting in to PTB's coming behaviour spares a deprecation
# warning on every 429.
os.environ.setdefault("PTB_TIMEDELTA", "true")
Handle = Callable[[Incoming], Awaitable[list[Reply]]]
# Other media still get an answer ("please send a photo or PDF") rather than silence.
_OTHER_MEDIA = {"sticker": "image/webp", "voice": "audio/ogg", "audio": "audio/mpeg", "video": "video/mp4",
                "video_note": "video/mp4", "animation": "video/mp4"}

TelegramApp = Application[Any, Any, Any, Any, Any, Any]  # the library's defaults: no custom context types


def build_application(token: str, base_url: str, request: BaseRequest | None = None,
                      updates_request: BaseRequest | None = None, *, pacer: Pacer | None = None) -> TelegramApp:
    """`pacer`: the channel's one pacer, through which every call that sends goes (replies, edits, the outbox)."""
    builder = Application.builder().token(token).base_url(f"{base_url}/bot").base_file_url(f"{base_url}/file/bot")
    # The builder's type starts with no rate-limiter arguments; PacedCalls takes {"urgent": …}.
    builder = builder.rate_limiter(PacedCalls(pacer or Pacer(DEFAULT_RATE)))  # type: ignore[arg-type]
    if request is None:
        request, updates_request = AiohttpBotRequest(), AiohttpBotRequest(connection_pool_size=1)
    # Concurrent: one chat waiting on Telegram (a reply, a photo download) must not hold up every other chat.
    # TelegramChannel keeps each chat's own updates in order.
    builder = builder.concurrent_updates(CONCURRENT_UPDATES)
    return builder.request(request).get_updates_request(updates_request or request).build()


# Methods that put something in a chat: the ones Telegram's flood limits count.
PACED = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "editMessageText",
                   "editMessageReplyMarkup", "copyMessage",
                   "forwardMessage", "sendContact", "sendLocation", "sendVideo", "sendAudio", "sendVoice"})


class PacedCalls(BaseRateLimiter[dict[str, bool]]):
    """python-telegram-bot's hook for pacing: every Bot API call passes here. Calls that send wait for the channel's
    pacer (`rate_limit_args={"urgent": False}` for proactive traffic, replies by default) and report its 429s.
    Nothing is retried here: a refused call goes back to its caller, which keeps the message for later."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any,
                              kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
                              rate_limit_args: dict[str, bool] | None) -> Any:
        chat = data.get("chat_id")
        if endpoint not in PACED or chat is None:
            return await callback(*args, **kwargs)
        return await self.pacer.call(str(chat), lambda: callback(*args, **kwargs),
                                     urgent=(rate_limit_args or {}).get("urgent", True),
                                     retry_after=lambda exc: _seconds(exc) if isinstance(exc, RetryAfter) else None)


class TelegramChannel:
    def __init__(self, application: TelegramApp, handle: Handle, journal: Journal | None = None) -> None:
        self.application = application
        self._handle = handle
        self._journal = journal  # where each reply's fate is written (ConversationRunner.journal("telegram"))
        self._order = ChatOrder()
        self._albums: Counter[tuple[str, str]] = Counter()  # (chat, media group) → its photos not yet answered
        self._sending: set[asyncio.Task[None]] = set()
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_error_handler(self._on_error)

    async def start(self, *, polling: bool = True, webhook_url: str | None = None, secret: str | None = None) -> None:
        try:
            await self.application.initialize()
        except TelegramError:
            # A refused token fails initialize() before PTB considers the bot started, so its shutdown() would
            # not close the HTTP sessions; PTB has no public handle on both requests, hence the private one.
            await asyncio.gather(*(request.shutdown() for request in self.application.bot._request))
            raise
        try:
            await self.set_commands()
            await self.application.start()
            if webhook_url is not None:
                await self.application.bot.set_webhook(webhook_url, secret_token=secret,
                                                       allowed_updates=["message", "callback_query"])
            elif polling and self.application.updater:
                await self.application.updater.start_polling()
        except BaseException:
            await self.stop()
            raise

    async def settled(self) -> None:
        """Return once the webhook updates in hand are answered (sent, or kept for later)."""
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    async def stop(self) -> None:
        await self.settled()
        if self.application.updater and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def set_commands(self, chat: int | None = None) -> None:
        """The command menu in Vietnamese by default, in English for English-language Telegram apps: everyone's, or
        with the officer's commands in one officer's own chat."""
        scope = BotCommandScopeChat(chat) if chat is not None else None
        for lang in LANGUAGES:
            listed = [BotCommand(name, text) for name, text in commands.telegram_menu(lang, officer=chat is not None)]
            await self.application.bot.set_my_commands(listed, scope=scope,
                                                       language_code=None if lang == "vi" else lang)

    async def receive(self, update: Update) -> None:
        """A webhook's update: returns once its step (and its replies, journaled) is committed."""
        await answer_after_commit(self._sending, "telegram", lambda committed: self._answer(update, committed))

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._answer(update, None)

    async def _answer(self, update: Update, committed: asyncio.Future[None] | None) -> None:
        incoming = to_incoming(update)
        if incoming is None:
            return
        album = _album_of(update, incoming.chat_id)
        if album is not None:
            self._albums[album] += 1  # counted before waiting for the chat's turn: the photos before it see it
        try:
            await self._answer_in_turn(update, incoming, committed, album)
        finally:
            if album is not None:
                self._albums[album] -= 1
                if self._albums[album] <= 0:
                    del self._albums[album]

    async def _answer_in_turn(self, update: Update, incoming: Incoming, committed: asyncio.Future[None] | None,
                              album: tuple[str, str] | None) -> None:
        # Updates run concurrently (see build_application); one chat's are handled and answered in order.
        async with self._order.turn(incoming.chat_id):
            if update.callback_query:
                try:  # stops the button's spinner; a refusal (a query too old) must not cost the answer
                    await update.callback_query.answer()
                except TelegramError as exc:
                    log.info("a button press could not be acknowledged: %r", exc)
            replies = await self._handle(incoming)
            if committed is not None:
                committed.set_result(None)
            if album is not None:
                replies = await self._for_the_album(album, replies)
            chat = int(incoming.chat_id)
            if await self._redrawn(update, chat, replies):
                return
            if any(reply.officer_menu for reply in replies):
                try:
                    await self.set_commands(chat)
                except TelegramError as exc:  # the menu is a convenience: the commands work typed all the same
                    log.warning("the officer's command menu could not be set: %r", exc)
            await send_in_order("telegram", incoming.chat_id, merged(replies, MessageLimit.MAX_TEXT_LENGTH),
                                lambda _, reply: send_reply(self.application, chat, reply),
                                lambda _, reply, parts: rest_after(reply, parts), self._journal)

    async def _redrawn(self, update: Update, chat: int, replies: list[Reply]) -> bool:
        """A tap on a multi-select answered by the same question with its tick moved: the tapped message's buttons
        change in place (its text too, if that changed) rather than a new copy of the question arriving. False when
        there is nothing to change in place, or Telegram will not (a message too old to edit): then it is sent."""
        query = update.callback_query
        message = query.message if query is not None else None
        if len(replies) != 1 or not replies[0].redraws or message is None or not replies[0].inline:
            return False
        reply = replies[0]
        markup = _markup_dict(True, reply.options, None)
        try:
            if getattr(message, "text", None) == reply.text:
                await self.application.bot.edit_message_reply_markup(chat, message.message_id, reply_markup=markup)
            else:
                await self.application.bot.edit_message_text(reply.text, chat, message.message_id, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():  # the same ticks again (a double tap) is a success
                log.info("a multi-select could not be changed in place: %r", exc)
                return False
        except TelegramError as exc:
            log.info("a multi-select could not be changed in place: %r", exc)
            return False
        if self._journal is not None:
            await self._journal.sent("telegram", reply)
        return True

    async def _for_the_album(self, album: tuple[str, str], replies: list[Reply]) -> list[Reply]:
        """An album (several photos sent at once) arrives as one update a photo; the person sent one message, so it
        gets one answer: a photo with more of its album behind it keeps only what is particular to it (a refusal) and
        leaves the question ("Đã nhận 3 tệp…") to the album's last photo. Webhooks may bring the next photo a moment
        later: the last one seen waits for it briefly."""
        if self._albums[album] <= 1:
            await asyncio.sleep(ALBUM_WAIT)
        asking = question_index(replies)
        if self._albums[album] <= 1 or asking < 0:
            return replies
        if self._journal is not None:  # superseded, not lost: nothing of it needs sending again
            await asyncio.gather(*(self._journal.sent("telegram", reply) for reply in replies[asking:]))
        return replies[:asking]

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram update %s failed: %r", update_id, context.error, exc_info=context.error)


ALBUM_WAIT = 0.4  # seconds the last photo of an album seen so far waits for another of it


def _album_of(update: Update, chat_id: str) -> tuple[str, str] | None:
    group = update.message.media_group_id if update.message is not None else None
    return (chat_id, group) if isinstance(group, str) and group else None


def to_incoming(update: Update) -> Incoming | None:
    """The neutral message for an update we answer; None for what we ignore (groups, edits, …)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != ChatType.PRIVATE:
        return None
    if not (_is_id(chat.id) and _is_id(user.id)):  # a forged body: no chat a reply could reach, none to keep
        return None
    base: dict[str, Any] = {
        "channel": "telegram", "chat_id": str(chat.id), "user_id": str(user.id), "display_name": user.full_name,
        "can_share_contact": True, "update_key": str(update.update_id),
        "sent_at": update.message.date if update.message is not None else None}
    # The library keeps whatever JSON type a forged webhook body carries: a field that is not text is not read.
    if update.callback_query is not None:
        data = update.callback_query.data
        return Incoming(**base, choice=data if isinstance(data, str) else "")
    message = update.message
    if message is None:
        return None
    contact = None
    if message.contact is not None and isinstance(message.contact.phone_number, str):
        owner = message.contact.user_id
        contact = Contact(phone=message.contact.phone_number, user_id=str(owner) if owner else None)
    text = message.text if isinstance(message.text, str) else None
    return Incoming(**base, text=text, contact=contact, file=_incoming_file(message))


def _is_id(value: object) -> bool:
    """Telegram's ids are integers; the library keeps whatever a forged body carries (null, text, true)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _incoming_file(message: Message) -> IncomingFile | None:
    bot = message.get_bot()

    def reader(file_id: str) -> Callable[[], Awaitable[bytes]]:
        async def read() -> bytes:
            file = await bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())
        return read

    if message.photo:
        photo = message.photo[-1]  # Telegram lists sizes smallest first
        return IncomingFile(mime="image/jpeg", size=photo.file_size, name=None, read=reader(photo.file_id))
    if message.document is not None:
        doc = message.document
        return IncomingFile(mime=doc.mime_type, size=doc.file_size, name=doc.file_name, read=reader(doc.file_id))
    for attribute, mime in _OTHER_MEDIA.items():
        media = getattr(message, attribute, None)
        if media is not None:
            return IncomingFile(mime=mime, size=getattr(media, "file_size", None), name=None,
                                read=reader(media.file_id))
    return None


async def send_reply(application: TelegramApp, chat_id: int, reply: Reply) -> None:
    """Send one reply, part by part through the channel's pacer (a reply to the person ahead of proactive traffic).
    Parts: the text's chunks, then the files, grouped as albums; a retry starts at reply.from_part. A part that fails
    raises PartlySent when earlier parts were delivered (they are not sent again), else what to do about it (an
    Outcome: RetryLater, Transient, …)."""
    bot = application.bot
    limits = {"rate_limit_args": {"urgent": not reply.proactive}}
    chunks = split_text(reply.text, MessageLimit.MAX_TEXT_LENGTH) if reply.text else []  # a file alone
    part = 0
    try:
        for index, chunk in enumerate(chunks):
            if part >= reply.from_part:
                # The markup goes as the dict it serialises to, made once per set of buttons: PTB would otherwise
                # walk every button's attributes on every send (8% of an update's CPU).
                markup = _markup_dict(reply.inline, reply.options, reply.request_contact)
                await bot.send_message(chat_id, chunk, **limits,
                                       reply_markup=markup if index == len(chunks) - 1 else None)
            part += 1
        for album in albums(reply.attachments):
            if part >= reply.from_part:
                files = [loaded for attachment in album if (loaded := await _load(attachment)) is not None]
                if len(files) == 1:
                    content, filename, caption, photo = files[0]
                    if photo:
                        await bot.send_photo(chat_id, content, caption=caption, **limits)
                    else:
                        await bot.send_document(chat_id, content, filename=filename, caption=caption, **limits)
                elif files:
                    await bot.send_media_group(chat_id, [
                        InputMediaPhoto(content, caption=caption) if photo else
                        InputMediaDocument(content, caption=caption, filename=filename)
                        for content, filename, caption, photo in files], **limits)
            part += 1
    except TelegramError as exc:
        outcome = _outcome(exc)
        raise PartlySent(part, outcome) if part > reply.from_part else outcome from exc


def albums(attachments: tuple[Attachment, ...]) -> list[tuple[Attachment, ...]]:
    """Files as Telegram albums: photos together, documents together (an album cannot mix them), at most ten
    each, in the order given. An officer opening a 12-file dossier gets two or three messages, not twelve."""
    groups: list[tuple[Attachment, ...]] = []
    for attachment in attachments:
        photo = attachment.mime.startswith("image/")
        last = groups[-1] if groups else ()
        if last and len(last) < MAX_ALBUM and last[0].mime.startswith("image/") == photo:
            groups[-1] = (*last, attachment)
        else:
            groups.append((attachment,))
    return groups


MAX_ALBUM = 10  # Telegram's most items in one sendMediaGroup


def rest_after(reply: Reply, parts: int) -> Reply:
    """What is left of a reply once its first `parts` parts (as send_reply counts them) were delivered."""
    chunks = len(split_text(reply.text, MessageLimit.MAX_TEXT_LENGTH)) if reply.text else 0
    if parts < chunks:
        return replace(reply, from_part=parts)
    left = [a for album in albums(reply.attachments)[parts - chunks:] for a in album]
    return replace(reply, text="", options=(), request_contact=None, attachments=tuple(left), from_part=0)


async def _load(attachment: Attachment) -> tuple[bytes, str, str, bool] | None:
    """(content, file name, caption, is a photo); None when a stored file is missing on disk."""
    content = attachment.content
    path = Path(attachment.path)
    if content is None:
        try:
            content = await asyncio.to_thread(path.read_bytes)
        except OSError:
            log.warning("a stored file is missing on disk: %s", path.name)
            return None
    filename = path.name if attachment.content is None else attachment.path
    return content, filename, attachment.name[:1000], attachment.mime.startswith("image/")


def keyboard(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    """Answers as a reply keyboard (tapping sends the label); confirm/edit actions inline."""
    return _keyboard(reply.inline, reply.options, reply.request_contact)


@lru_cache(maxsize=2048)
def _keyboard(inline: bool, options: tuple[Option, ...],
              request_contact: str | None) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    # Built once per set of buttons: a form's question shows the same ones to everybody. PTB's markups are frozen
    # once made, so one object may go out in many replies.
    if inline:
        return InlineKeyboardMarkup([[InlineKeyboardButton(button_label(o), callback_data=o.id)]
                                     for o in options])
    if not options and not request_contact:
        return None
    rows: list[list[KeyboardButton]] = []
    if request_contact:
        rows.append([KeyboardButton(request_contact, request_contact=True)])
    answers = [o for o in options if not _is_navigation(o)]
    navigation = [o for o in options if o not in answers]
    rows += _rows(answers, per_row=2 if all(len(o.label) <= 18 for o in answers) else 1)
    rows += _rows(navigation, per_row=2)
    return ReplyKeyboardMarkup(rows, resize_keyboard=True)


@lru_cache(maxsize=2048)
def _markup_dict(inline: bool, options: tuple[Option, ...], request_contact: str | None) -> dict[str, Any] | None:
    markup = _keyboard(inline, options, request_contact)
    return None if markup is None else markup.to_dict()


def _is_navigation(option: Option) -> bool:
    """A form's back/skip/cancel/help go below its answers; "done" and "on paper" are answers."""
    pressed = parse(option.id)
    return isinstance(pressed, Nav) and pressed.action not in ("done", "paper")


def _rows(options: list[Option], per_row: int) -> list[list[KeyboardButton]]:
    return [[KeyboardButton(button_label(o)) for o in options[i:i + per_row]] for i in range(0, len(options), per_row)]


def outbox_send(application: TelegramApp) -> Send:
    """Sending for the dispatcher."""

    async def send(chat_id: str, reply: Reply) -> None:
        await send_reply(application, int(chat_id), reply)

    return send


def _outcome(exc: TelegramError) -> Outcome:
    """What the dispatcher should do about a Telegram error."""
    if isinstance(exc, RetryAfter):
        return RetryLater(_seconds(exc))
    if isinstance(exc, Forbidden):
        return Unreachable(str(exc))
    if isinstance(exc, BadRequest):
        return Permanent(str(exc))
    return Transient(str(exc))  # NetworkError and TimedOut (5xx arrive as NetworkError)


def _seconds(exc: RetryAfter) -> float:
    wait = exc._retry_after  # a timedelta; the public property warns while PTB moves off int seconds
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


def progress_drawer(application: TelegramApp) -> Callable[[str, str | None, str], Awaitable[str | None]]:
    """One message per broadcast, sent once and then edited in place."""

    async def draw(chat_id: str, message_id: str | None, text: str) -> str | None:
        if message_id is None:
            message = await application.bot.send_message(int(chat_id), text, rate_limit_args={"urgent": False})
            return str(message.message_id)
        try:
            await application.bot.edit_message_text(text, chat_id=int(chat_id), message_id=int(message_id),
                                                     rate_limit_args={"urgent": False})
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():  # the same figures twice is not an error
                raise
        return message_id

    return draw
