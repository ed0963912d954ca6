"""/thongke: the officer's province in numbers, as a short text and a chart."""

from __future__ import annotations

from handlers.officer.access import Scope, province_list
from handlers.officer.charts import drawn
from handlers.types import Attachment, Context, Reply
from messages import format_number, format_when, t
from storage.lifecycle import STATUSES
from storage.reference import load_reference
from storage.statistics import ProvinceStatistics, province_statistics


def summary(lang: str, stats: ProvinceStatistics, scope: str, timezone: str) -> str:
    ref = load_reference()

    def n(value: int) -> str:
        return format_number(lang, value)

    lines = [t(lang, "stats.title", scope=scope),
             t(lang, "stats.recognised", total=n(sum(stats.by_stars.values())), five=n(stats.by_stars.get(5, 0)),
               four=n(stats.by_stars.get(4, 0)), three=n(stats.by_stars.get(3, 0))),
             t(lang, "stats.expiring", thirty=n(stats.expiring_30), ninety=n(stats.expiring_90))]

    def section(key: str, rows: list[str]) -> list[str]:
        # A heading with nothing under it read as if the list had failed to load: an empty one says so.
        return [t(lang, key), *(rows or [t(lang, "stats.none")])]

    groups = []
    for code, count in sorted(stats.by_group.items(), key=lambda item: -item[1]):
        groups.append(f"• {ref.label(code, lang)}: {n(count)}")
        groups += [f"    – {name}: {n(number)}" for name, number in subgroup_rows(lang, stats, code)]
    lines += section("stats.by_group", groups)
    lines += section("stats.by_status", [f"• {t(lang, f'stage.{status}')}: {n(stats.by_status[status])}"
                                         for status in STATUSES if stats.by_status.get(status)])
    communes = sorted(stats.by_commune.items(), key=lambda item: -item[1])[:5]
    lines += section("stats.top_communes", [f"• {name}: {n(count)}" for name, count in communes])
    if stats.registrations:
        lines.append(t(lang, "stats.events"))
        lines += [f"• {name} ({format_when(lang, start, timezone)}): {n(count)}"
                  for name, start, count in stats.registrations[:10]]
    return "\n".join(lines)


def subgroup_rows(lang: str, stats: ProvinceStatistics, group: str) -> list[tuple[str, int]]:
    """The nhóm of one group with their counts, largest first; they add up to the group's count."""
    ref = load_reference()
    rows = [(ref.label(sub, lang) if sub else t(lang, "stats.no_subgroup"), count)
            for (of, sub), count in stats.by_subgroup.items() if of == group]
    return sorted(rows, key=lambda row: -row[1])


@province_list
async def show(ctx: Context, scope: Scope) -> list[Reply]:
    lang, province = ctx.lang, scope.province
    stats = await province_statistics(ctx.session, province, ctx.today, ctx.now)
    png = await drawn(lang, stats, t(lang, "stats.chart_title", scope=scope.label))
    chart = Attachment(f"thong-ke-{province or 'ca-nuoc'}.png", "image/png", scope.label, content=png)
    return [Reply(summary(lang, stats, scope.label, ctx.timezone), attachments=(chart,))]
