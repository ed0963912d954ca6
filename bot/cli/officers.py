"""`ocop-bot officer invite|list|revoke`: the operator's side of officer accounts."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import TelegramError

from bot.cli.support import database, find_province
from bot.settings import Settings
from messages import format_date, format_when, t
from storage.models import Officer, utcnow
from storage.officers import create_invite, list_officers, new_code_for, revoke_officer
from storage.reference import load_reference

log = logging.getLogger(__name__)


async def invite(settings: Settings, *, name: str, province: str, admin: bool, days: int) -> tuple[int, list[str]]:
    lang = settings.default_language
    code_of_province = find_province(province)
    if code_of_province is None:
        return 1, [t(lang, "cli.unknown_province", province=province)]
    async with database(settings) as session:
        officer, code = await create_invite(session, name=name.strip()[:120], province_code=code_of_province,
                                            is_admin=admin, valid_for=timedelta(days=days))
        expires = format_date(officer.code_expires_at, settings.timezone)
    province_name = load_reference().label(code_of_province, "vi")
    lines = [t(lang, "cli.invite_created", name=officer.name, province=province_name, code=code, expires=expires)]
    username = await _bot_username(settings)
    if username:
        lines.append(t(lang, "cli.invite_link", link=f"https://t.me/{username}?start={code}"))
    return 0, lines


async def _bot_username(settings: Settings) -> str | None:
    if settings.telegram_bot_token is None:
        return None
    bot = Bot(settings.telegram_bot_token.get_secret_value(), base_url=f"{settings.telegram_api_base_url}/bot")
    try:
        async with bot:
            return bot.username
    except TelegramError as exc:
        log.warning("could not ask Telegram for the bot's name: %s", type(exc).__name__)
        return None


def _state(officer: Officer) -> str:
    if officer.revoked_at:
        return "revoked"
    if officer.code_used_at:
        return "active"
    return "expired" if officer.code_expires_at <= utcnow() else "pending"


async def list_all(settings: Settings) -> tuple[int, list[str]]:
    lang, ref = settings.default_language, load_reference()
    async with database(settings) as session:
        officers = await list_officers(session)
    if not officers:
        return 0, [t(lang, "cli.no_officers")]
    lines = [t(lang, "cli.officer_header")]
    for officer in officers:
        lines.append("\t".join([str(officer.id), officer.name, ref.label(officer.province_code, lang),
                                t(lang, "cli.role_admin" if officer.is_admin else "cli.role_officer"),
                                t(lang, f"cli.officer_{_state(officer)}")]))
    return 0, lines


async def revoke(settings: Settings, officer_id: int) -> tuple[int, list[str]]:
    lang = settings.default_language
    async with database(settings) as session:
        officer = await revoke_officer(session, officer_id)
    if officer is None:
        return 1, [t(lang, "cli.no_such_officer", id=str(officer_id))]
    return 0, [t(lang, "cli.revoked", name=officer.name, id=str(officer_id))]


async def new_code(settings: Settings, officer_id: int, *, hours: int) -> tuple[int, list[str]]:
    lang = settings.default_language
    async with database(settings) as session:
        issued = await new_code_for(session, officer_id, timedelta(hours=hours))
        if issued is None:
            return 1, [t(lang, "cli.no_such_officer", id=str(officer_id))]
        officer, code = issued
        expires = format_when(lang, officer.code_expires_at, settings.timezone)
    return 0, [t(lang, "cli.officer_code", name=officer.name, code=code, expires=expires)]
