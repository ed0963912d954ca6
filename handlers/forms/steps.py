"""What a form is made of: declared steps, and how an answer is shown back to the person.

A form reads like the paper form: `text("producer_name", "profile", parse=a_name)`, `choice(...)`, `phone(...)`,
each step's message keys following the convention ask.<id>, field.<id>, help.<id>, and `when=` for a question
asked only after some answers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from handlers.forms.answers import Answers, ParseFn
from handlers.forms.matching import Choice
from handlers.forms.validators import future_time, mobile_phone, past_date
from handlers.types import Context, Option, Reply, State
from messages import format_date, format_number, format_phone, format_when, t

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


ChoicesFn = Callable[[Answers], list[Choice]]
SearchFn = Callable[[str, Answers], list[Choice]]  # typed words → what matches them
MAX_FOUND = 10  # more matches than this are not listed: the person is asked to type more of the name
MAX_PICKED = 50  # a SEARCH step taking several keeps at most this many
CheckFn = Callable[[Context, Any, Answers], Awaitable[None]]
ShowFn = Callable[[Any, Answers], str]
WhenFn = Callable[[Mapping[str, Any]], bool]


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
    prompt_params: Callable[[Answers], dict[str, Any]] | None = None
    show: ShowFn | None = None  # how a stored answer reads (dates, …)
    allow_pdf: bool = False  # FILES: documents as well as photos
    max_files: int = MAX_FILES_PER_STEP
    when: WhenFn | None = None  # asked only when this holds of the answers so far

    def applies(self, data: Mapping[str, Any]) -> bool:
        return self.when is None or self.when(data)


def _step(id: str, kind: Kind, section: str, **kw: Any) -> Step:
    return Step(id=id, kind=kind, section=section, prompt=f"ask.{id}", label=f"field.{id}", help=f"help.{id}", **kw)


def text(id: str, section: str, *, parse: ParseFn, **kw: Any) -> Step:
    """Words typed, read by a named validator (validators.a_name, free_text(300), quantity, …)."""
    return _step(id, Kind.TEXT, section, parse=parse, **kw)


def choice(id: str, section: str, *, choices: ChoicesFn, **kw: Any) -> Step:
    """One of a list: a button, its number, or its words typed."""
    return _step(id, Kind.CHOICE, section, choices=choices, **kw)


def multi(id: str, section: str, *, choices: ChoicesFn, **kw: Any) -> Step:
    """Several of a list, ticked one by one or typed as numbers ("1 3 5"), then "done"."""
    return _step(id, Kind.MULTI, section, choices=choices, **kw)


def phone(id: str, section: str, **kw: Any) -> Step:
    """A mobile number, typed or shared from the phone where the channel has that button."""
    return _step(id, Kind.PHONE, section, parse=mobile_phone, show=_show_phone, **kw)


def _show_phone(value: str, _answers: Answers) -> str:
    return format_phone(value)


def _show_date(value: str, _answers: Answers) -> str:
    return format_date(Date.fromisoformat(value))


def _show_moment(value: str, answers: Answers) -> str:
    return format_when(answers.lang, datetime.fromisoformat(value), answers.timezone)


def date(id: str, section: str, **kw: Any) -> Step:
    """A day up to today ("hôm qua", "21/7", "21/07/2026")."""
    return _step(id, Kind.TEXT, section, parse=past_date, show=_show_date, **kw)


def moment(id: str, section: str, *, parse: ParseFn | None = None, **kw: Any) -> Step:
    """A day and an hour from now on ("mai 8h", "12/12 14:30"); `parse` adds limits (validators.future_time)."""
    return _step(id, Kind.TEXT, section, parse=parse or future_time(), show=_show_moment, **kw)


def files(id: str, section: str, *, pdf: bool = False, **kw: Any) -> Step:
    """Photos (and PDFs with `pdf`), one or more, then "done"."""
    return _step(id, Kind.FILES, section, allow_pdf=pdf, **kw)


def document(id: str, section: str, *, title: Callable[[str], str], optional: bool) -> Step:
    """A dossier item: photos or PDFs, or "handed in on paper"; its question names the document."""
    return Step(id=id, kind=Kind.DOCUMENT, section=section, prompt="ask.document", label="field.document",
                help="help.document", optional=optional, prompt_params=lambda answers: {
                    "document": title(answers.lang),
                    "optional": " " + t(answers.lang, "form.optional") if optional else ""})


def search(id: str, section: str, *, find: SearchFn, **kw: Any) -> Step:
    """A long list (communes): typed words list the matches, one is tapped or typed."""
    return _step(id, Kind.SEARCH, section, search=find, **kw)


class Form(ABC):
    """A form: its steps (a function of the answers so far) and what submitting does. The other hooks have
    defaults, so a form declares only what is its own."""

    name: ClassVar[str]  # the draft's flow
    sections: ClassVar[tuple[str, ...]]
    # Message keys: the review's title, its confirm button, and the "really cancel?" question.
    review_title: ClassVar[str] = "officer.review_title"
    submit_label: ClassVar[str] = "nav.confirm"
    cancel_prompt: ClassVar[str] = "officer.cancel_confirm"
    # The questions of a form that asks the same ones every time; a form whose questions depend on what it is
    # for (a registration's dossier, a supplement's items) overrides `steps` instead.
    questions: ClassVar[tuple[Step, ...]] = ()

    def steps(self, data: Mapping[str, Any]) -> Sequence[Step]:
        """Every question of the form for these answers; `when` on a step leaves it out where it does not apply."""
        return self.questions

    def expected_count(self, data: Mapping[str, Any]) -> int:
        """How many questions the form will have asked at the end, for "Bước 5/24": those known for these answers;
        a form whose later questions follow an answer not given yet estimates them."""
        return len(asked(self, data))

    @abstractmethod
    async def submit(self, ctx: Context, data: dict[str, Any]) -> list[Reply]: ...

    async def initial_data(self, ctx: Context) -> dict[str, Any]:
        """A new draft's answers before the first question."""
        return {}

    async def after_answer(self, ctx: Context, step: Step, data: dict[str, Any], typed: str) -> list[Reply]:
        """Notes said after an answer is taken (and answers it implies)."""
        return []

    def review_notes(self, lang: str, data: dict[str, Any]) -> list[str]:
        """What the review adds below the answers (a broadcast's preview and recipient count)."""
        return []

    def extra_actions(self, lang: str) -> list[Option]:
        """The review's own buttons besides submit, edit and cancel (a broadcast's "send me a test")."""
        return []

    async def on_extra(self, ctx: Context, state: State, action: str) -> list[Reply]:
        """One of `extra_actions` was pressed on the review."""
        return []


def answered(step: Step, data: Mapping[str, Any]) -> bool:
    """A required question holding nothing (a preset copied from an empty record) is still to be asked."""
    return step.id in data and (step.optional or data[step.id] is not None)


def asked(form: Form, data: Mapping[str, Any]) -> list[Step]:
    """The form's questions for these answers: those whose `when` holds."""
    return [s for s in form.steps(data) if s.applies(data)]


def next_step(form: Form, data: Mapping[str, Any]) -> str:
    """The first question not yet answered; the review once everything is."""
    return next((s.id for s in asked(form, data) if not answered(s, data)), REVIEW)


def find_step(form: Form, data: Mapping[str, Any], step_id: str | None) -> Step | None:
    return next((s for s in asked(form, data) if s.id == step_id), None)


def step_choices(step: Step, answers: Answers) -> list[Choice]:
    return step.choices(answers) if step.choices else []


def label(step: Step, answers: Answers) -> str:
    params = step.prompt_params(answers) if step.prompt_params else {}
    return t(answers.lang, step.label, **params)


def render_value(step: Step, answers: Answers) -> str:
    lang, value = answers.lang, answers.get(step.id)
    if value is None:
        return t(lang, "review.skipped")
    if step.show is not None:
        return step.show(value, answers)
    if step.kind is Kind.CHOICE:
        return next((c.label for c in step_choices(step, answers) if c.id == value), str(value))
    if step.kind is Kind.MULTI:
        labels = [c.label for c in step_choices(step, answers) if c.id in value]
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
