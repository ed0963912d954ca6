"""The same registration written the stock python-telegram-bot way, for an honest comparison:
a ConversationHandler whose states are the form's steps, answers in user_data, PicklePersistence.

It asks the same questions, shows the same keyboards, downloads the same files and checks answers about as
much as a typical bot does (a non-empty text, a choice from the keyboard). It keeps no database: no account,
no producer, no application rows, no update de-duplication. That is the point of the comparison.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PersistenceInput,
    PicklePersistence,
    filters,
)
from telegram.request import BaseRequest

MENU = ["📝 Đăng ký sản phẩm OCOP", "🔎 Tra cứu hồ sơ", "📚 Tập huấn", "🎪 Hội chợ", "❓ Trợ giúp"]
NAV = ["⬅️ Quay lại", "✖️ Hủy", "❓ Trợ giúp"]
DOCS = ["Phiếu đăng ký sản phẩm OCOP", "Phương án / dự án sản xuất kinh doanh", "Giấy chứng nhận ĐKKD",
        "Giấy chứng nhận ATTP", "Bản công bố chất lượng", "Phiếu kiểm nghiệm (không bắt buộc)",
        "Hồ sơ minh chứng khác (không bắt buộc)"]
# (answer key, question, keyboard); kinds: text, choice, contact, multi, photos, document
STEPS: list[tuple[str, str, str, list[str]]] = [
    ("entity_type", "choice", "Cơ sở của anh/chị thuộc loại nào?",
     ["Hợp tác xã", "Tổ hợp tác", "Doanh nghiệp", "Hộ sản xuất kinh doanh"]),
    ("producer_name", "text", "Tên đầy đủ của cơ sở là gì ạ?", []),
    ("tax_code", "text", "Mã số thuế của cơ sở là gì ạ?", []),
    ("representative", "text", "Họ và tên người đại diện theo pháp luật?", []),
    ("phone", "contact", "Số điện thoại liên hệ của anh/chị?", []),
    ("province", "choice", "Cơ sở ở tỉnh/thành phố nào?", ["Hà Nội", "Huế", "Lai Châu", "Điện Biên", "Sơn La"]),
    ("commune", "text", "Xã/phường nào ạ?", []),
    ("address", "text", "Địa chỉ cụ thể?", []),
    ("product_name", "text", "Tên sản phẩm anh/chị muốn đăng ký OCOP?", []),
    ("group", "choice", "Sản phẩm thuộc nhóm nào?", ["Thực phẩm", "Đồ uống", "Dược liệu", "Thủ công mỹ nghệ"]),
    ("subgroup", "choice", "Chọn phân nhóm của sản phẩm:", ["Chè", "Cà phê, ca cao", "Gia vị"]),
    ("description", "text", "Mô tả ngắn về sản phẩm:", []),
    ("origin", "choice", "Nguyên liệu chính lấy từ đâu?", ["Trong xã", "Trong tỉnh", "Ngoài tỉnh"]),
    ("output", "text", "Sản lượng mỗi năm khoảng bao nhiêu?", []),
    ("certifications", "multi", "Sản phẩm đã có những chứng nhận nào?", ["VietGAP", "Hữu cơ", "Nhãn hiệu"]),
    ("photos", "photos", "Gửi ảnh sản phẩm. Gửi xong bấm “Xong”.", []),
] + [(f"doc{i}", "document", f"Giấy tờ: {name}", []) for i, name in enumerate(DOCS)]
DONE, PAPER, SKIP = "✅ Xong", "📄 Nộp trực tiếp", "⏭ Bỏ qua"
REVIEW = len(STEPS)


def keyboard(index: int) -> ReplyKeyboardMarkup:
    key, kind, _question, choices = STEPS[index]
    extra = {"multi": [DONE], "photos": [DONE, SKIP], "document": [DONE, PAPER]}.get(kind, [])
    if kind == "document" and "không bắt buộc" in _question:
        extra.append(SKIP)
    rows = [[KeyboardButton(c)] for c in choices + extra]
    if kind == "contact":
        rows.insert(0, [KeyboardButton("📱 Gửi số điện thoại của tôi", request_contact=True)])
    return ReplyKeyboardMarkup(rows + [[KeyboardButton(n) for n in NAV]], resize_keyboard=True)


async def ask(update: Update, index: int) -> int:
    if index == REVIEW:
        await update.effective_message.reply_text(  # type: ignore[union-attr]
            "Thông tin đã đúng chưa ạ?", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("✅ Xác nhận nộp hồ sơ", callback_data="nav:submit")]]))
        return index
    await update.effective_message.reply_text(STEPS[index][2], reply_markup=keyboard(index))  # type: ignore[union-attr]
    return index


def step_handler(index: int):  # type: ignore[no-untyped-def]
    key, kind, _question, choices = STEPS[index]

    async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        message, answers = update.effective_message, context.user_data.setdefault("answers", {})  # type: ignore[union-attr]
        text = (message.text or "").strip()  # type: ignore[union-attr]
        if kind in ("photos", "document", "multi") and text in (DONE, PAPER, SKIP):
            return await ask(update, index + 1)
        if kind in ("photos", "document"):
            media = message.photo[-1] if message.photo else message.document  # type: ignore[union-attr]
            if media is None:
                await message.reply_text("Anh/chị gửi ảnh hoặc tệp PDF giúp tôi.")  # type: ignore[union-attr]
                return index
            content = bytes(await (await media.get_file()).download_as_bytearray())
            digest = hashlib.sha256(content).hexdigest()
            (context.bot_data["files"] / digest).write_bytes(content)
            answers.setdefault(key, []).append(digest)
            await message.reply_text(f"Đã nhận {len(answers[key])} tệp.", reply_markup=keyboard(index))  # type: ignore[union-attr]
            return index
        if kind == "contact" and message.contact is not None:  # type: ignore[union-attr]
            answers[key] = message.contact.phone_number  # type: ignore[union-attr]
            return await ask(update, index + 1)
        if not text or (kind == "choice" and text not in choices):
            await message.reply_text("Tôi chưa hiểu, anh/chị chọn lại giúp tôi.")  # type: ignore[union-attr]
            return index
        if kind == "multi":
            answers.setdefault(key, []).append(text)
            await message.reply_text("Đã chọn.", reply_markup=keyboard(index))  # type: ignore[union-attr]
            return index
        answers[key] = text
        return await ask(update, index + 1)

    return handle


async def start(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.effective_message.reply_text(  # type: ignore[union-attr]
        "Anh/chị muốn làm gì?", reply_markup=ReplyKeyboardMarkup([[KeyboardButton(m)] for m in MENU]))
    return ConversationHandler.END


async def begin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    context.user_data["answers"] = {}  # type: ignore[index]
    return await ask(update, 0)


async def submit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.callback_query.answer()  # type: ignore[union-attr]
    number = context.bot_data.setdefault("next_code", 1)
    context.bot_data["next_code"] = number + 1
    context.user_data.setdefault("submitted", []).append(context.user_data.pop("answers", {}))  # type: ignore[union-attr]
    await update.effective_message.reply_text(f"Đã nộp hồ sơ. Mã hồ sơ: OCOP-2026-{number:06d}")  # type: ignore[union-attr]
    return ConversationHandler.END


def build_stock_application(token: str, base_url: str, request: BaseRequest, path: Path, *,
                            on_flush: bool) -> Application:
    persistence = PicklePersistence(path, store_data=PersistenceInput(bot_data=False, chat_data=False,
                                                                     user_data=True, callback_data=False),
                                    on_flush=on_flush)
    application = (Application.builder().token(token).base_url(f"{base_url}/bot").base_file_url(f"{base_url}/file/bot")
                   .request(request).get_updates_request(request).persistence(persistence).build())
    any_message = filters.TEXT | filters.PHOTO | filters.Document.ALL | filters.CONTACT
    conversation = ConversationHandler(
        entry_points=[MessageHandler(filters.Text([MENU[0]]), begin)],
        states={i: [MessageHandler(any_message, step_handler(i))] for i in range(len(STEPS))}
        | {REVIEW: [CallbackQueryHandler(submit, pattern="^nav:submit$")]},
        fallbacks=[CommandHandler("start", start)], name="registration", persistent=True)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(conversation)
    files = path.parent / "files"
    files.mkdir(exist_ok=True)
    application.bot_data["files"] = files
    return application


def prefill_pickle(path: Path, producers: int) -> None:
    """What PicklePersistence would hold after `producers` people registered: their answers, one dict each."""
    answers = {key: "Giá trị mẫu của câu trả lời" for key, *_ in STEPS}
    data: dict[str, Any] = {"user_data": {10_000_000 + i: {"submitted": [dict(answers)]} for i in range(producers)},
                            "chat_data": {}, "bot_data": {}, "conversations": {"registration": {}},
                            "callback_data": None}
    with path.open("wb") as file:
        pickle.dump(data, file)
