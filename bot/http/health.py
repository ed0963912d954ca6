"""/healthz, /readyz and /metrics on the same aiohttp server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.metrics import Metrics
from storage import statuses
from storage.migrate import migration_state
from storage.outbox import counts_by_status_and_reason


def add_health_routes(app: web.Application, engine: Callable[[], AsyncEngine | None], metrics: Metrics,
                      refresh: Callable[[], Awaitable[None]]) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})  # the process is up and serving HTTP

    async def readyz(_request: web.Request) -> web.Response:
        current = engine()
        if current is None:
            return web.json_response({"status": "starting"}, status=503)
        try:
            revision, head = await migration_state(current)
        except Exception as exc:  # any database trouble means: do not send traffic here
            return web.json_response({"status": "database unreachable", "error": type(exc).__name__}, status=503)
        if revision != head:
            return web.json_response({"status": "migrations pending", "current": revision, "head": head}, status=503)
        return web.json_response({"status": "ready", "migration": revision})

    async def metrics_page(_request: web.Request) -> web.Response:
        await refresh()
        return web.Response(body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)


async def refresh_outbox_gauge(metrics: Metrics, sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        counts = await counts_by_status_and_reason(session)
    totals: dict[str, int] = {}
    for (status, _reason), count in counts.items():
        totals[status] = totals.get(status, 0) + count
    for status in statuses.OUTBOX_STATUSES:
        metrics.outbox.labels(status).set(totals.get(status, 0))
