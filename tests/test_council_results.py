"""Results as provincial councils record them (Decision 148/QĐ-TTg, amended by 1489/QĐ-TTg), end to end in chats.

An officer records the council's minutes: the mandatory criteria, the points, the decision. Before confirming, the
review says what will happen. The producer sees it on their status card and in the notice; anyone sees it in /tracuu.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import col, select

from storage.models import Application, Certificate, ChatAccount
from tests.support.catalog import says
from tests.support.fakes import Chat
from tests.support.seed import add_application, add_producer, invite


async def _council_review(runner, name: str) -> tuple[int, Chat, Chat]:  # noqa: ANN001
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session, name="HTX Chè Shan tuyết Tà Xùa")
        _, application = await add_application(session, producer, name=name, status="council_review")
        session.add(ChatAccount(channel="web", chat_id="producer-1", producer_id=producer.id))
    officer = Chat(runner, user="officer-1")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.say("/hoso")
    await officer.tap(f"app:open:{application.id}")
    return application.id, officer, Chat(runner, user="producer-1")


async def test_rule_ninety_points_recognised_by_the_province_as_four_stars_potential_five(
        make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    app_id, officer, producer = await _council_review(runner, "Chè Shan tuyết cổ thụ")
    await officer.tap(f"app:act:{app_id}:record_result")
    await officer.say("đạt")  # typed, not tapped
    await officer.say("90 điểm")
    await officer.say("215/QĐ-UBND")
    await officer.say("20/11/2026")
    review = officer.text
    for shown in ("tỉnh công nhận ★★★★☆ “tiềm năng 5 sao” (90 điểm)", "chờ Hội đồng Trung ương",
                  "hiệu lực đến 20/11/2029", "Báo cho: HTX Chè Shan tuyết Tà Xùa (1 cuộc trò chuyện)"):
        assert shown in review, shown
    await officer.tap("nav:submit")
    assert says(officer.text, "stage.awaiting_central")
    assert f"app:open:{app_id}" in officer.option_ids or "app:act" in " ".join(officer.option_ids)

    await producer.say("/trangthai")
    card = producer.text
    for shown in ("được tỉnh công nhận OCOP ★★★★☆ “tiềm năng 5 sao”", "★★★★☆ — tiềm năng 5★ (chờ Trung ương)",
                  "215/QĐ-UBND ngày 20/11/2026", "Hiệu lực đến: 20/11/2029"):
        assert shown in card, shown
    stranger = Chat(runner, user="stranger")
    await stranger.say("/tracuu che shan tuyet")
    assert "★★★★☆ — tiềm năng 5★" in stranger.text and "✅" in stranger.text

    # Months later the central council recognises 5★: a new certificate, and the 4★ no longer counts.
    await officer.say("/hoso")
    await officer.tap(f"app:open:{app_id}")
    await officer.tap(f"app:act:{app_id}:record_result")
    assert says(officer.text, "ask.central_outcome") and "mandatory" not in officer.text
    await officer.say("1")
    await officer.say("781/QĐ-BNNMT")
    await officer.say("15/5/2026")  # before the province's decision is allowed: the officer types what is on paper
    assert "★★★★★" in officer.text and says(officer.text, "result.preview_five")
    await officer.tap("nav:submit")
    await producer.say("/trangthai")
    assert says(producer.text, "status.stars", stars="★★★★★") and "781/QĐ-BNNMT" in producer.text
    await stranger.say("/tracuu che shan tuyet")
    assert "★★★★★" in stranger.text and "★★★★☆" not in stranger.text
    async with runner.sessions() as session:
        live = (await session.exec(select(Certificate).where(col(Certificate.revoked_at).is_(None)))).all()
        assert [(c.stars, c.potential_five) for c in live] == [(5, False)]


async def test_rule_mandatory_criterion_failed_is_not_recognised_whatever_the_points_end_to_end(
        make_runner: Callable, sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    app_id, officer, producer = await _council_review(runner, "Rượu ngô men lá")
    await officer.tap(f"app:act:{app_id}:record_result")
    await officer.say("không đạt")
    await officer.say("85")
    await officer.say("Chưa có giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm")
    review = officer.text
    assert says(review, "result.preview_mandatory", score=85)
    assert "Số quyết định" not in review  # nothing to decide: no certificate is issued
    await officer.tap("nav:submit")
    assert "Không đạt" in officer.text
    await producer.say("/trangthai")
    assert says(producer.text, "notice.rejected_mandatory", score=85)
    assert "an toàn thực phẩm" in producer.text
    async with runner.sessions() as session:
        stored = await session.get(Application, app_id)
        assert stored is not None and stored.status == "rejected" and stored.mandatory_met is False
        assert not (await session.exec(select(Certificate))).all()


async def test_changing_the_mandatory_answer_in_the_review_drops_the_decision(make_runner: Callable,
                                                                               sqlite_url: str) -> None:
    runner = await make_runner(sqlite_url)
    app_id, officer, _ = await _council_review(runner, "Mật ong bạc hà")
    await officer.tap(f"app:act:{app_id}:record_result")
    await officer.say("1")
    await officer.say("75")
    await officer.say("301/QĐ-UBND")
    await officer.say("hôm qua")
    assert says(officer.text, "result.preview_recognised", stars="★★★★☆", score=75)
    await officer.say("sửa 1")
    await officer.say("2")  # the minutes say a mandatory criterion failed
    await officer.say("Nhãn chưa đúng quy định")
    assert says(officer.text, "result.preview_mandatory") and "301/QĐ-UBND" not in officer.text
    await officer.tap("nav:submit")
    async with runner.sessions() as session:
        assert not (await session.exec(select(Certificate))).all()
