"""Officer accounts: invited with a one-time code, checked on every action, revoked by date."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import record_event
from storage.codes import hash_code, new_code
from storage.models import ChatAccount, Officer, utcnow


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


async def redeem_invite(session: AsyncSession, account: ChatAccount, code: str, now: datetime) -> Officer | None:
    """Make the chat this officer's account; None when the code is unknown, used, expired or revoked."""
    officer = (await session.exec(select(Officer).where(Officer.code_hash == hash_code(code)))).first()
    if officer is None or officer.code_used_at or officer.revoked_at or officer.code_expires_at <= now:
        return None
    previous = (await session.exec(select(Officer).where(Officer.account_id == account.id))).first()
    if previous is not None:  # one chat, one officer: the newer invite replaces the older link
        previous.account_id = None
        session.add(previous)
        await session.flush()
    officer.code_used_at, officer.account_id = now, account.id
    account.role = "admin" if officer.is_admin else "officer"
    session.add_all([officer, account])
    await record_event(session, actor_account_id=account.id, action="officer.joined", subject_type="officer",
                       subject_id=str(officer.id))
    return officer


async def active_officer(session: AsyncSession, account: ChatAccount) -> Officer | None:
    """The chat's officer when it is one and has not been revoked: asked on every officer action."""
    if account.role not in ("officer", "admin"):
        return None
    officer = (await session.exec(select(Officer).where(Officer.account_id == account.id))).first()
    if officer is None or officer.revoked_at is not None:
        return None
    return officer


async def list_officers(session: AsyncSession) -> list[Officer]:
    return list(await session.exec(select(Officer).order_by(col(Officer.id))))


async def revoke_officer(session: AsyncSession, officer_id: int) -> Officer | None:
    officer = await session.get(Officer, officer_id)
    if officer is None or officer.revoked_at is not None:
        return officer
    officer.revoked_at = utcnow()
    session.add(officer)
    if officer.account_id is not None:
        account = await session.get(ChatAccount, officer.account_id)
        if account is not None:
            account.role = "producer"
            session.add(account)
    await record_event(session, actor_account_id=None, action="officer.revoked", subject_type="officer",
                       subject_id=str(officer.id))
    return officer


async def officers_of_province(session: AsyncSession, province_code: str) -> list[Officer]:
    """Active officers who joined, for "whom to contact" and for officer notifications."""
    rows = await session.exec(select(Officer).where(Officer.province_code == province_code,
                                                    col(Officer.revoked_at).is_(None),
                                                    col(Officer.account_id).is_not(None)).order_by(col(Officer.id)))
    return list(rows)
