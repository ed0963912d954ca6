"""The entry point for every message: commands, the main menu, buttons, and the open form if there is one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import buttons, commands, offices, shown
from handlers.events import admin as event_admin
from handlers.events import browse as events
from handlers.forms import confirm
from handlers.forms import engine as forms
from handlers.forms.matching import Choice, fold, match_choice, pick
from handlers.forms.view import CANCEL_FORM
from handlers.officer import applications as officer
from handlers.officer import broadcast, dossier, statistics, verification
from handlers.officer.results import REJECT, REQUEST_MORE, RESULT
from handlers.producer import asides, linking, personal_data, preferences, reevaluation, status
from handlers.producer.reevaluation import REEVALUATION, reevaluation_preset
from handlers.producer.registration import REGISTRATION
from handlers.producer.supplement import SUPPLEMENT, start_supplement
from handlers.types import Context, Incoming, Option, Reply, Result, State
from messages import LANGUAGES, t
from storage.applications import get_application_by_code
from storage.chats import drafts_of_producer
from storage.officers import active_officer
from storage.outbox import latest_notice_since
from storage.personal_data import has_consented

# Coming back after this long to a half-filled form asks "continue or start over?" first,
# because the person has likely forgotten what the last question was.
RESUME_AFTER = timedelta(hours=1)
RESUME_CONTINUE, RESUME_RESTART = buttons.Resume("continue").id, buttons.Resume("restart").id
FORMS: dict[str, forms.Form] = {f.name: f for f in (REGISTRATION, REEVALUATION, SUPPLEMENT, REQUEST_MORE, RESULT,
                                                    REJECT, event_admin.EVENT_FORM, broadcast.BROADCAST_FORM,
                                                    offices.OFFICE_FORM)}

async def handle(ctx: Context, state: State, inc: Incoming) -> Result:
    inc = await _typed_choice(ctx, state, inc)
    replies = await officer.session_ended(ctx) + await _route(ctx, state, inc)
    if state.flow is None and "_await" not in state.data:
        # A finished or cancelled form ends at the menu, never a dead end.
        if replies and replies[-1].after_commit is not None:
            replies[-1] = _then_menu(replies[-1], menu(ctx))  # the read decides: a list asks, statistics do not
        elif not (replies and replies[-1].options):
            replies.append(menu(ctx))
    shown.remember(state, replies, ctx.now)
    return Result(replies=replies, state=state)


async def _typed_choice(ctx: Context, state: State, inc: Incoming) -> Incoming:
    """A typed number or option words, read as the option they pick among what the chat was shown last."""
    if inc.choice or not inc.text or inc.text.lstrip().startswith("/") or len(inc.text) > 200:
        return inc  # a tap carries its option already; a command is a command; a long text is an answer
    seen = state.data.get(shown.SHOWN)
    at = shown.shown_at(state)
    idle = state.flow is None and "_await" not in state.data
    if idle and at is not None:
        # Idle, a notice that arrived after the last reply is what is on screen; in a form its numbers
        # would not change what the form's mean (the notice was drawn without numbers).
        notice = await latest_notice_since(ctx.session, ctx.account.id, at)
        if notice is not None:
            seen = shown.notice_record(notice)
    picked = shown.typed_choice(inc, seen, loose=idle)
    return replace(inc, choice=picked, text=None) if picked else inc


async def _route(ctx: Context, state: State, inc: Incoming) -> list[Reply]:
    text = inc.text or ""
    command, args = _command(text)
    form = FORMS.get(state.flow or "")
    waiting = state.data.get("_await")
    # Outside a form a typed text may be a menu button's label: Telegram's reply keyboard sends labels.
    chosen = inc.choice if form is None and waiting is None else None
    # A bare number means the menu's option only when the menu was shown last, which _typed_choice settled.
    if form is None and waiting is None and chosen is None and text and command is None and not text.isdecimal():
        picked = match_choice(text, _menu_choices(ctx))
        chosen = picked.id if picked else None
    if chosen in commands.BUTTONS and command is None:  # a menu button does what its command does
        command = commands.BUTTONS[chosen].action

    if inc.unreadable:  # nothing to read: say so kindly, then ask again what was open
        note = Reply(t(ctx.lang, "error.unreadable"))
        if waiting == "consent" and form is None:
            return [note, *personal_data.ask_consent(ctx, state, state.data.get("_consent_then") or {})]
        return forms.ask(ctx, form, state, [note]) if form else [note, menu(ctx)]
    if command == "language":
        state.data["_await"] = "language"
        return [_language_question(ctx.lang)]
    if waiting == "language":
        return _handle_language(ctx, state, inc, text, form)
    if waiting == "resume" and form:
        return await _handle_resume(ctx, state, inc, text, form)
    if waiting == "consent" and form is None and command is None and (inc.choice is None or inc.choice in (
            personal_data.AGREE, personal_data.DECLINE)):
        outcome = await personal_data.answer(ctx, state, inc, text)
        return outcome if isinstance(outcome, list) else await _open_registration(ctx, state, outcome[1])
    if waiting == "browse_province" and form is None and command is None and inc.choice is None:
        return await events.answer_province(ctx, state, text)
    if confirm.waiting(state) is not None and form is None:
        return await confirm.answer(ctx, state, inc)
    if command == "help":
        office = await offices.contact_line(ctx, await offices.province_of(ctx))
        helped = Reply(commands.help_text(ctx.lang, _is_officer(ctx)) + (f"\n\n{office}" if office else ""))
        return [helped] + (forms.ask(ctx, form, state) if form else [menu(ctx)])

    if form is None:
        state.flow, state.step = None, None
        state.data.pop("_await", None)  # a leftover from a form that no longer exists
        return await _idle(ctx, state, inc, text, command, args, chosen)

    wants_register = command in ("start", "register") or inc.choice == buttons.Menu("register").id
    idle_long = state.updated_at is not None and ctx.now - state.updated_at >= RESUME_AFTER
    if waiting is None and (wants_register or idle_long):
        if not wants_register and command is None and inc.file is None and inc.contact is None:
            # Likely the answer to the open question: kept, and applied if they choose to continue.
            state.data["_held"] = {"text": inc.text, "choice": inc.choice}
        return _ask_resume(ctx.lang, state)
    if command == "cancel" and waiting != CANCEL_FORM:
        return forms.ask_cancel(ctx, form, state)
    if command == "unknown":
        return forms.ask(ctx, form, state, [Reply(t(ctx.lang, "error.unknown_command"))])
    if waiting == asides.MEANT and (meant := await asides.answer_meant(ctx, form, state, inc)) is not None:
        return meant
    if command is None and not _is_officer(ctx) and (aside := await asides.answer_aside(ctx, form, state, inc)):
        return aside
    # Looking things up only reads, so it may interrupt a form: answer, then ask the open question again.
    pressed = buttons.parse(inc.choice)
    if command == "status" or isinstance(pressed, buttons.StatusPage):
        page = pressed.page if isinstance(pressed, buttons.StatusPage) else 0
        return forms.ask(ctx, form, state, await status.show_status(ctx, state, page))
    if command == "lookup":
        return forms.ask(ctx, form, state, await status.lookup(ctx, state, args))
    if isinstance(pressed, buttons.LookupMore):
        return forms.ask(ctx, form, state, await status.lookup_more(ctx, state, pressed.offset))
    if command is None and inc.choice is None and (code := status.typed_code(text, alone=True)):
        return forms.ask(ctx, form, state, await _show_code(ctx, state, code))
    if command == "mydata":
        return forms.ask(ctx, form, state, await personal_data.show_my_data(ctx, in_form=True))
    if (command is not None and command not in commands.FORM_SAFE) or isinstance(pressed, buttons.Action):
        return forms.ask(ctx, form, state, [Reply(t(ctx.lang, "error.command_in_form"))])
    return await forms.handle(ctx, form, state, inc)


def _command(text: str) -> tuple[str | None, str]:
    if not text.startswith("/"):
        return None, ""
    head, _, args = text[1:].partition(" ")
    name = head.split("@")[0].lower()
    return commands.ACTIONS.get(name, "unknown"), args.strip()


async def _idle(ctx: Context, state: State, inc: Incoming, text: str, command: str | None, args: str,
                chosen: str | None) -> list[Reply]:
    """Nothing is open: commands, menu buttons, inline buttons of earlier messages, contacts, questions."""
    lang = ctx.lang
    if command == "start" and args:  # a t.me/<bot>?start=<code> invite link
        return await officer.join(ctx, args)
    if command == "start":
        return [Reply(t(lang, "welcome")), menu(ctx)]
    if command == "cancel":
        return [Reply(t(lang, "cancel.nothing")), menu(ctx)]
    if command == "register":
        return await _open_registration(ctx, state, {})
    if command == "mydata":
        return await personal_data.show_my_data(ctx)
    if command == "status":
        return await status.show_status(ctx, state)
    if command == "lookup":
        return await status.lookup(ctx, state, args)
    if command == "link":
        return await linking.link_by_code(ctx, args)
    if command == "officer":
        return await officer.join(ctx, args)
    if command == "applications":
        status_wanted, group = officer.filter_from_words(args, lang)
        listed = await officer.list_applications(ctx, status_wanted, group=group)
        if args.strip() and status_wanted is None and group is None:
            return [Reply(t(lang, "officer.filter_unknown", words=args.strip()[:60]))] + listed
        return listed
    if command == "link_code":
        return await officer.make_link_code(ctx, args)
    if command == "verify":
        return await verification.list_claims(ctx)
    if command == "sign_out":
        return await officer.sign_out(ctx)
    if command == "office":
        return await offices.show(ctx, args)
    if command == "trainings":
        return await events.list_events(ctx, state, "training")
    if command == "fairs":
        return await events.list_events(ctx, state, "fair")
    if command in ("add_training", "add_fair"):
        return await event_admin.start_new(ctx, state, "training" if command == "add_training" else "fair")
    if command == "reminders":
        return preferences.show(ctx)
    if command == "notifications" or (command == "broadcast" and not _is_officer(ctx)):
        return preferences.notifications(ctx)  # "thông báo" is a producer's notifications, an officer's broadcast
    if command == "broadcast":
        return await broadcast.overview(ctx)
    if command == "statistics":
        return await statistics.show(ctx)
    if chosen and ":" in chosen:
        return await _button(ctx, state, chosen)
    if inc.contact is not None:
        return await linking.link_by_contact(ctx, inc)
    if inc.file is not None:
        return [Reply(t(lang, "error.file_outside_form")), menu(ctx)]
    if command is None and (code := status.typed_code(text, alone=False)):
        return await _show_code(ctx, state, code)
    if command is None and status.is_status_question(text):
        return await status.show_status(ctx, state)
    if command is None and text.isdecimal() and len(text) <= 3:
        # A number that picks nothing open (typed after a notice, or past the list's end): the list it can pick from.
        return [Reply(t(lang, "error.number_without_list", number=text)), menu(ctx)]
    if command is None and fold(text) in _MENU_WORDS:
        return [menu(ctx)]
    if command is None and (state.updated_at is None or _is_greeting(text)):
        # A first message, or a "xin chào": a welcome, not "I did not understand".
        return [Reply(t(lang, "welcome")), menu(ctx)]
    return [Reply(t(lang, "error.not_understood")), menu(ctx)]


_GREETINGS = {"chao", "alo", "hello", "hi", "hey"}
_MENU_WORDS = {"menu", "ve menu", "trang chu", "man hinh chinh", "main menu", "home"}


def _is_greeting(text: str) -> bool:
    """'Xin chào', 'chào bạn', 'alo', 'hello!': a few words that open with a greeting."""
    words = "".join(c if c.isalnum() else " " for c in fold(text)).split()
    if words[:2] in (["xin", "chao"], ["a", "lo"]):
        return len(words) <= 4
    return bool(words) and words[0] in _GREETINGS and len(words) <= 3


async def _show_code(ctx: Context, state: State, code: str) -> list[Reply]:
    """A typed application code: an officer opens that dossier (their province only), a producer their own status."""
    if await active_officer(ctx.session, ctx.account, ctx.now) is None:
        return await status.show_code(ctx, state, code)
    application = await get_application_by_code(ctx.session, code)
    if application is None or application.id is None:
        return [Reply(t(ctx.lang, "officer.not_found"))]
    return await dossier.open_application(ctx, application.id)


async def _edit_office(ctx: Context, state: State, province_code: str) -> list[Reply]:
    preset = await offices.edit_preset(ctx, province_code)
    return [preset] if isinstance(preset, Reply) else await forms.start(ctx, offices.OFFICE_FORM, state, preset)


async def _open_registration(ctx: Context, state: State, then: dict[str, Any]) -> list[Reply]:
    """A new registration, or a re-evaluation of the product `then` names; the personal-data notice comes first
    for a person who has not agreed to it yet (an imported producer re-evaluating too)."""
    preset: dict[str, Any] | None = None
    if then.get("reevaluate") is not None:
        found = await reevaluation_preset(ctx, int(then["reevaluate"]))
        if isinstance(found, Reply):
            return [found]
        preset = found
    if not has_consented(ctx.account):
        return personal_data.ask_consent(ctx, state, then)
    producer_id, limit = ctx.account.producer_id, ctx.quotas.open_drafts
    if producer_id and await drafts_of_producer(ctx.session, producer_id, besides=ctx.account.id) >= limit:
        return [Reply(t(ctx.lang, "register.too_many_drafts", max=limit))]
    if preset is None:
        return await forms.start(ctx, REGISTRATION, state)
    return [reevaluation.intro(ctx.lang, preset)] + await forms.start(ctx, REEVALUATION, state, preset)


async def _button(ctx: Context, state: State, chosen: str) -> list[Reply]:
    """Buttons of earlier messages. Ids come from the person's device: `buttons.parse` checked every field."""
    match buttons.parse(chosen):
        case buttons.StatusPage(page):
            return await status.show_status(ctx, state, page)
        case buttons.LookupMore(offset):
            return await status.lookup_more(ctx, state, offset)
        case buttons.Supplement(application):
            preset = await start_supplement(ctx, application)
            if preset is None:
                return [Reply(t(ctx.lang, "supplement.not_needed"))]
            return await forms.start(ctx, SUPPLEMENT, state, preset)
        case buttons.Reevaluate(product):
            return await _open_registration(ctx, state, {"reevaluate": product})
        case buttons.DeleteMyData():
            return personal_data.ask_delete(ctx, state)
        case buttons.ToggleReminder(kind):
            return preferences.toggle(ctx, kind)
        case buttons.Snooze(certificate, milestone):
            return await preferences.snooze(ctx, certificate, milestone)
        case buttons.EditOffice(province):
            return await _edit_office(ctx, state, province)
        case buttons.EventList(kind):
            return await events.list_events(ctx, state, kind)
        case buttons.EventProvince(kind):
            return events.ask_province(ctx, state, kind)
        case buttons.EventOpen(event):
            return await events.open_event(ctx, event)
        case buttons.EventJoin(event):
            return await events.join(ctx, event)
        case buttons.EventLeave(event):
            return await events.leave(ctx, event)
        case buttons.EventCalendar(event):
            return await events.calendar(ctx, event)
        case buttons.EventPeople(event):
            return await event_admin.people(ctx, event)
        case buttons.EventEdit(event):
            return await event_admin.edit(ctx, state, event)
        case buttons.EventCancel(event):
            return await event_admin.ask_cancel(ctx, state, event)
        case buttons.ApplicationList(stage, offset, group):
            return await officer.list_applications(ctx, None if stage == "all" else stage, offset, group or None)
        case buttons.ApplicationOpen(application):
            return await dossier.open_application(ctx, application)
        case buttons.ApplicationAct(application, action):
            return await officer.start_action(ctx, state, application, action)
        case buttons.ClaimList(offset):
            return await verification.list_claims(ctx, offset)
        case buttons.ClaimOpen(producer):
            return await verification.open_claim(ctx, producer)
        case buttons.ClaimAct(producer, action, other):
            return await verification.ask_confirm(ctx, state, producer, action, other)
        case buttons.BroadcastNew():
            return await broadcast.start(ctx, state)
        case buttons.BroadcastCancel(number):
            return await broadcast.cancel(ctx, number)
    return [Reply(t(ctx.lang, "error.stale_button")), menu(ctx)]


def _is_officer(ctx: Context) -> bool:
    # Only decides which buttons to draw; every officer action checks the officer record itself.
    return ctx.account.role in ("officer", "admin")


def _menu_choices(ctx: Context) -> list[Choice]:
    return [Choice(c.button, t(ctx.lang, f"menu.{c.action}"), commands.button_words(c))
            for c in commands.menu_buttons(_is_officer(ctx))]


def _then_menu(later: Reply, menu_reply: Reply) -> Reply:
    """A reply made after the commit, followed by the menu unless what it makes asks a question itself."""
    read = later.after_commit
    assert read is not None

    async def made(session: AsyncSession) -> list[Reply]:
        replies = await read(session)
        return replies if replies and replies[-1].options else [*replies, menu_reply]
    return replace(later, after_commit=made)


def menu(ctx: Context) -> Reply:
    return Reply(t(ctx.lang, "menu.title"), options=tuple(Option(c.id, c.label) for c in _menu_choices(ctx)))


def _language_question(lang: str) -> Reply:
    options = tuple(Option(buttons.Language(code).id, t(code, "language.name")) for code in LANGUAGES)
    return Reply(t(lang, "language.ask"), options=options)


def _handle_language(ctx: Context, state: State, inc: Incoming, text: str, form: forms.Form | None) -> list[Reply]:
    choices = [Choice(buttons.Language(code).id, t(code, "language.name"),
                      (code, "tieng viet" if code == "vi" else "english")) for code in LANGUAGES]
    picked = pick(inc.choice, text, choices)
    if picked is None:
        return [Reply(t(ctx.lang, "error.choice_unknown")), _language_question(ctx.lang)]
    del state.data["_await"]
    chosen = buttons.parse(picked.id)
    assert isinstance(chosen, buttons.Language)  # the choices above are all Language ids
    ctx.account.language = chosen.code
    ctx.session.add(ctx.account)
    done = Reply(t(ctx.lang, "language.changed"))
    return forms.ask(ctx, form, state, [done]) if form else [done, menu(ctx)]


def _ask_resume(lang: str, state: State) -> list[Reply]:
    state.data["_await"] = "resume"
    product = state.data.get("product_name")
    text = t(lang, "resume.ask_named", product=product) if product else t(lang, "resume.ask")
    options = (Option(RESUME_CONTINUE, t(lang, "resume.continue")), Option(RESUME_RESTART, t(lang, "resume.restart")))
    return [Reply(text, options=options)]


async def _handle_resume(ctx: Context, state: State, inc: Incoming, text: str, form: forms.Form) -> list[Reply]:
    lang = ctx.lang
    choices = [Choice(RESUME_CONTINUE, t(lang, "resume.continue"), ("tiep tuc", "continue", "tiep")),
               Choice(RESUME_RESTART, t(lang, "resume.restart"), ("bat dau lai", "start over", "lam lai"))]
    picked = pick(inc.choice, text, choices)
    if picked is None:
        return _ask_resume(lang, state)
    del state.data["_await"]
    held = state.data.pop("_held", None)
    if picked.id == RESUME_RESTART:
        return await forms.restart(ctx, form, state)
    if held:  # what they typed before being asked: nothing typed is lost
        return await forms.handle(ctx, form, state, replace(inc, text=held["text"], choice=held["choice"]))
    return forms.ask(ctx, form, state)
