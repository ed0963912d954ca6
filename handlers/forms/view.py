"""Drawing the current question, the review ("check your answers") and the cancel confirmation."""

from __future__ import annotations

from typing import Any

from handlers.buttons import EditStep
from handlers.forms import navigation as nav
from handlers.forms import steps
from handlers.forms.answers import Answers
from handlers.forms.steps import Form, Kind, Step, label, render_value, step_choices
from handlers.types import Context, Option, Reply, State
from messages import t

CANCEL_FORM = "cancel"  # the form's "really cancel?" is waiting for its answer


def ask(ctx: Context, form: Form, state: State, before: list[Reply] | None = None) -> list[Reply]:
    """Show again what the person is expected to answer now, after any replies in `before`."""
    replies = list(before or [])
    waiting = state.data.get("_await")
    if waiting == CANCEL_FORM:
        return replies + [cancel_question(ctx.lang, form)]
    if state.step == steps.REVIEW:
        return replies + review_replies(ctx, form, state.data)
    step = steps.find_step(form, state.data, state.step)
    if step is None:  # the form changed under a saved draft: go on from the first unanswered question
        state.step = steps.next_step(form, state.data)
        return ask(ctx, form, state, before)
    return replies + [_question(ctx, form, state, step)]


PROGRESS_FROM = 4  # questions: a shorter form needs no "Bước 2/3"


def _question(ctx: Context, form: Form, state: State, step: Step) -> Reply:
    lang = ctx.lang
    answers = Answers.of(ctx, state.data)
    params = step.prompt_params(answers) if step.prompt_params else {}
    # Never promise a button the channel does not draw: without a "share my phone" button the number is typed.
    prompt = step.prompt + "_typed" if step.kind is Kind.PHONE and not ctx.can_share_contact else step.prompt
    text = t(lang, prompt, **params)
    questions = steps.asked(form, state.data)
    total = max(form.expected_count(state.data), len(questions))
    if total >= PROGRESS_FROM and step in questions:  # where the person is in a long form
        text = t(lang, "form.step_of", number=questions.index(step) + 1, total=total) + "\n" + text
    if step.id in state.data and step.kind not in (Kind.FILES, Kind.DOCUMENT, Kind.MULTI) and not step.several:
        text += "\n" + t(lang, "form.current_value", value=render_value(step, answers))
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
        for choice in step_choices(step, answers):
            mark = "✅ " if choice.id in picked else ""
            options.append(Option(choice.id, mark + choice.label))
        options.append(Option(nav.DONE, t(lang, "nav.done")))
    elif step.kind is Kind.SEARCH:
        picked = state.data.get("_pick", []) if step.several else []
        chosen = {id for id, _ in picked}
        options += [Option(id, ("✅ " if id in chosen else "") + label) for id, label in state.data.get("_found", [])]
        if step.several:
            if picked:
                text += "\n" + t(lang, "form.search_picked", names=", ".join(label for _, label in picked))
            options.append(Option(nav.DONE, t(lang, "nav.done")))
    elif step.choices:
        options += [Option(c.id, c.label) for c in step_choices(step, answers)]
    options += nav.options(lang, back=questions[0].id != step.id, skip=step.optional)
    contact = t(lang, "nav.share_phone") if step.kind is Kind.PHONE and ctx.can_share_contact else None
    # A free-text answer may be a number ("2" tấn, a score): there a typed number is the answer, not an option.
    # A search step is numbered only while it lists what was found.
    free_text = step.kind in (Kind.TEXT, Kind.PHONE) or (step.kind is Kind.SEARCH and not state.data.get("_found"))
    accepts = ("document" if step.kind is Kind.DOCUMENT or step.allow_pdf else "photo") \
        if step.kind in (Kind.FILES, Kind.DOCUMENT) else None
    # Zalo carries no PDF and may refuse a large photo: every file step offers the upload page there.
    hint = t(lang, "upload.link" if accepts == "document" else "upload.link_photo", url="{url}") \
        if accepts is not None and not ctx.carries_documents else None
    # A multi-select's buttons sit on the question itself (Telegram's inline keyboard), so a tap can tick in place.
    return Reply(text=text, options=tuple(options), request_contact=contact, numbered=not free_text, accepts=accepts,
                 upload_hint=hint, inline=step.kind is Kind.MULTI)


def cancel_question(lang: str, form: Form) -> Reply:
    options = (Option(nav.YES, t(lang, "nav.yes_cancel")), Option(nav.NO, t(lang, "nav.no_continue")))
    return Reply(t(lang, form.cancel_prompt), options=options, inline=True)


def review_replies(ctx: Context, form: Form, data: dict[str, Any]) -> list[Reply]:
    """"Check your answers": every answer a row that is changed by tapping it or typing its number, then the
    actions, numbered after the rows, so one number is one thing (GOV.UK's pattern; an edit menu of two dozen buttons
    behind a "Sửa" button was one step too many)."""
    lang = ctx.lang
    answers = Answers.of(ctx, data)
    rows, whole = [], []
    for i, step in enumerate(steps.asked(form, data), 1):
        name, value = label(step, answers), render_value(step, answers)
        rows.append(Option(EditStep(step.id).id, _row(name, value), number=i))
        if len(" ".join(value.split())) > ROW:  # a long answer (a description, a broadcast) is read whole
            whole += ["", f"{i}. {name}:", value]
    lines = [t(lang, form.review_title), t(lang, "review.rows_hint"), *whole]
    notes = form.review_notes(lang, data)
    if notes:
        lines += ["", *notes]
    actions = (Option(nav.SUBMIT, t(lang, form.submit_label)), *form.extra_actions(lang),
               Option(nav.CANCEL, t(lang, "nav.cancel")), Option(nav.BACK, t(lang, "nav.back")))
    return [Reply("\n".join(lines), options=(*rows, *actions), inline=True)]


ROW = 70  # characters of an answer shown on its row: a description is read whole where it was typed


def _row(name: str, value: str) -> str:
    value = " ".join(value.split())
    return f"{name}: {value if len(value) <= ROW else value[:ROW - 1] + '…'}"


