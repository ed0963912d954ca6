"""`ocop-bot`: run the bot, upgrade the database."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
from collections.abc import Coroutine
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot.logs import configure_logging, redact
from bot.settings import Settings
from messages import DEFAULT_LANGUAGE, t


def _say(line: str) -> None:
    print(line, flush=True)  # cli output


def _complain(line: str, secrets: list[str] | None = None) -> None:
    # Library errors can quote a secret (python-telegram-bot's InvalidToken quotes the token).
    print(redact(line, secrets or []), file=sys.stderr, flush=True)  # cli output


def load_settings() -> Settings:
    """Settings, or one clear line per bad value and exit code 2 (no traceback for an operator)."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            alias = next((f.alias for key, f in Settings.model_fields.items() if key == name and f.alias), name)
            problem = str(error["msg"]).removeprefix("Value error, ")
            _complain(t(DEFAULT_LANGUAGE, "cli.bad_setting", name=alias, problem=problem))
        raise SystemExit(2) from None


async def _run(settings: Settings) -> int:
    from bot.app import StartupError, build_app, channel_names
    from bot.http.access_log import AccessLog

    lang = settings.default_language
    try:
        # The port first: when it is taken, nothing else (database, Telegram, scheduler) has started yet.
        sock = socket.create_server((settings.http_host, settings.http_port))
    except OSError as exc:
        _complain(t(lang, "cli.port_failed", host=settings.http_host, port=str(settings.http_port),
                    problem=exc.strerror or str(exc)))
        return 1
    runner = web.AppRunner(build_app(settings), access_log_class=AccessLog)
    try:
        await runner.setup()  # runs the cleanup contexts: database and migrations, Telegram, reminders
        await web.SockSite(runner, sock).start()
        _say(t(lang, "cli.ready", host=settings.http_host, port=str(settings.http_port),
               channels=", ".join(channel_names(settings))))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        _say(t(lang, "cli.stopping"))
        return 0
    except StartupError as exc:
        _complain(str(exc), settings.secrets())
        return 1
    finally:
        await runner.cleanup()
        sock.close()


async def _migrate(settings: Settings, revision_message: str | None = None) -> int:
    """`db upgrade`, or with a message `db revision` (which upgrades first): one line when the database fails."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import create_engine
    from storage.migrate import new_revision, upgrade_database

    engine = create_engine(settings.database_url)
    try:
        if revision_message is None:
            await upgrade_database(engine)
            done = t(settings.default_language, "cli.migrated")
        else:
            path = await new_revision(engine, revision_message)
            done = t(settings.default_language, "cli.revision_written", path=str(path))
    except (OSError, SQLAlchemyError) as exc:
        _complain(t(settings.default_language, "cli.db_failed", problem=str(exc).strip().splitlines()[0]))
        return 1
    finally:
        await engine.dispose()
    _say(done)
    return 0


def _backup_or_restore(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.backup import BackupError, backup, restore

    lang = settings.default_language
    try:
        if args.command == "backup":
            kind = backup(settings, args.out)
            _say(t(lang, "cli.backup_written", path=str(args.out)))
        else:
            kind = restore(settings, args.archive, replace=args.replace)
            _say(t(lang, "cli.restore_done", path=str(args.archive)))
    except BackupError as exc:
        _complain(t(lang, exc.key, **exc.values))
        return 1
    except OSError as exc:
        _complain(t(lang, "cli.backup_failed", problem=f"{exc.strerror or exc}: {exc.filename or ''}".strip(": ")))
        return 1
    if kind == "postgresql":
        _say(t(lang, "cli.backup_postgres"))
    return 0


def operator_language() -> str:
    """The language the operator set (OCOP_DEFAULT_LANGUAGE, in the environment or .env), for the help; help is
    asked for when something is wrong, so a setting the bot would refuse falls back to the default."""
    try:
        return Settings().default_language
    except ValidationError:
        return DEFAULT_LANGUAGE


def parser_in(lang: str) -> argparse.ArgumentParser:
    def h(key: str) -> str:
        return t(lang, f"cli.help.{key}")

    parser = argparse.ArgumentParser(prog="ocop-bot", description=h("description"))
    parser.add_argument("--version", action="version", version=f"ocop-bot {version('ocop-bot')}", help=h("version"))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help=h("run"))
    db = commands.add_parser("db", help=h("db"))
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help=h("db_upgrade"))
    revision = db_commands.add_parser("revision", help=h("db_revision"))
    revision.add_argument("message", help=h("revision_message"))
    officer = commands.add_parser("officer", help=h("officer")).add_subparsers(dest="officer_command",
                                                                               required=True)
    invite = officer.add_parser("invite", help=h("officer_invite"))
    invite.add_argument("--name", required=True, help=h("invite_name"))
    invite.add_argument("--province", required=True, help=h("invite_province"))
    invite.add_argument("--admin", action="store_true", help=h("invite_admin"))
    invite.add_argument("--days", type=int, default=7, help=h("invite_days"))
    officer.add_parser("list", help=h("officer_list"))
    revoke = officer.add_parser("revoke", help=h("officer_revoke"))
    revoke.add_argument("officer_id", type=int, help=h("officer_id"))
    fresh = officer.add_parser("code", help=h("officer_code"))
    fresh.add_argument("officer_id", type=int, help=h("officer_id"))
    fresh.add_argument("--hours", type=int, default=24, help=h("code_hours"))
    importing = commands.add_parser("import", help=h("import")).add_subparsers(dest="import_what", required=True)
    for what in ("products", "events", "offices"):
        importing.add_parser(what, help=h(f"import_{what}")).add_argument("file", type=Path, help=h("import_file"))
    exporting = commands.add_parser("export", help=h("export")).add_subparsers(dest="export_what", required=True)
    products_out = exporting.add_parser("products", help=h("export_products"))
    products_out.add_argument("out", type=Path, help=h("export_out"))
    products_out.add_argument("--province", help=h("only_province"))
    report = commands.add_parser("report", help=h("report"))
    report.add_argument("--province", help=h("only_province"))
    report.add_argument("out_dir", type=Path, help=h("report_out_dir"))
    backup_cmd = commands.add_parser("backup", help=h("backup"))
    backup_cmd.add_argument("out", type=Path, help=h("backup_out"))
    restore_cmd = commands.add_parser("restore", help=h("restore"))
    restore_cmd.add_argument("archive", type=Path, help=h("restore_archive"))
    restore_cmd.add_argument("--replace", action="store_true", help=h("restore_replace"))
    commands.add_parser("webpush-key", help=h("webpush_key"))
    commands.add_parser("demo-data", help=h("demo_data"))
    reminders = commands.add_parser("reminders", help=h("reminders")).add_subparsers(dest="reminders_what",
                                                                                     required=True)
    scan = reminders.add_parser("scan", help=h("reminders_scan"))
    scan.add_argument("--as-of", type=date.fromisoformat, help=h("as_of"))
    outbox_cmd = commands.add_parser("outbox", help=h("outbox")).add_subparsers(dest="outbox_what", required=True)
    outbox_cmd.add_parser("status", help=h("outbox_status"))
    outbox_cmd.add_parser("drain", help=h("outbox_drain"))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = parser_in(operator_language())
    args = parser.parse_args(argv)

    settings = load_settings()
    configure_logging(settings.log_level, settings.secrets())
    if args.command == "run":
        return asyncio.run(_run(settings))
    if args.command == "db":
        return asyncio.run(_migrate(settings, args.message if args.db_command == "revision" else None))
    if args.command in ("import", "export"):
        return _report(settings, _products(settings, args))
    if args.command in ("backup", "restore"):
        return _backup_or_restore(settings, args)
    if args.command == "report":
        from bot.cli.report import write_report

        return _report(settings, write_report(settings, args.province, args.out_dir))
    if args.command == "webpush-key":
        from bot.channels.web_push import new_private_key

        _say(t(settings.default_language, "cli.webpush_key"))
        _say(f"OCOP_VAPID_PRIVATE_KEY={new_private_key()}")
        return 0
    if args.command == "demo-data":
        from bot.cli.demo import load_demo

        for line in asyncio.run(load_demo(settings)):
            _say(line)
        return 0
    if args.command in ("reminders", "outbox"):
        return _report(settings, _outbox(settings, args))
    return _report(settings, _officer(settings, args))


async def _outbox(settings: Settings, args: argparse.Namespace) -> tuple[int, list[str], list[str]]:
    from bot.cli import outbox as cli_outbox

    if args.command == "reminders":
        return 0, await cli_outbox.scan(settings, args.as_of), []
    if args.outbox_what == "status":
        return 0, await cli_outbox.status(settings), []
    code, lines = await cli_outbox.drain(settings)
    return (code, lines, []) if code == 0 else (code, [], lines)


async def _products(settings: Settings, args: argparse.Namespace) -> tuple[int, list[str], list[str]]:
    from bot.cli import products as cli_products
    from bot.cli.event_import import import_events
    from bot.cli.office_import import import_offices
    from bot.cli.spreadsheet import FileProblem

    if args.command == "import":
        importer = {"offices": import_offices, "events": import_events}.get(args.import_what,
                                                                            cli_products.import_products)
        try:
            return await importer(settings, args.file)
        except FileProblem as problem:  # no file, an unreadable one, a missing column: nothing was written
            return 1, [], [str(problem)]
    code, lines = await cli_products.export_products(settings, args.out, args.province)
    return (code, lines, []) if code == 0 else (code, [], lines)


async def _officer(settings: Settings, args: argparse.Namespace) -> tuple[int, list[str], list[str]]:
    from bot.cli import officers as cli_officers

    if args.officer_command == "invite":
        code, lines = await cli_officers.invite(settings, name=args.name, province=args.province,
                                                admin=args.admin, days=max(1, args.days))
    elif args.officer_command == "list":
        code, lines = await cli_officers.list_all(settings)
    elif args.officer_command == "code":
        code, lines = await cli_officers.new_code(settings, args.officer_id, hours=max(1, args.hours))
    else:
        code, lines = await cli_officers.revoke(settings, args.officer_id)
    return (code, lines, []) if code == 0 else (code, [], lines)


def _report(settings: Settings, command: Coroutine[Any, Any, tuple[int, list[str], list[str]]]) -> int:
    """Run an operator command: its lines to stdout/stderr, a database it cannot reach as one line."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        code, out, err = asyncio.run(command)
    except (OSError, SQLAlchemyError) as exc:
        _complain(t(settings.default_language, "cli.db_failed", problem=str(exc).strip().splitlines()[0]))
        return 1
    for line in err:
        _complain(line)
    for line in out:
        _say(line)
    return code


if __name__ == "__main__":
    sys.exit(main())
