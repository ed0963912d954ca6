"""`ocop-bot reminders scan`, `ocop-bot outbox status`, `ocop-bot outbox drain`: for operators and tests."""

from __future__ import annotations

from datetime import date

from bot.cli_support import database
from bot.dispatcher import Dispatcher, Limits
from bot.scheduler import ReminderScheduler
from bot.settings import Settings, parse_quiet_hours
from messages import t
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_database
from storage.outbox import counts_by_status_and_reason


async def scan(settings: Settings, as_of: date | None) -> list[str]:
    engine = create_engine(settings.database_url)
    try:
        await upgrade_database(engine)
        scheduler = ReminderScheduler(create_sessionmaker(engine), settings.reminder_rules(),
                                      timezone=settings.timezone, scan_at=settings.scan_time)
        added = await scheduler.run_scan(as_of)
    finally:
        await engine.dispose()
    lang = settings.default_language
    if not added:
        return [t(lang, "cli.scan_nothing")]
    return [t(lang, "cli.scan_added", count=sum(added.values()))] + [f"  {reason}: {n}" for reason, n in
                                                                      sorted(added.items())]


async def status(settings: Settings) -> list[str]:
    async with database(settings) as session:
        counts = await counts_by_status_and_reason(session)
    lang = settings.default_language
    if not counts:
        return [t(lang, "cli.outbox_empty")]
    lines = [t(lang, "cli.outbox_header")]
    lines += [f"{status}\t{reason}\t{count}" for (status, reason), count in sorted(counts.items())]
    return lines


async def drain(settings: Settings) -> tuple[int, list[str]]:
    """Send what is due now through the configured channels, then exit."""
    lang = settings.default_language
    if settings.telegram_bot_token is None:
        return 1, [t(lang, "cli.drain_no_channel")]
    from bot.telegram_channel import build_application, outbox_send

    application = build_application(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base_url)
    engine = create_engine(settings.database_url)
    start, end = parse_quiet_hours(settings.quiet_hours) or (None, None)
    limits = Limits(rate_per_second=settings.send_rate, timezone=settings.timezone,
                    **({"quiet_start": start, "quiet_end": end} if start is not None else {}))
    try:
        await upgrade_database(engine)
        await application.initialize()
        dispatcher = Dispatcher(create_sessionmaker(engine), {"telegram": outbox_send(application)}, limits)
        if limits.in_quiet_hours(dispatcher._clock()):
            return 0, [t(lang, "cli.drain_quiet", hours=settings.quiet_hours)]
        handled = await dispatcher.drain()
    finally:
        await application.shutdown()
        await engine.dispose()
    return 0, [t(lang, "cli.drain_done", count=handled)]
