"""Whom to call: the province's OCOP office, shown with help and status (`/vanphong`), edited by an admin."""

from __future__ import annotations

from typing import Any

from handlers.buttons import EditOffice
from handlers.forms import steps as ask
from handlers.forms.matching import find_province
from handlers.forms.steps import Form
from handlers.forms.validators import free_text, office_phone
from handlers.officer.access import acting_officer
from handlers.types import Context, Option, Reply
from messages import format_phone, t
from storage.officers import active_officer
from storage.offices import get_office, save_office
from storage.producers import get_producer
from storage.reference import load_reference


async def province_of(ctx: Context) -> str | None:
    """The province the chat's person belongs to: an officer's, a producer's, or the one they browse."""
    officer = await active_officer(ctx.session, ctx.account, ctx.now)
    if officer is not None:
        return officer.province_code
    producer = await get_producer(ctx.session, ctx.account.producer_id)
    return producer.province_code if producer else ctx.account.browse_province


async def contact_line(ctx: Context, province_code: str | None, lang: str | None = None) -> str | None:
    office = await get_office(ctx.session, province_code)
    if office is None:
        return None
    return t(lang or ctx.lang, "office.contact", name=office.name, phone=format_phone(office.phone),
             address=office.address)


async def whom_to_call(ctx: Context, province_code: str | None = None, lang: str | None = None) -> str:
    """The line that ends every "contact the officer" message: the office of the person's province, or how to
    find it when the province is not known yet (a newcomer at the tax-code step)."""
    province_code = province_code or await province_of(ctx)
    if province_code is None:
        return "\n" + t(lang or ctx.lang, "office.find_hint")
    line = await contact_line(ctx, province_code, lang)
    return f"\n{line}" if line else ""


async def show(ctx: Context, typed_province: str) -> list[Reply]:
    """`/vanphong [province]`: the office of the named province, or of the person's own."""
    lang, ref = ctx.lang, load_reference()
    province = await province_of(ctx)
    if typed_province.strip():
        province = find_province(typed_province)
        if province is None:
            return [Reply(t(lang, "event.province_unknown"))]
    if province is None:
        return [Reply(t(lang, "office.which"))]
    line = await contact_line(ctx, province)
    text = line or t(lang, "office.none", province=ref.label(province, lang))
    officer = await active_officer(ctx.session, ctx.account, ctx.now)
    if officer is None or not officer.is_admin:
        return [Reply(text)]
    return [Reply(text, options=(Option(EditOffice(province).id, t(lang, "office.edit")),), inline=True)]


class OfficeForm(Form):
    name = "office"
    sections = ("office",)
    questions = (ask.text("office_name", "office", parse=free_text(200)),
                 ask.text("office_phone", "office", parse=office_phone),
                 ask.text("office_address", "office", parse=free_text(300)))

    async def submit(self, ctx: Context, data: dict[str, Any]) -> list[Reply]:
        officer = await acting_officer(ctx, admin=True)  # checked again at the confirm
        if isinstance(officer, Reply):
            return [officer]
        province = data["_province"]
        values = {"name": data["office_name"], "phone": data["office_phone"], "address": data["office_address"]}
        await save_office(ctx.session, province, values, actor_account_id=ctx.account.id)
        return [Reply(t(ctx.lang, "office.saved", province=load_reference().label(province, ctx.lang)))]


OFFICE_FORM = OfficeForm()


async def edit_preset(ctx: Context, province_code: str) -> dict[str, Any] | Reply:
    """What the edit form starts from: the office as it is (so the review comes first), or the refusal."""
    officer = await acting_officer(ctx, admin=True)
    if isinstance(officer, Reply):
        return officer
    if load_reference().province(province_code) is None:
        raise ValueError(province_code)
    office = await get_office(ctx.session, province_code)
    preset: dict[str, Any] = {"_province": province_code}
    if office is not None:
        preset |= {"office_name": office.name, "office_phone": office.phone, "office_address": office.address}
    return preset
