"""`ocop-bot import products FILE` and `ocop-bot export products OUT.xlsx [--province P]`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from tqdm import tqdm

from bot.cli.product_import import COLUMNS, read_product_rows, validated_rows
from bot.cli.spreadsheet import error_lines, tally
from bot.cli.support import database, find_province
from bot.settings import Settings
from handlers.officer.workbook import append_row
from messages import format_date, t
from storage import lifecycle
from storage.product_list import load_existing, products_for_export, record_import, upsert_listed_products
from storage.reference import load_reference
from storage.verification import claims_clashing_with

BATCH = 500  # rows per round of flushes: large enough to be cheap, small enough to show progress


async def import_products(settings: Settings, path: Path) -> tuple[int, list[str], list[str]]:
    """(exit code, lines for stdout, lines for stderr)."""
    lang = settings.default_language
    good, errors = validated_rows(read_product_rows(path, lang), lang)
    counts = tally(errors)
    async with database(settings) as session:
        existing = await load_existing(session)
        with tqdm(total=len(good), desc=t(lang, "cli.import_loading"), unit="row", disable=None, leave=False) as bar:
            for start in range(0, len(good), BATCH):
                batch = [item for _, item in good[start:start + BATCH]]
                for outcome in await upsert_listed_products(session, existing, batch):
                    counts[outcome] += 1
                bar.update(len(batch))
        clashes = await claims_clashing_with(session, list(existing.named.values()))
        await record_import(session, path.name, counts, clashes)
        lines = [t(lang, "cli.import_clash", listed=listed.name, tax_code=listed.tax_code or "—", claim=claim.name,
                   claim_id=str(claim.id)) for listed, claim in clashes]
    problems = error_lines(errors, lang)
    summary = t(lang, "cli.import_summary", created=counts["created"], updated=counts["updated"],
                unchanged=counts["unchanged"], rejected=counts["rejected"])
    if clashes:
        lines.append(t(lang, "cli.import_clashes", count=len(clashes)))
    # Rows are loaded even so: the commune is kept as written, and asked again at the producer's re-evaluation.
    unmatched = [(number, item) for number, item in good if item.commune and item.commune_code is None]
    if unmatched:
        lines.append(t(lang, "cli.import_unmatched_communes", count=len(unmatched)))
        lines += [t(lang, "cli.import_unmatched_commune", row=number, commune=item.commune,
                    province=load_reference().label(item.province_code, lang)) for number, item in unmatched]
    return 0, [summary, *lines], problems


async def export_products(settings: Settings, out: Path, province: str | None) -> tuple[int, list[str]]:
    lang, ref = settings.default_language, load_reference()
    province_code = None
    if province:
        province_code = find_province(province)
        if province_code is None:
            return 1, [t(lang, "cli.unknown_province", province=province)]
    today = datetime.now(UTC).astimezone(ZoneInfo(settings.timezone)).date()
    async with database(settings) as session:
        items = await products_for_export(session, province_code)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "OCOP"
    headers = [t(lang, f"column.{key}") for key in COLUMNS] + [t(lang, "column.status"), t(lang, "column.days_left")]
    append_row(sheet, headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for item in items:
        producer, product, certificate, application = item.producer, item.product, item.certificate, item.application
        status = lifecycle.shown_stage(application.status if application else lifecycle.RECOGNISED,
                                       certificate.valid_until if certificate else None, today)
        append_row(sheet, [
            producer.name, ref.label(producer.entity_type, lang), producer.tax_code, producer.phone,
            ref.label(producer.province_code, lang), producer.commune, producer.district, product.name,
            ref.label(product.group_code, lang),
            ref.label(product.category_code or product.subgroup_code, lang) if product.subgroup_code else None,
            certificate.stars if certificate else None, certificate.score if certificate else None,
            certificate.decision_number if certificate else None,
            format_date(certificate.decision_date) if certificate else None,
            format_date(certificate.valid_until) if certificate else None,
            t(lang, f"stage.{status}"), (certificate.valid_until - today).days if certificate else None,
        ])
    sheet.freeze_panes = "A2"
    for column in sheet.columns:
        width = max(len(str(c.value or "")) for c in column)
        sheet.column_dimensions[column[0].column_letter].width = min(max(10, width + 2), 50)
    out.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(out)
    return 0, [t(lang, "cli.export_done", count=len(items), path=str(out))]
