"""After submitting, a receipt that stays findable: the code (as a QR code too), the product, the day, what happens
next and by when, and the office to call; /trangthai shows the same code first."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import segno
from PIL import Image

from messages import format_phone
from storage.offices import save_office
from tests.support.catalog import says
from tests.support.checks import present
from tests.support.fakes import Chat
from tests.support.flows import reach_review


def holds_qr_of(picture: bytes, code: str) -> bool:
    """Whether the receipt carries the QR code of `code`, module by module where the receipt puts it (centred)."""
    sheet = Image.open(io.BytesIO(picture)).convert("L")
    matrix = segno.make_qr(code, error="m").matrix
    size, scale, border = len(matrix), 12, 4
    left = (sheet.width - (size + 2 * border) * scale) // 2 + border * scale

    def dark(x: int, y: int, top: int) -> bool:
        value = sheet.getpixel((left + x * scale + scale // 2, top + y * scale + scale // 2))
        return isinstance(value, int) and value < 128

    def matches(top: int, rows: int) -> bool:
        return all(dark(x, y, top) == bool(module) for y, row in enumerate(matrix[:rows]) for x, module in
                   enumerate(row))

    return any(matches(top, 3) and matches(top, size) for top in range(sheet.height - size * scale))


async def test_a_submission_ends_with_a_receipt_to_keep(make_runner: Callable, sqlite_url: str, clock: Any) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        await save_office(session, "tuyen-quang", {"name": "Văn phòng Điều phối nông thôn mới tỉnh Tuyên Quang",
                                                   "phone": "+842073822456", "address": "Số 1 Tân Trào"},
                          actor_account_id=None)
    chat = Chat(runner)
    await reach_review(chat)
    await chat.tap("nav:submit")
    code = re.search(r"OCOP-\d{4}-\d{6}", chat.text)
    assert code is not None
    receipt = next(r for r in chat.replies if r.receipt)
    assert chat.replies.index(receipt) == len(chat.replies) - 2  # the last thing before the menu
    submitted = clock.today.strftime("%d/%m/%Y")
    for line in (code.group(), "Mật ong bạc hà", "Hộ bà Nguyễn Thị Lan", submitted, "0207 3822 456",
                 "Văn phòng Điều phối nông thôn mới tỉnh Tuyên Quang"):
        assert line in receipt.text, line
    assert says(receipt.text, "receipt.next")
    [picture] = receipt.attachments
    assert picture.mime == "image/png" and picture.name == f"bien-nhan-{code.group()}.png"
    assert holds_qr_of(present(picture.content), code.group())
    assert not holds_qr_of(present(picture.content), "OCOP-2026-999999")  # the check can tell
    assert receipt.invite_notifications  # the web page's notification offer comes after the receipt

    await chat.say("/trangthai")
    assert chat.replies[0].text.splitlines()[1] == f"Mã hồ sơ: {code.group()}"  # the same code, first


def test_phones_are_shown_as_people_write_them() -> None:
    assert format_phone("+84912345678") == "0912 345 678"
    assert format_phone("+842633822456") == "0263 3822 456"
    assert format_phone("+842438221234") == "024 3822 1234"
    assert format_phone("1900 1234") == "1900 1234"  # not a number we know how to group: as it was
