"""Officers: joining with an invite code, the province's applications, and the evaluation actions.

Every entry point asks storage for the chat's *active* officer and checks the application's province
itself: a menu shown yesterday, a revoked officer or a forged button id gets a polite refusal.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from handlers import code_guard
from handlers.buttons import ApplicationList, ApplicationOpen, Reevaluate
from handlers.forms import confirm
from handlers.forms import engine as forms
from handlers.forms.matching import Choice, match_choice
from handlers.forms.validators import Invalid, normalize_phone
from handlers.notices.notify import notify_accounts, notify_producer, when_told
from handlers.officer.access import Scope, acting_officer, checked_application, page_options, province_list, sees
from handlers.officer.dossier import (
    INVITE_REEVALUATION,
    SIMPLE_ACTIONS,
    available_actions,
    open_application,
    reevaluation_due,
)
from handlers.officer.results import REJECT, REQUEST_MORE, RESULT
from handlers.types import Context, Option, Reply, State
from messages import format_date, format_phone, format_when, t
from storage import lifecycle
from storage.applications import certificate_of, change_status, latest_certificate, list_applications_in_province
from storage.audit import record_event
from storage.linking import create_link_code, producer_by_phone
from storage.models import Application, Producer, Product
from storage.officers import active_officer, redeem_invite, web_session_of
from storage.officers import sign_out as sign_out_web
from storage.producers import accounts_of_producer, get_producer_by_tax_code
from storage.reference import load_reference
from storage.text import fold
from storage.verification import is_verified

PAGE_SIZE = 8
LINK_CODE_VALID = timedelta(days=14)
# The actions that are forms (with their own review), and the status each leads to.
FORM_ACTIONS = {"request_more": (REQUEST_MORE, lifecycle.NEEDS_MORE), "reject": (REJECT, lifecycle.REJECTED)}


async def join(ctx: Context, code: str) -> list[Reply]:
    lang = ctx.lang
    if not code.strip():
        return [Reply(t(lang, "officer.bad_code"))]
    officer = await code_guard.redeem(ctx, "officer", "officer.bad_code", lambda: redeem_invite(
        ctx.session, ctx.account, code, ctx.now, web_session=ctx.quotas.officer_web_session))
    if isinstance(officer, Reply):
        return [officer]
    province = load_reference().province(officer.province_code)
    key = "officer.welcome_admin" if officer.is_admin else "officer.welcome"
    replies = [Reply(t(lang, key, name=officer.name, province=province.vi if province else officer.province_code),
                     officer_menu=True)]
    if ctx.account.channel == "web":
        until = format_when(lang, ctx.now + ctx.quotas.officer_web_session, ctx.timezone)
        replies.append(Reply(t(lang, "officer.web_session_opened", until=until)))
    return replies


async def sign_out(ctx: Context) -> list[Reply]:
    """`/dangxuat`: an officer on the web chat ends the session, so the next person at this browser is nobody."""
    if ctx.account.channel != "web" or await web_session_of(ctx.session, ctx.account, ctx.now) is None:
        return [Reply(t(ctx.lang, "officer.no_session"))]
    await sign_out_web(ctx.session, ctx.account, ctx.now)
    return [Reply(t(ctx.lang, "officer.signed_out"))]


async def session_ended(ctx: Context) -> list[Reply]:
    """A web page whose officer session has run out is a producer's page again, and is told so once."""
    if ctx.account.channel != "web" or ctx.account.role not in ("officer", "admin"):
        return []
    if await active_officer(ctx.session, ctx.account, ctx.now) is not None:
        return []
    ctx.account.role = "producer"
    ctx.session.add(ctx.account)
    return [Reply(t(ctx.lang, "officer.session_ended"))]


@province_list
async def list_applications(ctx: Context, scope: Scope, status: str | None, offset: int = 0,
                            group: str | None = None) -> list[Reply]:
    lang = ctx.lang
    offset = max(offset, 0)
    if status not in lifecycle.STATUSES:
        status = None  # an altered or outdated button: show all rather than fail
    ref = load_reference()
    if group is not None and group not in _classification_codes():
        group = None
    rows, total = await list_applications_in_province(ctx.session, scope.province, status=status, offset=offset,
                                                      limit=PAGE_SIZE, group=group)
    shown = t(lang, f"stage.{status}") if status else t(lang, "officer.all_statuses")
    if group is not None:
        shown += f" · {ref.label(group, lang)}"
    heading = t(lang, "officer.list_title", province=scope.label, status=shown, total=total)
    lines, options = [heading], []
    today = ctx.today
    for number, application in enumerate(rows, offset + 1):
        product = await ctx.session.get(Product, application.product_id)
        producer = await ctx.session.get(Producer, application.producer_id)
        name = product.name if product else ""
        issued = await certificate_of(ctx.session, application)
        # A decided application is dated by its decision, and an expired certificate reads as expired.
        stage = lifecycle.shown_stage(application.status, issued.valid_until if issued else None, today)
        when = t(lang, "officer.list_decided", date=format_date(issued.decision_date)) if issued else \
            t(lang, "officer.list_submitted", date=format_date(application.submitted_at or application.created_at,
                                                                ctx.timezone))
        unverified = "" if producer is None or is_verified(producer) else " · " + t(lang, "verify.unverified")
        mark = "🔄 " if application.kind == "reevaluation" else ""
        lines.append(f"{number}. {mark}{application.code} · {name} · {t(lang, f'stage.{stage}')} · {when}"
                     f"{unverified}")
        options.append(Option(ApplicationOpen(application.id).id, name[:40], number=number))
    if not rows:
        lines.append(t(lang, "officer.list_empty"))
    if group is None and offset == 0:
        lines.append(t(lang, "officer.list_filter_hint"))
    key = status or "all"
    options += page_options(lang, offset, total, PAGE_SIZE, lambda at: ApplicationList(key, at, group or "").id)
    # Changing the stage keeps the group filter; the group filter itself is typed (/hoso thực phẩm).
    options += [Option(ApplicationList(s, 0, group or "").id, t(lang, f"stage.{s}"))
                for s in lifecycle.STATUSES if s != status]
    if status:
        options.append(Option(ApplicationList("all", 0, group or "").id, t(lang, "officer.all_statuses")))
    if group:
        options.append(Option(ApplicationList(key, 0).id, t(lang, "officer.all_groups")))
    return [Reply("\n".join(lines), options=tuple(options), inline=True)]


def _classification_choices() -> list[Choice]:
    """Every group, nhóm and phân nhóm, so '/hoso chè' and '/hoso thực phẩm' both filter."""
    ref = load_reference()
    items = [item for g in ref.groups for item in (g, *g.subgroups, *(c for s in g.subgroups for c in s.categories))]
    return [Choice(item.code, item.vi, (item.vi, item.en, *item.aliases)) for item in items]


def _classification_codes() -> set[str]:
    return {choice.id for choice in _classification_choices()}


def filter_from_words(text: str, lang: str) -> tuple[str | None, str | None]:
    """What '/hoso …' asks for: a stage ('/hoso cần bổ sung') or a product group at any level ('/hoso chè')."""
    status = status_from_words(text, lang)
    if status is not None or fold(text).isdecimal():
        return status, None
    found = match_choice(text, _classification_choices())
    return None, found.id if found else None


def status_from_words(text: str, lang: str) -> str | None:
    """'/hoso can bo sung' → needs_more, by the stage names in either language."""
    if not fold(text):
        return None
    choices = [Choice(s, t(lang, f"stage.{s}"), (s, t("en", f"stage.{s}"), t("vi", f"stage.{s}")))
               for s in lifecycle.STATUSES]
    found = match_choice(text, choices)
    return found.id if found else None


async def start_action(ctx: Context, state: State, application_id: int, action: str) -> list[Reply]:
    checked = await checked_application(ctx, application_id)
    if isinstance(checked, Reply):
        return [checked]
    _, application, _ = checked
    lang = ctx.lang
    due = action == INVITE_REEVALUATION and await reevaluation_due(ctx, application)  # its queries only when asked
    if action not in available_actions(application.status, reevaluation_due=due):
        return [Reply(t(lang, "officer.not_now", stage=t(lang, f"stage.{application.status}")))]
    preset: dict[str, Any] = {"_app": application.id}
    if action in SIMPLE_ACTIONS or action == INVITE_REEVALUATION:
        text = t(lang, "officer.confirm", action=t(lang, f"officer.action.{action}"), code=application.code)
        return [confirm.put(ctx, state, action_confirmed.name, text, {"app": application.id, "action": action})]
    if action == "record_result":
        return await forms.start(ctx, RESULT, state, preset | await _result_preset(ctx, application))
    form, _ = FORM_ACTIONS[action]
    if action == "request_more":
        product = await ctx.session.get(Product, application.product_id)
        preset |= {"_group": product.group_code if product else None, "_kind": application.kind}
    return await forms.start(ctx, form, state, preset)


async def _result_preset(ctx: Context, application: Application) -> dict[str, Any]:
    """What the result form's review needs to say what will happen: who is told, and the certificate held."""
    producer = await ctx.session.get(Producer, application.producer_id)
    chats = await accounts_of_producer(ctx.session, application.producer_id)
    preset: dict[str, Any] = {"_told": {"producer": producer.name if producer else "", "chats": len(chats)}}
    if application.status == lifecycle.AWAITING_CENTRAL:
        # The council's record stands; what is recorded now is the central council's outcome.
        held = await certificate_of(ctx.session, application)
        preset |= {"_central": True, "score": application.score,
                   "_valid_until": held.valid_until.isoformat() if held else None}
    return preset


@confirm.question("officer_confirm", no_key="officer.not_changed")
async def action_confirmed(ctx: Context, state: State, pending: dict[str, Any]) -> list[Reply]:
    """A yes to an action without a form (approve, forward, invite to re-evaluation)."""
    checked = await checked_application(ctx, pending.get("app"))  # checked again: the officer may be revoked meanwhile
    if isinstance(checked, Reply):
        return [checked]
    _, application, producer = checked
    if pending["action"] == INVITE_REEVALUATION:
        return await _invite_reevaluation(ctx, application, producer)
    target = SIMPLE_ACTIONS[pending["action"]]
    if not lifecycle.can_transition(application.status, target):
        return [Reply(t(ctx.lang, "officer.not_now", stage=t(ctx.lang, f"stage.{application.status}")))]
    change = await change_status(ctx.session, application, target, actor_account_id=ctx.account.id)
    await notify_producer(ctx, application, change, f"notice.{target}")
    done = Reply(t(ctx.lang, "officer.done", code=application.code, stage=t(ctx.lang, f"stage.{target}"),
                   told=await when_told(ctx, application.producer_id)))
    return [done, *await open_application(ctx, application.id)]


async def _invite_reevaluation(ctx: Context, application: Application, producer: Producer) -> list[Reply]:
    """The producer's chats get the invitation with the button that opens the re-evaluation; a producer with no
    chat is to be phoned, and the officer is told so."""
    lang = ctx.lang
    if not await reevaluation_due(ctx, application):
        return [Reply(t(lang, "officer.not_now", stage=t(lang, f"stage.{application.status}")))]
    product = await ctx.session.get(Product, application.product_id)
    held = await latest_certificate(ctx.session, application.product_id)
    assert product is not None and held is not None
    accounts = await accounts_of_producer(ctx.session, application.producer_id)
    sent = await notify_accounts(ctx, accounts, "notice.reevaluation_invited", f"reeval-invite:{held.id}",
                                 reason="reevaluation.invited", options=((Reevaluate(product.id).id,
                                                                          "reminder.reevaluate"),),
                                 product=product.name, date=format_date(held.valid_until))
    await record_event(ctx.session, actor_account_id=ctx.account.id, action="application.reevaluation_invited",
                       subject_type="application", subject_id=application.code or str(application.id),
                       details={"chats": len(accounts)})
    if not accounts:
        done = Reply(t(lang, "officer.invite_no_chat", producer=producer.name, phone=format_phone(producer.phone)))
    else:  # a second tap sends nothing new, and says so
        done = Reply(t(lang, "officer.invited" if sent else "officer.invited_already", producer=producer.name,
                       chats=len(accounts)))
    return [done, *await open_application(ctx, application.id)]


async def make_link_code(ctx: Context, query: str) -> list[Reply]:
    """`/malienket <tax code or phone>`: a one-time code for a producer of the officer's province."""
    lang = ctx.lang
    officer = await acting_officer(ctx)
    if isinstance(officer, Reply):
        return [officer]
    query = query.strip()
    if not query:
        return [Reply(t(lang, "officer.link_ask"))]
    producer = await get_producer_by_tax_code(ctx.session, query)
    if producer is None:
        try:
            producer = await producer_by_phone(ctx.session, normalize_phone(query), verified_only=False)
        except Invalid:
            producer = None
    if producer is None or not sees(officer, producer.province_code):
        return [Reply(t(lang, "officer.link_not_found"))]
    code = await create_link_code(ctx.session, producer, officer_id=officer.id, valid_for=LINK_CODE_VALID)
    return [Reply(t(lang, "officer.link_code", producer=producer.name, code=code, days=LINK_CODE_VALID.days))]
