"""`ocop-bot demo-data`: a clearly marked sample of Lâm Đồng, so a new user sees reminders and events at once.

Never loaded unless asked. Every name ends in "(DEMO)"; running it again adds nothing but prints fresh codes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.cli.support import database
from bot.settings import Settings
from messages import t
from storage.communes import search_communes
from storage.events import create_event
from storage.lifecycle import add_months
from storage.linking import create_link_code
from storage.officers import create_invite
from storage.producers import producer_named
from storage.product_list import ListedProduct, load_existing, upsert_listed_products

PROVINCE = "lam-dong"
XUAN_HUONG = search_communes(PROVINCE, "Xuân Hương")[0]  # demo producers sit in a ward of today
MARK = "(DEMO)"
# (producer, product, group, stars, days until the certificate expires): one per reminder milestone.
PRODUCTS = [("HTX Cà phê Cầu Đất", "Cà phê Arabica Cầu Đất", "food", 4, 5),
            ("HTX Dâu tây Đà Lạt", "Mứt dâu tây", "food", 3, 25),
            ("Công ty Trà Bảo Lộc", "Trà ô long Bảo Lộc", "food", 4, 55),
            ("HTX Dệt thổ cẩm Lạch Dương", "Khăn thổ cẩm K'Ho", "craft", 3, 80),
            ("Hộ Nguyễn Văn Hoa", "Hoa lan hồ điệp", "ornamental", 4, -10),
            ("HTX Rượu cần Lâm Hà", "Rượu cần Lâm Hà", "drink", 3, 700)]
EVENTS = [("training", "Tập huấn kể chuyện sản phẩm OCOP", 5, None),
          ("training", "Tập huấn truy xuất nguồn gốc bằng mã QR", 20, None),
          ("fair", "Hội chợ OCOP Đà Lạt", 12, 6),
          ("fair", "Hội chợ nông sản Bảo Lộc", 40, 30)]


async def load_demo(settings: Settings) -> list[str]:
    lang = settings.default_language
    zone = ZoneInfo(settings.timezone)
    today = datetime.now(UTC).astimezone(zone).date()
    async with database(settings) as session:
        first = await producer_named(session, f"{PRODUCTS[0][0]} {MARK}")
        lines = [t(lang, "cli.demo_already" if first else "cli.demo_loaded")]
        if first is None:
            items = []
            for number, (producer, product, group, stars, days_left) in enumerate(PRODUCTS):
                valid_until = today + timedelta(days=days_left)
                decided = add_months(valid_until, -36)
                items.append(ListedProduct(
                    producer_name=f"{producer} {MARK}", entity_type="household" if producer.startswith("Hộ")
                    else "enterprise" if producer.startswith("Công ty") else "cooperative", tax_code=None,
                    phone=f"+849000000{number:02d}", province_code=PROVINCE, commune=XUAN_HUONG.name,
                    commune_code=XUAN_HUONG.code, district=None, product_name=f"{product} {MARK}", group_code=group,
                    subgroup_code=None,
                    stars=stars, score=None, decision_number=f"DEMO-{number + 1}/QĐ-UBND", decision_date=decided,
                    valid_until=valid_until))
            await upsert_listed_products(session, await load_existing(session), items)
            for kind, name, in_days, deadline_in in EVENTS:
                start = datetime.combine(today + timedelta(days=in_days), datetime.min.time(), zone).replace(hour=8)
                values = {"kind": kind, "name": f"{name} {MARK}", "place": "Quảng trường Lâm Viên, Đà Lạt",
                          "starts_at": start, "ends_at": start + timedelta(hours=9), "province_code": PROVINCE,
                          "registration_deadline": start - timedelta(days=in_days - deadline_in)
                          if deadline_in else None, "description": t(lang, "cli.demo_event_description"),
                          "audience_groups": []}
                await create_event(session, values, officer_id=None, actor_account_id=None)
            first = await producer_named(session, f"{PRODUCTS[0][0]} {MARK}")
            assert first is not None  # just loaded above
        _, officer_code = await create_invite(session, name=f"Cán bộ mẫu {MARK}", province_code=PROVINCE,
                                              is_admin=False, valid_for=timedelta(days=7))
        link_code = await create_link_code(session, first, officer_id=None, valid_for=timedelta(days=7))
    return lines + [t(lang, "cli.demo_producer", code=link_code, producer=first.name, url=settings.page_url),
                    t(lang, "cli.demo_officer", code=officer_code), t(lang, "cli.demo_scan")]
