"""Prometheus metrics, one registry per app (so tests and several apps in one process stay apart)."""

from __future__ import annotations

import platform
from importlib.metadata import version

from prometheus_client import (
    GC_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

# Every counter would carry a second `_created` series (the time it was made), which alert rules never use and
# which doubles what is scraped and stored.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # The standard process and runtime series (memory, CPU, open files, Python's GC), as any exporter gives.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.registry.register(GC_COLLECTOR)
        Info("ocop_build", "The release running and what it runs on", registry=self.registry).info(
            {"version": version("ocop-bot"), "python": platform.python_version()})
        self.updates = Counter("ocop_updates", "Updates handled, by channel", ["channel"], registry=self.registry)
        self.latency = Histogram("ocop_handler_seconds", "Time to handle one update (transaction included)",
                                 ["channel"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self.flood_refused = Counter("ocop_flood_refused", "Updates not read because one chat sent too many too fast",
                                     ["channel"], registry=self.registry)
        self.code_failures = Counter("ocop_code_failures", "Wrong one-time codes typed, by kind (officer, link)",
                                     ["kind"], registry=self.registry)
        self.sends = Counter("ocop_sends", "Outbox send attempts, by result", ["result"], registry=self.registry)
        self.replies = Counter("ocop_replies", "Replies to what people sent, by channel and fate (sent at once, "
                               "kept for the outbox, failed, unreachable)", ["channel", "result"],
                               registry=self.registry)
        self.outbox = Gauge("ocop_outbox_messages", "Outbox rows by status (read at scrape)", ["status"],
                            registry=self.registry)
        self.scheduler_last_run = Gauge("ocop_scheduler_last_run_timestamp_seconds",
                                        "When the reminder scan last finished (Unix time)", registry=self.registry)
