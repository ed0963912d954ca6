"""`ocop-bot reminders scan`, `ocop-bot outbox status`, `ocop-bot outbox drain`: for operators and tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from bot.cli.support import database
from bot.outbox.dispatcher import Dispatcher, Limits
from bot.outbox.outcomes import Send
from bot.outbox.pacer import Pacer
from bot.outbox.scheduler import ReminderScheduler
from bot.replicas import ReplicaHeartbeat
from bot.settings import Settings, parse_quiet_hours
from handlers.types import Incoming, Reply
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
    """Send what is due now through every configured chat platform, then exit. (Web pages are not open in this
    process: their notices wait for the page, as in `ocop-bot run`.)"""
    lang = settings.default_language
    if settings.telegram_bot_token is None and settings.zalo_bot_token is None:
        return 1, [t(lang, "cli.drain_no_channel")]
    engine = create_engine(settings.database_url)
    start, end = parse_quiet_hours(settings.quiet_hours) or (None, None)
    limits = Limits(timezone=settings.timezone, chat_interval=timedelta(seconds=settings.chat_interval))
    if start is not None and end is not None:
        limits = replace(limits, quiet_start=start, quiet_end=end)
    # A drain shares the platforms' limits with any `ocop-bot run` sending meanwhile: it joins their heartbeat.
    channels: dict[str, Callable[[Settings, Pacer], contextlib.AbstractAsyncContextManager[Send]]] = {
        name: sender for name, sender in (("telegram", _telegram), ("zalo", _zalo))
        if getattr(settings, f"{name}_bot_token") is not None}
    pacers = {name: Pacer(settings.send_rate, per_chat_interval=settings.chat_interval) for name in channels}
    try:
        async with contextlib.AsyncExitStack() as stack:
            await upgrade_database(engine)
            sessions = create_sessionmaker(engine)
            senders = {name: await stack.enter_async_context(sender(settings, pacers[name]))
                       for name, sender in channels.items()}
            dispatcher = Dispatcher(sessions, senders, limits, data_dir=settings.data_dir)
            if limits.in_quiet_hours(datetime.now(UTC)):
                return 0, [t(lang, "cli.drain_quiet", hours=settings.quiet_hours)]
            heartbeat = ReplicaHeartbeat(sessions, f"drain-{uuid.uuid4().hex[:12]}", pacers.values())
            await heartbeat.start()
            try:
                handled = await dispatcher.drain()
            finally:
                await heartbeat.stop()
    finally:
        await engine.dispose()
    return 0, [t(lang, "cli.drain_done", count=handled)]


@contextlib.asynccontextmanager
async def _telegram(settings: Settings, pacer: Pacer) -> AsyncIterator[Send]:
    from bot.channels.telegram import build_application, outbox_send

    assert settings.telegram_bot_token is not None
    application = build_application(settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base_url,
                                    pacer=pacer)
    await application.initialize()
    try:
        yield outbox_send(application)
    finally:
        await application.shutdown()


@contextlib.asynccontextmanager
async def _zalo(settings: Settings, pacer: Pacer) -> AsyncIterator[Send]:
    import aiohttp

    from bot.channels.web_identity import WebIdentity
    from bot.channels.zalo import ZaloChannel, ZaloClient, zalo_outbox_send
    from bot.http.file_links import attachment_linker

    assert settings.zalo_bot_token is not None

    async def nobody_writes_here(_incoming: Incoming) -> list[Reply]:  # this process only sends
        return []

    secret = WebIdentity(settings.data_dir, settings.web_secret.get_secret_value() if settings.web_secret else None)
    link = attachment_linker(settings.data_dir, settings.public_url, secret.derived("files")) \
        if settings.public_url else None
    async with aiohttp.ClientSession(trust_env=True) as http:  # the proxy variables, as `ocop-bot run`
        client = ZaloClient(settings.zalo_bot_token.get_secret_value(), settings.zalo_api_base_url, http, pacer)
        yield zalo_outbox_send(ZaloChannel(client, nobody_writes_here, http, link=link,
                                           lang=settings.default_language))
