"""Every command in one table: its Vietnamese and English names, who may use it, its line in /trogiup, its button in
the main menu and whether Telegram's command menu lists it. The router, /trogiup, the main menu and Telegram's
command menus (one for everyone, one in each officer's own chat) are all read from here: adding a command is one
entry (and its `command.<action>` sentence in messages/)."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.buttons import Menu
from messages import LANGUAGES, t

EVERYONE, OFFICER = "everyone", "officer"


@dataclass(frozen=True)
class Command:
    action: str  # what the router does; `command.<action>` is its line in /trogiup and Telegram's menu
    vi: str  # /dangky
    en: str  # /register
    who: str = EVERYONE  # OFFICER: listed for officers only (every officer action still checks the officer record)
    telegram_menu: bool = True  # listed in Telegram's command menu
    in_help: bool = True  # listed in /trogiup
    form_safe: bool = False  # works in the middle of a form without disturbing it
    in_menu: bool = False  # a button in the main menu (`menu.<action>` is its label)
    words: tuple[str, ...] = ()  # more ways of typing the button or the command
    args: bool = False  # something may follow the command; /trogiup says what (`help.args_<action>`)

    @property
    def button(self) -> str:
        """The id of its main-menu button."""
        return Menu(self.action).id


TABLE: tuple[Command, ...] = (
    Command("register", "dangky", "register", form_safe=True, in_menu=True,
            words=("dang ky", "dang ky san pham")),
    Command("status", "trangthai", "status", in_menu=True,
            words=("tra cuu ho so", "trang thai", "my applications")),
    Command("lookup", "tracuu", "lookup", args=True),
    Command("trainings", "taphuan", "trainings", in_menu=True, words=("tap huan", "training")),
    Command("fairs", "hoicho", "fairs", in_menu=True, words=("hoi cho", "fair")),
    Command("reminders", "nhacnho", "reminders"),
    # A producer's /thongbao means this too (an officer's is the broadcast): see the router.
    Command("notifications", "nhanthongbao", "notifications",
            words=("nhan thong bao", "bat thong bao", "tat thong bao", "thong bao tren dien thoai")),
    Command("link", "lienket", "link", telegram_menu=False, args=True),
    Command("office", "vanphong", "office"),
    Command("mydata", "dulieu", "mydata"),
    Command("help", "trogiup", "help", form_safe=True, in_menu=True, words=("tro giup", "huong dan")),
    Command("language", "ngonngu", "language", form_safe=True, in_menu=True,
            words=("ngon ngu", "tieng anh", "english")),
    Command("cancel", "huy", "cancel", form_safe=True),
    Command("start", "start", "start", form_safe=True, in_help=False, words=("batdau",)),
    Command("officer", "canbo", "officer", telegram_menu=False, in_help=False),  # an invited officer joins with it
    Command("applications", "hoso", "applications", who=OFFICER, in_menu=True,
            words=("ho so ocop", "duyet ho so"), args=True),
    Command("broadcast", "thongbao", "broadcast", who=OFFICER, in_menu=True,
            words=("gui thong bao", "thong bao")),
    Command("statistics", "thongke", "statistics", who=OFFICER, in_menu=True,
            words=("thong ke", "bao cao")),
    Command("add_training", "themtaphuan", "addtraining", who=OFFICER),
    Command("add_fair", "themhoicho", "addfair", who=OFFICER),
    Command("verify", "xacminh", "verify", who=OFFICER),
    Command("link_code", "malienket", "linkcode", who=OFFICER, args=True),
    Command("sign_out", "dangxuat", "logout", who=OFFICER, telegram_menu=False),
    # Inside a form the shared buttons may be typed as commands; the form engine reads them.
    Command("nav", "quaylai", "back", telegram_menu=False, in_help=False, form_safe=True,
            words=("boqua", "skip", "xong", "done")),
)

# Typed command word → action, every language at once (a Vietnamese phone may type /register).
ACTIONS: dict[str, str] = {word: c.action for c in TABLE for word in (c.vi, c.en, *c.words) if " " not in word}
FORM_SAFE = frozenset(c.action for c in TABLE if c.form_safe)
BUTTONS: dict[str, Command] = {c.button: c for c in TABLE if c.in_menu}


def command_word(command: Command, lang: str) -> str:
    return command.en if lang == "en" else command.vi


def usable(officer: bool) -> list[Command]:
    return [c for c in TABLE if c.who == EVERYONE or officer]


def telegram_menu(lang: str, officer: bool) -> list[tuple[str, str]]:
    """(command, description) for Telegram's command menu: everyone's, or an officer's own chat's."""
    return [(command_word(c, lang), t(lang, f"command.{c.action}")) for c in usable(officer) if c.telegram_menu]


def help_text(lang: str, officer: bool) -> str:
    """/trogiup: what the bot does, every command the person may use, and how forms work."""
    def line(c: Command) -> str:
        args = f" {t(lang, f'help.args_{c.action}')}" if c.args else ""
        return f"• /{command_word(c, lang)}{args} — {t(lang, f'command.{c.action}')}"

    lines = [t(lang, "help.intro")]
    lines += [line(c) for c in TABLE if c.in_help and c.who == EVERYONE]
    if officer:
        lines += ["", t(lang, "help.officer_title")]
        lines += [line(c) for c in TABLE if c.in_help and c.who == OFFICER]
    return "\n".join([*lines, "", t(lang, "help.in_form")])


def menu_buttons(officer: bool) -> list[Command]:
    """The main menu, officers' buttons first."""
    buttons = [c for c in usable(officer) if c.in_menu]
    return sorted(buttons, key=lambda c: c.who != OFFICER)


def button_words(command: Command) -> tuple[str, ...]:
    return (*command.words, command.vi, command.en, *(t(lang, f"menu.{command.action}") for lang in LANGUAGES))
