"""The one place that builds everything, in order, and closes it in reverse (aiohttp cleanup_ctx)."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.error import TelegramError
from telegram.request import BaseRequest

from bot.channels.telegram import TelegramChannel, build_application, outbox_send, progress_drawer
from bot.channels.upload_links import UploadLinks, add_upload_link_routes
from bot.channels.web import MAX_BODY, add_webchat_routes, web_outbox_send
from bot.channels.web_identity import WebIdentity
from bot.channels.web_notices import WebNotices
from bot.channels.web_push import WebPush
from bot.channels.zalo import WebhookInUse, ZaloChannel, ZaloClient, ZaloError, zalo_outbox_send
from bot.conversation import ConversationRunner
from bot.flood import FloodGuard, HourlyLimit
from bot.http.file_links import add_file_route, attachment_linker
from bot.http.headers import defend
from bot.http.health import add_health_routes, refresh_outbox_gauge
from bot.http.webhooks import telegram_webhook_handler, zalo_webhook_handler
from bot.metrics import Metrics
from bot.outbox.broadcast_progress import BroadcastMonitor, Progress
from bot.outbox.dispatcher import Dispatcher, Limits
from bot.outbox.outcomes import Send
from bot.outbox.pacer import Pacer
from bot.outbox.scheduler import ReminderScheduler
from bot.replicas import ReplicaHeartbeat
from bot.settings import Settings, webhook_secret
from handlers.types import Incoming, Quotas, Reply
from messages import t
from storage.chats import get_or_create_chat_account
from storage.db import create_engine, create_sessionmaker
from storage.migrate import upgrade_database
from storage.web_push import forget_subscription_of_chat, save_subscription
from storage.writer import Transactions

log = logging.getLogger(__name__)


class StartupError(Exception):
    """Start-up cannot go on; the message is for the operator, from the catalog."""


RUNNER = web.AppKey("runner", ConversationRunner)
TELEGRAM = web.AppKey("telegram", TelegramChannel)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
ZALO = web.AppKey("zalo", ZaloChannel)
SCHEDULER = web.AppKey("scheduler", ReminderScheduler)
METRICS = web.AppKey("metrics", Metrics)
ENGINE = web.AppKey("engine", AsyncEngine)
NOTICES = web.AppKey("notices", WebNotices)


def build_app(settings: Settings, *, telegram_request: BaseRequest | None = None,
              telegram_polling: bool = True, run_scheduler: bool = True,
              push_http: aiohttp.ClientSession | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    notices = app[NOTICES] = WebNotices()  # the web pages open on this process, told of notices at once
    # Every response defends itself (CSP, no framing, nosniff, …); HSTS once the bot is served over https.
    defend(app, https=(settings.public_url or "").startswith("https://"))
    # One server secret signs web identities and, derived from it, the links to kept files (web page and Zalo).
    identity = WebIdentity(settings.data_dir, settings.web_secret.get_secret_value() if settings.web_secret else None,
                           secure_cookie=bool(settings.public_url))  # https: the cookie never travels in clear
    file_link = attachment_linker(settings.data_dir, "", identity.derived("files"))  # for the web page
    upload_links = UploadLinks(settings.public_url, identity.derived("upload")) \
        if settings.zalo_bot_token is not None and settings.public_url else None
    senders: dict[str, Send] = {}
    pushers: list[WebPush] = []  # the Web Push sender, once started (when configured)
    progress: dict[str, Progress] = {}
    # One pacer per chat platform: replies, progress edits and outbox sends all take their turns from it.
    pacers = {name: Pacer(settings.send_rate, per_chat_interval=settings.chat_interval)
              for name in ("telegram", "zalo")}
    metrics = Metrics()
    app[METRICS] = metrics
    # Two processes cannot listen on one port of one host, so host:port names this process alone.
    worker = f"{socket.gethostname()[:56]}:{settings.http_port}"

    async def database(app: web.Application) -> AsyncIterator[None]:
        # First, because every channel needs it; migrations run here so a fresh clone just works.
        engine = create_engine(settings.database_url)
        app[ENGINE] = engine
        try:
            await upgrade_database(engine)
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except (OSError, SQLAlchemyError) as exc:
            await engine.dispose()
            raise StartupError(t(settings.default_language, "cli.db_failed", problem=_first_line(exc))) from exc
        app[RUNNER] = ConversationRunner(create_sessionmaker(engine), data_dir=settings.data_dir,
                                         max_upload_bytes=settings.max_upload_bytes,
                                         default_language=settings.default_language, timezone=settings.timezone,
                                         metrics=metrics,
                                         flood=FloodGuard(settings.flood_burst, settings.flood_per_second),
                                         worker=worker,
                                         quotas=Quotas(submissions_per_day=settings.max_submissions_per_day,
                                                       open_drafts=settings.max_open_drafts,
                                                       officer_web_session=timedelta(
                                                           hours=settings.officer_web_session_hours)),
                                         uploads=HourlyLimit(settings.max_uploads_per_hour), quiet=settings.quiet,
                                         answer_days=settings.answer_days)
        await app[RUNNER].take_back_journal()  # before any channel takes an update

        def written_to(channel: str, chat_id: str, seconds_ago: float) -> None:
            if channel in pacers:  # the web page has no platform limit
                pacers[channel].written_to(chat_id, seconds_ago)

        app[RUNNER].on_chat_written = written_to
        yield
        await engine.dispose()

    async def telegram(app: web.Application) -> AsyncIterator[None]:
        assert settings.telegram_bot_token is not None
        token = settings.telegram_bot_token.get_secret_value()
        application = build_application(token, settings.telegram_api_base_url, telegram_request,
                                         pacer=pacers["telegram"])
        runner = app[RUNNER]
        channel = TelegramChannel(application, runner.handle, journal=runner.journal("telegram"))
        webhook = f"{settings.public_url}/webhook/telegram" if settings.public_url else None
        try:
            await channel.start(polling=telegram_polling, webhook_url=webhook,
                                secret=webhook_secret(token, "telegram"))
        except TelegramError as exc:
            raise StartupError(t(settings.default_language, "cli.telegram_failed", problem=_first_line(exc))) from exc
        app[TELEGRAM] = channel
        senders["telegram"], progress["telegram"] = outbox_send(application), progress_drawer(application)
        yield
        await channel.stop()

    async def zalo(app: web.Application) -> AsyncIterator[None]:
        # Zalo is where most producers are; it has no buttons, so options become numbered lines.
        assert settings.zalo_bot_token is not None
        token = settings.zalo_bot_token.get_secret_value()
        async with aiohttp.ClientSession(trust_env=True) as session:  # HTTPS_PROXY/NO_PROXY, as for Telegram
            link = attachment_linker(settings.data_dir, settings.public_url, identity.derived("files")) \
                if settings.public_url else None
            channel = ZaloChannel(ZaloClient(token, settings.zalo_api_base_url, session, pacers["zalo"]),
                                  app[RUNNER].handle, session,
                                  link=link,
                                  upload_link=upload_links.make if upload_links else None,
                                  journal=app[RUNNER].journal("zalo"), lang=settings.default_language)
            if not settings.public_url:
                log.warning(t(settings.default_language, "cli.zalo_without_public_url"))
            webhook = f"{settings.public_url}/webhook/zalo" if settings.public_url else None
            try:
                await channel.start(webhook_url=webhook, secret=webhook_secret(token, "zalo"))
            except WebhookInUse as exc:
                raise StartupError(t(settings.default_language, "cli.zalo_webhook_in_use")) from exc
            except ZaloError as exc:
                raise StartupError(t(settings.default_language, "cli.zalo_failed", problem=str(exc.code))) from exc
            app[ZALO] = channel
            senders["zalo"] = zalo_outbox_send(channel)
            yield
            await channel.stop()

    async def web_delivery(app: web.Application) -> AsyncIterator[None]:
        # Open pages are told over their event streams; closed ones by Web Push where the operator set a key.
        async with aiohttp.ClientSession(trust_env=True) as http:  # push services, through the proxy if set
            push = None
            if settings.vapid_private_key is not None:
                push = WebPush(settings.vapid_private_key.get_secret_value(), settings.vapid_subject,
                               app[RUNNER].sessions, push_http or http)
                pushers.append(push)
            senders["web"] = web_outbox_send(notices, file_link, push)
            yield
            pushers.clear()

    async def dispatch(app: web.Application) -> AsyncIterator[None]:
        # After the channels: one dispatcher sends every pushable channel's outbox rows within its limits.
        if not senders:
            yield
            return
        runner = app[RUNNER]
        quiet = settings.quiet
        limits = Limits(quiet_start=quiet.start, quiet_end=quiet.end, timezone=settings.timezone,
                        chat_interval=timedelta(seconds=settings.chat_interval))
        monitor = BroadcastMonitor(runner.sessions, progress)
        # Replicas share each platform's limit: every pacer runs at the configured rate divided among them.
        heartbeat = ReplicaHeartbeat(runner.sessions, worker, pacers.values())
        await heartbeat.start()
        dispatcher = Dispatcher(runner.sessions, dict(senders), limits, data_dir=settings.data_dir,
                                after_round=monitor.update, metrics=metrics, worker=worker,
                                reachable={"web": notices.chats},  # web notices: only pages open here,
                                pushable=frozenset({"web"}) if pushers else frozenset())  # or push subscribers
        monitor.on_report = dispatcher.kick
        # Notifications written by one person's update (an officer's decision) go out right after its commit.
        runner.on_outbox = dispatcher.kick
        notices.on_open = dispatcher.kick  # a page that opens gets what waited for it at once
        app[DISPATCHER] = dispatcher
        dispatcher.start()  # also picks up what a previous run left pending or claimed
        yield
        runner.on_outbox = None
        await dispatcher.stop()
        await heartbeat.stop()

    async def reminders(app: web.Application) -> AsyncIterator[None]:
        # Last, so its first scan (at start-up, to catch up after downtime) can hand rows to the dispatcher.
        dispatcher = app.get(DISPATCHER)
        scheduler = ReminderScheduler(app[RUNNER].sessions, settings.reminder_rules(), timezone=settings.timezone,
                                      scan_at=settings.scan_time, on_added=dispatcher.kick if dispatcher else None)
        app[SCHEDULER] = scheduler
        if run_scheduler:
            scheduler.start()
        yield
        await scheduler.stop()

    # A platform only with its token: the web chat alone is a complete way to try the bot.
    app.cleanup_ctx.extend([database,
                            *([telegram] if settings.telegram_bot_token is not None else []),
                            *([zalo] if settings.zalo_bot_token is not None else []),
                            *([web_delivery] if settings.webchat_enabled else []),
                            dispatch, reminders])

    async def refresh_metrics() -> None:
        if RUNNER in app:
            await refresh_outbox_gauge(metrics, app[RUNNER].sessions)
        scheduler = app.get(SCHEDULER)
        if scheduler is not None and scheduler.last_run is not None:
            metrics.scheduler_last_run.set(scheduler.last_run.timestamp())

    if settings.telegram_bot_token is not None and settings.public_url:
        secret = webhook_secret(settings.telegram_bot_token.get_secret_value(), "telegram")

        async def telegram_webhook(request: web.Request) -> web.StreamResponse:
            if TELEGRAM not in app:
                return web.json_response({"error": "starting"}, status=503)
            return await telegram_webhook_handler(app[TELEGRAM].application, app[TELEGRAM].receive, secret)(request)

        app.router.add_post("/webhook/telegram", telegram_webhook)

    if settings.zalo_bot_token is not None and settings.public_url:
        zalo_secret = webhook_secret(settings.zalo_bot_token.get_secret_value(), "zalo")

        async def zalo_webhook(request: web.Request) -> web.StreamResponse:
            if ZALO not in app:
                return web.json_response({"error": "starting"}, status=503)
            return await zalo_webhook_handler(app[ZALO], zalo_secret)(request)

        app.router.add_post("/webhook/zalo", zalo_webhook)

    # Health first: a load balancer asks /readyz before sending anyone here.
    add_health_routes(app, lambda: app.get(ENGINE), metrics, refresh_metrics)
    if upload_links is not None:
        # Zalo cannot carry a PDF: its document questions link to a page here that sends one into the chat.
        async def zalo_send_back(chat_id: str, replies: list[Reply]) -> None:
            if ZALO in app:
                await app[ZALO].send_replies(chat_id, replies)

        add_upload_link_routes(app, upload_links, handle=lambda incoming, **kw: app[RUNNER].handle(incoming, **kw),
                               sessions=lambda: app[RUNNER].sessions, send_back=zalo_send_back,
                               language=settings.default_language, max_upload_bytes=settings.max_upload_bytes)
    if settings.webchat_enabled or (settings.zalo_bot_token is not None and settings.public_url):
        # Zalo fetches photos by URL and the web page shows them: kept files are served to signed, expiring links.
        add_file_route(app, settings.data_dir, identity.derived("files"))
    if settings.webchat_enabled:
        # The handler is looked up per request because the runner exists only once the app has started.
        async def handle(incoming: Incoming, *, follow_up: bool = False) -> list[Reply]:
            return await app[RUNNER].handle(incoming, follow_up=follow_up)
        async def save_push(chat_id: str, endpoint: str, p256dh: str, auth: str) -> None:
            async def save(session: AsyncSession) -> None:
                account = await get_or_create_chat_account(session, "web", chat_id, user_id=chat_id,
                                                           display_name=None,
                                                           default_language=settings.default_language)
                await save_subscription(session, account.id, endpoint, p256dh, auth)

            await Transactions(app[RUNNER].sessions).run(save)

        async def forget_push(chat_id: str, endpoint: str) -> None:
            await Transactions(app[RUNNER].sessions).run(
                lambda session: forget_subscription_of_chat(session, chat_id, endpoint))

        add_webchat_routes(app, handle, settings.default_language, identity, notices, file_link,
                           settings.max_upload_bytes, push=lambda: pushers[0] if pushers else None,
                           save_push=save_push, forget_push=forget_push,
                           identities=HourlyLimit(settings.max_web_identities_per_hour))

        async def end_streams(_app: web.Application) -> None:
            notices.close()  # open pages reconnect to whichever server answers next

        app.on_shutdown.append(end_streams)
    return app


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")


def channel_names(settings: Settings) -> list[str]:
    return ((["web"] if settings.webchat_enabled else []) + (["telegram"] if settings.telegram_bot_token else [])
            + (["zalo"] if settings.zalo_bot_token else []))
