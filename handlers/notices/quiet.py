"""Quiet hours (OCOP_QUIET_HOURS) are for what nobody asked for: reminders, broadcasts, announcements. An answer to
something the person did — a supplement request or a result on their own application, a verification they asked
for, a reply to their own message — is what they are waiting for: it goes at once to an open web page, and on every
other channel when the person has written to the bot in the last hour (they are awake and looking). Otherwise it
waits for the morning like the rest, and whoever caused it is told until when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from messages import format_date

# Outbox reasons that answer something the person did (see handlers/notices/notify.py and the officer's reports).
PROMPTED = frozenset({"reply", "application.status", "producer", "broadcast.test", "broadcast.report"})
AWAKE = timedelta(hours=1)  # written to the bot this recently: an answer may reach them in quiet hours


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    timezone: str = "Asia/Ho_Chi_Minh"

    def holds(self, now: datetime) -> bool:
        local = now.astimezone(ZoneInfo(self.timezone)).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, now: datetime) -> datetime:
        """When the quiet hours holding at `now` end (local time)."""
        local = now.astimezone(ZoneInfo(self.timezone))
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        return end if end > local else end + timedelta(days=1)

    def shown(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def until(self, now: datetime) -> tuple[str, str]:
        """(hh:mm, dd/mm/yyyy) of the end of these quiet hours, as a person reads them."""
        end = self.ends_after(now)
        return f"{end:%H:%M}", format_date(end.date())
