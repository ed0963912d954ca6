"""Incoming flood control: one chat may not make the bot work for it faster than a person can read.

A token bucket per chat: `burst` messages at once, then `per_second`. The first message over the limit gets a
polite "slow down, send that again in a moment"; further ones are not read until the bucket refills, so a burst
costs no database work and other chats are not kept waiting. Kept in memory per process: with several replicas
a chat's limit is per replica, which still stops a flood.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    ADMIT = "admit"
    WARN = "warn"  # refused, and the person is told once
    DROP = "drop"  # refused again within the same burst: told already


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False
    language: str | None = None  # so the warning, sent without reading the database, speaks the chat's language


class FloodGuard:
    def __init__(self, burst: int = 10, per_second: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.per_second = per_second
        self._clock = clock
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._next_sweep = clock() + self._full_after

    @property
    def _full_after(self) -> float:
        return self.burst / self.per_second

    def check(self, key: tuple[str, str]) -> Verdict:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return Verdict.ADMIT
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN

    def remember_language(self, key: tuple[str, str], language: str) -> None:
        if (bucket := self._buckets.get(key)) is not None:
            bucket.language = language

    def language(self, key: tuple[str, str]) -> str | None:
        bucket = self._buckets.get(key)
        return bucket.language if bucket else None

    def _sweep(self, now: float) -> None:
        # A bucket that has had time to refill is the same as no bucket: forget it, so memory follows active chats.
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < self._full_after}
        self._next_sweep = now + self._full_after


class HourlyLimit:
    """At most `limit` events per key in any sliding `span` (an hour): files one chat uploads, web identities one
    client address opens. In memory per process, as the flood guard is."""

    def __init__(self, limit: int, span: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.span = limit, span
        self._clock = clock
        self._events: dict[object, deque[float]] = {}
        self._next_sweep = clock() + span

    def take(self, key: object) -> float | None:
        """None when the event may happen (and is counted); else the seconds until it may."""
        now = self._clock()
        if now >= self._next_sweep:
            self._events = {k: q for k, q in self._events.items() if q and q[-1] > now - self.span}
            self._next_sweep = now + self.span
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.span:
            events.popleft()
        if len(events) >= self.limit:
            return events[0] + self.span - now
        events.append(now)
        return None
