"""python-telegram-bot's networking on aiohttp (already our HTTP stack) instead of httpx.

PTB lets the HTTP client be swapped through `telegram.request.BaseRequest`; the PTB team's own aiohttp version
lives in ptbcontrib, which is not published on PyPI, so this is ours. Measured in bench/broadcast.py: httpx's
request machinery was the largest single cost of a send.
"""

from __future__ import annotations

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.channels.bodies import MAX_DOWNLOAD, read_capped

_DEFAULTS = {"read": 5.0, "write": 5.0, "connect": 5.0, "pool": 1.0}
MEDIA_TOTAL_SECONDS = 60.0  # an upload has no write timeout in aiohttp: bound the whole request instead


class AiohttpBotRequest(BaseRequest):
    def __init__(self, connection_pool_size: int = 256, read_timeout: float = _DEFAULTS["read"]) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # trust_env: HTTPS_PROXY/HTTP_PROXY and NO_PROXY, as a province's network may require.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self._pool_size),
                                                  headers={"User-Agent": self.USER_AGENT}, trust_env=True)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: object = BaseRequest.DEFAULT_NONE,
                         write_timeout: object = BaseRequest.DEFAULT_NONE,
                         connect_timeout: object = BaseRequest.DEFAULT_NONE,
                         pool_timeout: object = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpBotRequest is not initialized")
        files = bool(request_data and request_data.contains_files)
        timeout = aiohttp.ClientTimeout(
            total=MEDIA_TOTAL_SECONDS if files else None,
            connect=_seconds(pool_timeout, _DEFAULTS["pool"]),  # waiting for a free connection
            sock_connect=_seconds(connect_timeout, _DEFAULTS["connect"]),
            sock_read=_seconds(read_timeout, self._read_timeout))
        data: aiohttp.FormData | dict[str, str] | None = None
        if request_data is not None:
            if files:
                data = aiohttp.FormData(request_data.json_parameters)
                for field, (name, content, mime) in request_data.multipart_data.items():
                    data.add_field(field, content, filename=name, content_type=mime)
            else:
                data = request_data.json_parameters
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await read_capped(response.content, MAX_DOWNLOAD)
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc


def _seconds(value: object, default: float) -> float | None:
    if value is BaseRequest.DEFAULT_NONE:
        return default
    return value if isinstance(value, int | float) else None
