"""Re-evaluation as its own flow, end to end: a product from the province's imported list, its producer linked
in the chat, invited by the officer, re-evaluated without retyping what is on record, then decided again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlmodel import col, select

from bot.cli.product_import import validated_rows
from messages import format_date
from storage.lifecycle import add_months, certificate_valid_until
from storage.models import Application, ApplicationDocument, Certificate, Producer, Product
from storage.product_list import load_existing, upsert_listed_products
from tests.support.catalog import says
from tests.support.fakes import PDF, Chat
from tests.support.seed import invite


async def _import_household(runner, valid_until) -> tuple[int, int]:  # noqa: ANN001
    """One row of an official list: a household with no tax code, no address, no product description."""
    record = {"producer_name": "Hộ Nguyễn Thị Mai", "entity_type": "Hộ sản xuất kinh doanh", "tax_code": "",
              "phone": "0987 654 321", "province": "Lâm Đồng", "commune": "Xã Xuân Trường", "district": "",
              "product_name": "Mật ong bạc hà", "group": "Thực phẩm", "subgroup": "Thực phẩm chế biến",
              "stars": "4", "score": "", "decision_number": "1032/QĐ-UBND",
              "decision_date": format_date(add_months(valid_until, -36)), "valid_until": format_date(valid_until)}
    good, errors = validated_rows([(2, record)], "vi")
    assert not errors and len(good) == 1
    async with runner.sessions() as session, session.begin():
        await upsert_listed_products(session, await load_existing(session), [item for _, item in good])
    async with runner.sessions() as session:
        application = (await session.exec(select(Application))).one()
        return application.id, application.product_id


async def test_rule_reevaluation_of_an_imported_product_asks_only_what_is_missing_or_changed(
        make_runner: Callable, sqlite_url: str, clock) -> None:
    runner = await make_runner(sqlite_url)
    today = clock.today
    valid_until = today + timedelta(days=20)
    imported_id, product_id = await _import_household(runner, valid_until)

    # The officer sees the expiring certificate on the dossier and invites a re-evaluation.
    officer = Chat(runner, user="officer-1")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.press_stale(f"app:open:{imported_id}")  # as from the list or an expiry digest
    assert f"hiệu lực đến {format_date(valid_until)} (còn 20 ngày)" in officer.text
    assert "— Sắp hết hạn" in officer.text  # the dossier's stage says what the list says
    await officer.tap(f"app:act:{imported_id}:invite_reevaluation")
    await officer.tap("nav:yes")
    # Nobody to tell yet: phone them.
    assert says(officer.text, "officer.invite_no_chat") and "0987 654 321" in officer.text
    await officer.say("/malienket 0987654321")
    link_code = officer.text.split("Mã liên kết cho Hộ Nguyễn Thị Mai: ")[1].split()[0]
    producer = Chat(runner, user="mai")  # the phone browser: notices arrive with the next reply
    await producer.say(f"/lienket {link_code}")
    await officer.press_stale(f"app:open:{imported_id}")
    await officer.tap(f"app:act:{imported_id}:invite_reevaluation")
    await officer.tap("nav:yes")
    assert says(officer.text, "officer.invited", producer="Hộ Nguyễn Thị Mai", chats=1)
    assert f"app:act:{imported_id}" in " ".join(officer.option_ids)  # back on the dossier
    await officer.tap(f"app:act:{imported_id}:invite_reevaluation")
    await officer.tap("nav:yes")
    assert says(officer.text, "officer.invited_already", producer="Hộ Nguyễn Thị Mai", chats=1)  # not sent twice

    # The producer's status advises re-evaluating and has the button; the invitation has it too.
    await producer.say("/trangthai")
    assert "Cán bộ OCOP tỉnh mời anh/chị đăng ký đánh giá lại sản phẩm Mật ong bạc hà" in producer.text
    assert f"reeval:{product_id}" in producer.option_ids
    await producer.tap(f"reeval:{product_id}")
    await producer.agree_if_asked()
    assert "Chứng nhận hiện tại: ★★★★☆ · QĐ số 1032/QĐ-UBND" in producer.text
    assert says(producer.last, "ask.changes")
    await producer.say("5")  # the output changed: typed as the number of the item
    await producer.say("xong")
    # Then only what the imported record lacks, and the output: never the name, group or sub-group again.
    asked = []
    for answer in ("012345678901", "Nguyễn Thị Mai", "Thôn 3", "4", "Mật ong hoa bạc hà cao nguyên đá", "1",
                   "khoảng 3 tấn mỗi năm"):
        asked.append(next(line for line in producer.last.split("\n") if not line.startswith("Bước ")))
        await producer.say(answer)
    # The list named the nhóm, not the phân nhóm (Decision 148's third level): that is asked too.
    assert [q.split(" ")[0] for q in asked] == ["Mã", "Họ", "Địa", "Chọn", "Mô", "Nguyên", "Sản"], asked
    assert "Phiếu đăng ký sản phẩm OCOP" in producer.last
    while says(producer.last, "ask.document"):
        if "Báo cáo tình hình sản xuất, kinh doanh" in producer.last:
            await producer.say("bỏ qua")
            assert says(producer.text, "form.cannot_skip")
        if says(producer.last, "form.optional"):
            await producer.say("bỏ qua")
        else:
            await producer.send_file(PDF, "application/pdf")
            await producer.say("xong")
    review = producer.shown
    assert "Đã thay đổi: Sản lượng" in review and "Sản lượng/năm: 3 tấn" in review
    assert "Báo cáo tình hình sản xuất, kinh doanh sản phẩm trong 3 năm được công nhận OCOP: 1 tệp" in review
    await producer.say("gửi")
    assert "OCOP-" in producer.text

    async with runner.sessions() as session:
        mai = (await session.exec(select(Producer))).one()
        product = await session.get(Product, product_id)
        reevaluation = (await session.exec(select(Application).where(Application.kind == "reevaluation"))).one()
        photo = (await session.exec(select(ApplicationDocument).where(
            ApplicationDocument.application_id == reevaluation.id,
            ApplicationDocument.doc_code == "product-photo"))).one()
    assert (mai.tax_code, mai.representative, mai.address) == ("012345678901", "Nguyễn Thị Mai", "Thôn 3")
    assert product is not None and product.yearly_output == 3
    assert (product.subgroup_code, product.category_code) == ("food-processed", "food-processed-animal")
    assert photo.delivery == "skipped"  # the import had no photo and none was sent: not shown as sent

    # The officer sees it marked as a re-evaluation with the certificate held, and decides it.
    await officer.say(reevaluation.code)
    assert "🔄 Đánh giá lại · chứng nhận đang có: ★★★★☆ · QĐ số 1032/QĐ-UBND" in officer.text
    assert "Ảnh sản phẩm: bỏ qua" in officer.text
    for action in ("commune_check", "to_council"):
        await officer.tap(f"app:act:{reevaluation.id}:{action}")
        await officer.tap("nav:yes")
    await officer.tap(f"app:act:{reevaluation.id}:record_result")
    for answer in ("đạt", "82 điểm", "77/QĐ-UBND", "hôm nay"):
        await officer.say(answer)
    await officer.tap("nav:submit")
    async with runner.sessions() as session:
        newest = (await session.exec(select(Certificate).order_by(col(Certificate.id).desc()))).first()
    assert newest is not None and newest.application_id == reevaluation.id
    assert newest.valid_until == certificate_valid_until(today)
    await producer.say("/trangthai")
    assert says(producer.text, "status.valid_until", date=format_date(newest.valid_until))
    assert f"reeval:{product_id}" not in producer.option_ids  # valid for three years again: no button


async def test_a_product_with_an_application_on_its_way_is_not_re_evaluated_twice(
        make_runner: Callable, sqlite_url: str, clock) -> None:
    runner = await make_runner(sqlite_url)
    _, product_id = await _import_household(runner, clock.today + timedelta(days=20))
    officer = Chat(runner, user="officer-1")
    await officer.say(f"/canbo {await invite(runner.sessions)}")
    await officer.say("/malienket 0987654321")
    link_code = officer.text.split("Mã liên kết cho Hộ Nguyễn Thị Mai: ")[1].split()[0]
    producer = Chat(runner, user="mai")
    await producer.say(f"/lienket {link_code}")
    async with runner.sessions() as session, session.begin():
        session.add(Application(product_id=product_id, producer_id=(await session.exec(select(Producer))).one().id,
                                status="submitted", kind="reevaluation", code="OCOP-2026-000099"))
    await producer.press_stale(f"reeval:{product_id}")
    await producer.agree_if_asked()
    assert says(producer.text, "reevaluate.already_open", code="OCOP-2026-000099")


async def test_a_re_evaluation_without_new_photos_keeps_those_of_the_last_dossier_that_had_any(
        make_runner: Callable, db_url: str) -> None:
    from storage.applications import DossierItem, add_documents, latest_photos
    from storage.models import StoredFile
    from tests.support.seed import add_application, add_producer

    runner = await make_runner(db_url)
    async with runner.sessions() as session, session.begin():
        producer = await add_producer(session)
        product, first = await add_application(session, producer, status="recognised")
        files = [StoredFile(sha256=f"{n:064x}", size=1, mime="image/jpeg") for n in range(3)]
        session.add_all(files)
        await session.flush()
        await add_documents(session, first, [DossierItem("product-photo", "upload", (files[0].id, files[1].id))])
        later = Application(product_id=product.id, producer_id=producer.id, status="rejected")
        session.add(later)
        await session.flush()
        await add_documents(session, later, [DossierItem("product-photo", "skipped")])
        product_id, expected = product.id, (files[0].id, files[1].id)
    async with runner.sessions() as session:
        assert await latest_photos(session, product_id) == expected
