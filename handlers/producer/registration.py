"""Registering a product for OCOP evaluation: producer profile (first time), product, dossier, review."""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from handlers.forms.matching import Choice, commune_choices, commune_name, find_province, province_choices, province_key
from handlers.forms.steps import Form, Kind, ParseFn, Step
from handlers.forms.validators import (
    Invalid,
    check_name,
    check_quantity,
    check_tax_code,
    check_text,
    normalize_phone,
)
from handlers.offices import whom_to_call
from handlers.types import Context, Reply
from messages import t
from storage.applications import DossierItem, get_owned_product, submissions_since, submit_application
from storage.producers import get_producer, has_open_application, save_producer_profile, tax_code_taken_by_other
from storage.reference import DossierDocument, Item, load_reference

# Draft key → Producer column. The draft uses producer_name so it never collides with product_name.
PROFILE_COLUMNS = {"entity_type": "entity_type", "producer_name": "name", "tax_code": "tax_code",
                   "representative": "representative", "phone": "phone", "province_code": "province_code",
                   "commune": "commune_code", "address": "address"}
DOC_PREFIX = "doc:"


def _choices(items: tuple[Item, ...], lang: str) -> list[Choice]:
    return [Choice(i.code, i.label(lang), (i.vi, i.en, *i.aliases)) for i in items]


def _province_choices(lang: str, _data: dict[str, Any]) -> list[Choice]:
    return province_choices()


def _province_spelled(text: str, _data: dict[str, Any]) -> str:
    """TPHCM, BR-VT, Kontum, Đắc Nông…: spellings the list's words do not catch."""
    found = find_province(text)
    if found is None:
        raise Invalid("error.choice_unknown")
    return found


def _search_communes(typed: str, data: dict[str, Any]) -> list[Choice]:
    """The communes and wards of the province chosen just before, matching part of a name."""
    return commune_choices([data.get("province_code")], typed)


def _show_commune(_lang: str, value: Any, _data: dict[str, Any]) -> str:
    return commune_name(value)


def _subgroup_choices(lang: str, data: dict[str, Any]) -> list[Choice]:
    group = load_reference().group(data.get("group"))
    return _choices(group.subgroups, lang) if group else []


def _category_choices(lang: str, data: dict[str, Any]) -> list[Choice]:
    return _choices(load_reference().categories_of(data.get("group"), data.get("subgroup")), lang)


def asks_category(data: dict[str, Any]) -> bool:
    """The phân nhóm is asked only where there is a choice: a nhóm with none or one has nothing to pick."""
    return len(load_reference().categories_of(data.get("group"), data.get("subgroup"))) > 1


def category_of(data: dict[str, Any]) -> str | None:
    if asks_category(data):
        return data.get("category")
    only = load_reference().categories_of(data.get("group"), data.get("subgroup"))
    return only[0].code if only else None


def classification_steps(steps: list[Step], data: dict[str, Any]) -> list[Step]:
    return [s for s in steps if s.id != "category" or asks_category(data)]


async def _check_tax_code_free(ctx: Context, value: str, data: dict[str, Any]) -> None:
    if await tax_code_taken_by_other(ctx.session, value, ctx.account.producer_id):
        raise Invalid("error.tax_code_taken", {"office": await whom_to_call(ctx, data.get("province_code"))})


async def _check_province_kept(ctx: Context, value: str, _data: dict[str, Any]) -> None:
    """A producer with an application on its way stays in its province: the officers there hold the dossier."""
    producer = await get_producer(ctx.session, ctx.account.producer_id)
    if producer is not None and producer.province_code != value and await has_open_application(ctx.session,
                                                                                                producer.id):
        province = load_reference().province(producer.province_code)
        raise Invalid("error.province_locked", {"province": province.vi if province else producer.province_code,
                                                "office": await whom_to_call(ctx, producer.province_code)})


def _text(max_len: int, *, allow_emoji: bool = False) -> ParseFn:
    return lambda text, _data: check_text(text, max_len=max_len, allow_emoji=allow_emoji)


def _step(id: str, kind: Kind, section: str, **kw: Any) -> Step:
    """A step whose message keys follow the convention ask.<id>, field.<id>, help.<id>."""
    return Step(id=id, kind=kind, section=section, prompt=f"ask.{id}", label=f"field.{id}",
                help=f"help.{id}", **kw)


@cache
def _fixed_steps() -> tuple[list[Step], list[Step]]:
    ref = load_reference()
    profile = [
        _step("entity_type", Kind.CHOICE, "profile", choices=lambda lang, _d: _choices(ref.entity_types, lang)),
        _step("producer_name", Kind.TEXT, "profile", parse=lambda text, _d: check_name(text)),
        _step("tax_code", Kind.TEXT, "profile", check=_check_tax_code_free,
              parse=lambda text, d: check_tax_code(text, household=d.get("entity_type") == "household")),
        _step("representative", Kind.TEXT, "profile", parse=lambda text, _d: check_name(text)),
        _step("phone", Kind.PHONE, "profile", parse=lambda text, _d: normalize_phone(text)),
        _step("province_code", Kind.CHOICE, "profile", choices=_province_choices, parse=_province_spelled,
              check=_check_province_kept, clears=("commune",)),
        _step("commune", Kind.SEARCH, "profile", search=_search_communes, show=_show_commune),
        _step("address", Kind.TEXT, "profile", parse=_text(300)),
    ]
    product = [
        _step("product_name", Kind.TEXT, "product", parse=lambda text, _d: check_name(text)),
        _step("group", Kind.CHOICE, "product", choices=lambda lang, _d: _choices(ref.groups, lang),
              clears=("subgroup", "category", "doc")),
        _step("subgroup", Kind.CHOICE, "product", choices=_subgroup_choices, clears=("category",)),
        _step("category", Kind.CHOICE, "product", choices=_category_choices),
        _step("description", Kind.TEXT, "product", parse=_text(1000, allow_emoji=True)),
        _step("material_origin", Kind.CHOICE, "product",
              choices=lambda lang, _d: _choices(ref.material_origins, lang)),
        _step("yearly_output", Kind.TEXT, "product", parse=lambda text, _d: check_quantity(text)),
        _step("certifications", Kind.MULTI, "product",
              choices=lambda lang, _d: _choices(ref.certifications, lang)),
        _step("photos", Kind.FILES, "product", optional=True),
    ]
    return profile, product


def document_step(doc: DossierDocument, *, optional: bool) -> Step:
    """A dossier item; `optional` is the document's own unless an officer asked for it (then it is required)."""
    return Step(id=DOC_PREFIX + doc.code, kind=Kind.DOCUMENT, section="dossier", prompt="ask.document",
                label="field.document", help="help.document", optional=optional,
                prompt_params=lambda lang, _d: {"document": doc.label(lang),
                                                "optional": " " + t(lang, "form.optional") if optional else ""})


def document_steps(group_code: str | None, kind: str = "new") -> list[Step]:
    return [document_step(doc, optional=doc.optional) for doc in load_reference().documents_for(group_code, kind)]


async def profile_answers(ctx: Context) -> dict[str, Any]:
    """What the chat's producer record already holds, as answers; an empty field (an imported record without a
    tax code, a claim an officer refused) stays unanswered so it is asked, never submitted empty."""
    producer = await get_producer(ctx.session, ctx.account.producer_id)
    if producer is None:
        return {}
    answers = {key: value for key, column in PROFILE_COLUMNS.items()
               if (value := getattr(producer, column)) is not None}
    if "commune" in answers:
        answers["commune"] = str(answers["commune"])  # a choice's id, as the commune step stores it
    return answers


class RegistrationForm(Form):
    name = "register"
    kind: ClassVar[str] = "new"
    sections: ClassVar[tuple[str, ...]] = ("profile", "product", "dossier")
    review_title, submit_label, cancel_prompt = "review.title", "nav.submit", "form.cancel_confirm"

    def steps(self, data: dict[str, Any]) -> list[Step]:
        profile, product = _fixed_steps()
        # The dossier depends on the product group, so it is only asked once the group is known.
        return classification_steps(profile + product, data) + \
            (document_steps(data["group"], self.kind) if data.get("group") else [])

    async def initial_data(self, ctx: Context) -> dict[str, Any]:
        """A new draft; a known producer's profile is filled in so only the product is asked."""
        return await profile_answers(ctx)

    async def photos(self, ctx: Context, data: dict[str, Any]) -> DossierItem:
        files = tuple(f["id"] for f in data.get("photos") or [])
        return DossierItem("product-photo", "upload" if files else "skipped", files)

    async def after_answer(self, ctx: Context, step: Step, data: dict[str, Any], typed: str) -> list[Reply]:
        notes: list[Reply] = []
        if step.id == "province_code":
            notes += _former_province_note(ctx.lang, data, typed)
        if step.section == "profile" and all(k in data for k in PROFILE_COLUMNS):
            # Saved as soon as it is complete, so a producer who stops here is not asked again.
            try:
                await _check_tax_code_free(ctx, data["tax_code"], data)
            except Invalid as taken:  # someone saved this tax code after it was typed here: ask for it again
                del data["tax_code"]
                return [*notes, Reply(t(ctx.lang, taken.key))]
            profile = {column: data[key] for key, column in PROFILE_COLUMNS.items()}
            first_time = ctx.account.producer_id is None
            await save_producer_profile(ctx.session, ctx.account, profile)
            if first_time:
                notes.append(Reply(t(ctx.lang, "register.profile_saved")))
        return notes

    async def submit(self, ctx: Context, data: dict[str, Any]) -> list[Reply]:
        lang = ctx.lang
        today = ctx.now.astimezone(ZoneInfo(ctx.timezone)).replace(hour=0, minute=0, second=0, microsecond=0)
        limit = ctx.quotas.submissions_per_day
        if ctx.account.producer_id and await submissions_since(ctx.session, ctx.account.producer_id, today) >= limit:
            raise Invalid("register.daily_limit", {"max": limit})  # kept at the review for tomorrow
        output = data.get("yearly_output") or {}
        product = {
            "name": data["product_name"], "group_code": data["group"], "subgroup_code": data.get("subgroup"),
            "category_code": category_of(data),
            "description": data.get("description"), "material_origin": data.get("material_origin"),
            "yearly_output": output.get("amount"), "output_unit": output.get("unit"),
            "certifications": list(data.get("certifications") or []),
        }
        dossier = [await self.photos(ctx, data)]
        on_paper: list[str] = []
        for step in document_steps(data["group"], self.kind):
            value = data.get(step.id)
            code = step.id.removeprefix(DOC_PREFIX)
            if value is None:
                dossier.append(DossierItem(code, "skipped"))
            elif value["delivery"] == "in_person":
                dossier.append(DossierItem(code, "in_person"))
                on_paper.append(load_reference().label(code, lang))
            else:
                dossier.append(DossierItem(code, "upload", tuple(f["id"] for f in value["files"])))
        previous = None
        if data.get("_reeval_of") is not None:
            previous = await get_owned_product(ctx.session, ctx.account.producer_id, data["_reeval_of"])
            if previous is None:
                return [Reply(t(lang, "reevaluate.not_yours"))]
        application = await submit_application(ctx.session, ctx.account, product, dossier, reevaluate=previous)
        # Now that there is something to be told about, a page may ask (once, politely) to send notifications.
        replies = [Reply(t(lang, "register.submitted", code=application.code, product=data["product_name"]),
                         invite_notifications=True)]
        if on_paper:
            replies.append(Reply(t(lang, "register.bring_on_paper",
                                   documents="\n".join(f"• {name}" for name in on_paper))))
        replies.append(Reply(t(lang, "register.next_steps")))
        return replies


def _former_province_note(lang: str, data: dict[str, Any], typed: str) -> list[Reply]:
    """Typing a province merged in 2025 picks the new one; say so, so nobody is surprised."""
    province = load_reference().province(data.get("province_code"))
    if not typed or province is None:
        return []
    old = next((f for f in province.former if province_key(f) == province_key(typed)), None)  # "Bắc Cạn" too
    return [Reply(t(lang, "register.former_province", old=old, new=province.vi))] if old else []


REGISTRATION = RegistrationForm()
