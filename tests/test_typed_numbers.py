"""A typed number means what the person was shown, on the web, Telegram and Zalo, and after a restart.

One app serves all three channels (the real wiring); a restart is a new app on the same database.
"""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.app import RUNNER
from storage.models import ChatAccount
from storage.outbox import enqueue
from tests.support.catalog import says
from tests.support.channels import FAIRS, Channels, sender
from tests.support.fakes import outcome_of
from tests.support.waiting import eventually


@pytest.mark.parametrize("channel", ["web", "telegram", "zalo"])
async def test_a_number_typed_after_the_fair_list_opens_that_fair_even_after_a_restart(
        channels: Channels, channel: str) -> None:
    say = sender(channels, channel)
    listed = await say("/hoicho")
    assert FAIRS[0] in listed and FAIRS[1] in listed
    opened = await say("2")
    assert "Quảng trường Lâm Viên" in opened and FAIRS[1] in opened
    assert not says(opened, "ask.product_name")  # not the main menu's "1. register"

    await say("/hoicho")
    await channels.restart()
    say = sender(channels, channel)
    opened = await say("1")
    assert FAIRS[0] in opened and says(opened, "event.join")


@pytest.mark.parametrize("channel", ["web", "telegram", "zalo"])
async def test_the_menu_answers_its_numbers_only_when_it_was_shown_last(channels: Channels, channel: str) -> None:
    say = sender(channels, channel)
    await say("/start")
    assert says(await say("1"), "consent.notice")  # the menu was last: 1 is "register a product"
    assert says(await say("1"), "ask.product_name")  # the notice was last: 1 is "agree"
    await say("/huy")
    await say("co")
    await say("/hoicho")
    await say("1")  # the first fair, with its own options
    await say("/trogiup")  # help ends with the menu again
    assert says(await say("1"), "ask.product_name")


@pytest.mark.parametrize("channel", ["web", "telegram", "zalo"])
async def test_a_notice_shown_after_the_menu_takes_over_its_numbers(channels: Channels, channel: str) -> None:
    say = sender(channels, channel)
    await say("/start")
    await channels.notice_reaches(channel, f"test:{channel}", "Hội chợ mới",
                                  [{"id": "event:list:fair", "label": "Xem hội chợ"}])
    assert channels.client is not None
    assert (await outcome_of(channels.client.app[RUNNER].sessions, f"test:{channel}")).status in ("sent", "shown")
    listed = await say("1")  # the notice's option, not the menu's "register"
    assert FAIRS[0] in listed and not says(listed, "ask.product_name")


async def notify(bot: Channels, channel: str, key: str) -> None:
    assert bot.client is not None
    async with bot.client.app[RUNNER].sessions() as session, session.begin():
        account = (await session.exec(select(ChatAccount).where(ChatAccount.channel == channel))).one()
        await enqueue(session, account_id=account.id, dedupe_key=key, reason="test.notice", text=f"Thông báo {key}",
                      options=[{"id": "event:list:fair", "label": "Xem hội chợ"}])
    bot.client.app[RUNNER].on_outbox()
    assert await eventually(lambda: any(f"Thông báo {key}" in text for text in bot.zalo.sent())), \
        "the notice was not sent"
    assert (await outcome_of(bot.client.app[RUNNER].sessions, key)).status == "sent"


async def test_a_notice_in_the_middle_of_a_form_leaves_the_forms_numbers_alone(channels: Channels) -> None:
    await channels.zalo_says("/dangky")
    await channels.zalo_says("1")  # agrees to the personal-data notice
    asked = await channels.zalo_says("Mật ong hoa cà phê")
    assert "1. Thực phẩm" in asked
    await notify(channels, "zalo", "mid-form")
    notice = next(text for text in channels.zalo.sent() if "Thông báo mid-form" in text)
    assert "• Xem hội chợ" in notice and "1." not in notice  # drawn without a number
    answered = await channels.zalo_says("1")
    assert says(answered, "ask.subgroup")  # the form's 1: Thực phẩm, then its nhóm


async def test_on_the_review_one_number_is_one_action(channels: Channels) -> None:
    say = channels.zalo_says
    await say("/dangky")
    await say("dong y")
    text = await say("Mật ong hoa cà phê")
    for answer in ("1", "1", "2", "Mật ong nguyên chất từ vườn cà phê", "1", "2 tấn", "xong", "bo qua"):
        text = await say(answer)
    for _ in range(10):
        if says(text, "review.title"):
            break
        text = await say("bo qua" if "Bỏ qua" in text else "nop truc tiep")
    assert says(text, "review.title")
    numbered = {int(line.split(".")[0]): line for line in text.splitlines() if line.split(".")[0].isdigit()}
    assert sorted(numbered) == list(range(1, len(numbered) + 1)), numbered  # each number once: one thing each
    product_row = next(n for n, line in numbered.items() if "Tên sản phẩm: Mật ong hoa cà phê" in line)
    submit = next(n for n, line in numbered.items() if "✅ Xác nhận nộp hồ sơ" in line)
    assert submit == max(n for n, line in numbered.items() if ": " in line) + 1  # the actions follow the rows
    assert says(await say(str(product_row)), "ask.product_name")  # a row's number changes that row
    assert says(await say("Mật ong hoa cà phê Cầu Đất"), "review.title")
    assert "OCOP-" in await say(str(submit))
