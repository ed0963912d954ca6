"""Tables. Datetimes are timezone-aware UTC (SQLModel's UTCDateTime); messages/ shows them in local time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, event, false, text
from sqlmodel import Field, SQLModel

from storage import statuses
from storage.text import fold


def utcnow() -> datetime:
    return datetime.now(UTC)


class Producer(SQLModel, table=True):
    """A producer (chủ thể). One typed in chat is a claim until verified (by an officer, an officer's link code,
    a shared phone matching the province's record); one imported from the province's list is verified."""

    # A tax code belongs to one verified producer; unverified claims may repeat it, so a stranger's claim never
    # blocks the real owner, and the officer sees the claims side by side.
    __table_args__ = (Index("uq_producer_verified_tax_code", "tax_code", unique=True,
                            sqlite_where=text("verified_at IS NOT NULL"),
                            postgresql_where=text("verified_at IS NOT NULL")),)

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    entity_type: str = Field(max_length=32)
    name: str = Field(max_length=200)
    # The name folded (no diacritics, lower case), kept by the ORM: "HTX Cà phê Cầu Đất" typed in chat and
    # "HTX CA PHE CAU DAT" in the province's list are seen as one business to check.
    name_folded: str = Field(default="", max_length=200, index=True)
    tax_code: str | None = Field(default=None, max_length=20, index=True)
    representative: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=16, index=True)
    province_code: str = Field(max_length=32, index=True)
    # The official commune/ward code (storage.communes); `commune` is its name, or the text of an old list that
    # matched no commune of today (then the code is empty and a re-evaluation asks the commune again).
    commune_code: int | None = Field(default=None, index=True)
    commune: str | None = Field(default=None, max_length=120)
    district: str | None = Field(default=None, max_length=120)  # kept only when imported from old lists
    address: str | None = Field(default=None, max_length=300)
    verified_at: datetime | None = None
    verified_how: str | None = Field(default=None, max_length=16)  # import | officer | code | contact
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


@event.listens_for(Producer, "before_insert")
@event.listens_for(Producer, "before_update")
def _fold_producer_name(_mapper: object, _connection: object, producer: Producer) -> None:
    producer.name_folded = fold(producer.name)


class ProvinceOffice(SQLModel, table=True):
    """A province's OCOP office: whom producers call. Loaded by `ocop-bot import offices`, edited by an admin."""

    __tablename__ = "province_office"

    province_code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    phone: str = Field(max_length=32)
    address: str = Field(max_length=300)
    updated_at: datetime = Field(default_factory=utcnow)


class ChatAccount(SQLModel, table=True):
    __tablename__ = "chat_account"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    user_id: str | None = Field(default=None, max_length=64)
    display_name: str | None = Field(default=None, max_length=120)
    producer_id: int | None = Field(default=None, foreign_key="producer.id", index=True)
    role: str = Field(default="producer", max_length=16)
    language: str = Field(default="vi", max_length=8)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    # Set when the platform says the person blocked the bot (Telegram 403); cleared when they write again.
    unreachable_at: datetime | None = None
    # The province whose trainings and fairs a person not linked to a producer asked to see.
    browse_province: str | None = Field(default=None, max_length=32)
    # When the person agreed to the personal-data notice, and which version of it (storage/personal_data.py).
    consented_at: datetime | None = None
    consent_version: str | None = Field(default=None, max_length=16)
    # Reminder kinds the person turned off (/nhacnho); certificate reminders cannot be turned off.
    reminder_optouts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False,
                                                                                 server_default="[]"))


class ConversationState(SQLModel, table=True):
    __tablename__ = "conversation_state"

    account_id: int = Field(foreign_key="chat_account.id", primary_key=True)
    flow: str | None = Field(default=None, max_length=32)
    step: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = Field(default=0)
    updated_at: datetime = Field(default_factory=utcnow)


class Product(SQLModel, table=True):
    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    producer_id: int = Field(foreign_key="producer.id", index=True)
    name: str = Field(max_length=200)
    group_code: str = Field(max_length=32)
    subgroup_code: str | None = Field(default=None, max_length=48)  # the nhóm within the group
    category_code: str | None = Field(default=None, max_length=48)  # the phân nhóm, where the nhóm has them
    description: str | None = Field(default=None, max_length=2000)
    material_origin: str | None = Field(default=None, max_length=16)
    yearly_output: float | None = None
    output_unit: str | None = Field(default=None, max_length=32)
    certifications: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The name without diacritics, lower case: the public lookup finds "mat ong" as "Mật ong".
    name_folded: str = Field(default="", max_length=200, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Application(SQLModel, table=True):
    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    code: str | None = Field(default=None, max_length=24, unique=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    producer_id: int = Field(foreign_key="producer.id", index=True)
    kind: str = Field(default="new", max_length=16)
    status: str = Field(default="submitted", max_length=24, index=True)
    # Dossier items an officer asked for (status needs_more); emptied when the producer sends them.
    missing_items: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    request_note: str | None = Field(default=None, max_length=2000)
    score: int | None = None
    # The council's record: False when a mandatory criterion failed, whatever the points; None before a result.
    mandatory_met: bool | None = None
    result_note: str | None = Field(default=None, max_length=2000)
    submitted_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ApplicationStatusChange(SQLModel, table=True):
    __tablename__ = "application_status_change"

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    application_id: int = Field(foreign_key="application.id", index=True)
    from_status: str | None = Field(default=None, max_length=24)
    to_status: str = Field(max_length=24)
    actor_account_id: int | None = Field(default=None, foreign_key="chat_account.id")
    note: str | None = Field(default=None, max_length=2000)
    at: datetime = Field(default_factory=utcnow)


class StoredFile(SQLModel, table=True):
    __tablename__ = "stored_file"

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    sha256: str = Field(max_length=64, unique=True)
    size: int
    mime: str = Field(max_length=64)
    original_name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class ApplicationDocument(SQLModel, table=True):
    """One row per file of a dossier item, or one row saying it is handed in on paper."""

    __tablename__ = "application_document"

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    application_id: int = Field(foreign_key="application.id", index=True)
    doc_code: str = Field(max_length=48)
    delivery: str = Field(max_length=16)  # upload | in_person | skipped
    file_id: int | None = Field(default=None, foreign_key="stored_file.id")
    # When it came: the first dossier and each supplement are a new batch, so the dossier can show its history.
    added_at: datetime = Field(default_factory=utcnow)


class Certificate(SQLModel, table=True):
    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    product_id: int = Field(foreign_key="product.id", index=True)
    application_id: int | None = Field(default=None, foreign_key="application.id")
    score: int | None = None
    stars: int
    # 4★ recognised by the province for a 90–100 product while the central council decides (Decision 148).
    potential_five: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    decision_number: str = Field(max_length=64)
    decision_date: date
    valid_until: date = Field(index=True)
    revoked_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Append-only: rows are never updated or deleted."""

    __tablename__ = "audit_event"

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_account_id: int | None = Field(default=None, foreign_key="chat_account.id")
    action: str = Field(max_length=48)
    subject_type: str = Field(max_length=32)
    subject_id: str = Field(max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Officer(SQLModel, table=True):
    """A provincial OCOP officer. Invited by an operator with a one-time code (stored hashed);
    the chat that redeems it becomes this officer's account. Revoked by date, never deleted."""

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    name: str = Field(max_length=120)
    province_code: str = Field(max_length=32, index=True)
    is_admin: bool = False
    code_hash: str = Field(max_length=64, unique=True)
    code_expires_at: datetime
    code_used_at: datetime | None = None
    account_id: int | None = Field(default=None, foreign_key="chat_account.id", unique=True)
    revoked_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class OfficerSession(SQLModel, table=True):
    """An officer signed in on the web chat with a one-time code. The web page is a browser anyone may sit at, so
    its officer rights last until `expires_at`, or until the officer signs out or is revoked (`ended_at`)."""

    __tablename__ = "officer_session"

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    officer_id: int = Field(foreign_key="officer.id", index=True)
    account_id: int = Field(foreign_key="chat_account.id", index=True)
    opened_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    ended_at: datetime | None = None


class LinkCode(SQLModel, table=True):
    """A one-time code an officer gives a producer to link their chat to an imported producer record."""

    __tablename__ = "link_code"

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    producer_id: int = Field(foreign_key="producer.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_by_officer_id: int | None = Field(default=None, foreign_key="officer.id")
    expires_at: datetime
    used_at: datetime | None = None
    used_by_account_id: int | None = Field(default=None, foreign_key="chat_account.id")


class OutboxMessage(SQLModel, table=True):
    """Every message the bot sends on its own initiative, with the outcome of sending it."""

    __tablename__ = "outbox"

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    account_id: int = Field(foreign_key="chat_account.id", index=True)
    dedupe_key: str = Field(max_length=160, unique=True)
    reason: str = Field(max_length=48)
    text: str
    options: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # pending → sending (claimed, until lease_until) → sent | failed | unreachable | skipped
    status: str = Field(default=statuses.PENDING, max_length=16, index=True)
    due_at: datetime = Field(default_factory=utcnow, index=True)
    lease_until: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=64)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    broadcast_id: int | None = Field(default=None, foreign_key="broadcast.id", index=True)
    file_id: int | None = Field(default=None, foreign_key="stored_file.id")  # a photo or document to send along
    # Parts of a multi-part message (text chunks, then files) already delivered: a retry resumes after them.
    parts_sent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # A kept reply's presentation beyond text and buttons (Reply's request_contact, numbered, accepts, upload_hint,
    # invite_notifications where not the default), so it is sent again as it was made.
    shape: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class Event(SQLModel, table=True):
    """A training (tập huấn) or a trade fair (hội chợ) announced to a province's producers."""

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    kind: str = Field(max_length=16, index=True)  # training | fair
    name: str = Field(max_length=200)
    place: str = Field(max_length=300)
    starts_at: datetime = Field(index=True)
    ends_at: datetime
    registration_deadline: datetime | None = None
    description: str | None = Field(default=None, max_length=2000)
    province_code: str = Field(max_length=32, index=True)
    # Product groups the event is for; empty means every producer of the province.
    audience_groups: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_by_officer_id: int | None = Field(default=None, foreign_key="officer.id")
    cancelled_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class EventRegistration(SQLModel, table=True):
    __tablename__ = "event_registration"
    __table_args__ = (UniqueConstraint("event_id", "account_id"),)

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    event_id: int = Field(foreign_key="event.id", index=True)
    account_id: int = Field(foreign_key="chat_account.id", index=True)
    producer_id: int | None = Field(default=None, foreign_key="producer.id")
    registered_at: datetime = Field(default_factory=utcnow)
    cancelled_at: datetime | None = None


class Broadcast(SQLModel, table=True):
    """An officer's announcement to a filtered audience; each recipient is an outbox row (reason broadcast)."""

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    officer_id: int = Field(foreign_key="officer.id", index=True)
    account_id: int = Field(foreign_key="chat_account.id")  # who sent it: progress and the report go there
    text: str
    file_id: int | None = Field(default=None, foreign_key="stored_file.id")
    # The audience filter as chosen: provinces, communes, groups, stars, expiring_within_days, event_id.
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    recipients: int = 0
    status: str = Field(default=statuses.BROADCAST_SCHEDULED, max_length=16, index=True)  # storage.statuses
    scheduled_at: datetime = Field(default_factory=utcnow)
    progress_message_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class ProcessedUpdate(SQLModel, table=True):
    """Platform updates already handled: a webhook delivered twice (or to two replicas) is handled once."""

    __tablename__ = "processed_update"

    channel: str = Field(max_length=16, primary_key=True)
    update_key: str = Field(max_length=128, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)


class WebPushSubscription(SQLModel, table=True):
    """A browser's Web Push subscription for a web chat: where to push a notice while its page is closed."""

    __tablename__ = "web_push_subscription"

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed
    account_id: int = Field(foreign_key="chat_account.id", index=True)
    endpoint: str = Field(max_length=500, unique=True)
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)


class SenderReplica(SQLModel, table=True):
    """A running instance that sends for the bot, seen lately: the platforms' limits are shared among those alive."""

    __tablename__ = "sender_replica"

    worker: str = Field(primary_key=True, max_length=120)
    seen_at: datetime = Field(default_factory=utcnow, index=True)
