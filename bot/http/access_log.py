"""The access log without the keys to what it lists: a signed file link (`/files/…?sig=`) or a Zalo upload link
(`/u/TOKEN`) in a log line would let whoever reads the logs open a producer's documents or send files as them."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

SECRET_PARAMETERS = frozenset({"sig", "token", "key"})


def shown(target: str) -> str:
    """The request target as logged: an upload link's token and any signature replaced by ***."""
    path, _, query = target.partition("?")
    if path.startswith("/u/"):
        path = "/u/***"
    if query:
        query = urlencode([(k, "***" if k in SECRET_PARAMETERS else v) for k, v in parse_qsl(query, True)],
                          safe="*")
    return f"{path}?{query}" if query else path


class AccessLog(AbstractAccessLogger):
    """One line per request, as aiohttp's own but for the redaction; the Referer is left out, as it repeats the
    page's address (an upload page posts to itself)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s HTTP/%d.%d" %d %d %.3fs "%s"', request.remote, request.method,
                         shown(request.path_qs), request.version.major, request.version.minor, response.status,
                         response.body_length, time, request.headers.get("User-Agent", "-"))
