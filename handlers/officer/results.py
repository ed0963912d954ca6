"""The officer actions that need more than a yes: asking for documents, recording a result, rejecting.

Each is a form, so it gets the review-and-confirm step, back, cancel and help like every other form.
Submitting checks the officer and the application again: a revocation between two messages counts.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from datetime import date
from typing import Any

from handlers.buttons import Supplement
from handlers.forms import steps as ask
from handlers.forms.answers import Answers
from handlers.forms.matching import Choice
from handlers.forms.steps import Form
from handlers.forms.validators import free_text, score
from handlers.notices.notify import notify_producer, when_told
from handlers.officer.access import checked_application
from handlers.officer.dossier import open_application
from handlers.types import Context, Reply
from messages import format_date, stars, t
from storage import lifecycle
from storage.applications import TransitionNotAllowed, change_status, record_result, request_more
from storage.models import Application
from storage.reference import load_reference

SECTION = "action"
NOTE = free_text(1000, emoji=True)


class _OfficerForm(Form):
    sections = ("action",)

    async def submit(self, ctx: Context, data: dict[str, Any]) -> list[Reply]:
        """Check the officer and the application again, act, and say where the application is now."""
        checked = await checked_application(ctx, data.get("_app"))
        if isinstance(checked, Reply):
            return [checked]
        _, application, _ = checked
        lang = ctx.lang
        try:
            await self.act(ctx, application, data)
        except TransitionNotAllowed:
            return [Reply(t(lang, "officer.not_now", stage=t(lang, f"stage.{application.status}")))]
        done = Reply(t(lang, "officer.done", code=application.code, stage=t(lang, f"stage.{application.status}"),
                       told=await when_told(ctx, application.producer_id)))
        return [done, *await open_application(ctx, application.id)]

    @abstractmethod
    async def act(self, ctx: Context, application: Application, data: dict[str, Any]) -> None:
        """Change the application (raising TransitionNotAllowed when it may not) and notify the producer."""


def _document_choices(answers: Answers) -> list[Choice]:
    return [Choice(d.code, d.label(answers.lang), (d.vi, d.en))
            for d in load_reference().documents_for(answers.get("_group"), answers.get("_kind", "new"))]


class RequestMoreForm(_OfficerForm):
    name = "officer_request_more"
    questions = (ask.multi("request_items", SECTION, choices=_document_choices),
                 ask.text("request_note", SECTION, parse=NOTE))

    async def act(self, ctx: Context, application: Application, data: dict[str, Any]) -> None:
        items = list(data.get("request_items") or [])
        change = await request_more(ctx.session, application, items, data["request_note"],
                                    actor_account_id=ctx.account.id)
        ref = load_reference()
        await notify_producer(ctx, application, change, "notice.needs_more",
                              params=lambda lang: {"note": data["request_note"],
                                                   "items": ", ".join(ref.label(c, lang) for c in items) or "—"},
                              options=((Supplement(application.id).id, "status.supplement"),))


MANDATORY_MET, MANDATORY_FAILED = "met", "failed"


def _mandatory_choices(answers: Answers) -> list[Choice]:
    lang = answers.lang
    return [Choice(MANDATORY_MET, t(lang, "result.mandatory_met"), ("co", "dat", "yes")),
            Choice(MANDATORY_FAILED, t(lang, "result.mandatory_failed"), ("khong", "khong dat", "no"))]


def _central_choices(answers: Answers) -> list[Choice]:
    lang = answers.lang
    return [Choice(lifecycle.FIVE_STARS_CONFIRMED, t(lang, "result.central_five"), ("5", "5 sao", "five")),
            Choice(lifecycle.STAYS_FOUR_STARS, t(lang, "result.central_four"), ("4", "4 sao", "four"))]


def _plan(data: Mapping[str, Any]) -> lifecycle.ResultPlan:
    mandatory = data.get("mandatory_met")
    return lifecycle.plan_result(
        lifecycle.AWAITING_CENTRAL if data.get("_central") else lifecycle.COUNCIL_REVIEW,
        mandatory_met=None if mandatory is None else mandatory == MANDATORY_MET,
        score=data.get("score") if isinstance(data.get("score"), int) else None,
        central_outcome=data.get("central_outcome"), has_certificate=bool(data.get("_valid_until")))


def _issues_certificate(data: Mapping[str, Any]) -> bool:
    plan = _plan(data)
    return plan.stars is not None and not plan.keeps_certificate


def _central(data: Mapping[str, Any]) -> bool:
    return bool(data.get("_central"))


def _council_failed(data: Mapping[str, Any]) -> bool:
    return not _central(data) and data.get("mandatory_met") == MANDATORY_FAILED


def _certificate_follows(data: Mapping[str, Any]) -> bool:
    """The decision is asked once the outcome (the central one, or the council's points) gives stars."""
    decided = "central_outcome" in data if _central(data) else "score" in data and not _council_failed(data)
    return decided and _issues_certificate(data)


_RESULT_STEPS = (
    ask.choice("central_outcome", SECTION, choices=_central_choices, when=_central),
    ask.choice("mandatory_met", SECTION, choices=_mandatory_choices, when=lambda d: not _central(d)),
    ask.text("score", SECTION, parse=score, when=lambda d: not _central(d)),
    ask.text("result_note", SECTION, parse=NOTE, when=_council_failed),
    ask.text("decision_number", SECTION, parse=free_text(64), when=_certificate_follows),
    ask.date("decision_date", SECTION, when=_certificate_follows),
)


class ResultForm(_OfficerForm):
    """The council's record: mandatory criteria, points, and the decision; or, later, the central outcome."""

    name = "officer_result"
    questions = _RESULT_STEPS

    def review_notes(self, lang: str, data: dict[str, Any]) -> list[str]:
        """What confirming will do, before it is done: the stars, until when, and who is told."""
        plan, score = _plan(data), data.get("score")
        if plan.to_status == lifecycle.REJECTED:
            reason = "result.preview_mandatory" if data.get("mandatory_met") == MANDATORY_FAILED else \
                "result.preview_below"
            lines = [t(lang, reason, score=score)]
        elif plan.potential_five:
            lines = [t(lang, "result.preview_potential", stars=stars(plan.stars or 0), score=score)]
        elif data.get("_central"):
            key = "result.preview_five" if plan.stars == 5 else "result.preview_stays_four"
            lines = [t(lang, key, stars=stars(plan.stars or 0))]
        else:
            lines = [t(lang, "result.preview_recognised", stars=stars(plan.stars or 0), score=score)]
        if plan.keeps_certificate:
            lines.append(t(lang, "result.preview_valid_until", date=format_date(date.fromisoformat(
                data["_valid_until"]))))
        elif plan.stars is not None and data.get("decision_date"):
            valid_until = lifecycle.certificate_valid_until(date.fromisoformat(data["decision_date"]))
            lines.append(t(lang, "result.preview_valid_until", date=format_date(valid_until)))
        told = data.get("_told") or {}
        lines.append(t(lang, "result.preview_told", producer=told.get("producer", ""),
                       chats=told.get("chats", 0)) if told.get("chats") else
                     t(lang, "result.preview_nobody", producer=told.get("producer", "")))
        return lines

    async def act(self, ctx: Context, application: Application, data: dict[str, Any]) -> None:
        plan = _plan(data)
        if application.status != (lifecycle.AWAITING_CENTRAL if data.get("_central") else lifecycle.COUNCIL_REVIEW):
            raise TransitionNotAllowed(application.status, plan.to_status)
        issues = _issues_certificate(data)
        decision_date = date.fromisoformat(data["decision_date"]) if issues and data.get("decision_date") else None
        failed = data.get("mandatory_met") == MANDATORY_FAILED
        change, certificate = await record_result(
            ctx.session, application, mandatory_met=None if data.get("_central") else not failed,
            score=data.get("score"), note=data.get("result_note") if failed else None,
            decision_number=(data.get("decision_number") or "") if issues else "", decision_date=decision_date,
            central_outcome=data.get("central_outcome"), actor_account_id=ctx.account.id)
        if certificate is not None:
            key = "notice.potential_five" if certificate.potential_five else \
                "notice.stays_four" if plan.keeps_certificate else "notice.recognised"
            await notify_producer(ctx, application, change, key,
                                  params=lambda _lang: {"stars": stars(certificate.stars),
                                                        "number": certificate.decision_number,
                                                        "date": format_date(certificate.decision_date),
                                                        "valid_until": format_date(certificate.valid_until)})
        elif failed:
            await notify_producer(ctx, application, change, "notice.rejected_mandatory",
                                  params=lambda _lang: {"score": data.get("score"), "note": data["result_note"]})
        else:
            await notify_producer(ctx, application, change, "notice.rejected",
                                  params=lambda lang: {"score": data.get("score"),
                                                       "note": t(lang, "result.below_threshold")})


class RejectForm(_OfficerForm):
    name = "officer_reject"
    questions = (ask.text("reject_reason", SECTION, parse=NOTE),)

    async def act(self, ctx: Context, application: Application, data: dict[str, Any]) -> None:
        change = await change_status(ctx.session, application, lifecycle.REJECTED,
                                     actor_account_id=ctx.account.id, note=data["reject_reason"])
        await notify_producer(ctx, application, change, "notice.rejected",
                              params=lambda _lang: {"score": "—", "note": data["reject_reason"]})


REQUEST_MORE, RESULT, REJECT = RequestMoreForm(), ResultForm(), RejectForm()
