"""Re-evaluating a recognised product whose certificate runs out (Decision 148: valid 36 months).

The draft starts from what is on record (the producer, the product, the certificate held), asks what has
changed since recognition and whatever the record lacks, then the dossier again with the report on the
years since recognition. A step holding nothing is asked: nothing is submitted empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from typing import Any

from handlers.forms.answers import Answers
from handlers.forms.matching import Choice
from handlers.forms.steps import Step, multi
from handlers.producer.registration import (
    RegistrationForm,
    _fixed_steps,
    document_steps,
    profile_answers,
)
from handlers.types import Context, Reply
from messages import certificate_stars, format_date, t
from storage.applications import (
    DossierItem,
    get_owned_product,
    latest_certificate,
    latest_photos,
    open_application_of_product,
)

CHANGES = "changes"
# What a producer may say has changed since recognition, and the answers each one asks again.
CHANGEABLE: dict[str, tuple[str, ...]] = {
    "contact": ("representative", "phone", "commune", "address"),
    "product_name": ("product_name",),
    "description": ("description",),
    "material_origin": ("material_origin",),
    "yearly_output": ("yearly_output",),
    "certifications": ("certifications",),
    "photos": ("photos",),
}
PRODUCT_COLUMNS = {"product_name": "name", "group": "group_code", "subgroup": "subgroup_code",
                   "category": "category_code",
                   "description": "description", "material_origin": "material_origin",
                   "certifications": "certifications"}


def _change_choices(answers: Answers) -> list[Choice]:
    return [Choice(item, t(answers.lang, f"reevaluate.change.{item}")) for item in CHANGEABLE]


def _show_changes(value: list[str], answers: Answers) -> str:
    lang = answers.lang
    return ", ".join(t(lang, f"reevaluate.change.{item}") for item in value) or t(lang, "reevaluate.nothing_changed")


@cache
def _changes_step() -> Step:
    return multi(CHANGES, CHANGES, choices=_change_choices, show=_show_changes)


def _reopened(data: Mapping[str, Any]) -> set[str]:
    return {key for item in data.get(CHANGES) or () for key in CHANGEABLE.get(item, ())}


class ReevaluationForm(RegistrationForm):
    name = "reevaluate"
    kind = "reevaluation"
    sections = (CHANGES, "profile", "product", "dossier")
    review_title = "reevaluate.review_title"

    def steps(self, data: Mapping[str, Any]) -> list[Step]:
        profile, product = _fixed_steps()
        asked = set(data.get("_missing") or ()) | _reopened(data)
        steps = [_changes_step(), *(s for s in profile + product if s.id in asked)]
        return steps + (document_steps(data["group"], self.kind) if data.get("group") else [])

    async def initial_data(self, ctx: Context) -> dict[str, Any]:
        return {}  # the preset holds the whole record

    async def after_answer(self, ctx: Context, step: Step, data: dict[str, Any], typed: str) -> list[Reply]:
        if step.id != CHANGES:
            return await super().after_answer(ctx, step, data, typed)
        # A changed item is asked afresh; one no longer marked as changed gets its recorded value back.
        was: dict[str, Any] = data.setdefault("_was", {})
        reopened = _reopened(data)
        for key in (k for keys in CHANGEABLE.values() for k in keys):
            if key in reopened and key not in was:
                was[key] = data.pop(key, None)
            elif key not in reopened and key in was:
                data[key] = was.pop(key)
        return []

    async def photos(self, ctx: Context, data: dict[str, Any]) -> DossierItem:
        """New photos when the producer said they changed; otherwise those the province already has."""
        if "photos" in _reopened(data):
            return await super().photos(ctx, data)
        files = await latest_photos(ctx.session, data["_reeval_of"])
        return DossierItem("product-photo", "upload" if files else "skipped", files)

    def review_notes(self, lang: str, data: dict[str, Any]) -> list[str]:
        held = data.get("_certificate")
        lines = [t(lang, "reevaluate.product", product=data.get("product_name") or "")]
        return lines + ([current_certificate_line(lang, held)] if held else [])


REEVALUATION = ReevaluationForm()


def current_certificate_line(lang: str, held: dict[str, Any]) -> str:
    valid_until = date.fromisoformat(held["valid_until"])
    return t(lang, "reevaluate.current_certificate", stars=certificate_stars(lang, held["stars"], held["potential"]),
             number=held["number"], date=format_date(valid_until))


async def reevaluation_preset(ctx: Context, product_id: int) -> dict[str, Any] | Reply:
    """The draft of a re-evaluation holding the record, or why there is none to start."""
    lang = ctx.lang
    product = await get_owned_product(ctx.session, ctx.account.producer_id, product_id)
    if product is None:
        return Reply(t(lang, "reevaluate.not_yours"))
    assert product.id is not None
    if (open_one := await open_application_of_product(ctx.session, product.id)) is not None:
        return Reply(t(lang, "reevaluate.already_open", product=product.name, code=open_one.code))
    data = await profile_answers(ctx)
    data |= {key: value for key, column in PRODUCT_COLUMNS.items()
             if (value := getattr(product, column)) is not None}
    if product.yearly_output:
        data["yearly_output"] = {"amount": product.yearly_output, "unit": product.output_unit}
    profile, steps = _fixed_steps()
    # Whatever the record lacks (an imported producer has no address, an old product no sub-group) is asked.
    data["_missing"] = [s.id for s in profile + steps if s.applies(data) and not s.optional and s.id not in data]
    data["_reeval_of"] = product.id
    certificate = await latest_certificate(ctx.session, product.id)
    if certificate is not None:
        data["_certificate"] = {"stars": certificate.stars, "potential": certificate.potential_five,
                                "number": certificate.decision_number,
                                "valid_until": certificate.valid_until.isoformat()}
    return data


def intro(lang: str, data: dict[str, Any]) -> Reply:
    held = data.get("_certificate")
    lines = [t(lang, "reevaluate.intro", product=data["product_name"])]
    if held:
        lines.append(current_certificate_line(lang, held))
    lines.append(t(lang, "reevaluate.intro_steps"))
    return Reply("\n".join(lines))

