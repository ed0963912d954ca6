"""What a form is made of: declared steps, and how an answer is shown back to the person."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from handlers.forms.matching import Choice
from handlers.types import Context, Option, Reply, State
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
    SEARCH = "search"  # typed words find matches in a long list (the communes); one is tapped or typed


ChoicesFn = Callable[[str, dict[str, Any]], list[Choice]]
SearchFn = Callable[[str, dict[str, Any]], list[Choice]]  # typed words → what matches them
MAX_FOUND = 10  # more matches than this are not listed: the person is asked to type more of the name
MAX_PICKED = 50  # a SEARCH step taking several keeps at most this many
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
    search: SearchFn | None = None  # SEARCH: the matches of typed words
    several: bool = False  # SEARCH: gather picks until "done"; the answer is a list of ids
    parse: ParseFn | None = None
    check: CheckFn | None = None  # async check against stored data (e.g. tax code already taken)
    clears: tuple[str, ...] = ()  # answers that no longer hold when this one changes
    prompt_params: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    show: Callable[[str, Any, dict[str, Any]], str] | None = None  # how a stored answer reads (dates, …)
    allow_pdf: bool = False  # FILES: documents as well as photos
    max_files: int = MAX_FILES_PER_STEP


class Form(ABC):
    """A form: its steps (a function of the answers so far) and what submitting does. The other hooks have
    defaults, so a form declares only what is its own."""

    name: ClassVar[str]  # the draft's flow
    sections: ClassVar[tuple[str, ...]]
    # Message keys: the review's title, its confirm button, and the "really cancel?" question.
    review_title: ClassVar[str] = "officer.review_title"
    submit_label: ClassVar[str] = "nav.confirm"
    cancel_prompt: ClassVar[str] = "officer.cancel_confirm"

    @abstractmethod
    def steps(self, data: dict[str, Any]) -> list[Step]: ...

    @abstractmethod
    async def submit(self, ctx: Context, data: dict[str, Any]) -> list[Reply]: ...

    async def initial_data(self, ctx: Context) -> dict[str, Any]:
        """A new draft's answers before the first question."""
        return {}

    async def after_answer(self, ctx: Context, step: Step, data: dict[str, Any], typed: str) -> list[Reply]:
        """Notes said after an answer is taken (and answers it implies)."""
        return []

    def extra_actions(self, lang: str) -> list[Option]:
        """The review's own buttons besides submit, edit and cancel (a broadcast's "send me a test")."""
        return []

    async def on_extra(self, ctx: Context, state: State, action: str) -> list[Reply]:
        """One of `extra_actions` was pressed on the review."""
        return []


def answered(step: Step, data: dict[str, Any]) -> bool:
    """A required question holding nothing (a preset copied from an empty record) is still to be asked."""
    return step.id in data and (step.optional or data[step.id] is not None)


def next_step(form: Form, data: dict[str, Any]) -> str:
    """The first question not yet answered; the review once everything is."""
    return next((s.id for s in form.steps(data) if not answered(s, data)), REVIEW)


def find_step(form: Form, data: dict[str, Any], step_id: str | None) -> Step | None:
    return next((s for s in form.steps(data) if s.id == step_id), None)


def step_choices(lang: str, step: Step, data: dict[str, Any]) -> list[Choice]:
    return step.choices(lang, data) if step.choices else []


def label(lang: str, step: Step, data: dict[str, Any]) -> str:
    params = step.prompt_params(lang, data) if step.prompt_params else {}
    return t(lang, step.label, **params)


def render_value(lang: str, step: Step, data: dict[str, Any]) -> str:
    value = data.get(step.id)
    if value is None:
        return t(lang, "review.skipped")
    if step.show is not None:
        return step.show(lang, value, data)
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
