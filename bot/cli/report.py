"""`ocop-bot report --province P OUT_DIR`: the statistics as an xlsx workbook and a PNG chart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from bot.cli.support import database, find_province
from bot.settings import Settings
from handlers.officer.charts import statistics_chart
from handlers.officer.statistics import subgroup_rows, summary
from handlers.officer.workbook import append_row
from messages import format_when, t
from storage.reference import load_reference
from storage.statistics import ProvinceStatistics, province_statistics


async def write_report(settings: Settings, province: str | None, out_dir: Path) -> tuple[int, list[str], list[str]]:
    lang, ref = settings.default_language, load_reference()
    code = find_province(province) if province else None
    if province and code is None:
        return 1, [], [t(lang, "cli.unknown_province", province=province)]
    now = datetime.now(UTC)
    async with database(settings) as session:
        stats = await province_statistics(session, code, now.astimezone(ZoneInfo(settings.timezone)).date(), now)
    scope = ref.label(code, lang) if code else t(lang, "officer.all_provinces")
    return await asyncio.to_thread(_write, settings, stats, code, scope, out_dir)


def _write(settings: Settings, stats: ProvinceStatistics, code: str | None, scope: str,
           out_dir: Path) -> tuple[int, list[str], list[str]]:
    lang, ref = settings.default_language, load_reference()
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"ocop-report-{code or 'all'}"
    png = out_dir / f"{name}.png"
    png.write_bytes(statistics_chart(lang, stats, t(lang, "stats.chart_title", scope=scope)))
    workbook = Workbook()
    summary_sheet = workbook.active
    summary_sheet.title = t(lang, "stats.sheet_summary")
    for line in summary(lang, stats, scope, settings.timezone).splitlines():
        append_row(summary_sheet, [line])
    tables = {"stats.sheet_stars": [(f"{n}★", stats.by_stars.get(n, 0)) for n in (5, 4, 3)],
              "stats.sheet_groups": [(ref.label(g, lang), n) for g, n in sorted(stats.by_group.items())],
              "stats.sheet_subgroups": [(f"{ref.label(g, lang)} › {name}", count) for g in sorted(stats.by_group)
                                        for name, count in subgroup_rows(lang, stats, g)],
              "stats.sheet_communes": sorted(stats.by_commune.items(), key=lambda item: -item[1]),
              "stats.sheet_status": [(t(lang, f"stage.{s}"), n) for s, n in stats.by_status.items()]}
    for key, rows in tables.items():
        sheet = workbook.create_sheet(t(lang, key))
        append_row(sheet, [t(lang, "stats.col_name"), t(lang, "stats.col_count")])
        for row in rows:
            append_row(sheet, list(row))
    events = workbook.create_sheet(t(lang, "stats.sheet_events"))
    append_row(events, [t(lang, "stats.col_name"), t(lang, "stats.col_start"), t(lang, "stats.col_count")])
    for event_name, start, count in stats.registrations:
        append_row(events, [event_name, format_when(lang, start, settings.timezone), count])
    for sheet in workbook.worksheets[1:]:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.column_dimensions["A"].width = 40
    xlsx = out_dir / f"{name}.xlsx"
    workbook.save(xlsx)
    return 0, [t(lang, "cli.report_done", xlsx=str(xlsx), png=str(png))], []
