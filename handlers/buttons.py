"""Every button id, declared once as a typed value: a prefix and named fields, built and parsed by the same code
(the idea of aiogram's `CallbackData`). `StatusPage(page=2).id` is "status:page:2"; `parse("status:page:2")` gives
`StatusPage(page=2)` back, and anything altered, outdated or unknown gives None. Ids come from the person's device
(Telegram's callback data, the web page, a number typed after a list), so every field is checked on the way in.

Ids are stored in sent messages and outbox rows for months: a prefix, once used, keeps its meaning. A renamed prefix
keeps the old one in `legacy` so buttons already on people's screens still work.
"""

from __future__ import annotations

import typing
from dataclasses import MISSING, Field, dataclass, fields
from typing import Any, ClassVar, Literal, Self, dataclass_transform

_SEP = ":"
_INT_LIMIT = 2**31  # database ids are 32-bit: a bigger number is an altered id, refused here, not in a query
_REGISTRY: dict[str, type[Button]] = {}


@dataclass_transform(frozen_default=True)
@dataclass(frozen=True)
class Button:
    """A button id. Subclasses declared with `prefix=` become frozen dataclasses; their fields are int, str or a
    Literal of strings. Only the last field may hold the separator; a field with a default may be left off the end."""

    prefix: ClassVar[str]

    def __init_subclass__(cls, prefix: str = "", legacy: tuple[str, ...] = (), **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if not prefix:
            return  # an intermediate base (Action)
        dataclass(frozen=True)(cls)
        cls.prefix = prefix
        for key in (prefix, *legacy):
            if key in _REGISTRY:
                raise TypeError(f"button prefix {key!r} is declared twice")
            _REGISTRY[key] = cls

    @property
    def id(self) -> str:
        values = [getattr(self, f.name) for f in fields(self)]
        while values and values[-1] == "" and fields(self)[len(values) - 1].default == "":
            values.pop()  # an empty optional tail is left off: "hoso:list:all:0", not "hoso:list:all:0:"
        parts = [str(v) for v in values]
        if any(_SEP in p for p in parts[:-1]):
            raise ValueError(f"{type(self).__name__}: only the last field may contain {_SEP!r}")
        return _SEP.join([self.prefix, *parts])

    @classmethod
    def from_parts(cls, parts: list[str]) -> Self | None:
        declared, hints = _shape(cls)
        if len(parts) > len(declared):
            if not declared:
                return None
            parts = parts[:len(declared) - 1] + [_SEP.join(parts[len(declared) - 1:])]
        values: dict[str, object] = {}
        for i, field in enumerate(declared):
            if i >= len(parts):
                if field.default is MISSING:  # a required field is absent
                    return None
                break
            value = _read(hints[field.name], parts[i])
            if value is None:
                return None
            values[field.name] = value
        return cls(**values)


_Shape = tuple[tuple[Field[Any], ...], dict[str, Any]]
_SHAPES: dict[type[Button], _Shape] = {}


def _shape(cls: type[Button]) -> _Shape:
    """A button type's fields and their types, read once: ids are parsed on the path of every tap and keyboard."""
    if cls not in _SHAPES:
        _SHAPES[cls] = fields(cls), typing.get_type_hints(cls)
    return _SHAPES[cls]


class Action(Button):
    """A button on an earlier message that starts or opens something. Inside a form it is refused politely
    (it would leave the form); the form's own buttons (navigation, choices, editing a step) are not Actions."""


def _read(hint: object, part: str) -> object | None:
    if hint is int:
        try:
            number = int(part)
        except ValueError:
            return None
        return number if -_INT_LIMIT < number < _INT_LIMIT and part.strip() == part else None
    if typing.get_origin(hint) is Literal:
        return part if part in typing.get_args(hint) else None
    return part or None


def parse(value: str | None) -> Button | None:
    """The typed button an id names, or None for a typed text, an unknown prefix or an altered field."""
    if not value or _SEP not in value:
        return None
    parts = value.split(_SEP)
    for length in (2, 1):  # "status:page:2" before "status:…"; "nav:back" is prefix "nav" and a field
        cls = _REGISTRY.get(_SEP.join(parts[:length]))
        if cls is not None and len(parts) >= length:
            return cls.from_parts(parts[length:])
    return None


# The conversation's own buttons ---------------------------------------------------------------------------------

NavAction = Literal["back", "skip", "cancel", "help", "done", "paper", "submit", "edit", "yes", "no"]


class Nav(Button, prefix="nav"):
    """A form's navigation and yes/no answers."""

    action: NavAction


class EditStep(Button, prefix="edit"):
    """'Change this answer' on a form's review."""

    step: str


class Menu(Button, prefix="menu"):
    """A main-menu button; `action` is the command it does (handlers/commands.py)."""

    action: str


class Language(Button, prefix="lang"):
    code: str


class Resume(Button, prefix="resume"):
    """Coming back to a half-filled form: go on, or start over."""

    answer: Literal["continue", "restart"]


class Meant(Button, prefix="meant"):
    """Words mid-form that ask for the status and could also be the answer: which was meant."""

    answer: Literal["status", "answer"]


class Consent(Button, prefix="consent"):
    """The personal-data notice's answer."""

    answer: Literal["yes", "no"]


# Buttons of earlier messages ------------------------------------------------------------------------------------

class StatusPage(Action, prefix="status:page"):
    page: int


class LookupMore(Action, prefix="lookup:more"):
    offset: int


class Supplement(Action, prefix="supp"):
    """Send the documents an officer asked for."""

    application: int


class Reevaluate(Action, prefix="reeval"):
    product: int


class DeleteMyData(Action, prefix="mydata:delete"):
    pass


class ToggleReminder(Action, prefix="optout"):
    kind: str


class Snooze(Action, prefix="snooze"):
    """'Remind me in 7 days' on a certificate reminder."""

    certificate: int
    milestone: str


class EditOffice(Action, prefix="office:edit"):
    province: str


EventKind = Literal["training", "fair"]


class EventList(Action, prefix="event:list"):
    kind: EventKind


class EventProvince(Action, prefix="event:province"):
    """Browse the events of another province."""

    kind: EventKind


class EventOpen(Action, prefix="event:open"):
    event: int


class EventJoin(Action, prefix="event:join"):
    event: int


class EventLeave(Action, prefix="event:leave"):
    event: int


class EventCalendar(Action, prefix="event:ics"):
    event: int


class EventPeople(Action, prefix="event:people"):
    event: int


class EventEdit(Action, prefix="event:edit"):
    event: int


class EventCancel(Action, prefix="event:cancel"):
    event: int


class ApplicationList(Action, prefix="apps:list", legacy=("hoso:list",)):
    """An officer's list of applications: a stage ("all" for every stage), where it starts, and a group filter."""

    stage: str
    offset: int
    group: str = ""


class ApplicationOpen(Action, prefix="app:open"):
    application: int


class ApplicationAct(Action, prefix="app:act"):
    application: int
    action: str


class ClaimList(Action, prefix="verify:list"):
    offset: int


class ClaimOpen(Action, prefix="verify:open"):
    producer: int


ClaimAction = Literal["verify", "refuse", "merge"]


class ClaimAct(Action, prefix="verify:act"):
    """Verify, refuse, or merge with `other` (0 when there is none)."""

    producer: int
    action: ClaimAction
    other: int


class BroadcastNew(Action, prefix="bc:new"):
    pass


class BroadcastCancel(Action, prefix="bc:cancel"):
    broadcast: int


class BroadcastTest(Button, prefix="bc:test"):
    """'Send me a test first' on a broadcast's review: a form's own button."""
