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
from handlers.commands import ACTIONS as COMMANDS
from handlers.forms.steps import REVIEW, asked
from handlers.router import FORMS
from messages import t
from storage.models import Application, ChatAccount, ConversationState
from tests.support.fakes import JPEG, PDF, VALID_MST, Chat
from tests.support.flows import reach_review
from tests.support.seed import add_application, add_producer, invite

UNEXPECTED = {t(lang, "error.unexpected") for lang in ("vi", "en")}
NASTY = [
    "'; DROP TABLE producer; --", "\" OR 1=1 --", "<script>alert(1)</script>", "<b>đậm</b> &amp; &lt;", "%s %d {0}",
    "{product}", "${jndi:ldap://x}", "../../etc/passwd", "\x00\x01\x1b[31m", "\u202eabc", "🍵🐝🌾" * 50,
    "ü" * 5000, "9" * 400, "-1", "0", "31/02/2026", "29/02/2027 25:61", "1e309", "NaN", " ", "\n\n\n", "\ud800",
    "¹", "²³", "٣", "１", "Ⅻ", "½", "Hợp tác xã", "Thái Nguyên", "Lâm Đồng", "1", "2", "có", "không", "bỏ qua", "xong",
]
# Every kind of button id the bot makes, with broken, huge, negative and foreign parts: ids come from the device.
BUTTON_IDS = [
    "apps:list:all:0", "apps:list:submitted:0:food", "apps:list:all:0:x:y", "apps:list", "apps:list:all",
    "hoso:list:all:0", "hoso:list:submitted:-1", "hoso:list:lam-dong:0", "hoso:list:x:99999999999999999999",
    "app:open:0", "app:open:abc", "app:open:1", "app:open:-1", "app:act:1:request_more", "app:act:1:drop-table",
    "app:act:999999:reject", "app:act:1:record_result", "app:act:1", "status:page:-5", "status:page:x",
    "status:page:99999999999999999999", "supp:1", "supp:abc", "supp:", "event:list:training", "event:list:x",
    "event:open:1", "event:open:-1", "event:join:1", "event:leave:1", "event:ics:abc", "event:people:1",
    "event:edit:1", "event:cancel:1", "event:cancel:x", "event:", "optout:fair", "optout:", "optout:cert",
    "snooze:1:30", "snooze:x:y", "snooze:1", "bc:new", "bc:test", "bc:cancel:1", "bc:cancel:x", "reeval:1",
    "reeval:", "reeval:abc", "menu:register", "menu:status", "menu:applications", "menu:broadcast",
    "menu:statistics", "menu:trainings", "menu:fairs", "menu:language", "lang:en", "lang:xx", "nav:back",
    "nav:skip", "nav:done", "nav:submit", "nav:paper", "nav:edit", "nav:yes", "nav:no", "edit:name", "edit:",
    "resume:continue", "resume:restart", "verify:list:0", "verify:open:1", "verify:act:1:verify:0",
    "verify:act:1:merge:2", "verify:act:1:drop:0", "office:edit:lam-dong", "event:province:fair", "lookup:more:5",
    "mydata:delete", "consent:yes", "consent:maybe", "now", "food", ":", "::::", "", "x" * 128,
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
        said = f"{kind} {value!r}"
        invariant_every_message_gets_an_answer(chat, said)
        invariant_no_answer_is_the_apology_for_a_failure(chat, said)
        invariant_no_answer_is_empty(chat, said)
    await invariant_the_stored_conversation_can_be_continued(chat.runner, chat.user)


# The invariants every walk keeps, whatever was sent.


def invariant_every_message_gets_an_answer(chat: Chat, said: str) -> None:
    assert chat.replies, f"no answer to {said}"


def invariant_no_answer_is_the_apology_for_a_failure(chat: Chat, said: str) -> None:
    assert not UNEXPECTED & set(chat.transcript[-len(chat.replies):]), f"failed on {said}"


def invariant_no_answer_is_empty(chat: Chat, said: str) -> None:
    assert all(r.text.strip() for r in chat.replies), f"an empty reply to {said}"


async def invariant_the_stored_conversation_can_be_continued(runner: ConversationRunner, user: str) -> None:
    """It is still JSON, and an open form stands at one of its own questions or at its review."""
    async with runner.sessions() as session:
        account = (await session.exec(select(ChatAccount).where(ChatAccount.chat_id == user))).one()
        state = (await session.exec(select(ConversationState).where(
            ConversationState.account_id == account.id))).one()
    json.dumps(state.data)  # it round-trips through the database: still JSON
    if state.flow is None:
        return
    form = FORMS[state.flow]
    assert state.step == REVIEW or state.step in {s.id for s in asked(form, state.data)}, (state.flow, state.step)


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

    async def press_stale(self, option_id: str) -> Any:
        self.script.append(("press_stale", (option_id,)))
        return await super().press_stale(option_id)

    async def send_file(self, content: bytes, mime: str | None, name: str | None = None,
                        size: int | None = None) -> Any:
        self.script.append(("send_file", (content, mime, name)))
        return await super().send_file(content, mime, name)


async def test_every_registration_step_survives_every_nasty_input(make_runner: Callable, sqlite_url: str) -> None:
    """The registration, replayed to each of its steps by a fresh chat that then gets the whole barrage."""
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


async def test_every_officer_form_step_survives_every_nasty_input(make_runner: Callable, sqlite_url: str) -> None:
    """The officer's forms — a training, a broadcast, a request for documents — replayed to each step, then
    the barrage (lighter than the registration's: these forms are shorter and officers fewer)."""
    runner = await _runner(make_runner, sqlite_url)
    async with runner.sessions() as session:
        app_id = (await session.exec(select(Application.id))).first()
    recorder = Recorder(runner, "officer-recorder")
    await recorder.say(f"/canbo {await invite(runner.sessions)}")
    walks = []
    for walk in (_add_training, _compose_broadcast, _request_documents):
        recorder.script = []
        await walk(recorder, app_id)
        walks.append(list(recorder.script))
        await recorder.say("/huy")  # leave a form the walk stopped in, before the next walk
        await recorder.say("có")
    barrage: list[tuple[str, Any]] = ([("text", x) for x in NASTY[::2]] + [("button", x) for x in BUTTON_IDS[::4]]
                                      + [("stale", i) for i in range(0, 40, 9)] + [("command", "/huy")])
    for n, script in enumerate(walks):
        for k in range(1, len(script) + 1):
            chat = Chat(runner, user=f"officer-{n}-{k}")
            await chat.say(f"/canbo {await invite(runner.sessions)}")
            fresh = await _new_application(runner)  # the barrage may well have acted on the last one
            for method, args in script[:k]:
                await getattr(chat, method)(*(_retarget(a, app_id, fresh) for a in args))
            await play(chat, barrage)


def _retarget(arg: Any, old: int | None, new: int) -> Any:
    """An `app:…:<id>…` button id pointed at another application."""
    if isinstance(arg, str) and arg.startswith("app:"):
        return ":".join(str(new) if part == str(old) else part for part in arg.split(":"))
    return arg


async def _new_application(runner: ConversationRunner) -> int:
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, province_code="lam-dong", tax_code=None)
        _, application = await add_application(session, producer)
        return application.id


async def _add_training(chat: Chat, _app_id: int | None) -> None:
    await chat.say("/themtaphuan")
    for answer in ("Tập huấn làm nhãn mác", "Hội trường UBND xã Đạ Sar", "12/12/2030 08:00", "12/12/2030 11:00"):
        await chat.say(answer)
    await chat.tap("nav:skip")
    await chat.tap("nav:skip")
    await chat.tap("nav:done")
    await chat.tap("nav:submit")


async def _compose_broadcast(chat: Chat, _app_id: int | None) -> None:
    await chat.tap("menu:broadcast") if "menu:broadcast" in chat.option_ids else await chat.say("/thongbao")
    await chat.tap("bc:new")
    await chat.say("Kính gửi các chủ thể OCOP: lịch kiểm tra nhãn mác ngày 01/12.")
    picked = False
    for _ in range(12):  # no file; food products; every commune, star rating and so on
        if "now" in chat.option_ids:
            break
        shown = chat.option_ids
        if "food" in shown and not picked:
            picked = True
            await chat.tap("food")
        else:
            await chat.tap("nav:skip" if "nav:skip" in shown else "nav:done")
    await chat.tap("now")


async def _request_documents(chat: Chat, app_id: int | None) -> None:
    await chat.say("/hoso")
    await chat.press_stale(f"app:open:{app_id}")
    await chat.press_stale(f"app:act:{app_id}:request_more")
    await chat.tap(chat.option_ids[0])
    await chat.tap("nav:done")
    await chat.say("Xin gửi bản có chữ ký.")
