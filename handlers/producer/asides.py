"""What a producer asks in the middle of a form, in their own words ("hồ sơ của tôi đến đâu rồi", "bao giờ hết
hạn"): answered, then the form's open question asked again. Such words are never kept as the answer to a name or a
description; where they could be either (a long text at a free-text step), the person is asked which they meant."""

from __future__ import annotations

from dataclasses import replace

from handlers import buttons
from handlers.forms import engine as forms
from handlers.forms.matching import Choice, pick
from handlers.forms.steps import Kind, find_step
from handlers.producer import status
from handlers.types import Context, Incoming, Option, Reply, State
from messages import t

MEANT = "meant"  # the chat's _await while "which did you mean?" waits
_HELD = "_meant"  # the words, kept until the person says what they meant
# A status question is short ("hồ sơ đến đâu rồi ạ?"); a longer text at a free-text step may be an answer that
# happens to hold such words ("…bảo quản 12 tháng, bao giờ hết hạn thì …"): then the person is asked.
SHORT = 8  # words
SEE_STATUS, IS_ANSWER = buttons.Meant("status").id, buttons.Meant("answer").id


async def answer_aside(ctx: Context, form: forms.Form, state: State, inc: Incoming) -> list[Reply] | None:
    """The status and the open question again when `inc` asks for it; "which did you mean?" when it could be the
    answer too; None when it is not such a question."""
    text = inc.text or ""
    if inc.choice or inc.file is not None or not status.is_status_question(text):
        return None
    step = find_step(form, state.data, state.step) if state.step else None
    free_text = step is not None and step.kind is Kind.TEXT
    if free_text and len(text.split()) > SHORT and not text.rstrip().endswith("?"):
        state.data["_await"], state.data[_HELD] = MEANT, text
        return [_which(ctx.lang, text)]
    return forms.ask(ctx, form, state, await status.show_status(ctx, state))


async def answer_meant(ctx: Context, form: forms.Form, state: State, inc: Incoming) -> list[Reply] | None:
    """What "which did you mean?" was answered with; None when the person wrote something else instead (then that
    is handled as any message in the form, and the held words are dropped)."""
    held = state.data.pop(_HELD, None)
    state.data.pop("_await", None)
    choices = [Choice(SEE_STATUS, t(ctx.lang, "aside.see_status"), ("trang thai", "xem", "status", "1")),
               Choice(IS_ANSWER, t(ctx.lang, "aside.is_answer"), ("cau tra loi", "tra loi", "answer", "2"))]
    picked = pick(inc.choice, inc.text or "", choices)
    if picked is None or not isinstance(held, str):
        return None
    if picked.id == SEE_STATUS:
        return forms.ask(ctx, form, state, await status.show_status(ctx, state))
    return await forms.handle(ctx, form, state, replace(inc, text=held, choice=None))


def _which(lang: str, text: str) -> Reply:
    shown = text if len(text) <= 80 else text[:77] + "…"
    return Reply(t(lang, "aside.which", text=shown), inline=True,
                 options=(Option(SEE_STATUS, t(lang, "aside.see_status")),
                          Option(IS_ANSWER, t(lang, "aside.is_answer"))))
