"""Walking a chat through the registration, answer by answer, as a producer would."""

from __future__ import annotations

from tests.support.fakes import JPEG, PDF, VALID_MST, Chat

# A new cooperative's typed answers after agreeing to the personal-data notice, up to the product photos question.
TYPED_TO_PHOTOS = ("1", "HTX Tân Thành", VALID_MST, "Trần Văn Bình", "0912 345 678", "lam dong", "lac duong", "Thôn 1",
                   "Mật ong", "1", "1", "1", "Mật ong rừng", "1", "2 tấn", "xong")


async def answer_profile(chat: Chat, *, tax_code: str = VALID_MST) -> None:
    await chat.say("/start")
    await chat.tap("menu:register")
    await chat.agree_if_asked()
    await chat.say("ho kinh doanh")  # typed without diacritics
    await chat.say("Hộ bà Nguyễn Thị Lan")
    await chat.say(tax_code)
    await chat.say("Nguyễn Thị Lan")
    await chat.say("0912 345 678")
    await chat.say("ha giang")  # a former province: becomes Tuyên Quang
    await chat.say("Xã Tân Thành")
    await chat.say("Thôn 3, đường Lê Lợi")


async def answer_until_phone(chat: Chat) -> None:
    """A cooperative's first four answers, leaving the chat at the phone question."""
    await chat.say("/dangky")
    await chat.agree_if_asked()
    for answer in ("1", "HTX Tân Thành", VALID_MST, "Trần Văn Bình"):
        await chat.say(answer)


async def answer_product(chat: Chat, *, name: str = "Mật ong bạc hà") -> None:
    await answer_product_until_photos(chat, name=name)
    await chat.send_file(JPEG, "image/jpeg")
    await chat.tap("nav:done")


async def answer_product_until_photos(chat: Chat, *, name: str = "Mật ong bạc hà") -> None:
    await chat.say(name)
    await chat.tap("food")
    await chat.say("3")  # the third nhóm by number: Thực phẩm chế biến
    await chat.say("4")  # its phân nhóm: chế biến từ thịt, trứng, sữa, thủy sản, các sản phẩm từ mật ong
    await chat.say("Mật ong từ hoa bạc hà trên cao nguyên đá, khai thác thủ công.")
    await chat.tap("commune")
    await chat.say("1,5 tấn")
    await chat.tap("vietgap")
    await chat.tap("organic")
    await chat.tap("nav:done")


async def answer_dossier(chat: Chat) -> None:
    """Upload some documents, hand in some on paper, skip the optional ones."""
    await chat.send_file(PDF, "application/pdf", "phieu-dang-ky.pdf")  # registration form
    await chat.tap("nav:done")
    await chat.tap("nav:paper")  # business plan on paper
    await chat.send_file(JPEG, "image/jpeg")  # business licence
    await chat.tap("nav:done")
    await chat.tap("nav:paper")  # food safety certificate
    await chat.send_file(PDF, "application/pdf")  # quality declaration
    await chat.tap("nav:done")
    await chat.tap("nav:skip")  # test report (optional)
    await chat.tap("nav:skip")  # other evidence (optional)


async def reach_review(chat: Chat) -> None:
    await answer_profile(chat)
    await answer_product(chat)
    await answer_dossier(chat)
