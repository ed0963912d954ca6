"""A forward HTTP proxy on 127.0.0.1, as a province's network may require: it passes each request on to the
address the client asked for and keeps a list of what went through it."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}


class ForwardProxy:
    def __init__(self) -> None:
        self.seen: list[str] = []  # "host/path" of each request passed on
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self.server = TestServer(app, host="127.0.0.1")
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ForwardProxy:
        await self.server.start_server()
        self._http = aiohttp.ClientSession()  # trust_env off: the proxy goes straight to the target
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
        await self.server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        target = request.headers.get("Host", request.host)  # with its port (request.host can drop it)
        self.seen.append(f"{target}{request.path}")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._http.request(request.method, f"http://{target}{request.path_qs}", headers=headers,
                                      data=await request.read()) as answer:
            body = await answer.read()
            return web.Response(status=answer.status, body=body,
                                headers={k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP})
