"""Every yes/no question: asked the same way, kept in the conversation state (so a restart does not lose it),
answered by a button or by typed words ("có", "không", "ok"), and acted on once.

A question outside a form is declared by what a yes does (`@question(...)`); the router hands the answer to it.
A form's "really cancel?" uses the same asking and reading, drawn with the form's own buttons."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from handlers.forms.navigation import yes_no, yes_no_options
from handlers.types import Context, Incoming, Option, Reply, State
from messages import t

Act = Callable[[Context, State, dict[str, Any]], Awaitable[list[Reply]]]
WAITING, PAYLOAD = "_await", "_confirm"


@dataclass(frozen=True)
class Question:
    name: str  # kept under WAITING while the question waits for its answer
    yes: Act  # given what was kept when it was asked; it checks again whatever may have changed since
    no_key: str  # said when the answer is no: nothing changed


_QUESTIONS: dict[str, Question] = {}


def question(name: str, *, no_key: str) -> Callable[[Act], Question]:
    """Declare a yes/no question by what a yes does."""
    def declare(yes: Act) -> Question:
        assert name not in _QUESTIONS, name
        _QUESTIONS[name] = declared = Question(name, yes, no_key)
        return declared
    return declare


def put(ctx: Context, state: State, name: str, text: str, payload: dict[str, Any] | None = None,
        options: tuple[Option, ...] | None = None) -> Reply:
    """Ask: the question and what a yes needs are kept until it is answered."""
    state.data[WAITING] = name
    state.data[PAYLOAD] = payload or {}
    return Reply(text, options=options or yes_no_options(ctx.lang), inline=True)


def read(ctx: Context, inc: Incoming) -> bool | None:
    """Yes, no, or neither (asked again)."""
    return yes_no(inc.choice, inc.text or "", ctx.lang)


def close(state: State) -> dict[str, Any]:
    """The question is answered: forget it, and give back what it kept."""
    state.data.pop(WAITING, None)
    payload: dict[str, Any] = state.data.pop(PAYLOAD, None) or {}
    return payload


def waiting(state: State) -> Question | None:
    """The declared question this chat owes an answer to, if any."""
    return _QUESTIONS.get(state.data.get(WAITING) or "")


def unclear(ctx: Context) -> Reply:
    return Reply(t(ctx.lang, "nav.yes_or_no"), options=yes_no_options(ctx.lang), inline=True)


async def answer(ctx: Context, state: State, inc: Incoming) -> list[Reply]:
    """The answer to the declared question the chat is waiting on."""
    asked = waiting(state)
    assert asked is not None
    said = read(ctx, inc)
    if said is None:
        return [unclear(ctx)]
    payload = close(state)
    if not said:
        return [Reply(t(ctx.lang, asked.no_key))]
    return await asked.yes(ctx, state, payload)
