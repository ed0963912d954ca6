"""The application status machine and the Decision 148 scoring rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlmodel import col, select

from storage import lifecycle
from storage.applications import TransitionNotAllowed, change_status, record_result
from storage.models import ApplicationStatusChange, AuditEvent, Certificate
from tests.support.seed import add_application, add_producer

PAIRS = [(a, b) for a in lifecycle.STATUSES for b in lifecycle.STATUSES if a != b]


@pytest.mark.parametrize(("from_status", "to_status"), PAIRS)
async def test_every_transition_is_allowed_or_refused(make_runner: Callable, sqlite_url: str, from_status: str,
                                                      to_status: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session)
        _, application = await add_application(session, producer, status=from_status)
        if to_status in lifecycle.TRANSITIONS[from_status]:
            await change_status(session, application, to_status, actor_account_id=None, note="test")
            assert application.status == to_status
            history = (await session.exec(select(ApplicationStatusChange))).one()
            assert (history.from_status, history.to_status) == (from_status, to_status)
            assert (await session.exec(select(AuditEvent))).one().action == f"application.{to_status}"
        else:
            with pytest.raises(TransitionNotAllowed):
                await change_status(session, application, to_status, actor_account_id=None)
            assert application.status == from_status
            assert (await session.exec(select(ApplicationStatusChange))).first() is None


def test_final_states_and_the_usual_path() -> None:
    assert not lifecycle.TRANSITIONS[lifecycle.RECOGNISED] and not lifecycle.TRANSITIONS[lifecycle.REJECTED]
    path = [lifecycle.SUBMITTED, lifecycle.COMMUNE_CHECKED, lifecycle.COUNCIL_REVIEW, lifecycle.AWAITING_CENTRAL,
            lifecycle.RECOGNISED]
    assert all(lifecycle.can_transition(a, b) for a, b in zip(path, path[1:], strict=False))


@pytest.mark.parametrize(("score", "status", "stars"), [(100, "awaiting_central", 4), (90, "awaiting_central", 4),
                                                        (89, "recognised", 4), (70, "recognised", 4),
                                                        (69, "recognised", 3), (50, "recognised", 3),
                                                        (49, "rejected", None), (0, "rejected", None)])
async def test_rule_score_bands_decision_148(make_runner: Callable, sqlite_url: str, score: int, status: str,
                                             stars: int | None) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session)
        _, application = await add_application(session, producer, status="council_review")
        _, certificate = await record_result(session, application, mandatory_met=True, score=score, note=None,
                                             decision_number="15/QĐ-UBND", decision_date=date(2026, 1, 31),
                                             actor_account_id=None)
        assert application.status == status
        assert (certificate.stars if certificate else None) == stars
        if certificate:
            assert certificate.valid_until == date(2029, 1, 31)  # 36 months
            assert certificate.potential_five == (score >= 90)


async def test_rule_mandatory_criterion_failed_is_not_recognised_whatever_the_points(
        make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session)
        _, application = await add_application(session, producer, status="council_review")
        _, certificate = await record_result(session, application, mandatory_met=False, score=95,
                                             note="Chưa có công bố chất lượng", decision_number="15/QĐ-UBND",
                                             decision_date=date(2026, 1, 31), actor_account_id=None)
        assert application.status == "rejected" and certificate is None
        assert application.mandatory_met is False and application.result_note == "Chưa có công bố chất lượng"
        assert application.score == 95


async def test_rule_ninety_points_is_four_stars_potential_five_until_the_centre_decides(
        make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session)
        _, application = await add_application(session, producer, status="council_review")
        _, provincial = await record_result(session, application, mandatory_met=True, score=93, note=None,
                                            decision_number="15/QĐ-UBND", decision_date=date(2026, 1, 31),
                                            actor_account_id=None)
        assert application.status == "awaiting_central"
        assert provincial is not None and provincial.stars == 4 and provincial.potential_five
        _, central = await record_result(session, application, mandatory_met=None, score=None, note=None,
                                         decision_number="781/QĐ-BNNMT", decision_date=date(2026, 8, 31),
                                         central_outcome="five", actor_account_id=None)
        assert application.status == "recognised" and central is not None and central.stars == 5
        assert central.valid_until == date(2029, 8, 31) and application.score == 93
        assert provincial.revoked_at is not None  # the 4★ no longer counts anywhere
        assert [c.stars for c in (await session.exec(select(Certificate).where(
            col(Certificate.revoked_at).is_(None)))).all()] == [5]


async def test_rule_centre_may_keep_four_stars_and_the_province_certificate_stands(
        make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session)
        _, application = await add_application(session, producer, status="council_review")
        await record_result(session, application, mandatory_met=True, score=91, note=None,
                            decision_number="15/QĐ-UBND", decision_date=date(2026, 1, 31), actor_account_id=None)
        _, kept = await record_result(session, application, mandatory_met=None, score=None, note=None,
                                      decision_number="", decision_date=None, central_outcome="four",
                                      actor_account_id=None)
        assert application.status == "recognised"
        assert kept is not None and kept.stars == 4 and not kept.potential_five
        assert kept.valid_until == date(2029, 1, 31)
        assert len((await session.exec(select(Certificate))).all()) == 1


def test_rule_certificate_valid_36_months_and_expiring_90_days_before() -> None:
    assert lifecycle.certificate_valid_until(date(2026, 7, 21)) == date(2029, 7, 21)
    assert lifecycle.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert lifecycle.add_months(date(2024, 2, 29), 36) == date(2027, 2, 28)
    today = date(2026, 11, 22)
    assert lifecycle.shown_stage("recognised", date(2027, 6, 1), today) == "recognised"
    assert lifecycle.shown_stage("recognised", date(2027, 1, 20), today) == "expiring"
    assert lifecycle.shown_stage("recognised", date(2026, 11, 21), today) == "expired"
    assert lifecycle.shown_stage("submitted", None, today) == "submitted"
