"""Imports run one way (docs/architecture.md, the tree at its top): bot → handlers → storage, messages; inside bot and
handlers, each room imports only what its line there says. A new import against the direction fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("bot", "handlers", "storage", "messages")

# A module under the first prefix may not import anything under the second: the rule, then why.
FORBIDDEN = [
    ("messages", "bot", "the catalog is data; everyone reads it"),
    ("messages", "handlers", "the catalog is data; everyone reads it"),
    ("messages", "storage", "the catalog is data; everyone reads it"),
    ("storage", "bot", "storage knows nothing of chats or processes"),
    ("storage", "handlers", "storage knows nothing of conversations"),
    ("storage", "messages", "storage holds data, never sentences"),
    ("handlers", "bot", "handlers answer a neutral message; platforms and processes live in bot"),
    ("handlers.forms", "handlers.producer", "the form engine serves every form and knows none of them"),
    ("handlers.forms", "handlers.officer", "the form engine serves every form and knows none of them"),
    ("handlers.forms", "handlers.events", "the form engine serves every form and knows none of them"),
    ("handlers.forms", "handlers.notices", "the form engine serves every form and knows none of them"),
    ("handlers.forms", "handlers.router", "the form engine serves every form and knows none of them"),
    ("handlers.producer", "handlers.officer", "a producer's path never reaches officer code"),
    ("handlers.producer", "handlers.router", "the router calls the rooms, never the other way"),
    ("handlers.officer", "handlers.router", "the router calls the rooms, never the other way"),
    ("handlers.events", "handlers.router", "the router calls the rooms, never the other way"),
    ("handlers.notices", "handlers.router", "the router calls the rooms, never the other way"),
    ("bot.channels", "bot.outbox.dispatcher", "a channel knows its outcomes (bot.outbox.outcomes), not who sends"),
    ("bot.channels", "bot.outbox.scheduler", "a channel only sends and receives"),
    ("bot.channels", "bot.outbox.broadcast_progress", "a channel only sends and receives"),
    ("bot.outbox", "bot.channels", "the dispatcher is given its senders; it does not pick platforms"),
    ("bot.outbox", "bot.http", "sending does not serve HTTP"),
    ("bot.http", "bot.channels", "routes are handed their handlers by bot.app"),
    ("bot.http", "bot.outbox", "routes are handed their handlers by bot.app"),
    *[(room, "bot.cli", "the operator's commands use everything; nothing uses them")
      for room in ("bot.app", "bot.channels", "bot.http", "bot.outbox", "bot.conversation", "bot.replies",
                   "bot.settings", "bot.flood", "bot.replicas", "bot.metrics", "bot.logs")],
]


def _imports() -> list[tuple[str, str, str]]:
    """(importing module, imported module, file:line) for every import of our own packages."""
    found = []
    for package in OURS:
        for path in (ROOT / package).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
                elif isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                else:
                    continue
                for target in targets:
                    if target.split(".")[0] in OURS:
                        found.append((module, target, f"{path.relative_to(ROOT)}:{node.lineno}"))
    return found


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize(("importer", "imported", "why"), FORBIDDEN)
def test_imports_run_one_way(importer: str, imported: str, why: str) -> None:
    wrong = [where for module, target, where in _imports() if _under(module, importer) and _under(target, imported)]
    assert wrong == [], f"{importer} may not import {imported} ({why}): {wrong}"


def test_every_room_is_listed_in_the_architecture_tree() -> None:
    """The tree at the top of docs/architecture.md names every room, so a newcomer finds where a thing lives."""
    tree = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").split("\n## ", 1)[0]
    rooms = [path.parent.name + "/" for package in OURS for path in (ROOT / package).rglob("__init__.py")]
    missing = [room for room in rooms if f" {room} " not in tree and f"\n{room} " not in tree]
    assert missing == []


def test_test_modules_never_import_each_other() -> None:
    """What tests share lives in tests/support/, so a test module reads as a specification of its own behaviour."""
    wrong = []
    for path in (ROOT / "tests").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests.test_"):
                wrong.append(f"{path.name}:{node.lineno} imports {node.module}")
    assert wrong == []
