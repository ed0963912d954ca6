"""Officer accounts: invited with a one-time code, checked on every action, revoked by date."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, or_
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import record_event
from storage.codes import hash_code, new_code
from storage.models import ChatAccount, Officer, OfficerSession, utcnow

WEB = "web"


async def create_invite(session: AsyncSession, *, name: str, province_code: str, is_admin: bool,
                        valid_for: timedelta) -> tuple[Officer, str]:
    """A new officer waiting for its code to be redeemed; the plain code is returned once, never stored."""
    code = new_code()
    officer = Officer(name=name, province_code=province_code, is_admin=is_admin, code_hash=hash_code(code),
                      code_expires_at=utcnow() + valid_for)
    session.add(officer)
    await session.flush()
    await record_event(session, actor_account_id=None, action="officer.invited", subject_type="officer",
                       subject_id=str(officer.id), details={"name": name, "province": province_code,
                                                           "admin": is_admin})
    return officer, code


async def redeem_invite(session: AsyncSession, account: ChatAccount, code: str, now: datetime, *,
                        web_session: timedelta) -> Officer | None:
    """Make the chat this officer's account; None when the code is unknown, used, expired or revoked.
    On the web chat the code opens a session that lasts `web_session` instead: a browser may be shared."""
    officer = (await session.exec(select(Officer).where(Officer.code_hash == hash_code(code)))).first()
    if officer is None or officer.code_used_at or officer.revoked_at or officer.code_expires_at <= now:
        return None
    officer.code_used_at = now
    if account.channel == WEB:
        await _end_sessions(session, col(OfficerSession.account_id) == account.id, now)
        session.add(OfficerSession(officer_id=officer.id, account_id=account.id, opened_at=now,
                                   expires_at=now + web_session))
        officer.account_id = officer.account_id or account.id  # notices reach the web page only in a session
    else:
        previous = (await session.exec(select(Officer).where(Officer.account_id == account.id))).first()
        if previous is not None:  # one chat, one officer: the newer invite replaces the older link
            previous.account_id = None
            session.add(previous)
            await session.flush()
        officer.account_id = account.id
    account.role = "admin" if officer.is_admin else "officer"
    session.add_all([officer, account])
    await record_event(session, actor_account_id=account.id, action="officer.joined", subject_type="officer",
                       subject_id=str(officer.id), details={"channel": account.channel})
    return officer


def _live(now: datetime) -> ColumnElement[bool]:
    return col(OfficerSession.ended_at).is_(None) & (col(OfficerSession.expires_at) > now)


async def _end_sessions(session: AsyncSession, which: ColumnElement[bool], now: datetime) -> None:
    await session.exec(update(OfficerSession).where(which, col(OfficerSession.ended_at).is_(None))
                       .values(ended_at=now))


async def active_officer(session: AsyncSession, account: ChatAccount, now: datetime | None = None) -> Officer | None:
    """The chat's officer when it is one and has not been revoked: asked on every officer action. On the web chat,
    only while a session opened with a code lasts."""
    if account.role not in ("officer", "admin"):
        return None
    if account.channel == WEB:
        query = select(Officer).join(OfficerSession, col(OfficerSession.officer_id) == Officer.id).where(
            OfficerSession.account_id == account.id, _live(now or utcnow()))
    else:
        query = select(Officer).where(Officer.account_id == account.id)
    officer = (await session.exec(query)).first()
    if officer is None or officer.revoked_at is not None:
        return None
    return officer


async def web_session_of(session: AsyncSession, account: ChatAccount, now: datetime) -> OfficerSession | None:
    query = select(OfficerSession).where(OfficerSession.account_id == account.id, _live(now))
    return (await session.exec(query)).first()


async def sign_out(session: AsyncSession, account: ChatAccount, now: datetime) -> None:
    """End the web chat's officer session; the page is a producer's page again."""
    await _end_sessions(session, col(OfficerSession.account_id) == account.id, now)
    account.role = "producer"
    session.add(account)
    await record_event(session, actor_account_id=account.id, action="officer.signed_out", subject_type="chat_account",
                       subject_id=str(account.id), at=now)


def reachable(now: datetime) -> ColumnElement[bool]:
    """An officer's account that may be sent officer notices: any chat but a web page out of its session."""
    in_session = exists().where(col(OfficerSession.account_id) == ChatAccount.id, _live(now))
    return or_(col(ChatAccount.channel) != WEB, in_session)


async def new_code_for(session: AsyncSession, officer_id: int, valid_for: timedelta) -> tuple[Officer, str] | None:
    """A fresh one-time code for an officer already invited: to sign in on the web chat, or on a new phone.
    None for an unknown or revoked officer."""
    officer = await session.get(Officer, officer_id)
    if officer is None or officer.revoked_at is not None:
        return None
    code = new_code()
    officer.code_hash, officer.code_expires_at, officer.code_used_at = hash_code(code), utcnow() + valid_for, None
    session.add(officer)
    await record_event(session, actor_account_id=None, action="officer.code_issued", subject_type="officer",
                       subject_id=str(officer.id))
    return officer, code


async def list_officers(session: AsyncSession) -> list[Officer]:
    return list(await session.exec(select(Officer).order_by(col(Officer.id))))


async def revoke_officer(session: AsyncSession, officer_id: int) -> Officer | None:
    officer = await session.get(Officer, officer_id)
    if officer is None or officer.revoked_at is not None:
        return officer
    officer.revoked_at = now = utcnow()
    session.add(officer)
    web_accounts = select(OfficerSession.account_id).where(OfficerSession.officer_id == officer.id)
    await session.exec(update(ChatAccount).where(
        or_(col(ChatAccount.id) == officer.account_id, col(ChatAccount.id).in_(web_accounts))).values(role="producer"))
    await _end_sessions(session, col(OfficerSession.officer_id) == officer.id, now)
    await record_event(session, actor_account_id=None, action="officer.revoked", subject_type="officer",
                       subject_id=str(officer.id))
    return officer


async def officers_of_province(session: AsyncSession, province_code: str) -> list[Officer]:
    """Active officers who joined, for "whom to contact" and for officer notifications."""
    rows = await session.exec(select(Officer).where(Officer.province_code == province_code,
                                                    col(Officer.revoked_at).is_(None),
                                                    col(Officer.account_id).is_not(None)).order_by(col(Officer.id)))
    return list(rows)


async def officer_accounts_to_notify(session: AsyncSession, province_code: str, now: datetime) -> list[ChatAccount]:
    """The chats of a province's active officers that officer notices may go to (a web page only in its session)."""
    rows = await session.exec(select(ChatAccount).join(Officer, col(Officer.account_id) == ChatAccount.id).where(
        Officer.province_code == province_code, col(Officer.revoked_at).is_(None), reachable(now))
        .order_by(col(Officer.id)))
    return list(rows)
