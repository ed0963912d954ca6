"""Registering a product for OCOP evaluation: producer profile (first time), product, dossier, review."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from handlers.forms.answers import Answers
from handlers.forms.matching import Choice, commune_choices, commune_name, find_province, province_choices, province_key
from handlers.forms.steps import ChoicesFn, Form, Step, asked, choice, document, files, multi, phone, search, text
from handlers.forms.validators import Invalid, a_name, a_person, free_text, quantity, tax_code
from handlers.offices import whom_to_call
from handlers.producer.receipt import receipt_reply
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


def _province_choices(_answers: Answers) -> list[Choice]:
    return province_choices()


def _province_spelled(text: str, _answers: Answers) -> str:
    """TPHCM, BR-VT, Kontum, Đắc Nông…: spellings the list's words do not catch."""
    found = find_province(text)
    if found is None:
        raise Invalid("error.choice_unknown")
    return found


def _search_communes(typed: str, answers: Answers) -> list[Choice]:
    """The communes and wards of the province chosen just before, matching part of a name."""
    return commune_choices([answers.get("province_code")], typed)


def _show_commune(value: Any, _answers: Answers) -> str:
    return commune_name(value)


def _listed(items: tuple[Item, ...]) -> ChoicesFn:
    return lambda answers: _choices(items, answers.lang)


def _subgroup_choices(answers: Answers) -> list[Choice]:
    group = load_reference().group(answers.get("group"))
    return _choices(group.subgroups, answers.lang) if group else []


def _category_choices(answers: Answers) -> list[Choice]:
    return _choices(load_reference().categories_of(answers.get("group"), answers.get("subgroup")), answers.lang)


def asks_category(data: Mapping[str, Any]) -> bool:
    """The phân nhóm is asked only where there is a choice: a nhóm with none or one has nothing to pick."""
    return len(load_reference().categories_of(data.get("group"), data.get("subgroup"))) > 1


def category_of(data: dict[str, Any]) -> str | None:
    if asks_category(data):
        return data.get("category")
    only = load_reference().categories_of(data.get("group"), data.get("subgroup"))
    return only[0].code if only else None


async def _check_tax_code_free(ctx: Context, value: str, answers: Mapping[str, Any]) -> None:
    if await tax_code_taken_by_other(ctx.session, value, ctx.account.producer_id):
        raise Invalid("error.tax_code_taken", {"office": await whom_to_call(ctx, answers.get("province_code"))})


async def _check_province_kept(ctx: Context, value: str, _answers: Answers) -> None:
    """A producer with an application on its way stays in its province: the officers there hold the dossier."""
    producer = await get_producer(ctx.session, ctx.account.producer_id)
    if producer is not None and producer.province_code != value and await has_open_application(ctx.session,
                                                                                                producer.id):
        province = load_reference().province(producer.province_code)
        raise Invalid("error.province_locked", {"province": province.vi if province else producer.province_code,
                                                "office": await whom_to_call(ctx, producer.province_code)})


def _by_entity_type(answers: Answers) -> dict[str, Any]:
    """An example name and the tax-code hint that fit the kind of producer chosen: a household is told at once
    that the owner's 12-digit citizen number or its registration number will do."""
    kind = answers.get("entity_type") or "cooperative"
    return {"example": t(answers.lang, f"example.producer_name_{kind}"),
            "hint": t(answers.lang, f"example.tax_code_{'household' if kind == 'household' else 'business'}")}


@cache
def _fixed_steps() -> tuple[list[Step], list[Step]]:
    ref = load_reference()
    profile = [
        choice("entity_type", "profile", choices=_listed(ref.entity_types)),
        text("producer_name", "profile", parse=a_name, prompt_params=_by_entity_type),
        text("tax_code", "profile", parse=tax_code, check=_check_tax_code_free, prompt_params=_by_entity_type),
        text("representative", "profile", parse=a_person),
        phone("phone", "profile"),
        choice("province_code", "profile", choices=_province_choices, parse=_province_spelled,
               check=_check_province_kept, clears=("commune",)),
        search("commune", "profile", find=_search_communes, show=_show_commune),
        text("address", "profile", parse=free_text(300)),
    ]
    product = [
        text("product_name", "product", parse=a_name),
        choice("group", "product", choices=_listed(ref.groups), clears=("subgroup", "category", "doc")),
        choice("subgroup", "product", choices=_subgroup_choices, clears=("category",)),
        # The phân nhóm is asked only where there is a choice.
        choice("category", "product", choices=_category_choices, when=asks_category),
        text("description", "product", parse=free_text(1000, emoji=True)),
        choice("material_origin", "product", choices=_listed(ref.material_origins)),
        text("yearly_output", "product", parse=quantity),
        multi("certifications", "product", choices=_listed(ref.certifications)),
        files("photos", "product", optional=True),
    ]
    return profile, product


def document_step(doc: DossierDocument, *, optional: bool) -> Step:
    """A dossier item; `optional` is the document's own unless an officer asked for it (then it is required)."""
    return document(DOC_PREFIX + doc.code, "dossier", title=doc.label, optional=optional)


def dossier_items(steps: Iterable[Step], data: Mapping[str, Any]) -> list[DossierItem]:
    """Each dossier step's answer as the record keeps it: skipped, handed in on paper, or the files sent."""
    items = []
    for step in steps:
        value, code = data.get(step.id), step.id.removeprefix(DOC_PREFIX)
        if value is None:
            items.append(DossierItem(code, "skipped"))
        elif value["delivery"] == "in_person":
            items.append(DossierItem(code, "in_person"))
        else:
            items.append(DossierItem(code, "upload", tuple(f["id"] for f in value["files"])))
    return items


@cache
def document_steps(group_code: str | None, kind: str = "new") -> list[Step]:
    """Built once per group and kind (they were rebuilt several times an update); callers copy, never change it."""
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

    def steps(self, data: Mapping[str, Any]) -> list[Step]:
        profile, product = _fixed_steps()
        # The dossier depends on the product group, so it is only asked once the group is known.
        return profile + product + (document_steps(data["group"], self.kind) if data.get("group") else [])

    def expected_count(self, data: Mapping[str, Any]) -> int:
        """Before the product group is known its dossier is not: counted as a food product's (the commonest), so the
        count does not jump from "Bước 10/16" to "11/24" once the group is chosen (another group's may differ)."""
        asked_now = len(asked(self, data))
        category = 0 if data.get("subgroup") else 1  # a phân nhóm, asked for most nhóm, is known with the nhóm
        if data.get("group"):
            return asked_now + category
        return asked_now + category + len(document_steps("food", self.kind))

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
        documents = dossier_items(document_steps(data["group"], self.kind), data)
        dossier = [await self.photos(ctx, data), *documents]
        on_paper = [load_reference().label(item.doc_code, lang) for item in documents if item.delivery == "in_person"]
        previous = None
        if data.get("_reeval_of") is not None:
            previous = await get_owned_product(ctx.session, ctx.account.producer_id, data["_reeval_of"])
            if previous is None:
                return [Reply(t(lang, "reevaluate.not_yours"))]
        application = await submit_application(ctx.session, ctx.account, product, dossier, reevaluate=previous)
        replies = [Reply(t(lang, "register.submitted", code=application.code, product=data["product_name"]))]
        if on_paper:
            replies.append(Reply(t(lang, "register.bring_on_paper",
                                   documents="\n".join(f"• {name}" for name in on_paper))))
        replies.append(Reply(t(lang, "register.next_steps")))
        # The receipt last, so it is what stays on screen; a web page may then ask (once) to send notifications.
        return [*replies, receipt_reply(ctx, application, data["product_name"])]


def _former_province_note(lang: str, data: dict[str, Any], typed: str) -> list[Reply]:
    """Typing a province merged in 2025 picks the new one; say so, so nobody is surprised."""
    province = load_reference().province(data.get("province_code"))
    if not typed or province is None:
        return []
    old = next((f for f in province.former if province_key(f) == province_key(typed)), None)  # "Bắc Cạn" too
    return [Reply(t(lang, "register.former_province", old=old, new=province.vi))] if old else []


REGISTRATION = RegistrationForm()
