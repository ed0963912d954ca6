"""An event as people read it: the lines both a producer's and an officer's view of it start with."""

from __future__ import annotations

from handlers.types import Context
from messages import format_when, t
from storage.models import Event
from storage.reference import load_reference


def describe(ctx: Context, event: Event) -> list[str]:
    lang = ctx.lang
    lines = [t(lang, f"event.title_{event.kind}", name=event.name),
             t(lang, "event.when", start=format_when(lang, event.starts_at, ctx.timezone),
               end=format_when(lang, event.ends_at, ctx.timezone)),
             t(lang, "event.place", place=event.place)]
    if event.registration_deadline:
        lines.append(t(lang, "event.deadline", deadline=format_when(lang, event.registration_deadline, ctx.timezone)))
    if event.audience_groups:
        lines.append(t(lang, "event.audience", groups=", ".join(load_reference().label(g, lang)
                                                              for g in event.audience_groups)))
    if event.description:
        lines.append(event.description)
    if event.cancelled_at:
        lines.append(t(lang, "event.is_cancelled"))
    return lines
