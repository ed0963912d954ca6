"""Property-based: whatever a person sends, at whatever step of whatever flow, the bot answers, does not fail,
and the stored conversation stays one the bot can continue from."""

from __future__ import annotations

import itertools
import json
import string
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.conversation import ConversationRunner
from handlers.form_steps import REVIEW
from handlers.router import COMMANDS, FORMS
from messages import t
from storage.models import ChatAccount, ConversationState
from tests.fakes import JPEG, PDF, VALID_MST, Chat
from tests.flows import reach_review
from tests.seed import add_application, add_producer, invite

UNEXPECTED = {t(lang, "error.unexpected") for lang in ("vi", "en")}
NASTY = [
    "'; DROP TABLE producer; --", "\" OR 1=1 --", "<script>alert(1)</script>", "<b>đậm</b> &amp; &lt;", "%s %d {0}",
    "{product}", "${jndi:ldap://x}", "../../etc/passwd", "\x00\x01\x1b[31m", "\u202eabc", "🍵🐝🌾" * 50,
    "ü" * 5000, "9" * 400, "-1", "0", "31/02/2026", "29/02/2027 25:61", "1e309", "NaN", " ", "\n\n\n", "\ud800",
    "¹", "²³", "٣", "１", "Ⅻ", "½", "Hợp tác xã", "Thái Nguyên", "Lâm Đồng", "1", "2", "có", "không", "bỏ qua", "xong",
]
# Known button prefixes with broken, huge, negative and foreign parts: ids come from the person's device.
BUTTON_IDS = [
    "hoso:list:all:0", "hoso:list:lam-dong:-1", "hoso:list:x:99999999999999999999", "hoso:open:0", "hoso:open:abc",
    "hoso:open:1", "hoso:act:1:approve", "hoso:act:1:drop-table", "hoso:act:999999:reject", "status:page:-5",
    "status:page:x", "status:supp:1", "status:supp:abc", "event:reg:1", "event:reg:-1", "event:ics:abc",
    "event:cancel:1", "pref:toggle:fair", "pref:toggle:", "pref:snooze:1:7", "pref:snooze:x:y", "bc:new",
    "bc:cancel:1", "bc:cancel:x", "reeval:1", "reeval:", "menu:register", "menu:status", "menu:applications",
    "menu:broadcast", "menu:statistics", "menu:trainings", "menu:fairs", "menu:language", "lang:en", "lang:xx",
    "nav:back", "nav:skip", "nav:done", "nav:submit", "nav:paper", "nav:edit", "edit:name", "edit:", "resume:continue",
    "resume:restart", "yes", "no", ":", "::::", "", "x" * 128,
]
COMMAND_TEXTS = [f"/{name}" for name in COMMANDS] + ["/hoso 1", "/canbo", "/canbo SAI", "/lienket 000000", "/tracuu",
                                                    "/tracuu OCOP-2026-000001", "/unknown", "/"]

text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zl", "Zp", "So", "Mn"]), min_size=1, max_size=30),
    st.text(alphabet=string.digits + " -./:", min_size=1, max_size=20),
    st.integers(min_value=1000, max_value=20_000).map(lambda n: "ạ" * n),
)
action = st.one_of(
    st.tuples(st.just("text"), text),
    st.tuples(st.just("command"), st.sampled_from(COMMAND_TEXTS)),
    st.tuples(st.just("shown"), st.integers(min_value=0, max_value=30)),  # an option on screen now
    st.tuples(st.just("stale"), st.integers(min_value=0, max_value=10_000)),  # an option seen earlier
    st.tuples(st.just("button"), st.one_of(st.sampled_from(BUTTON_IDS), st.text(max_size=40))),
    st.tuples(st.just("file"), st.sampled_from([(JPEG, "image/jpeg"), (PDF, "application/pdf"), (b"", None),
                                               (b"MZ\x90\x00", "application/pdf"), (b"\xff" * 10, "image/png"),
                                               (PDF, "application/x-msdownload")])),
)
users = itertools.count()


async def play(chat: Chat, actions: list[tuple[str, Any]]) -> None:
    seen: list[str] = []
    for kind, value in actions:
        shown = chat.option_ids
        if kind == "text" or kind == "command":
            await chat.say(value)
        elif kind == "shown":
            await chat.press_stale(shown[value % len(shown)] if shown else "menu:register")
        elif kind == "stale":
            await chat.press_stale(seen[value % len(seen)] if seen else "menu:status")
        elif kind == "button":
            await chat.press_stale(value)
        else:
            content, mime = value
            await chat.send_file(content, mime, name="tep.bin")
        seen += chat.option_ids
        assert chat.replies, f"no answer to {kind} {value!r}"
        assert not UNEXPECTED & set(chat.transcript[-len(chat.replies):]), f"failed on {kind} {value!r}"
        assert all(r.text.strip() for r in chat.replies), f"an empty reply to {kind} {value!r}"
    await assert_state_valid(chat.runner, chat.user)


async def assert_state_valid(runner: ConversationRunner, user: str) -> None:
    async with runner.sessions() as session:
        account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == user))).one()
        state = (await session.exec(select(ConversationState).where(
            ConversationState.account_id == account.id))).one()
    json.dumps(state.data)  # it round-trips through the database: still JSON
    if state.flow is None:
        return
    form = FORMS[state.flow]
    assert state.step == REVIEW or state.step in {s.id for s in form.steps(state.data)}, (state.flow, state.step)


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])


@PROPERTY
@given(actions=st.lists(action, min_size=1, max_size=25))
async def test_a_producer_can_send_anything(make_runner: Callable, sqlite_url: str,
                                            actions: list[tuple[str, Any]]) -> None:
    runner = await _runner(make_runner, sqlite_url)
    chat = Chat(runner, user=f"producer-{next(users)}")
    await chat.say("/start")
    await play(chat, [("shown", 0)] + actions)  # usually into registration first, where most of the steps are


@PROPERTY
@given(actions=st.lists(action, min_size=1, max_size=25))
async def test_an_officer_can_send_anything(make_runner: Callable, sqlite_url: str,
                                            actions: list[tuple[str, Any]]) -> None:
    runner = await _runner(make_runner, sqlite_url)
    chat = Chat(runner, user=f"officer-{next(users)}")
    await chat.say(f"/canbo {await invite(runner.sessions)}")
    await play(chat, actions)


_runners: dict[str, ConversationRunner] = {}


async def _runner(make_runner: Callable, url: str) -> ConversationRunner:
    """One database per test, shared by its examples (a fresh chat each), with something for officers to act on."""
    if url not in _runners:
        runner = await make_runner(url)
        async with runner.sessions() as session, session.begin():
            producer = await add_producer(session, province_code="lam-dong")
            await add_application(session, producer)
        _runners.clear()
        _runners[url] = runner
    return _runners[url]


class Recorder(Chat):
    """A chat that writes down each of its actions, so a walk can be replayed up to any step."""

    def __init__(self, runner: ConversationRunner, user: str) -> None:
        super().__init__(runner, user=user)
        self.script: list[tuple[str, tuple[Any, ...]]] = []

    async def say(self, text: str) -> Any:
        self.script.append(("say", (text,)))
        return await super().say(text)

    async def tap(self, option_id: str) -> Any:
        self.script.append(("tap", (option_id,)))
        return await super().tap(option_id)

    async def send_file(self, content: bytes, mime: str | None, name: str | None = None,
                        size: int | None = None) -> Any:
        self.script.append(("send_file", (content, mime, name)))
        return await super().send_file(content, mime, name)


async def test_every_registration_step_survives_every_nasty_input(make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    recorder = Recorder(runner, "recorder")
    await reach_review(recorder)
    await recorder.tap("nav:submit")
    barrage: list[tuple[str, Any]] = ([("text", x) for x in NASTY] + [("button", x) for x in BUTTON_IDS[::3]]
                                      + [("stale", i) for i in range(0, 60, 7)] + [("command", "/dangky")])
    codes = (code for code in (f"{n:09d}" for n in range(30_058_857, 40_000_000)) if _check_digit(code) is not None)
    for k in range(len(recorder.script) + 1):
        chat = Chat(runner, user=f"step-{k}")
        own_tax_code = next(codes)
        own_tax_code += str(_check_digit(own_tax_code))
        for method, args in recorder.script[:k]:
            # Each chat is its own business: the recorder's tax code is taken by now.
            await getattr(chat, method)(*(own_tax_code if a == VALID_MST else a for a in args))
        await play(chat, barrage)


def _check_digit(nine: str) -> int | None:
    check = 10 - sum(int(d) * w for d, w in zip(nine, (31, 29, 23, 19, 17, 13, 7, 5, 3), strict=True)) % 11
    return check if 0 <= check <= 9 else None
