"""Logging set-up with secrets redacted from every line, whichever library logs them and wherever in the record
they are (the message, its arguments, a traceback, an exception's text)."""

from __future__ import annotations

import logging


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class RedactingFormatter(logging.Formatter):
    """Redacts the line as it is written: a filter on the message alone missed tracebacks (a connection error's
    text holds the Bot API URL, token included) and arguments formatted by the library itself."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


def configure_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, and a Bot API URL contains the token: keep it quiet as well.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our scan logs its own one line
    # At DEBUG SQLAlchemy would log every statement with its parameters: people's names, phones, tax codes.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
