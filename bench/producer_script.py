"""One producer's whole registration, as Telegram updates: what a person types and taps, step by step."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

from bench.offline_bot_api import OfflineBotApi

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def message(chat: int, **fields: Any) -> dict[str, Any]:
    return {"update_id": next(_update_ids), "message": {
        "message_id": next(_message_ids), "date": 1_790_000_000, "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "Lan", "language_code": "vi"}, **fields}}


def text(chat: int, value: str) -> dict[str, Any]:
    return message(chat, text=value)


def photo(chat: int) -> dict[str, Any]:
    file_id = f"photo-{next(_message_ids)}"
    return message(chat, photo=[{"file_id": file_id, "file_unique_id": file_id, "width": 1280, "height": 960,
                                 "file_size": 10_256}])


def document(chat: int) -> dict[str, Any]:
    file_id = f"pdf-{next(_message_ids)}"
    return message(chat, document={"file_id": file_id, "file_unique_id": file_id, "file_name": "phieu-dang-ky.pdf",
                                   "mime_type": "application/pdf", "file_size": 20_060})


def contact(chat: int) -> dict[str, Any]:
    return message(chat, contact={"phone_number": f"+8491{chat % 10_000_000:07d}", "first_name": "Lan",
                                  "user_id": chat})


def callback(chat: int, data: str) -> dict[str, Any]:
    return {"update_id": next(_update_ids), "callback_query": {
        "id": str(next(_message_ids)), "chat_instance": "ci", "data": data,
        "from": {"id": chat, "is_bot": False, "first_name": "Lan"},
        "message": {"message_id": next(_message_ids), "date": 1_790_000_000, "chat": {"id": chat, "type": "private"},
                    "text": "…"}}}


def registration(chat: int, tax_code: str, api: OfflineBotApi) -> Iterator[dict[str, Any]]:
    """Yields the next update; reads the bot's last buttons (through `api`) where a person would look at them."""
    yield text(chat, "/start")
    yield text(chat, "📝 Đăng ký sản phẩm OCOP")
    yield text(chat, "✅ Đồng ý")  # the personal-data notice
    yield text(chat, "Hợp tác xã")
    yield text(chat, f"HTX Nông nghiệp {chat}")
    yield text(chat, tax_code)
    yield text(chat, "Lò Văn Sáng")
    yield contact(chat)
    yield text(chat, "Sơn La")
    yield text(chat, "Xã Mường Bú")
    yield text(chat, "Bản Bú")
    yield text(chat, "Cà phê Arabica Mường Bú")
    yield text(chat, "Thực phẩm")
    yield text(chat, "Cà phê, ca cao")
    yield text(chat, "Cà phê")
    yield text(chat, "Cà phê Arabica trồng dưới tán rừng, chế biến ướt")
    yield text(chat, "Trong tỉnh")
    yield text(chat, "12 tấn")
    yield text(chat, "Nhãn hiệu")
    yield text(chat, "✅ Xong")
    yield photo(chat)
    yield text(chat, "✅ Xong")
    while "📄 Nộp trực tiếp" in api.buttons(chat):
        if "⏭ Bỏ qua" in api.buttons(chat):
            yield text(chat, "⏭ Bỏ qua")
        else:  # required documents: the first one uploaded, the others handed in on paper
            yield document(chat)
            yield text(chat, "✅ Xong")
            if "📄 Nộp trực tiếp" in api.buttons(chat) and "⏭ Bỏ qua" not in api.buttons(chat):
                yield text(chat, "📄 Nộp trực tiếp")
    yield callback(chat, api.inline(chat)["✅ Xác nhận nộp hồ sơ"])


def zalo_text(chat: int, value: str) -> dict[str, Any]:
    return {"event_name": "message.text.received", "message": {
        "message_id": f"z{next(_message_ids)}", "date": 1_790_000_000_000, "text": value,
        "from": {"id": str(chat), "display_name": "Lan"}, "chat": {"id": str(chat), "chat_type": "PRIVATE"}}}


def zalo_photo(chat: int, api_base: str) -> dict[str, Any]:
    return {"event_name": "message.image.received", "message": {
        "message_id": f"z{next(_message_ids)}", "date": 1_790_000_000_000,
        "photo_url": f"{api_base}/photos/photo-{next(_message_ids)}.jpg",
        "from": {"id": str(chat), "display_name": "Lan"}, "chat": {"id": str(chat), "chat_type": "PRIVATE"}}}


def zalo_registration(chat: int, tax_code: str, last_text: Callable[[int], str],
                      api_base: str) -> Iterator[dict[str, Any]]:
    """The same registration over Zalo, where there are no buttons: the person types the words of an option (or its
    number), types the phone number, sends a photo, and hands the documents in on paper (Zalo carries no PDF)."""
    for value in ("/start", "Đăng ký sản phẩm OCOP", "Đồng ý", "Hợp tác xã", f"HTX Nông nghiệp {chat}", tax_code,
                  "Lò Văn Sáng", f"0912{100_000 + chat % 900_000:06d}", "Sơn La", "Xã Mường Bú", "Bản Bú",
                  "Cà phê Arabica Mường Bú", "Thực phẩm", "Cà phê, ca cao",
                  "Cà phê Arabica trồng dưới tán rừng, chế biến ướt", "Trong tỉnh", "12 tấn", "Nhãn hiệu", "Xong"):
        yield zalo_text(chat, value)
    yield zalo_photo(chat, api_base)
    yield zalo_text(chat, "Xong")
    for _ in range(20):  # the documents, one question each
        if "kiểm tra lại hồ sơ" in last_text(chat):
            break
        yield zalo_text(chat, "bỏ qua" if "Bỏ qua" in last_text(chat) else "nộp trực tiếp")
    confirm = re.search(r"(\d+)\. ✅ Xác nhận nộp hồ sơ", last_text(chat))
    yield zalo_text(chat, confirm.group(1) if confirm else "Xác nhận nộp hồ sơ")
