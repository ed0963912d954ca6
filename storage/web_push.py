"""Web Push subscriptions of web chats."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_ignoring_duplicates
from storage.models import ChatAccount, WebPushSubscription, utcnow


async def save_subscription(session: AsyncSession, account_id: int, endpoint: str, p256dh: str, auth: str) -> None:
    """Keep a browser's subscription for this chat (the same browser subscribing again changes nothing)."""
    await session.exec(delete(WebPushSubscription)
                       .where(col(WebPushSubscription.endpoint) == endpoint,
                              col(WebPushSubscription.account_id) != account_id))
    await insert_ignoring_duplicates(session, WebPushSubscription, [{
        "account_id": account_id, "endpoint": endpoint, "p256dh": p256dh, "auth": auth, "created_at": utcnow()}],
        ["endpoint"])


async def subscriptions_of_chat(session: AsyncSession, chat_id: str) -> list[WebPushSubscription]:
    rows = await session.exec(select(WebPushSubscription)
                              .join(ChatAccount, col(ChatAccount.id) == WebPushSubscription.account_id)
                              .where(ChatAccount.channel == "web", ChatAccount.chat_id == chat_id))
    return list(rows)


async def forget_subscription(session: AsyncSession, endpoint: str) -> None:
    """The push service says the subscription is gone (the person revoked it, or the browser dropped it)."""
    await session.exec(delete(WebPushSubscription)
                       .where(col(WebPushSubscription.endpoint) == endpoint))


async def forget_subscription_of_chat(session: AsyncSession, chat_id: str, endpoint: str) -> None:
    """The person turned notifications off on this page: its browser's subscription, if it is this chat's, goes."""
    own = select(WebPushSubscription.id).join(ChatAccount, col(ChatAccount.id) == WebPushSubscription.account_id) \
        .where(ChatAccount.channel == "web", ChatAccount.chat_id == chat_id,
               col(WebPushSubscription.endpoint) == endpoint)
    await session.exec(delete(WebPushSubscription).where(col(WebPushSubscription.id).in_(own)))
