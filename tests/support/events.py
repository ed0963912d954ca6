"""An officer adding an event through the chat."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support.fakes import Chat

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # Friday 20/11/2026, 10:00 in Vietnam


async def add_event(officer: Chat, command: str, name: str, *, start: str, end: str, deadline: str | None,
                    groups: tuple[str, ...] = ()) -> None:
    await officer.say(command)
    await officer.say(name)
    await officer.say("Hội trường UBND xã Đạ Sar")
    await officer.say(start)
    await officer.say(end)
    await officer.say(deadline) if deadline else await officer.tap("nav:skip")
    await officer.tap("nav:skip")  # no description
    for group in groups:
        await officer.tap(group)
    await officer.tap("nav:done")
    await officer.tap("nav:submit")
