"""A Bot API on 127.0.0.1 for the broadcast benchmark, run as its own process (so it does not share our CPU). It
speaks Telegram's (form bodies) and Zalo's (JSON bodies; getUpdates answers 408 when nothing came, as Zalo does).
Zalo publishes no sending limits, so the same rules stand in for them.

It enforces Telegram's limits as strictly as Telegram does: at most `--rate` calls in any sliding second over the
whole bot (every method that sends), and one call to a chat per 1/`--per-chat` seconds; a call over
either gets 429 with retry_after. It also injects a share of random 429s and 5xx, and counts what it delivered per
chat, so duplicates and losses can be read from GET /stats.

    python -m bench.fake_telegram --port 8765 --rate 30 --per-chat 1 --p429 0.05 --p5xx 0.02
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from typing import Any

from aiohttp import web

from bench.offline_bot_api import FILES
from tests.support.flood_rules import FloodRules


def build(rate: float, p429: float, p5xx: float, seed: int = 7, per_chat: float = 0) -> web.Application:
    rng = random.Random(seed)
    rules = FloodRules(rate, 1.0 / per_chat if per_chat > 0 else 0.0)
    delivered: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    times: list[float] = []  # deliveries
    to: list[str] = []  # the chat of each delivery
    requests: list[float] = []  # every sendMessage, answered or refused

    chats: dict[str, dict[str, Any]] = {}  # per chat: delivered texts and the last keyboard, for a driver to read
    said: dict[str, list[tuple[str, str]]] = defaultdict(list)  # each chat's messages: text and buttons
    limited: Counter[str] = Counter()  # 429s that were our own overruns, by rule (not the injected ones)
    last_taken: dict[str, tuple[float, str]] = {}  # when each chat last had a call taken, and its text
    gaps: list[float] = []  # for each per-chat overrun: seconds since that chat's last call taken
    collisions: list[dict[str, Any]] = []  # and which two messages met there

    async def method(request: web.Request) -> web.Response:
        name = request.match_info["method"]
        form = await request.json() if request.content_type == "application/json" else await request.post()
        if name == "getUpdates":  # Zalo's long poll with nothing to deliver (the bench's updates come as webhooks)
            await asyncio.sleep(1.0)
            return web.json_response({"ok": False, "error_code": 408, "description": "Request timeout"}, status=408)
        if name == "getFile":
            file_id = str(form["file_id"])
            return web.json_response({"ok": True, "result": {
                "file_id": file_id, "file_unique_id": file_id, "file_size": len(FILES[file_id.split("-")[0]]),
                "file_path": file_id}})
        if name == "getMe":
            return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "OCOP",
                                                             "username": "ocop_bench_bot"}})
        if name == "getWebhookInfo":
            return web.json_response({"ok": True, "result": {"url": ""}})
        if name not in ("sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "editMessageText"):
            return web.json_response({"ok": True, "result": True})
        requests.append(time.monotonic())
        chat = str(form["chat_id"])
        roll = rng.random()
        if roll < p5xx:
            answers["5xx"] += 1
            return web.json_response({"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502)
        refusal = rules.refusal(chat) if roll >= p5xx + p429 else None
        if roll < p5xx + p429 or refusal:
            answers["429"] += 1
            if refusal:
                limited[refusal] += 1
                if refusal == "per_chat" and chat in last_taken:
                    at, before = last_taken[chat]
                    gaps.append(round(time.monotonic() - at, 3))
                    collisions.append({"chat": chat, "gap_s": gaps[-1], "taken": before[:50],
                                       "refused": str(form.get("text", form.get("caption", "")))[:50]})
            return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                      "parameters": {"retry_after": 1}}, status=429)
        delivered[chat] += 1
        last_taken[chat] = (time.monotonic(), str(form.get("text", form.get("caption", ""))))
        times.append(time.monotonic())
        to.append(chat)
        record = chats.setdefault(chat, {"texts": [], "keyboard": {}, "inline": {}})
        record["texts"].append(str(form.get("text", "")))
        # A question shown again with another choice ticked has the same text: a repeat is the same text and buttons.
        said[chat].append((str(form.get("text", "")), str(form.get("reply_markup", ""))))
        if form.get("reply_markup"):  # a person sees the last answer buttons and the last message's buttons
            markup = json.loads(str(form["reply_markup"]))
            record["inline" if "inline_keyboard" in markup else "keyboard"] = markup
        answers["200"] += 1
        sent = {"message_id": sum(delivered.values()), "date": 0, "text": str(form.get("text", "")),
                "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else chat, "type": "private"}}
        # sendMediaGroup answers with the album's messages, as Telegram does; one object there broke the sender.
        return web.json_response({"ok": True, "result": [sent] if name == "sendMediaGroup" else sent})

    async def chat(request: web.Request) -> web.Response:
        return web.json_response(chats.get(request.match_info["chat"], {"texts": [], "keyboard": {}, "inline": {}}))

    async def file(request: web.Request) -> web.Response:
        return web.Response(body=FILES[request.match_info["path"].split("-", 1)[0]], content_type="image/jpeg")

    async def stats(request: web.Request) -> web.Response:
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        # A broadcast's own pace: from its first delivery to its last (chats below `broadcast_below`), how many calls
        # of any kind went out a second, and how many of them delivered the broadcast.
        below = int(request.query.get("broadcast_below", "0"))
        marked = [t for t, chat in zip(times, to, strict=True) if chat.lstrip("-").isdigit() and int(chat) < below]
        window = marked[-1] - marked[0] if len(marked) > 1 else 0.0
        during = [t for t in requests if marked and marked[0] <= t <= marked[-1]]
        each_second = Counter(int(t - marked[0]) for t in during)
        return web.json_response({"chats": len(delivered), "deliveries": sum(delivered.values()),
                                  "duplicates": sum(n - 1 for n in delivered.values() if n > 1),
                                  "answers": dict(answers), "delivery_span_s": span,
                                  "delivered_per_s": (len(times) - 1) / span if span else 0.0,
                                  "requests_per_s": _rate(requests), "requests": len(requests),
                                  "our_overruns": dict(limited), "per_chat_overrun_gaps_s": gaps,
                                  "per_chat_collisions": collisions[:5],
                                  "per_chat": dict(delivered),
                                  "broadcast_span_s": window,
                                  "broadcast_per_s": (len(marked) - 1) / window if window else 0.0,
                                  "calls_per_s_during_broadcast": len(during) / window if window else 0.0,
                                  # Calls in each second of the broadcast, idle seconds too: where the pace is lost.
                                  "calls_each_second": [each_second[s] for s in range(int(window) + 1)],
                                  "repeats": {chat: sum(n - 1 for n in Counter(messages).values())
                                              for chat, messages in said.items()},
                                  "back_to_back": [text[:60] for messages in said.values()
                                                   for (text, markup), after in zip(messages, messages[1:],
                                                                                    strict=False)
                                                   if (text, markup) == after]})

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", method)
    app.router.add_get("/stats", stats)
    app.router.add_get("/chat/{chat}", chat)
    app.router.add_get("/file/bot{token}/{path}", file)
    app.router.add_get("/photos/{path}", file)  # where a Zalo photo event's photo_url points
    return app


def _rate(times: list[float]) -> float:
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return (len(times) - 1) / span if span else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=0, help="calls in any sliding second, whole bot; 0: no limit")
    parser.add_argument("--per-chat", type=float, default=0, help="calls to one chat in any sliding second; 0: none")
    parser.add_argument("--p429", type=float, default=0.0)
    parser.add_argument("--p5xx", type=float, default=0.0)
    args = parser.parse_args()
    web.run_app(build(args.rate, args.p429, args.p5xx, per_chat=args.per_chat), host="127.0.0.1", port=args.port,
                print=None,
                access_log=None)


if __name__ == "__main__":
    main()
