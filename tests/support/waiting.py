"""Waiting for what happens after a reply: a notice the outbox sends a moment after the update commits.

The deadline is generous because a loaded CI machine can be slow; a passing test never waits for it, and no
test asserts how long anything took (timings live in bench/)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

DEADLINE = 15.0


async def eventually(condition: Callable[[], bool | Awaitable[bool]], seconds: float = DEADLINE) -> bool:
    """Whether `condition` came to hold within `seconds`; the caller asserts on what a person would see."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held or loop.time() >= end:
            return bool(held)
        await asyncio.sleep(0.02)
