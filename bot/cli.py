"""`ocop-bot`: run the bot, upgrade the database."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from aiohttp import web
from pydantic import ValidationError

from bot.logs import configure_logging
from bot.settings import Settings
from messages import DEFAULT_LANGUAGE, t


def _say(line: str) -> None:
    print(line, flush=True)  # cli output


def load_settings() -> Settings:
    """Settings, or one clear line per bad value and exit code 2 (no traceback for an operator)."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            alias = next((f.alias for key, f in Settings.model_fields.items() if key == name and f.alias), name)
            problem = str(error["msg"]).removeprefix("Value error, ")
            print(t(DEFAULT_LANGUAGE, "cli.bad_setting", name=alias, problem=problem), file=sys.stderr)
        raise SystemExit(2) from None


async def _run(settings: Settings) -> None:
    from bot.app import build_app, channel_names

    app = build_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()  # runs the cleanup contexts: database, migrations, Telegram
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    lang = settings.default_language
    _say(t(lang, "cli.ready", host=settings.http_host, port=str(settings.http_port),
           channels=", ".join(channel_names(settings))))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        _say(t(lang, "cli.stopping"))
        await runner.cleanup()


async def _upgrade(settings: Settings) -> None:
    from storage.db import create_engine
    from storage.migrate import upgrade_database

    engine = create_engine(settings.database_url)
    try:
        await upgrade_database(engine)
    finally:
        await engine.dispose()
    _say(t(settings.default_language, "cli.migrated"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ocop-bot", description="OCOP Bot: Telegram and web chat for OCOP producers.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start every configured channel and the HTTP server")
    db = commands.add_parser("db", help="database maintenance")
    db.add_subparsers(dest="db_command", required=True).add_parser("upgrade", help="apply pending migrations")
    args = parser.parse_args(argv)

    settings = load_settings()
    configure_logging(settings.log_level, settings.secrets())
    try:
        if args.command == "run":
            asyncio.run(_run(settings))
        elif args.command == "db":
            asyncio.run(_upgrade(settings))
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # e.g. the port is taken or the data directory is read-only
        print(t(settings.default_language, "cli.db_failed" if "database" in str(exc) else "cli.bad_setting",
                name="OCOP_HTTP_PORT", problem=str(exc)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
