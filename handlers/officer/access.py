"""The one check every officer action goes through: an active officer, and an application they may see."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.types import Context, Option, Reply
from messages import t
from storage.applications import get_application
from storage.models import Application, Officer, Producer
from storage.officers import active_officer
from storage.producers import get_producer
from storage.reference import load_reference

T = TypeVar("T")
P = ParamSpec("P")


def sees(officer: Officer, province_code: str) -> bool:
    return officer.is_admin or officer.province_code == province_code


async def acting_officer(ctx: Context, province_code: str | None = None, *, not_found: str = "officer.not_found",
                         admin: bool = False) -> Officer | Reply:
    """The guard of every officer action, on every call (not only at the menu): an active officer who may act in
    `province_code` (an admin in any), and an admin where `admin` asks for one; else the refusal to send. A record
    of another province reads as not found, so nothing about it is revealed."""
    officer = await active_officer(ctx.session, ctx.account, ctx.now)
    if officer is None or (admin and not officer.is_admin):
        return Reply(t(ctx.lang, "officer.not_allowed"))
    if province_code is not None and not sees(officer, province_code):
        return Reply(t(ctx.lang, not_found))
    return officer


Checked = tuple[Officer, Application, Producer]


async def officer_with(ctx: Context, load: Callable[[], Awaitable[T | None]], province_of: Callable[[T], str], *,
                       not_found: str = "officer.not_found") -> tuple[Officer, T] | Reply:
    """The officer and a record of a province they may see, or the refusal to send instead. The record is read only
    for an active officer; one of another province reads as not found, so nothing about it is revealed."""
    officer = await acting_officer(ctx)
    if isinstance(officer, Reply):
        return officer
    record = await load()
    if record is None or not sees(officer, province_of(record)):
        return Reply(t(ctx.lang, not_found))
    return officer, record


async def checked_application(ctx: Context, application_id: int | None) -> Checked | Reply:
    """The officer, the application and its producer, or the refusal to send instead."""
    async def load() -> tuple[Application, Producer] | None:
        application = await get_application(ctx.session, application_id) if application_id else None
        producer = await get_producer(ctx.session, application.producer_id) if application else None
        return (application, producer) if application and producer else None

    checked = await officer_with(ctx, load, lambda found: found[1].province_code)
    return checked if isinstance(checked, Reply) else (checked[0], *checked[1])


async def checked_producer(ctx: Context, producer_id: int | None) -> tuple[Officer, Producer] | Reply:
    """The officer and a producer of a province they may see, or the refusal to send instead."""
    return await officer_with(ctx, lambda: get_producer(ctx.session, producer_id), lambda p: p.province_code)


@dataclass(frozen=True)
class Scope:
    """The provinces an officer's list covers: theirs, or every province (None) for an admin; named for a heading."""

    province: str | None
    label: str

    @classmethod
    def of(cls, officer: Officer, lang: str) -> Scope:
        if officer.is_admin:
            return cls(None, t(lang, "officer.all_provinces"))
        return cls(officer.province_code, load_reference().label(officer.province_code, lang))


def province_list(show: Callable[Concatenate[Context, Scope, P], Awaitable[list[Reply]]]
                  ) -> Callable[Concatenate[Context, P], Awaitable[list[Reply]]]:
    """A list an officer reads, checked on every call and shown for the provinces they cover. Counting a province
    takes a while (tens of milliseconds for a page at 100,000 producers, a second for every province's statistics):
    the list is read once the step is committed, so it holds up nobody's writes."""
    @wraps(show)
    async def checked(ctx: Context, /, *args: P.args, **kwargs: P.kwargs) -> list[Reply]:
        officer = await acting_officer(ctx)
        if isinstance(officer, Reply):
            return [officer]
        return [after_commit(ctx, show, Scope.of(officer, ctx.lang), *args, **kwargs)]
    return checked


def after_commit(ctx: Context, read: Callable[..., Awaitable[list[Reply]]], *args: Any, **kwargs: Any) -> Reply:
    """The replies of `read(ctx, *args)`, made once the step is committed, on a read connection of their own (the
    context's session is that connection's; what the read changes is refused). Checks go before: they are part of
    the step."""
    async def made(session: AsyncSession) -> list[Reply]:
        return await read(replace(ctx, session=session), *args, **kwargs)
    return Reply("", after_commit=made)


def page_options(lang: str, offset: int, total: int, page_size: int, page_id: Callable[[int], str]) -> list[Option]:
    """'Previous' and 'next' for a list shown `page_size` at a time, where there is such a page."""
    options = []
    if offset > 0:
        options.append(Option(page_id(max(offset - page_size, 0)), t(lang, "status.prev")))
    if offset + page_size < total:
        options.append(Option(page_id(offset + page_size), t(lang, "status.next_page")))
    return options
