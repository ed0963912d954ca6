"""A draft's answers as a form's steps read them: with the person's language and this update's clock.

Reading "mai 8h" or "hôm qua" needs the time and the programme's time zone of the update being handled, not of
the day the draft was opened, so drafts carry answers only and every step function receives them this way."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.types import Context


@dataclass(frozen=True)
class Answers(Mapping[str, Any]):
    data: Mapping[str, Any]
    lang: str
    now: datetime  # aware UTC
    timezone: str  # OCOP_TIMEZONE

    @classmethod
    def of(cls, ctx: Context, data: Mapping[str, Any]) -> Answers:
        return cls(data, ctx.lang, ctx.now, ctx.timezone)

    @property
    def today(self) -> date:
        return self.now.astimezone(ZoneInfo(self.timezone)).date()

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


ParseFn = Callable[[str, Answers], Any]  # typed words → the answer kept, or Invalid
