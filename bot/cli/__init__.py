"""The operator's commands (`ocop-bot …`): imports, exports, reports, officers, the outbox, demo data."""

from bot.cli.commands import main

__all__ = ["main"]
