"""Running `ocop-bot` as a real process: a clean environment, a free port."""

from __future__ import annotations

import os
import socket
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)


TOKEN = "7654321:AAH-super-secret-token-value"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OCOP_", "TELEGRAM_"))}
    return env | extra
