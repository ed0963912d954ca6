"""A chat linked to a producer already on record."""

from __future__ import annotations

from sqlmodel import select

from storage.models import ChatAccount
from tests.support.fakes import Chat


async def linked_chat(runner, producer_id: int, user: str = "producer-1", channel: str = "web") -> Chat:
    chat = Chat(runner, user=user, channel=channel)
    await chat.say("/start")
    async with runner.sessions() as session, session.begin():
        account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == user))).one()
        account.producer_id = producer_id
        session.add(account)
    return chat
