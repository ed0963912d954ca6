"""What a typed number or an option's words mean: the options the chat was last shown, kept in its state.

Every channel draws options its own way (Telegram buttons, web buttons, numbered lines on Zalo), but a person on
any of them may type "2" or the words of an option. What that means is decided here, against what the chat was
shown last — stored with the conversation step, so it holds after a restart and on any replica — never against
a list kept in one process's memory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from handlers.forms.matching import fold
from handlers.types import Incoming, Option, Reply, State
from storage.models import OutboxMessage

SHOWN = "_shown"


def numbered(options: tuple[Option, ...] | list[Option]) -> list[tuple[int, Option]]:
    """The number each option answers to. Items of a list keep their own number (page 2 of a list starts at 9);
    the other options (next page, filters, the form's shared buttons) follow the highest one."""
    following = max((o.number for o in options if o.number), default=0) + 1
    result = []
    for option in options:
        if option.number:
            result.append((option.number, option))
        else:
            result.append((following, option))
            following += 1
    return result


def question_index(replies: list[Reply]) -> int:
    """Which reply asks the question (the last one with options); -1 when none does. Only its options are
    numbered on a channel without buttons, so a number never means two things."""
    return max((i for i, r in enumerate(replies) if r.options), default=-1)


def button_label(option: Option) -> str:
    """An option's label as a button shows it: list items carry their number, so typing it is obvious."""
    return f"{option.number}. {option.label}" if option.number else option.label


def remember(state: State, replies: list[Reply], now: datetime) -> None:
    """Keep, with the step being committed, what the person now has on screen to answer."""
    state.data[SHOWN] = record(replies, now)


def record(replies: list[Reply], now: datetime) -> dict[str, Any]:
    """What the person has on screen to answer once these replies are shown: the question's options."""
    index = question_index(replies)
    return _record(replies[index] if index >= 0 else None, now)


def _record(reply: Reply | None, now: datetime) -> dict[str, Any]:
    options = reply.options if reply is not None else ()
    numbers = {str(n): o.id for n, o in numbered(options)} if reply is not None and reply.numbered else {}
    # A button's text too: a Telegram answer keyboard sends "3. Tên sản phẩm" back as typed text.
    words = {fold(label): o.id for o in options for label in {o.label, button_label(o)}}
    return {"at": now.isoformat(), "numbers": numbers, "words": words}


def notice_record(message: OutboxMessage) -> dict[str, Any]:
    """A notice that reached an idle chat after its last reply is what it has on screen now."""
    reply = Reply(message.text, options=tuple(Option(o["id"], o["label"]) for o in message.options))
    return _record(reply, message.sent_at or message.created_at)


def shown_at(state: State) -> datetime | None:
    shown = state.data.get(SHOWN)
    if not isinstance(shown, dict) or not isinstance(shown.get("at"), str):
        return None
    try:
        return datetime.fromisoformat(shown["at"])
    except ValueError:
        return None


def typed_choice(inc: Incoming, shown: dict[str, Any] | None, *, loose: bool = False) -> str | None:
    """The option a typed number or typed option words pick among `shown`; None when the text picks none. `loose`
    (a card on screen, no form open) also takes words found in one option's label alone: "dang ky" on a training's
    card is its "✅ Đăng ký tham gia", not the main menu's product registration."""
    if inc.choice or not inc.text or inc.file is not None or inc.contact is not None or not isinstance(shown, dict):
        return None
    text = inc.text
    if not text or text.startswith("/"):
        return None
    folded = fold(text)
    numbers, words = shown.get("numbers") or {}, shown.get("words") or {}
    if folded.isdecimal():
        return numbers.get(str(int(folded))) if len(folded) < 6 else None
    if folded in words or not loose or len(folded.replace(" ", "")) < 3:
        return words.get(folded)
    typed = set(folded.split())
    ids = {id for label, id in words.items() if typed <= set(label.split())}
    return ids.pop() if len(ids) == 1 else None

