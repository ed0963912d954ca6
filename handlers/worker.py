"""CPU-heavy making of files (charts, spreadsheets) in a worker process. In a thread it held Python's lock in long
stretches, and every chat's step waited behind it; a process works on the other core. One worker, started at the
first use (start-up stays quick), so at most one such file is made at a time."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


async def in_worker(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in the worker process: a module-level function and picklable arguments."""
    try:
        return await asyncio.get_running_loop().run_in_executor(_worker(), function, *args)
    except BrokenProcessPool:  # the worker died (killed, out of memory): this one in a thread, a new worker next
        _forget_worker()
        return await asyncio.to_thread(function, *args)


def _worker() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # Spawned, not forked: a fork of a process running threads (the SQLite writer, asyncio's) may inherit
            # a lock one of them held.
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return _pool


def _forget_worker() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
