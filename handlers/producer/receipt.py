"""The receipt a producer keeps after submitting: the application's code (also as a QR code for the office counter),
the product, the day, what happens next and by when, and whom to call. Sent as a picture with its text, so it can be
saved on the phone and shown at the office; drawn after the step is committed, off the writer (Reply.after_commit)."""

from __future__ import annotations

import io
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.types import Attachment, Context, Reply
from messages import format_date, format_phone, t
from storage.models import Application
from storage.offices import get_office
from storage.producers import get_producer
from storage.writer import off_the_loop

if TYPE_CHECKING:  # Pillow is loaded when a receipt is drawn, not at start-up
    from PIL.ImageFont import FreeTypeFont

WIDTH, MARGIN = 1080, 64
GREEN, INK, GREY = (46, 125, 50), (20, 20, 20), (90, 90, 90)


def receipt_reply(ctx: Context, application: Application, product: str) -> Reply:
    """The receipt, made once the submission is committed."""
    code, submitted = application.code, ctx.today
    producer_id = application.producer_id

    async def made(session: AsyncSession) -> list[Reply]:
        lang = ctx.lang
        producer = await get_producer(session, producer_id)
        office = await get_office(session, producer.province_code if producer else None)
        by = format_date(submitted + timedelta(days=ctx.answer_days))
        lines = [t(lang, "receipt.product", product=product),
                 t(lang, "receipt.producer", producer=producer.name if producer else ""),
                 t(lang, "receipt.date", date=format_date(submitted)),
                 t(lang, "receipt.next", date=by)]
        lines.append(t(lang, "receipt.office", name=office.name, phone=format_phone(office.phone))
                     if office is not None else t(lang, "receipt.office_unknown"))
        text = "\n".join([t(lang, "receipt.title"), t(lang, "receipt.code", code=code), *lines,
                          t(lang, "receipt.keep")])
        picture = await off_the_loop(draw_receipt, t(lang, "receipt.heading"), code, lines,
                                     t(lang, "receipt.show_at_office"))
        name = f"bien-nhan-{code}.png"
        return [Reply(text, attachments=(Attachment(path=name, mime="image/png", name=name, content=picture),),
                      receipt=True, invite_notifications=True)]

    return Reply("", after_commit=made)  # the receipt it makes invites notifications: the offer comes after it


@cache
def _font(size: int, bold: bool = False) -> FreeTypeFont:
    """DejaVu Sans, which matplotlib ships: every Vietnamese letter with its marks, on any server."""
    import matplotlib
    from PIL import ImageFont

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


def _wrapped(text: str, font: FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words, line = paragraph.split(), ""
        for word in words:
            trial = f"{line} {word}".strip()
            if line and font.getlength(trial) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


def draw_receipt(title: str, code: str, lines: list[str], footer: str) -> bytes:
    """The receipt as a PNG: a title band, the code large, the facts, and the code's QR code."""
    import segno
    from PIL import Image, ImageDraw

    qr = segno.make_qr(code, error="m")  # a full QR code: phones' camera apps do not read Micro QR
    qr_png = io.BytesIO()
    qr.save(qr_png, kind="png", scale=12, border=4)
    qr_image = Image.open(io.BytesIO(qr_png.getvalue())).convert("RGB")
    body_font, code_font, title_font = _font(34), _font(56, bold=True), _font(40, bold=True)
    body = [row for line in lines for row in _wrapped(line, body_font, WIDTH - 2 * MARGIN)]
    height = 130 + 110 + len(body) * 50 + 40 + qr_image.height + 110
    sheet = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(sheet)
    draw.rectangle((0, 0, WIDTH, 110), fill=GREEN)
    draw.text((MARGIN, 32), title, font=title_font, fill="white")
    draw.text((MARGIN, 140), code, font=code_font, fill=INK)
    y = 240
    for row in body:
        draw.text((MARGIN, y), row, font=body_font, fill=INK)
        y += 50
    y += 20
    sheet.paste(qr_image, ((WIDTH - qr_image.width) // 2, y))
    y += qr_image.height + 20
    footer_width = body_font.getlength(footer)
    draw.text(((WIDTH - footer_width) // 2, y), footer, font=body_font, fill=GREY)
    out = io.BytesIO()
    sheet.save(out, "PNG", optimize=True)
    return out.getvalue()
