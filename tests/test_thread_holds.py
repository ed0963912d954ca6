"""A thread that holds: a producer's own words in the middle of a form ("hồ sơ của tôi đến đâu rồi", "thôi",
"giúp tôi") are answered and the form's question asked again, never kept as an answer; words typed on a card pick
that card's options; a number after a notice with no options gets the list it can pick from."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.catalog import says
from tests.support.channels import FAIRS, TRAINING, Channels, sender
from tests.support.fakes import Chat
from tests.support.flows import answer_product, answer_profile

STATUS_QUESTIONS = ("hồ sơ của tôi đến đâu rồi", "bao gio het han", "Đến đâu rồi ạ?")


@pytest.mark.parametrize("channel", ["web", "telegram", "zalo"])
async def test_a_status_question_at_the_product_name_is_answered_and_the_name_asked_again(
        channels: Channels, channel: str) -> None:
    say = sender(channels, channel)
    await say("/dangky")
    asked = await say("1")  # agrees to the personal-data notice: the product's name is asked
    assert says(asked, "ask.product_name")
    for question in STATUS_QUESTIONS:
        answered = await say(question)
        assert "📦 Mật ong" in answered and says(answered, "status.title"), (question, answered)
        assert says(answered, "ask.product_name")  # the open question again
    assert says(await say("Trà shan tuyết"), "ask.group")  # the name is what was typed after, not a question


async def test_a_status_question_at_a_document_step_is_not_taken_for_a_file_question(make_runner: Callable,
                                                                                      sqlite_url: str) -> None:
    chat = Chat(await make_runner(sqlite_url))
    await answer_profile(chat)
    await answer_product(chat)
    assert chat.replies[-1].accepts == "document"
    await chat.say("hồ sơ của tôi đến đâu rồi")
    assert says(chat.text, "status.title") and not says(chat.text, "error.file_expected_document")
    assert chat.replies[-1].accepts == "document" and chat.replies[-1].text == chat.transcript[-1]


async def reach_description(chat: Chat) -> None:
    await answer_profile(chat)
    await chat.say("Mật ong bạc hà")
    await chat.tap("food")
    await chat.say("3")
    await chat.say("4")
    assert says(chat.last, "ask.description")


LONG = "Mật ong rừng nguyên chất đóng chai thủy tinh, bảo quản nơi khô ráo, bao giờ hết hạn thì đổi hàng"


async def test_a_long_answer_holding_status_words_asks_which_was_meant(make_runner: Callable,
                                                                       sqlite_url: str) -> None:
    chat = Chat(await make_runner(sqlite_url))
    await reach_description(chat)
    await chat.say(LONG)
    assert says(chat.last, "aside.which") and "aside:" not in " ".join(chat.option_ids)
    await chat.say("1")  # the first: see the status
    assert says(chat.text, "next.draft") and says(chat.last, "ask.description")  # the draft is where it was
    await chat.say(LONG)
    await chat.tap("meant:answer")
    assert says(chat.last, "ask.material_origin")  # kept as the description: the form went on
    await chat.tap("nav:back")
    assert LONG in chat.last  # the current answer is the long text, whole


async def test_thoi_leaves_the_form_and_giup_toi_helps(make_runner: Callable, sqlite_url: str) -> None:
    chat = Chat(await make_runner(sqlite_url))
    await answer_profile(chat)
    await chat.say("giúp tôi")
    assert says(chat.text, "help.product_name") and says(chat.last, "ask.product_name")
    await chat.say("thôi")
    assert says(chat.last, "form.cancel_confirm")
    assert not says(chat.text, "ask.group")  # "thôi" was not taken as the product's name
    await chat.say("thôi")  # said again: they do want to stop
    assert says(chat.text, "form.cancelled")


@pytest.mark.parametrize("channel", ["web", "telegram", "zalo"])
@pytest.mark.parametrize(("command", "event"), [("/taphuan", TRAINING), ("/hoicho", FAIRS[0])])
async def test_dang_ky_typed_on_an_event_card_signs_up_for_that_event(channels: Channels, channel: str, command: str,
                                                                    event: str) -> None:
    say = sender(channels, channel)
    await say(command)
    card = await say("1")
    assert event in card
    signed = await say("dang ky")
    assert says(signed, "event.registered", name=event) and not says(signed, "ask.product_name")
    shown = await say("menu")
    assert says(shown, "menu.title") and not says(shown, "error.not_understood")


@pytest.mark.parametrize("channel", ["web", "zalo"])
async def test_a_number_after_a_notice_without_options_gets_the_list_it_can_pick_from(
        channels: Channels, channel: str) -> None:
    say = sender(channels, channel)
    await say("/start")
    await channels.notice_reaches(channel, f"plain:{channel}", "Văn phòng OCOP nghỉ Tết từ 14/2 đến 22/2.")
    answered = await say("2")
    assert says(answered, "error.number_without_list", number="2") and says(answered, "menu.title")
    assert not says(answered, "error.not_understood")
