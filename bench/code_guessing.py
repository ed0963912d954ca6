"""How many one-time codes an attacker can have checked a minute, opening a new web identity for every guess (the
cheapest way round a per-chat limit), and going on with the last one when the server gives no more: the real app
in-process on SQLite, `--concurrency` guessers at once.

    python -m bench.code_guessing --seconds 20 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.settings import Settings


async def run(seconds: float, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, OCOP_DATABASE_URL=f"sqlite+aiosqlite:///{Path(tmp) / 'guess.db'}",
                            OCOP_DATA_DIR=str(Path(tmp) / "data"), OCOP_LOG_LEVEL="WARNING")
        server = TestServer(build_app(settings, run_scheduler=False), host="127.0.0.1")
        await server.start_server()
        checked = refused = identities = identities_refused = 0
        deadline = time.monotonic() + seconds

        async def guesser(http: aiohttp.ClientSession, n: int) -> None:
            nonlocal checked, refused, identities, identities_refused
            guess, token = 0, ""
            while time.monotonic() < deadline:
                async with http.post(server.make_url("/api/session")) as response:
                    if response.status == 200:  # a fresh identity for each guess while the server gives one
                        token = (await response.json())["token"]
                        identities += 1
                    else:  # refused: go on with the last one
                        identities_refused += 1
                if not token:
                    await asyncio.sleep(0.1)
                    continue
                guess += 1
                async with http.post(server.make_url("/api/chat"), json={"text": f"/canbo G{n:03d}{guess:06d}"},
                                     headers={"Authorization": f"Bearer {token}"}) as response:
                    text = " ".join(r["text"] for r in (await response.json())["replies"])
                if "không đúng" in text:  # the code was looked up: a real guess
                    checked += 1
                else:  # told to wait: no guess was read
                    refused += 1

        started = time.monotonic()
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            await asyncio.gather(*(guesser(http, n) for n in range(concurrency)))
        elapsed = time.monotonic() - started
        await server.close()
    return {"seconds": round(elapsed, 1), "concurrency": concurrency, "identities": identities,
            "identities_refused": identities_refused,
            "guesses_checked": checked, "refused": refused,
            "guesses_checked_per_minute": round(checked * 60 / elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.seconds, args.concurrency))))


if __name__ == "__main__":
    main()
