"""Deciding which reminders are due: the scheduler's daily scan writes them as outbox rows.

Each row's dedupe key names (person, reason, subject, milestone), so scanning twice, restarting, or scanning on
two replicas at once inserts nothing new. After downtime only the latest milestone already reached is sent,
not every one that was missed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.buttons import EventOpen, Menu, Reevaluate, Snooze
from handlers.officer.access import Scope
from handlers.producer.preferences import SNOOZE_FOR
from messages import format_date, format_when, stars, t
from storage.events import audience, registrants, upcoming
from storage.models import utcnow
from storage.outbox import enqueue, enqueue_many, existing_keys
from storage.reminders import accounts_by_producer, certificates_expiring_between, idle_drafts, officers_with_accounts


@dataclass(frozen=True)
class ReminderRules:
    certificate_days: tuple[int, ...] = (90, 60, 30, 7)  # before valid-until; and the day after it lapses
    lapsed_catch_up_days: int = 30  # a lapse notice is still sent this long after, if the bot was down
    draft_idle_days: int = 3
    digest_weekday: int = 0  # Monday
    digest_days: int = 90
    digest_lines: int = 30
    event_tomorrow_days: int = 1  # trainings and fairs: to registrants, this many days before the start
    fair_deadline_days: int = 7  # fairs: to those not yet registered, this many days before the deadline
    timezone: str = "Asia/Ho_Chi_Minh"


def due_milestone(days_left: int, rules: ReminderRules) -> str | None:
    """'30' when the 30-day milestone is the latest reached; 'lapsed' from the day after expiry."""
    if days_left < 0:
        return "lapsed" if -days_left <= rules.lapsed_catch_up_days else None
    reached = [d for d in rules.certificate_days if days_left <= d]
    return str(min(reached)) if reached else None


async def scan(session: AsyncSession, *, today: date, now: datetime, rules: ReminderRules) -> Counter[str]:
    """Insert every reminder due as of `today`; returns how many rows were added, by reason."""
    added: Counter[str] = Counter()
    await _certificates(session, today, rules, added)
    await _drafts(session, now, rules, added)
    await _events(session, today, now, rules, added)
    if today.weekday() == rules.digest_weekday:
        await _digests(session, today, rules, added)
    return added


async def _certificates(session: AsyncSession, today: date, rules: ReminderRules, added: Counter[str]) -> None:
    first = today - timedelta(days=rules.lapsed_catch_up_days)
    last = today + timedelta(days=max(rules.certificate_days))
    expiring = await certificates_expiring_between(session, first, last)
    accounts = await accounts_by_producer(session, {row.producer_id for row in expiring})
    due = []
    for cert in expiring:
        milestone = due_milestone((cert.valid_until - today).days, rules)
        if milestone is not None:
            due += [(f"cert-expiry:{cert.certificate_id}:{milestone}:{account.id}", account, cert, milestone)
                    for account in accounts.get(cert.producer_id, [])]
    # Most of these were queued by an earlier scan (the dedupe key says so): only the new ones are written.
    queued = await existing_keys(session, [key for key, *_ in due])
    rows: list[dict[str, object]] = []
    for key, account, cert, milestone in due:
        if key in queued:
            continue
        lang, days_left = account.language, (cert.valid_until - today).days
        text_key = "notice.cert_lapsed" if milestone == "lapsed" else "notice.cert_expiry"
        rows.append({"account_id": account.id, "dedupe_key": key, "reason": "cert-expiry",
                     "text": t(lang, text_key, product=cert.product_name, stars=stars(cert.stars),
                               date=format_date(cert.valid_until), days=days_left),
                     "options": _certificate_options(lang, cert.product_id, cert.certificate_id, milestone,
                                                     days_left)})
    if count := await enqueue_many(session, rows):
        added["cert-expiry"] += count


def _certificate_options(lang: str, product_id: int, certificate_id: int, milestone: str, days_left: int
                         ) -> list[dict[str, str]]:
    options = [{"id": Reevaluate(product_id).id, "label": t(lang, "reminder.reevaluate")}]
    if days_left > SNOOZE_FOR.days:  # "remind me in 7 days" only while that is still before it runs out
        options.append({"id": Snooze(certificate_id, milestone).id, "label": t(lang, "reminder.snooze")})
    return options


async def _drafts(session: AsyncSession, now: datetime, rules: ReminderRules, added: Counter[str]) -> None:
    idle_since = now - timedelta(days=rules.draft_idle_days)
    for state, account in await idle_drafts(session, idle_since=idle_since, not_before=idle_since - timedelta(days=30)):
        lang = account.language
        product = state.data.get("product_name")
        text = t(lang, "notice.draft_idle_named", product=product) if product else t(lang, "notice.draft_idle")
        # Keyed by when the draft was last touched: the same pause is reminded of once.
        key = f"draft:{account.id}:{state.updated_at.isoformat(timespec='seconds')}"
        options = [{"id": Menu("register").id, "label": t(lang, "resume.continue")}]
        if await enqueue(session, account_id=account.id, reason="draft.idle", dedupe_key=key, text=text,
                         options=options):
            added["draft.idle"] += 1


async def _digests(session: AsyncSession, today: date, rules: ReminderRules, added: Counter[str]) -> None:
    expiring = await certificates_expiring_between(session, today, today + timedelta(days=rules.digest_days))
    week = today.isocalendar()
    for officer, account in await officers_with_accounts(session, utcnow()):  # a web page only in its session
        mine = [row for row in expiring if officer.is_admin or row.province_code == officer.province_code]
        lang = account.language
        lines = [t(lang, "reminder.digest_line", product=row.product_name, producer=row.producer_name,
                   date=format_date(row.valid_until), days=(row.valid_until - today).days)
                 for row in mine[:rules.digest_lines]]
        if len(mine) > rules.digest_lines:
            lines.append(t(lang, "reminder.digest_more", more=len(mine) - rules.digest_lines))
        text = t(lang, "notice.digest", count=len(mine), province=Scope.of(officer, lang).label, days=rules.digest_days,
                 lines="\n".join(lines) or t(lang, "reminder.digest_none"))
        if await enqueue(session, account_id=account.id, reason="digest.weekly", text=text,
                         dedupe_key=f"digest:{officer.id}:{week.year}-W{week.week:02d}"):
            added["digest.weekly"] += 1


async def _events(session: AsyncSession, today: date, now: datetime, rules: ReminderRules, added: Counter[str]) -> None:
    zone = ZoneInfo(rules.timezone)
    horizon = now + timedelta(days=max(rules.event_tomorrow_days, rules.fair_deadline_days) + 2)
    for event in await upcoming(session, kind=None, province_code=None, start=now, end=horizon + timedelta(days=90)):
        if (event.starts_at.astimezone(zone).date() - today).days == rules.event_tomorrow_days:
            for account, _ in await registrants(session, event.id):
                text = t(account.language, f"notice.{event.kind}_tomorrow", name=event.name, place=event.place,
                         start=format_when(account.language, event.starts_at, rules.timezone))
                if await enqueue(session, account_id=account.id, reason=f"{event.kind}.tomorrow",
                                 dedupe_key=f"{event.kind}.tomorrow:{event.id}:{account.id}", text=text):
                    added[f"{event.kind}.tomorrow"] += 1
        deadline = event.registration_deadline
        if event.kind != "fair" or deadline is None or deadline < now:
            continue
        if (deadline.astimezone(zone).date() - today).days <= rules.fair_deadline_days:
            registered = {account.id for account, _ in await registrants(session, event.id)}
            for account in await audience(session, event):
                if account.id in registered:
                    continue
                lang = account.language
                text = t(lang, "notice.fair_deadline", name=event.name,
                         deadline=format_when(lang, deadline, rules.timezone))
                options = [{"id": EventOpen(event.id).id, "label": t(lang, "event.details")}]
                if await enqueue(session, account_id=account.id, reason="fair.deadline",
                                 dedupe_key=f"fair.deadline:{event.id}:{account.id}", text=text, options=options):
                    added["fair.deadline"] += 1
