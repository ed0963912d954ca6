"""The officer actions that need more than a yes: asking for documents, recording a result, rejecting.

Each is a form, so it gets the review-and-confirm step, back, cancel and help like every other form.
Submitting checks the officer and the application again: a revocation between two messages counts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from handlers.form_steps import Kind, Step
from handlers.matching import Choice
from handlers.notify import notify_producer
from handlers.officer_access import checked_application
from handlers.types import Context, Reply
from handlers.validators import check_date, check_score, check_text
from messages import format_date, stars, t
from storage import lifecycle
from storage.applications import TransitionNotAllowed, change_status, record_result, request_more
from storage.models import Application
from storage.reference import load_reference


def _step(id: str, kind: Kind, **kw: Any) -> Step:
    return Step(id=id, kind=kind, section="action", prompt=f"ask.{id}", label=f"field.{id}", help=f"help.{id}", **kw)


def _note(text: str, _data: dict[str, Any]) -> str:
    return check_text(text, max_len=1000, allow_emoji=True)


class _OfficerForm(ABC):
    sections = ("action",)
    review_title, submit_label, cancel_prompt = "officer.review_title", "nav.confirm", "officer.cancel_confirm"

    async def initial_data(self, ctx: Context) -> dict[str, Any]:
        return {}

    async def after_answer(self, ctx: Context, step: Step, data: dict[str, Any], typed: str) -> list[Reply]:
        return []

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
        return [Reply(t(lang, "officer.done", code=application.code, stage=t(lang, f"stage.{application.status}")))]

    @abstractmethod
    async def act(self, ctx: Context, application: Application, data: dict[str, Any]) -> None:
        """Change the application (raising TransitionNotAllowed when it may not) and notify the producer."""


def _document_choices(lang: str, data: dict[str, Any]) -> list[Choice]:
    return [Choice(d.code, d.label(lang), (d.vi, d.en)) for d in load_reference().documents_for(data.get("_group"))]


class RequestMoreForm(_OfficerForm):
    name = "officer_request_more"

    def steps(self, data: dict[str, Any]) -> list[Step]:
        return [_step("request_items", Kind.MULTI, choices=_document_choices),
                _step("request_note", Kind.TEXT, parse=_note)]

    async def act(self, ctx: Context, application: Application, data: dict[str, Any]) -> None:
        items = list(data.get("request_items") or [])
        change = await request_more(ctx.session, application, items, data["request_note"],
                                    actor_account_id=ctx.account.id)  # type: ignore[arg-type]
        ref = load_reference()
        await notify_producer(ctx, application, change, "notice.needs_more",
                              params=lambda lang: {"note": data["request_note"],
                                                   "items": ", ".join(ref.label(c, lang) for c in items) or "—"},
                              options=((f"supp:{application.id}", "status.supplement"),))


def _needs_decision(data: dict[str, Any]) -> bool:
    """A decision is recorded when the product is recognised now: 3★/4★ by the province, 5★ centrally."""
    score = data.get("score")
    band = lifecycle.load_rules().band_for(score) if isinstance(score, int) else None
    return band is not None and (band.recognised_by == "province" or data.get("_central") is True)


class ResultForm(_OfficerForm):
    name = "officer_result"

    def steps(self, data: dict[str, Any]) -> list[Step]:
        steps = [_step("score", Kind.TEXT, parse=lambda text, _d: check_score(text))]
        if _needs_decision(data):
            steps += [_step("decision_number", Kind.TEXT, parse=lambda text, _d: check_text(text, max_len=64)),
                      _step("decision_date", Kind.TEXT, parse=lambda text, d: check_date(
                          text, latest=date.fromisoformat(d["_today"])).isoformat(),
                            show=lambda _lang, value, _d: format_date(date.fromisoformat(value)))]
        return steps

    async def initial_data(self, ctx: Context) -> dict[str, Any]:
        return {"_today": _today(ctx)}

    async def act(self, ctx: Context, application: Application, data: dict[str, Any]) -> None:
        decision_date = date.fromisoformat(data["decision_date"]) if data.get("decision_date") else None
        change, certificate = await record_result(
            ctx.session, application, score=data["score"], decision_number=data.get("decision_number") or "",
            decision_date=decision_date, actor_account_id=ctx.account.id)  # type: ignore[arg-type]
        if certificate is not None:
            await notify_producer(ctx, application, change, "notice.recognised",
                                  params=lambda _lang: {"stars": stars(certificate.stars),
                                                        "number": certificate.decision_number,
                                                        "date": format_date(certificate.decision_date),
                                                        "valid_until": format_date(certificate.valid_until)})
        else:
            await notify_producer(ctx, application, change, f"notice.{application.status}",
                                  params=lambda _lang: {"score": data["score"], "note": ""})


class RejectForm(_OfficerForm):
    name = "officer_reject"

    def steps(self, data: dict[str, Any]) -> list[Step]:
        return [_step("reject_reason", Kind.TEXT, parse=_note)]

    async def act(self, ctx: Context, application: Application, data: dict[str, Any]) -> None:
        change = await change_status(ctx.session, application, lifecycle.REJECTED,
                                     actor_account_id=ctx.account.id, note=data["reject_reason"])
        await notify_producer(ctx, application, change, "notice.rejected",
                              params=lambda _lang: {"score": "—", "note": data["reject_reason"]})


def _today(ctx: Context) -> str:
    return ctx.now.astimezone(ZoneInfo(ctx.timezone)).date().isoformat()


REQUEST_MORE, RESULT, REJECT = RequestMoreForm(), ResultForm(), RejectForm()
