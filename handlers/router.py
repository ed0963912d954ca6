"""The entry point for every message: commands, the main menu, and the open form if there is one."""

from __future__ import annotations

from datetime import timedelta

from handlers import forms
from handlers.matching import Choice, clean_text, match_choice
from handlers.registration import REGISTRATION
from handlers.types import Context, Incoming, Option, Reply, Result, State
from messages import LANGUAGES, t

# Coming back after this long to a half-filled form asks "continue or start over?" first,
# because the person has likely forgotten what the last question was.
RESUME_AFTER = timedelta(hours=1)
MENU_REGISTER, MENU_HELP, MENU_LANGUAGE = "menu:register", "menu:help", "menu:language"
RESUME_CONTINUE, RESUME_RESTART = "resume:continue", "resume:restart"
FORMS = {REGISTRATION.name: REGISTRATION}

# Telegram commands (Vietnamese first, English aliases) → what they do. bot/ reads this to set the menu.
COMMANDS = {
    "start": "start", "batdau": "start",
    "dangky": "register", "register": "register",
    "trogiup": "help", "help": "help",
    "ngonngu": "language", "language": "language",
    "huy": "cancel", "cancel": "cancel",
    # Inside a form these are the shared buttons typed as commands; the form engine reads them.
    "quaylai": "nav", "back": "nav", "boqua": "nav", "skip": "nav", "xong": "nav", "done": "nav",
}
# (command, description key) shown in the Telegram command menu, per language.
COMMAND_MENU = {
    "vi": [("dangky", "command.register"), ("trogiup", "command.help"), ("ngonngu", "command.language"),
           ("huy", "command.cancel"), ("start", "command.start")],
    "en": [("register", "command.register"), ("help", "command.help"), ("language", "command.language"),
           ("cancel", "command.cancel"), ("start", "command.start")],
}


async def handle(ctx: Context, state: State, inc: Incoming) -> Result:
    replies = await _route(ctx, state, inc)
    if state.flow is None and "_await" not in state.data and not (replies and replies[-1].options):
        replies.append(_menu(ctx.lang))  # a finished or cancelled form ends at the menu, never a dead end
    return Result(replies=replies, state=state)


async def _route(ctx: Context, state: State, inc: Incoming) -> list[Reply]:
    text = clean_text(inc.text or "")
    command = _command(text)
    form = FORMS.get(state.flow or "")
    waiting = state.data.get("_await")
    # Outside a form a typed text may be a menu button's label: Telegram's reply keyboard sends labels.
    menu = inc.choice if form is None and waiting is None else None
    if form is None and waiting is None and menu is None and text and command is None:
        picked = match_choice(text, _menu_choices(ctx.lang))
        menu = picked.id if picked else None

    if command == "language" or menu == MENU_LANGUAGE:
        state.data["_await"] = "language"
        return [_language_question(ctx.lang)]
    if waiting == "language":
        return _handle_language(ctx, state, inc, text, form)
    if waiting == "resume" and form:
        return await _handle_resume(ctx, state, inc, text, form)
    if command == "help" or menu == MENU_HELP:
        return [Reply(t(ctx.lang, "help.bot"))] + (forms.ask(ctx, form, state) if form else [_menu(ctx.lang)])

    if form is None:
        state.flow, state.step = None, None
        state.data.pop("_await", None)  # a leftover from a form that no longer exists
        return await _idle(ctx, state, inc, command, menu)

    wants_register = command in ("start", "register") or inc.choice == MENU_REGISTER
    idle_long = state.updated_at is not None and ctx.now - state.updated_at >= RESUME_AFTER
    if waiting is None and (wants_register or idle_long):
        return _ask_resume(ctx.lang, state)
    if command == "cancel" and waiting != "cancel":
        return forms.ask_cancel(ctx.lang, state)
    if command == "unknown":
        return forms.ask(ctx, form, state, [Reply(t(ctx.lang, "error.unknown_command"))])
    return await forms.handle(ctx, form, state, inc)


def _command(text: str) -> str | None:
    if not text.startswith("/"):
        return None
    name = text[1:].split()[0].split("@")[0].lower() if len(text) > 1 else ""
    return COMMANDS.get(name, "unknown")


async def _idle(ctx: Context, state: State, inc: Incoming, command: str | None, menu: str | None) -> list[Reply]:
    lang = ctx.lang
    if command == "start":
        return [Reply(t(lang, "welcome")), _menu(lang)]
    if command == "cancel":
        return [Reply(t(lang, "cancel.nothing")), _menu(lang)]
    if command == "register" or menu == MENU_REGISTER:
        return await forms.start(ctx, REGISTRATION, state)
    if inc.file is not None:
        return [Reply(t(lang, "error.file_outside_form")), _menu(lang)]
    return [Reply(t(lang, "error.not_understood")), _menu(lang)]


def _menu_choices(lang: str) -> list[Choice]:
    words = {MENU_REGISTER: ("dang ky", "register", "dang ky san pham", "dangky"),
             MENU_HELP: ("tro giup", "help", "huong dan"),
             MENU_LANGUAGE: ("ngon ngu", "language", "tieng anh", "english")}
    keys = {MENU_REGISTER: "menu.register", MENU_HELP: "menu.help", MENU_LANGUAGE: "menu.language"}
    return [Choice(id, t(lang, key), words[id] + tuple(t(lg, key) for lg in LANGUAGES)) for id, key in keys.items()]


def _menu(lang: str) -> Reply:
    return Reply(t(lang, "menu.title"), options=tuple(Option(c.id, c.label) for c in _menu_choices(lang)))


def _language_question(lang: str) -> Reply:
    options = tuple(Option(f"lang:{code}", t(code, "language.name")) for code in LANGUAGES)
    return Reply(t(lang, "language.ask"), options=options)


def _handle_language(ctx: Context, state: State, inc: Incoming, text: str, form: forms.Form | None) -> list[Reply]:
    choices = [Choice(f"lang:{code}", t(code, "language.name"), (code, "tieng viet" if code == "vi" else "english"))
               for code in LANGUAGES]
    picked = (next((c for c in choices if c.id == inc.choice), None) if inc.choice else match_choice(text, choices))
    if picked is None:
        return [Reply(t(ctx.lang, "error.choice_unknown")), _language_question(ctx.lang)]
    del state.data["_await"]
    ctx.account.language = picked.id.removeprefix("lang:")
    ctx.session.add(ctx.account)
    done = Reply(t(ctx.lang, "language.changed"))
    return forms.ask(ctx, form, state, [done]) if form else [done, _menu(ctx.lang)]


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
    picked = (next((c for c in choices if c.id == inc.choice), None) if inc.choice else match_choice(text, choices))
    if picked is None:
        return _ask_resume(lang, state)
    del state.data["_await"]
    if picked.id == RESUME_RESTART:
        return await forms.start(ctx, form, state)
    return forms.ask(ctx, form, state)
