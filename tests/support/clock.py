"""The one clock tests set and move: the bot, the dispatcher and the scan all read the time from it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    @property
    def today(self) -> date:
        """The date in Vietnam, as the bot reckons it: after 17:00 UTC it is already tomorrow there."""
        return self.now.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)
