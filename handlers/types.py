"""The neutral shapes that pass between channel adapters (bot/) and handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.forms.matching import clean_text, without_controls
from handlers.notices.quiet import QuietHours
from storage.models import ChatAccount


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    number: int | None = None  # a list item's own number (item 9 on page 2), shown beside its label


@dataclass(frozen=True)
class Attachment:
    """A file to send along with a reply: a stored one (`path`) or one made now (`content`, e.g. an .ics)."""

    path: str
    mime: str
    name: str
    content: bytes | None = None


@dataclass(frozen=True)
class Reply:
    """One message to the person. `inline` asks the adapter to attach options to the message itself
    (Telegram inline keyboard) rather than as answer buttons (reply keyboard)."""

    text: str
    options: tuple[Option, ...] = ()
    inline: bool = False
    request_contact: str | None = None  # label of a "share my phone" button, where the channel has one
    attachments: tuple[Attachment, ...] = ()
    # Whether a typed number picks one of the options. False for a free-text question (a typed "2" is the answer)
    # and for a notice reaching a chat in the middle of a form (the form's numbers keep their meaning).
    numbered: bool = True
    accepts: str | None = None  # the question takes files: "photo" (images) or "document" (images and PDFs)
    # For a channel that cannot carry a PDF: the sentence offering an upload page, "{url}" left for the adapter.
    upload_hint: str | None = None
    invite_notifications: bool = False  # a good moment for a web page to offer notifications (after registering)
    receipt: bool = False  # something to keep (a submission's receipt): the web page keeps it on screen, saveable
    push_settings: bool = False  # the web page shows whether its notifications are on, to turn them on or off
    # The question the person just tapped in, drawn again (a multi-select's ✅ moved): a channel that can change that
    # message (Telegram's inline keyboard, the web page's bubble) changes it in place instead of adding another.
    redraws: bool = False
    from_part: int = 0  # a retry of a multi-part message: the parts before this one were delivered already
    proactive: bool = False  # not an answer to what the person just did (a reminder, a broadcast): replies go first
    # The chat became an officer's: a channel with a command menu (Telegram) lists the officer's commands there.
    officer_menu: bool = False
    # The outbox rows this reply was written to with the step (Telegram, Zalo): marked sent once the platform takes
    # it, so a process killed before that sends it after its restart.
    journal_rows: tuple[int, ...] = ()
    # A slow read (a list, statistics, an export) that makes this reply once the step is committed, on a connection
    # of its own, so it holds up no other chat's writes: its replies take this one's place, and what they show (a
    # list's items) is then written into the state the step committed (bot/conversation.py).
    after_commit: Callable[[AsyncSession], Awaitable[list[Reply]]] | None = None


# What a reply kept in the outbox must remember besides its text, buttons and files, to be sent again as it was made.
SHAPE = ("request_contact", "numbered", "accepts", "upload_hint", "invite_notifications", "receipt", "push_settings")


def reply_shape(reply: Reply) -> dict[str, Any] | None:
    """The fields of SHAPE not at their default (None when all are)."""
    shape = {name: getattr(reply, name) for name in SHAPE
             if getattr(reply, name) != Reply.__dataclass_fields__[name].default}
    return shape or None


@dataclass(frozen=True)
class Contact:
    phone: str
    user_id: str | None  # whose contact it is, as the platform says


@dataclass(frozen=True)
class IncomingFile:
    mime: str | None
    size: int | None
    name: str | None
    read: Callable[[], Awaitable[bytes]]  # downloads the content; called only after the checks pass
    # storage.blobs.checked_content's verdict on what read() gives, made before the update's transaction (decoding a
    # photo takes a while, and nobody's writes should wait for it); None when it was not made.
    checked: bytes | str | None = None


@dataclass(frozen=True)
class Incoming:
    channel: str
    chat_id: str
    user_id: str | None
    text: str | None = None
    choice: str | None = None  # an option id, when the person tapped a button that carries one
    contact: Contact | None = None
    file: IncomingFile | None = None
    display_name: str | None = None
    can_share_contact: bool = False
    carries_documents: bool = True  # the platform can deliver a PDF the person sends (Zalo cannot)
    update_key: str | None = None  # the platform's id for this update, so a redelivery is handled once
    unreadable: bool = False  # the platform withheld what was sent (Zalo, for protected accounts)
    sent_at: Any = None  # when the person sent it (aware UTC), where the platform says: a backlog is not a flood

    def __post_init__(self) -> None:
        # Cleaned once, here, whatever the channel: the text NFC with single spaces and no control characters (Word's
        # line break pasted into a chat is one; PostgreSQL refuses NUL); ids and names without control characters.
        if isinstance(self.text, str):
            object.__setattr__(self, "text", clean_text(self.text))
        object.__setattr__(self, "choice", without_controls(self.choice))
        object.__setattr__(self, "display_name", without_controls(self.display_name))
        if self.file is not None and self.file.name:
            object.__setattr__(self, "file", replace(self.file, name=without_controls(self.file.name)))


@dataclass(frozen=True)
class Quotas:
    """How much one person may ask of the bot and officers, and for how long (OCOP_MAX_*, OCOP_OFFICER_*)."""

    submissions_per_day: int = 5
    open_drafts: int = 3  # registrations one producer may have open at once, over all its chats
    officer_web_session: timedelta = timedelta(hours=12)


@dataclass
class Context:
    """What a handler may use for one update. `session` is the update's single transaction."""

    session: AsyncSession
    account: ChatAccount
    data_dir: Path
    max_upload_bytes: int
    now: datetime  # aware UTC; injected so tests can freeze time
    can_share_contact: bool = False  # the channel can draw a "share my phone" button
    carries_documents: bool = True  # the channel can deliver a PDF the person sends
    timezone: str = "Asia/Ho_Chi_Minh"  # OCOP_TIMEZONE: what "today" means for expiry dates
    outbox_written: bool = False  # set when the update queued messages for other people
    code_failures: list[str] = field(default_factory=list)  # wrong one-time codes typed, by kind: for metrics
    quotas: Quotas = field(default_factory=Quotas)
    quiet: QuietHours | None = None  # OCOP_QUIET_HOURS: to tell an officer when a producer will read what they did
    answer_days: int = 15  # OCOP_ANSWER_DAYS: the province's usual time to a first answer, promised on a receipt

    @property
    def lang(self) -> str:
        return self.account.language

    @property
    def today(self) -> date:
        """The programme's date now (OCOP_TIMEZONE): what expiry and decision dates are compared with."""
        return self.now.astimezone(ZoneInfo(self.timezone)).date()


@dataclass
class State:
    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: Any = None  # when the person last wrote (aware UTC), to notice a return after days


@dataclass
class Result:
    replies: list[Reply]
    state: State
