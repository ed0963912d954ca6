"""The form engine: a form is a list of declared steps; navigation works the same on every form.

Where a person is lives in State (step id + answers in `data`), so every update can be handled by
a fresh process. Keys in `data` that start with "_" are the engine's own bookkeeping.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from handlers.buttons import EditStep, parse
from handlers.forms import confirm
from handlers.forms import navigation as nav
from handlers.forms.answers import Answers
from handlers.forms.matching import Choice, fold, match_choice, parse_numbers, pick
from handlers.forms.steps import (
    MAX_FOUND,
    MAX_PICKED,
    REVIEW,
    Form,
    Kind,
    Step,
    asked,
    find_step,
    next_step,
    step_choices,
)
from handlers.forms.uploads import accept_upload
from handlers.forms.validators import Invalid
from handlers.forms.view import CANCEL_FORM, ask, cancel_question
from handlers.types import Context, Incoming, Reply, State
from messages import t

__all__ = ["Form", "ask", "ask_cancel", "handle", "restart", "start"]


async def start(ctx: Context, form: Form, state: State, preset: dict[str, Any] | None = None) -> list[Reply]:
    """Open the form with a fresh draft (plus what the caller already knows) and ask its first question."""
    preset = preset or {}
    state.flow, state.data = form.name, await form.initial_data(ctx) | preset | {"_preset": preset}
    state.step = next_step(form, state.data)
    return ask(ctx, form, state)


async def restart(ctx: Context, form: Form, state: State) -> list[Reply]:
    """Start the same form again from scratch, keeping only what the caller gave it (e.g. which application)."""
    return await start(ctx, form, state, state.data.get("_preset") or {})


async def handle(ctx: Context, form: Form, state: State, inc: Incoming) -> list[Reply]:
    """Handle one message while the form is open."""
    lang = ctx.lang
    waiting = state.data.get("_await")
    if waiting == CANCEL_FORM:
        return await _handle_cancel_confirm(ctx, form, state, inc)
    if waiting == "edit":  # a draft left at the old edit menu: its numbers are the review's rows now
        del state.data["_await"]
        return await _handle_review(ctx, form, state, inc)
    if state.step == REVIEW:
        return await _handle_review(ctx, form, state, inc)
    step = find_step(form, state.data, state.step)
    if step is None:
        return ask(ctx, form, state)
    text = inc.text or ""
    command = nav.match(inc.choice, text, lang, step.kind)
    if command == nav.BACK:
        return _go_back(ctx, form, state, step)
    if command == nav.SKIP:
        if not step.optional:
            return ask(ctx, form, state, [Reply(t(lang, "form.cannot_skip"))])
        return await _store(ctx, form, state, step, None)
    if command == nav.CANCEL:
        return ask_cancel(ctx, form, state)
    if command == nav.HELP:
        return ask(ctx, form, state, [Reply(t(lang, step.help))])
    try:
        if step.kind in (Kind.FILES, Kind.DOCUMENT):
            return await _handle_files(ctx, form, state, step, inc, command)
        if inc.file is not None:
            raise Invalid("error.file_not_expected")
        if step.kind is Kind.MULTI:
            return await _handle_multi(ctx, form, state, step, inc, text, command)
        if step.kind is Kind.SEARCH:
            return await _handle_search(ctx, form, state, step, inc, text, command)
        value = await _parse_answer(ctx, step, state.data, inc, text)
        if step.check:
            await step.check(ctx, value, Answers.of(ctx, state.data))
    except Invalid as bad:
        return ask(ctx, form, state, [Reply(t(lang, bad.key, **bad.params))])
    return await _store(ctx, form, state, step, value, text)


async def _parse_answer(ctx: Context, step: Step, data: dict[str, Any], inc: Incoming, text: str) -> Any:
    answers = Answers.of(ctx, data)
    if step.kind is Kind.CHOICE:
        choices = step_choices(step, answers)
        chosen = pick(inc.choice, text, choices)
        if chosen is None and text and not inc.choice and step.parse is not None:
            return step.parse(text, answers)  # other ways of writing a choice (province spellings)
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
    return step.parse(text, answers)


async def _store(ctx: Context, form: Form, state: State, step: Step, value: Any, typed: str = "") -> list[Reply]:
    """Keep the answer, forget what it invalidates, and move to the first unanswered question."""
    changed = state.data.get(step.id, object()) != value
    state.data[step.id] = value
    if changed:
        for key in step.clears:
            for stale in [k for k in state.data if k == key or k.startswith(key + ":")]:
                del state.data[stale]
    for scratch in ("_uploads", "_pick", "_found"):
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
    steps = asked(form, state.data)
    index = next(i for i, s in enumerate(steps) if s.id == step.id)
    if index == 0:
        return ask(ctx, form, state, [Reply(t(ctx.lang, "form.first_question"))])
    _enter(form, state, steps[index - 1].id)
    return ask(ctx, form, state)


async def _handle_multi(ctx: Context, form: Form, state: State, step: Step, inc: Incoming, text: str,
                        command: str | None) -> list[Reply]:
    choices = step_choices(step, Answers.of(ctx, state.data))
    picked: list[str] = state.data.setdefault("_pick", [])
    if command == nav.DONE:
        return await _store(ctx, form, state, step, [c.id for c in choices if c.id in picked])
    numbers = parse_numbers(text) if not inc.choice else None
    if numbers and len(numbers) > 1:  # "1 3 5": exactly these
        if any(not 1 <= n <= len(choices) for n in numbers):
            raise Invalid("error.choice_unknown")
        state.data["_pick"] = [choices[n - 1].id for n in numbers]
        return ask(ctx, form, state)
    chosen = pick(inc.choice, text, choices)
    if chosen is None:
        raise Invalid("error.stale_button" if inc.choice else "error.choice_unknown")
    if chosen.id in picked:
        picked.remove(chosen.id)
    else:
        picked.append(chosen.id)
    replies = ask(ctx, form, state)
    if inc.choice and len(replies) == 1:  # a tap: the same question with the tick moved, drawn where it was
        return [replace(replies[0], redraws=True)]
    return replies


async def _handle_search(ctx: Context, form: Form, state: State, step: Step, inc: Incoming, text: str,
                         command: str | None) -> list[Reply]:
    """Typed words list the matches (numbered, as buttons); a tap, a number or a whole name picks one. One match
    is taken at once; words matching nothing, or too much, are answered with what to type instead. A step that
    takes several gathers picks (a second pick of one drops it) until "done"."""
    found = [Choice(id, label) for id, label in state.data.get("_found", [])]
    if step.several and command == nav.DONE:
        picked = [id for id, _ in state.data.get("_pick", [])]
        if not picked and not step.optional:
            raise Invalid("error.search_nothing_picked")
        return await _store(ctx, form, state, step, picked or None)
    if inc.choice:
        chosen = next((c for c in found if c.id == inc.choice), None)
        if chosen is None:
            raise Invalid("error.stale_button")
        return await _picked(ctx, form, state, step, chosen, text)
    if not text:
        raise Invalid("error.empty")
    chosen = match_choice(text, found) if found else None
    if chosen is not None:
        return await _picked(ctx, form, state, step, chosen, text)
    if fold(text).isdecimal() and found:
        raise Invalid("error.choice_unknown")
    assert step.search is not None, step.id
    matches = step.search(text, Answers.of(ctx, state.data))
    if len(matches) == 1:  # taken as typed: adds, never drops what was chosen already
        return await _picked(ctx, form, state, step, matches[0], text, toggle=False)
    state.data.pop("_found", None)
    if not matches:
        raise Invalid("error.search_none", {"typed": text[:60]})
    if len(matches) > MAX_FOUND:
        raise Invalid("error.search_many", {"typed": text[:60], "count": len(matches)})
    state.data["_found"] = [[c.id, c.label] for c in matches]
    return ask(ctx, form, state, [Reply(t(ctx.lang, "form.search_pick", count=len(matches)))])


async def _picked(ctx: Context, form: Form, state: State, step: Step, chosen: Choice, typed: str, *,
                  toggle: bool = True) -> list[Reply]:
    if not step.several:  # said back, as the words typed may have been short of the name taken
        return [Reply(t(ctx.lang, "form.search_taken", name=chosen.label)),
                *await _store(ctx, form, state, step, chosen.id, typed)]
    state.data.pop("_found", None)
    picked: list[list[str]] = state.data.setdefault("_pick", [])
    kept = [pair for pair in picked if pair[0] != chosen.id]
    if len(kept) < len(picked):
        state.data["_pick"] = kept if toggle else picked
    else:
        state.data["_pick"] = [*picked, [chosen.id, chosen.label]][:MAX_PICKED]
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
    if len(uploads) >= step.max_files:
        raise Invalid("error.too_many_files", {"max": step.max_files})
    stored = await accept_upload(ctx, inc.file, allow_pdf=step.kind is Kind.DOCUMENT or step.allow_pdf)
    uploads.append(stored)
    return ask(ctx, form, state)


def ask_cancel(ctx: Context, form: Form, state: State) -> list[Reply]:
    question = cancel_question(ctx.lang, form)
    return [confirm.put(ctx, state, CANCEL_FORM, question.text, options=question.options)]


async def _handle_cancel_confirm(ctx: Context, form: Form, state: State, inc: Incoming) -> list[Reply]:
    answer = confirm.read(ctx, inc)
    if inc.choice is None and nav.match(None, inc.text or "", ctx.lang, "") == nav.CANCEL:
        answer = True  # "thôi", "hủy" again: they do want to stop
    if answer is None and inc.choice is None and not (inc.text or "").strip().isdigit():
        # Words or a file, neither yes nor no: the person is answering the form (a "cancel" pressed or typed by
        # mistake). Only a yes cancels, so the form takes what was sent instead of asking "cancel?" again.
        confirm.close(state)
        return await handle(ctx, form, state, inc)
    if answer is None:
        return [Reply(t(ctx.lang, "nav.yes_or_no")), *ask_cancel(ctx, form, state)]
    confirm.close(state)
    if answer:
        state.flow, state.step, state.data = None, None, {}
        return [Reply(t(ctx.lang, "form.cancelled"))]
    return ask(ctx, form, state)


async def _handle_review(ctx: Context, form: Form, state: State, inc: Incoming) -> list[Reply]:
    lang = ctx.lang
    text = (inc.text or "")
    command = nav.match(inc.choice, text, lang, Kind.CHOICE)
    if command == nav.SUBMIT:
        missing = next_step(form, state.data)
        if missing != REVIEW:  # never submit a dossier with a hole in it
            _enter(form, state, missing)
            return ask(ctx, form, state)
        try:
            replies = await form.submit(ctx, state.data)
        except Invalid as refused:  # not now (a daily limit): the draft stays at its review, ready for later
            return ask(ctx, form, state, [Reply(t(lang, refused.key, **refused.params))])
        state.flow, state.step, state.data = None, None, {}
        return replies
    edit = parse(inc.choice) if inc.choice else None
    questions = asked(form, state.data)
    if isinstance(edit, EditStep) and any(s.id == edit.step for s in questions):  # a row tapped, or its number
        _enter(form, state, edit.step)
        return ask(ctx, form, state)
    if command == nav.EDIT:  # "sửa 5", or "sửa" alone: the rows are on screen to pick from
        number = nav.edit_number(text)
        if number is not None and 1 <= number <= len(questions):
            _enter(form, state, questions[number - 1].id)
            return ask(ctx, form, state)
        return ask(ctx, form, state, [Reply(t(lang, "review.pick_field"))])
    if command == nav.BACK:
        _enter(form, state, asked(form, state.data)[-1].id)
        return ask(ctx, form, state)
    if command == nav.CANCEL:
        return ask_cancel(ctx, form, state)
    if command == nav.HELP:
        return ask(ctx, form, state, [Reply(t(lang, "help.review"))])
    if inc.choice in {o.id for o in form.extra_actions(lang)}:  # a form's own review button ("send me a test")
        return ask(ctx, form, state, await form.on_extra(ctx, state, inc.choice))
    return ask(ctx, form, state, [Reply(t(lang, "error.review_unknown"))])
