"""Settings from the environment and `.env`; a bad value stops start-up with one clear line."""

from __future__ import annotations

import hashlib
import hmac
from datetime import time
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from handlers.notices.quiet import QuietHours
from handlers.notices.reminders import ReminderRules
from messages import LANGUAGES


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field("sqlite+aiosqlite:///./data/ocop.db", alias="OCOP_DATABASE_URL")
    data_dir: Path = Field(Path("./data"), alias="OCOP_DATA_DIR")
    http_host: str = Field("127.0.0.1", alias="OCOP_HTTP_HOST")
    http_port: int = Field(8080, ge=1, le=65535, alias="OCOP_HTTP_PORT")
    webchat_enabled: bool = Field(True, alias="OCOP_WEBCHAT_ENABLED")
    timezone: str = Field("Asia/Ho_Chi_Minh", alias="OCOP_TIMEZONE")
    default_language: str = Field("vi", alias="OCOP_DEFAULT_LANGUAGE")
    max_upload_mb: int = Field(10, ge=1, le=20, alias="OCOP_MAX_UPLOAD_MB")  # Bot API downloads stop at 20 MB
    flood_burst: int = Field(10, ge=1, le=1000, alias="OCOP_FLOOD_BURST")  # messages one chat may send at once
    flood_per_second: float = Field(1.0, gt=0, le=100, alias="OCOP_FLOOD_PER_SECOND")  # then this many a second
    # What one producer, chat or address may ask for: generous for people, a ceiling for a script.
    max_submissions_per_day: int = Field(5, ge=1, le=1000, alias="OCOP_MAX_SUBMISSIONS_PER_DAY")
    max_open_drafts: int = Field(3, ge=1, le=100, alias="OCOP_MAX_OPEN_DRAFTS")  # per producer, over its chats
    max_uploads_per_hour: int = Field(60, ge=1, le=10_000, alias="OCOP_MAX_UPLOADS_PER_HOUR")  # files, per chat
    # Per client address: a training room on one Wi-Fi, or a carrier's shared address, opens dozens at once.
    max_web_identities_per_hour: int = Field(120, ge=1, le=100_000, alias="OCOP_MAX_WEB_IDENTITIES_PER_HOUR")
    # How long an officer's sign-in on the web chat lasts (a browser may be shared); Telegram and Zalo need none.
    officer_web_session_hours: int = Field(12, ge=1, le=720, alias="OCOP_OFFICER_WEB_SESSION_HOURS")
    # The province's usual days from a submission to its first answer: the date a producer's receipt promises.
    answer_days: int = Field(15, ge=1, le=365, alias="OCOP_ANSWER_DAYS")
    log_level: str = Field("INFO", alias="OCOP_LOG_LEVEL")
    send_rate: float = Field(25.0, gt=0, le=1000, alias="OCOP_SEND_RATE")  # calls/s per chat platform (Telegram ≈ 30)
    chat_interval: float = Field(1.0, ge=0, le=60, alias="OCOP_CHAT_INTERVAL")  # seconds between calls to one chat
    quiet_hours: str = Field("21:00-07:00", alias="OCOP_QUIET_HOURS")  # local time; "" for none
    scan_time: time = Field(time(8, 0), alias="OCOP_SCAN_TIME")  # local time of the daily reminder scan
    cert_reminder_days: str = Field("90,60,30,7", alias="OCOP_CERT_REMINDER_DAYS")
    draft_reminder_days: int = Field(3, ge=1, le=60, alias="OCOP_DRAFT_REMINDER_DAYS")
    event_reminder_days: int = Field(1, ge=1, le=30, alias="OCOP_EVENT_REMINDER_DAYS")
    fair_deadline_reminder_days: int = Field(7, ge=1, le=60, alias="OCOP_FAIR_DEADLINE_REMINDER_DAYS")
    public_url: str | None = Field(None, alias="OCOP_PUBLIC_URL")  # set: webhooks instead of polling
    telegram_bot_token: SecretStr | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field("https://api.telegram.org", alias="TELEGRAM_API_BASE_URL")
    zalo_bot_token: SecretStr | None = Field(None, alias="ZALO_BOT_TOKEN")
    zalo_api_base_url: str = Field("https://bot-api.zaloplatforms.com", alias="ZALO_API_BASE_URL")
    # Web Push for closed web pages: on when a key is set (`ocop-bot webpush-key` makes one).
    vapid_private_key: SecretStr | None = Field(None, alias="OCOP_VAPID_PRIVATE_KEY")
    vapid_subject: str = Field("", alias="OCOP_VAPID_SUBJECT")  # mailto: or https: contact for push services
    # Signs web chat identities; empty: one is made and kept in the data directory.
    web_secret: SecretStr | None = Field(None, alias="OCOP_WEB_SECRET")

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @field_validator("vapid_subject")
    @classmethod
    def _contact(cls, value: str) -> str:
        if value and not value.startswith(("mailto:", "https://")):
            raise ValueError("use mailto:someone@province.gov.vn or an https:// address")
        return value

    @model_validator(mode="after")
    def _push_complete(self) -> Settings:
        if self.vapid_private_key is not None and not self.vapid_subject:
            raise ValueError("OCOP_VAPID_SUBJECT (mailto:…) is required with OCOP_VAPID_PRIVATE_KEY")
        return self

    @field_validator("telegram_bot_token", "zalo_bot_token", "web_secret", "vapid_private_key", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("public_url", mode="before")
    @classmethod
    def _public_https(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if not str(value).startswith("https://"):
            raise ValueError("must be the https:// address the platforms can reach")
        return str(value).rstrip("/")

    @field_validator("telegram_api_base_url", "zalo_api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_window(cls, value: str) -> str:
        if value.strip() and parse_quiet_hours(value) is None:
            raise ValueError("use HH:MM-HH:MM, e.g. 21:00-07:00, or leave empty")
        return value.strip()

    @field_validator("cert_reminder_days")
    @classmethod
    def _day_list(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not parts or not all(p.isdecimal() and 0 < int(p) <= 365 for p in parts):
            raise ValueError("use days before expiry separated by commas, e.g. 90,60,30,7")
        return ",".join(parts)

    def reminder_rules(self) -> ReminderRules:
        days = tuple(sorted({int(d) for d in self.cert_reminder_days.split(",")}, reverse=True))
        return ReminderRules(certificate_days=days, draft_idle_days=self.draft_reminder_days, timezone=self.timezone,
                             event_tomorrow_days=self.event_reminder_days,
                             fair_deadline_days=self.fair_deadline_reminder_days)

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def page_url(self) -> str:
        """Where a person opens the web chat: the public address when there is one, else the address the bot listens
        on (all interfaces are reached at 127.0.0.1 from this machine)."""
        if self.public_url:
            return self.public_url.rstrip("/") + "/"
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::", "") else self.http_host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.http_port}/"

    @property
    def quiet(self) -> QuietHours:
        start, end = parse_quiet_hours(self.quiet_hours) or (time(0), time(0))
        return QuietHours(start, end, self.timezone)

    def secrets(self) -> list[str]:
        """Values that must never appear in a log line: the tokens, the webhook secrets made from them, the web
        secret and push key, the database password; each also as it looks inside a URL."""
        values = [token.get_secret_value() for token in (self.telegram_bot_token, self.zalo_bot_token,
                                                          self.web_secret, self.vapid_private_key) if token]
        for token, channel in ((self.telegram_bot_token, "telegram"), (self.zalo_bot_token, "zalo")):
            if token:
                values.append(webhook_secret(token.get_secret_value(), channel))
        password = make_url(self.database_url).password
        if password:
            values.append(str(password))
        return sorted({form for value in values for form in (value, quote(value, safe=""))}, key=len, reverse=True)


def webhook_secret(token: str, channel: str) -> str:
    """The same on every replica (derived from the bot token), never the token itself."""
    return hmac.new(token.encode(), f"ocop-webhook:{channel}".encode(), hashlib.sha256).hexdigest()[:48]


def parse_quiet_hours(value: str) -> tuple[time, time] | None:
    """'21:00-07:00' → (21:00, 07:00); '' → (00:00, 00:00), meaning none; None when malformed."""
    if not value.strip():
        return time(0), time(0)
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        return None
    return start, end
