"""The form engine: a form is a list of declared steps; navigation works the same on every form.

Where a person is lives in State (step id + answers in `data`), so every update can be handled by
a fresh process. Keys in `data` that start with "_" are the engine's own bookkeeping.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from handlers import navigation as nav
from handlers.matching import Choice, clean_text, match_choice, parse_numbers
from handlers.types import Context, Incoming, Option, Reply, State
from handlers.uploads import accept_upload
from handlers.validators import Invalid
from messages import format_number, t

REVIEW = "_review"
MAX_FILES_PER_STEP = 10


class Kind(StrEnum):
    TEXT = "text"
    CHOICE = "choice"
    MULTI = "multi"
    PHONE = "phone"
    FILES = "files"  # one or more images, then "done"
    DOCUMENT = "document"  # one or more images/PDFs, or "handed in on paper"


ChoicesFn = Callable[[str, dict[str, Any]], list[Choice]]
ParseFn = Callable[[str, dict[str, Any]], Any]
CheckFn = Callable[[Context, Any, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    id: str  # also the key of the answer in State.data
    kind: Kind
    section: str
    prompt: str  # message keys from here down
    label: str
    help: str
    optional: bool = False
    choices: ChoicesFn | None = None
    parse: ParseFn | None = None
    check: CheckFn | None = None  # async check against stored data (e.g. tax code already taken)
    clears: tuple[str, ...] = ()  # answers that no longer hold when this one changes
    prompt_params: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None


class Form(Protocol):
    name: str
    sections: tuple[str, ...]

    def steps(self, data: dict[str, Any]) -> list[Step]: ...

    async def initial_data(self, ctx: Context) -> dict[str, Any]: ...

    async def after_answer(self, ctx: Context, step: Step, data: dict[str, Any], typed: str) -> list[Reply]: ...

    async def submit(self, ctx: Context, data: dict[str, Any]) -> list[Reply]: ...


# ---------------------------------------------------------------- entering and asking


async def start(ctx: Context, form: Form, state: State) -> list[Reply]:
    """Open the form with a fresh draft and ask its first unanswered question."""
    state.flow, state.data = form.name, await form.initial_data(ctx)
    state.step = next_step(form, state.data)
    return ask(ctx, form, state)


def next_step(form: Form, data: dict[str, Any]) -> str:
    """The first question not yet answered; the review once everything is."""
    return next((s.id for s in form.steps(data) if s.id not in data), REVIEW)


def find_step(form: Form, data: dict[str, Any], step_id: str | None) -> Step | None:
    return next((s for s in form.steps(data) if s.id == step_id), None)


def ask(ctx: Context, form: Form, state: State, before: list[Reply] | None = None) -> list[Reply]:
    """Show the current question (or the review) again, after any replies in `before`."""
    replies = list(before or [])
    if state.step == REVIEW:
        return replies + review_replies(ctx, form, state.data)
    step = find_step(form, state.data, state.step)
    if step is None:  # the form changed under a saved draft: go on from the first unanswered question
        state.step = next_step(form, state.data)
        return ask(ctx, form, state, before)
    lang = ctx.lang
    params = step.prompt_params(lang, state.data) if step.prompt_params else {}
    text = t(lang, step.prompt, **params)
    if step.id in state.data and step.kind not in (Kind.FILES, Kind.DOCUMENT, Kind.MULTI):
        text += "\n" + t(lang, "form.current_value", value=render_value(lang, step, state.data))
    options: list[Option] = []
    if step.kind in (Kind.FILES, Kind.DOCUMENT):
        uploads = state.data.get("_uploads", [])
        if uploads:
            text += "\n" + t(lang, "form.files_received", count=len(uploads))
        options.append(Option(nav.DONE, t(lang, "nav.done")))
        if step.kind is Kind.DOCUMENT:
            options.append(Option(nav.PAPER, t(lang, "nav.paper")))
    elif step.kind is Kind.MULTI:
        picked = state.data.get("_pick", [])
        for choice in step_choices(lang, step, state.data):
            mark = "✅ " if choice.id in picked else ""
            options.append(Option(choice.id, mark + choice.label))
        options.append(Option(nav.DONE, t(lang, "nav.done")))
    elif step.choices:
        options += [Option(c.id, c.label) for c in step_choices(lang, step, state.data)]
    steps = form.steps(state.data)
    options += nav.options(lang, back=steps[0].id != step.id, skip=step.optional)
    contact = t(lang, "nav.share_phone") if step.kind is Kind.PHONE and ctx.can_share_contact else None
    return replies + [Reply(text=text, options=tuple(options), request_contact=contact)]


def step_choices(lang: str, step: Step, data: dict[str, Any]) -> list[Choice]:
    return step.choices(lang, data) if step.choices else []


# ---------------------------------------------------------------- handling an answer


async def handle(ctx: Context, form: Form, state: State, inc: Incoming) -> list[Reply]:
    """Handle one message while the form is open."""
    lang = ctx.lang
    waiting = state.data.get("_await")
    if waiting == "cancel":
        return await _handle_cancel_confirm(ctx, form, state, inc)
    if waiting == "edit":
        return _handle_edit_pick(ctx, form, state, inc)
    if state.step == REVIEW:
        return await _handle_review(ctx, form, state, inc)
    step = find_step(form, state.data, state.step)
    if step is None:
        return ask(ctx, form, state)
    text = clean_text(inc.text) if inc.text else ""
    command = nav.match(inc.choice, text, lang, step.kind)
    if command == nav.BACK:
        return _go_back(ctx, form, state, step)
    if command == nav.SKIP:
        if not step.optional:
            return ask(ctx, form, state, [Reply(t(lang, "form.cannot_skip"))])
        return await _store(ctx, form, state, step, None)
    if command == nav.CANCEL:
        return ask_cancel(lang, state)
    if command == nav.HELP:
        return ask(ctx, form, state, [Reply(t(lang, step.help))])
    try:
        if step.kind in (Kind.FILES, Kind.DOCUMENT):
            return await _handle_files(ctx, form, state, step, inc, command)
        if inc.file is not None:
            raise Invalid("error.file_not_expected")
        if step.kind is Kind.MULTI:
            return await _handle_multi(ctx, form, state, step, inc, text, command)
        value = await _parse_answer(ctx, step, state.data, inc, text)
        if step.check:
            await step.check(ctx, value, state.data)
    except Invalid as bad:
        return ask(ctx, form, state, [Reply(t(lang, bad.key, **bad.params))])
    return await _store(ctx, form, state, step, value, text)


async def _parse_answer(ctx: Context, step: Step, data: dict[str, Any], inc: Incoming, text: str) -> Any:
    lang = ctx.lang
    if step.kind is Kind.CHOICE:
        choices = step_choices(lang, step, data)
        chosen = (next((c for c in choices if c.id == inc.choice), None) if inc.choice
                  else match_choice(text, choices))
        if chosen is None:
            raise Invalid("error.stale_button" if inc.choice else "error.choice_unknown")
        return chosen.id
    if step.kind is Kind.PHONE and inc.contact is not None:
        if inc.contact.user_id is None or inc.contact.user_id != inc.user_id:
            raise Invalid("error.contact_not_yours")
        text = inc.contact.phone
    if inc.choice:
        raise Invalid("error.stale_button")
    if not text:
        raise Invalid("error.empty")
    assert step.parse is not None, step.id
    return step.parse(text, data)


async def _store(ctx: Context, form: Form, state: State, step: Step, value: Any, typed: str = "") -> list[Reply]:
    """Keep the answer, forget what it invalidates, and move to the first unanswered question."""
    changed = state.data.get(step.id, object()) != value
    state.data[step.id] = value
    if changed:
        for key in step.clears:
            for stale in [k for k in state.data if k == key or k.startswith(key + ":")]:
                del state.data[stale]
    for scratch in ("_uploads", "_pick"):
        state.data.pop(scratch, None)
    notes = await form.after_answer(ctx, step, state.data, typed)
    _enter(form, state, next_step(form, state.data))
    return ask(ctx, form, state, notes)


def _enter(form: Form, state: State, step_id: str) -> None:
    """Move to a step, preparing the scratch space of multi-answer steps from what is stored."""
    state.step = step_id
    step = find_step(form, state.data, step_id)
    if step is None:
        return
    stored = state.data.get(step.id)
    if step.kind is Kind.MULTI:
        state.data["_pick"] = list(stored or [])
    elif step.kind in (Kind.FILES, Kind.DOCUMENT):
        files = stored.get("files", []) if isinstance(stored, dict) else (stored or [])
        state.data["_uploads"] = list(files)


def _go_back(ctx: Context, form: Form, state: State, step: Step) -> list[Reply]:
    steps = form.steps(state.data)
    index = next(i for i, s in enumerate(steps) if s.id == step.id)
    if index == 0:
        return ask(ctx, form, state, [Reply(t(ctx.lang, "form.first_question"))])
    _enter(form, state, steps[index - 1].id)
    return ask(ctx, form, state)


async def _handle_multi(ctx: Context, form: Form, state: State, step: Step, inc: Incoming, text: str,
                        command: str | None) -> list[Reply]:
    choices = step_choices(ctx.lang, step, state.data)
    picked: list[str] = state.data.setdefault("_pick", [])
    if command == nav.DONE:
        return await _store(ctx, form, state, step, [c.id for c in choices if c.id in picked])
    numbers = parse_numbers(text) if not inc.choice else None
    if numbers and len(numbers) > 1:  # "1 3 5": exactly these
        if any(not 1 <= n <= len(choices) for n in numbers):
            raise Invalid("error.choice_unknown")
        state.data["_pick"] = [choices[n - 1].id for n in numbers]
        return ask(ctx, form, state)
    chosen = (next((c for c in choices if c.id == inc.choice), None) if inc.choice
              else match_choice(text, choices))
    if chosen is None:
        raise Invalid("error.stale_button" if inc.choice else "error.choice_unknown")
    if chosen.id in picked:
        picked.remove(chosen.id)
    else:
        picked.append(chosen.id)
    return ask(ctx, form, state)


async def _handle_files(ctx: Context, form: Form, state: State, step: Step, inc: Incoming,
                        command: str | None) -> list[Reply]:
    uploads: list[dict[str, Any]] = state.data.setdefault("_uploads", [])
    if command == nav.PAPER and step.kind is Kind.DOCUMENT:
        return await _store(ctx, form, state, step, {"delivery": "in_person"})
    if command == nav.DONE:
        if not uploads:
            raise Invalid("error.files_none_yet_optional" if step.optional else "error.files_none_yet")
        value: Any = list(uploads) if step.kind is Kind.FILES else {"delivery": "upload", "files": list(uploads)}
        return await _store(ctx, form, state, step, value)
    if inc.file is None:
        raise Invalid("error.file_expected_document" if step.kind is Kind.DOCUMENT else "error.file_expected")
    if len(uploads) >= MAX_FILES_PER_STEP:
        raise Invalid("error.too_many_files", {"max": MAX_FILES_PER_STEP})
    stored = await accept_upload(ctx, inc.file, allow_pdf=step.kind is Kind.DOCUMENT)
    uploads.append(stored)
    return ask(ctx, form, state)


# ---------------------------------------------------------------- cancel, review, edit


def ask_cancel(lang: str, state: State) -> list[Reply]:
    state.data["_await"] = "cancel"
    options = (Option(nav.YES, t(lang, "nav.yes_cancel")), Option(nav.NO, t(lang, "nav.no_continue")))
    return [Reply(t(lang, "form.cancel_confirm"), options=options, inline=True)]


async def _handle_cancel_confirm(ctx: Context, form: Form, state: State, inc: Incoming) -> list[Reply]:
    answer = nav.yes_no(inc.choice, clean_text(inc.text or ""), ctx.lang)
    if answer is None:
        return ask_cancel(ctx.lang, state)
    del state.data["_await"]
    if answer:
        state.flow, state.step, state.data = None, None, {}
        return [Reply(t(ctx.lang, "form.cancelled"))]
    return ask(ctx, form, state)


def answered_steps(form: Form, data: dict[str, Any]) -> list[Step]:
    return [s for s in form.steps(data) if s.id in data]


def review_replies(ctx: Context, form: Form, data: dict[str, Any]) -> list[Reply]:
    lang = ctx.lang
    lines = [t(lang, "review.title")]
    number = 0
    for section in form.sections:
        lines.append("")
        lines.append(t(lang, f"section.{section}"))
        for step in form.steps(data):
            if step.section == section:
                number += 1
                lines.append(f"{number}. {label(lang, step, data)}: {render_value(lang, step, data)}")
    summary = Reply("\n".join(lines), options=nav.options(lang, back=True, skip=False))
    actions = (Option(nav.SUBMIT, t(lang, "nav.submit")), Option(nav.EDIT, t(lang, "nav.edit")),
               Option(nav.CANCEL, t(lang, "nav.cancel")))
    return [summary, Reply(t(lang, "review.question"), options=actions, inline=True)]


async def _handle_review(ctx: Context, form: Form, state: State, inc: Incoming) -> list[Reply]:
    lang = ctx.lang
    text = clean_text(inc.text or "")
    command = nav.match(inc.choice, text, lang, Kind.CHOICE)
    if command == nav.SUBMIT:
        missing = next_step(form, state.data)
        if missing != REVIEW:  # never submit a dossier with a hole in it
            _enter(form, state, missing)
            return ask(ctx, form, state)
        replies = await form.submit(ctx, state.data)
        state.flow, state.step, state.data = None, None, {}
        return replies
    if command == nav.EDIT:
        number = nav.edit_number(text)
        steps = form.steps(state.data)
        if number is not None and 1 <= number <= len(steps):
            _enter(form, state, steps[number - 1].id)
            return ask(ctx, form, state)
        state.data["_await"] = "edit"
        return _edit_menu(lang, form, state)
    if command == nav.BACK:
        _enter(form, state, form.steps(state.data)[-1].id)
        return ask(ctx, form, state)
    if command == nav.CANCEL:
        return ask_cancel(lang, state)
    if command == nav.HELP:
        return ask(ctx, form, state, [Reply(t(lang, "help.review"))])
    return ask(ctx, form, state, [Reply(t(lang, "error.review_unknown"))])


def _edit_menu(lang: str, form: Form, state: State) -> list[Reply]:
    steps = form.steps(state.data)
    options = [Option(f"edit:{s.id}", f"{i}. {label(lang, s, state.data)}") for i, s in enumerate(steps, 1)]
    options += nav.options(lang, back=True, skip=False)
    return [Reply(t(lang, "review.pick_field"), options=tuple(options))]


def _handle_edit_pick(ctx: Context, form: Form, state: State, inc: Incoming) -> list[Reply]:
    lang = ctx.lang
    steps = form.steps(state.data)
    text = clean_text(inc.text or "")
    command = nav.match(inc.choice, text, lang, Kind.CHOICE)
    if command in (nav.BACK, nav.CANCEL):
        del state.data["_await"]
        return ask(ctx, form, state)
    choices = [Choice(f"edit:{s.id}", label(lang, s, state.data)) for s in steps]
    chosen = (next((c for c in choices if c.id == inc.choice), None) if inc.choice
              else match_choice(text, choices))
    if chosen is None:
        return [Reply(t(lang, "error.choice_unknown"))] + _edit_menu(lang, form, state)
    del state.data["_await"]
    _enter(form, state, chosen.id.removeprefix("edit:"))
    return ask(ctx, form, state)


# ---------------------------------------------------------------- showing answers


def label(lang: str, step: Step, data: dict[str, Any]) -> str:
    params = step.prompt_params(lang, data) if step.prompt_params else {}
    return t(lang, step.label, **params)


def render_value(lang: str, step: Step, data: dict[str, Any]) -> str:
    value = data.get(step.id)
    if value is None:
        return t(lang, "review.skipped")
    if step.kind is Kind.CHOICE:
        return next((c.label for c in step_choices(lang, step, data) if c.id == value), str(value))
    if step.kind is Kind.MULTI:
        labels = [c.label for c in step_choices(lang, step, data) if c.id in value]
        return ", ".join(labels) if labels else t(lang, "review.none")
    if step.kind is Kind.FILES:
        return t(lang, "review.files", count=len(value))
    if step.kind is Kind.DOCUMENT:
        if value.get("delivery") == "in_person":
            return t(lang, "review.in_person")
        return t(lang, "review.files", count=len(value.get("files", [])))
    if isinstance(value, dict) and "amount" in value:
        return f"{format_number(lang, value['amount'])} {value['unit']}"
    return str(value)
