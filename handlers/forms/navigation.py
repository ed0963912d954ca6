"""The buttons every form shares (back, skip, cancel, help, …) and the words that mean them."""

from __future__ import annotations

import re

from handlers.buttons import Nav
from handlers.forms.matching import fold
from handlers.types import Option
from messages import LANGUAGES, t

BACK, SKIP, CANCEL, HELP = Nav("back").id, Nav("skip").id, Nav("cancel").id, Nav("help").id
DONE, PAPER, SUBMIT, EDIT = Nav("done").id, Nav("paper").id, Nav("submit").id, Nav("edit").id
YES, NO = Nav("yes").id, Nav("no").id

# Typed words (already folded: no diacritics, lower case) that mean a command, in both languages,
# plus the slash commands. The button labels themselves are added from the catalogs.
_WORDS: dict[str, set[str]] = {
    BACK: {"quay lai", "tro lai", "lui", "lui lai", "back", "go back", "quaylai"},
    SKIP: {"bo qua", "skip", "boqua", "khong co", "bo"},
    # "thôi" (enough), "menu": a person leaving the form, never a product's name.
    CANCEL: {"huy", "huy bo", "cancel", "thoat", "stop", "thoi", "thoi khong lam nua", "khong lam nua", "dung lai",
             "huy dang ky", "huy ho so", "menu", "ve menu", "trang chu", "quit", "exit"},
    HELP: {"tro giup", "giup", "help", "huong dan", "trogiup", "giup do", "giup toi", "giup voi", "khong hieu",
           "toi khong hieu", "huong dan toi", "lam sao", "lam the nao"},
    DONE: {"xong", "done", "hoan tat", "finish", "xong roi", "het"},
    PAPER: {"nop truc tiep", "nop giay", "in person", "paper", "on paper", "nop ban giay"},
    SUBMIT: {"xac nhan", "nop", "nop ho so", "xac nhan nop", "submit", "confirm", "gui ho so", "gui", "gui di", "send"},
    EDIT: {"sua", "sua thong tin", "chinh sua", "edit", "change"},
}
_LABEL_KEYS = {BACK: "nav.back", SKIP: "nav.skip", CANCEL: "nav.cancel", HELP: "nav.help",
               DONE: "nav.done", PAPER: "nav.paper", SUBMIT: "nav.submit", EDIT: "nav.edit"}
_YES = {"co", "dong y", "yes", "y", "ok", "u", "uh", "vang", "chac chan"}
_NO = {"khong", "ko", "k", "no", "n", "thoi", "tiep tuc"}


def _words(command: str) -> set[str]:
    labels = {fold(t(lang, _LABEL_KEYS[command])) for lang in LANGUAGES}
    return _WORDS[command] | labels


def options(lang: str, *, back: bool, skip: bool, cancel: bool = True) -> tuple[Option, ...]:
    shown = ([BACK] if back else []) + ([SKIP] if skip else []) + ([CANCEL] if cancel else []) + [HELP]
    return tuple(Option(c, t(lang, _LABEL_KEYS[c])) for c in shown)


def match(choice: str | None, text: str, lang: str, kind: str) -> str | None:
    """The shared command a tap or a typed text means, or None when it is an answer."""
    if choice:
        return choice if choice in _LABEL_KEYS else None
    folded = fold(text)
    if not folded:
        return None
    if text.startswith("/"):
        folded = folded.split()[0]
    if re.fullmatch(r"(sua|edit)\s+\d+", folded):
        return EDIT
    return next((c for c in _LABEL_KEYS if folded in _words(c)), None)


def edit_number(text: str) -> int | None:
    found = re.fullmatch(r"(?:sua|edit)\s+(\d+)", fold(text))
    return int(found.group(1)) if found else None


def yes_no_options(lang: str) -> tuple[Option, ...]:
    """The two buttons of every yes/no question outside a form."""
    return Option(YES, t(lang, "nav.yes")), Option(NO, t(lang, "nav.no"))


def yes_no(choice: str | None, text: str, lang: str) -> bool | None:
    if choice in (YES, NO):
        return choice == YES
    folded = fold(text)
    if folded in _YES | {fold(t(lg, "nav.yes_cancel")) for lg in LANGUAGES}:
        return True
    if folded in _NO | {fold(t(lg, "nav.no_continue")) for lg in LANGUAGES}:
        return False
    return None
