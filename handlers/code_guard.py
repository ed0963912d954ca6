"""Wrong one-time codes (officer invites, producer link codes): a few are a person mistyping, many are someone
guessing. Each failure is audited; a chat that fails often waits longer and longer, then is locked for a day; and
when wrong codes pour in from everywhere at once (an attacker rotating chats or web identities) every chat waits,
so the guesses an attacker gets do not grow with the chats they open. Counted in the database, so every replica
sees the same numbers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from handlers.types import Context, Reply
from messages import t
from storage.audit import code_failures_since, record_event

T = TypeVar("T")

FREE_FAILURES = 3  # a chat's first wrong codes cost nothing: people mistype
FIRST_WAIT = timedelta(seconds=30)  # then 30 s, 60 s, 120 s… after each further one
CHAT_LOCK_AFTER = 10  # wrong codes within CHAT_SPAN lock the chat out of codes for a CHAT_SPAN
CHAT_SPAN = timedelta(hours=24)
OVERALL_LIMIT = 30  # wrong codes from all chats within OVERALL_SPAN: past it, every chat waits
OVERALL_SPAN = timedelta(hours=1)


def _minutes_until(moment: datetime, ctx: Context) -> int:
    return max(1, round((moment - ctx.now).total_seconds() / 60))


async def refusal(ctx: Context, office: str = "") -> Reply | None:
    """The polite answer when this chat may not try a code now, else None. `office` is whom to call, if any."""
    lang, now = ctx.lang, ctx.now
    everyone = await code_failures_since(ctx.session, now - OVERALL_SPAN)
    if len(everyone) >= OVERALL_LIMIT:
        return Reply(t(lang, "code.busy", minutes=_minutes_until(everyone[-OVERALL_LIMIT] + OVERALL_SPAN, ctx)))
    mine = await code_failures_since(ctx.session, now - 2 * CHAT_SPAN, account_id=ctx.account.id)
    # Locked for CHAT_SPAN from the failure that made CHAT_LOCK_AFTER within one CHAT_SPAN.
    locked_until = max((mine[i] + CHAT_SPAN for i in range(CHAT_LOCK_AFTER - 1, len(mine))
                        if mine[i] - mine[i - CHAT_LOCK_AFTER + 1] <= CHAT_SPAN), default=now)
    if locked_until > now:
        return Reply(t(lang, "code.locked", hours=max(1, round((locked_until - now).total_seconds() / 3600)),
                       office=office))
    mine = [at for at in mine if at > now - CHAT_SPAN]
    if len(mine) >= FREE_FAILURES:
        free_at = mine[-1] + FIRST_WAIT * 2 ** (len(mine) - FREE_FAILURES)
        if free_at > now:
            return Reply(t(lang, "code.wait", seconds=max(1, round((free_at - now).total_seconds()))))
    return None


async def failed(ctx: Context, kind: str) -> None:
    """A wrong code: audited (with no trace of what was typed) and counted."""
    await record_event(ctx.session, actor_account_id=ctx.account.id, action="code.failed", subject_type="chat",
                       subject_id=str(ctx.account.id), details={"kind": kind, "channel": ctx.account.channel},
                       at=ctx.now)
    ctx.code_failures.append(kind)


async def redeem(ctx: Context, kind: str, wrong: str, use: Callable[[], Awaitable[T | None]], *,
                 office: str = "") -> T | Reply:
    """Try a typed code with `use` (None when it is wrong): the refusal if this chat may not try now, the `wrong`
    answer (audited and counted) if it fails, else what `use` returned. `office` ends both answers: whom to call."""
    refused = await refusal(ctx, office)
    if refused is not None:
        return refused
    redeemed = await use()
    if redeemed is None:
        await failed(ctx, kind)
        return Reply(t(ctx.lang, wrong, office=office))
    return redeemed
