"""A Web Push service on 127.0.0.1, as strict as a real one (RFC 8030, 8291, 8292): https only, a VAPID JWT signed
by the key it names and addressed to this origin, aes128gcm content the subscriber's keys can decrypt, a TTL;
201 for a live subscription, 410 for one that is gone, 413 above 4 KB, 429 with Retry-After when told to."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import ssl
from pathlib import Path
from typing import Any

import http_ece
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from multidict import CIMultiDict


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """One browser's push subscription: its own key pair and auth secret, as pushManager.subscribe makes them."""

    def __init__(self, service: FakePushService, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = _b64(b"0123456789abcdef")
        self.endpoint = f"https://127.0.0.1:{service.port}/push/{name}"
        self.name = name
        service.live.add(name)

    def subscription(self) -> dict[str, Any]:
        public = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "keys": {"p256dh": _b64(public), "auth": self.auth}}

    def read(self, body: bytes) -> dict[str, Any]:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=_unb64(self.auth),
                                           version="aes128gcm"))


class FakePushService:
    def __init__(self, tmp_path: Path) -> None:
        self.live: set[str] = set()
        self.busy_once: set[str] = set()
        self.refusing: set[str] = set()
        self.received: list[tuple[str, bytes, CIMultiDict[str]]] = []
        self.refused: list[str] = []
        app = web.Application()
        app.router.add_post("/push/{name}", self._push)
        self._cert, self._key = tmp_path / "push.pem", tmp_path / "push.key"
        self._make_certificate()
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(self._cert, self._key)
        self.server = TestServer(app, host="127.0.0.1", scheme="https")

    async def start(self) -> None:
        await self.server.start_server(ssl=self._context)

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    def client_ssl(self) -> ssl.SSLContext:
        """What a client needs to trust this service's certificate (and no other)."""
        return ssl.create_default_context(cafile=str(self._cert))

    def _make_certificate(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                               critical=False)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        self._cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))

    async def _push(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        problem = self._check(request)
        if problem:
            self.refused.append(problem)
            return web.json_response({"error": problem}, status=401 if "vapid" in problem else 400)
        if name not in self.live:
            return web.json_response({"error": "subscription gone"}, status=410)
        body = await request.read()
        if len(body) > 4096:  # what push services carry at most, encrypted
            return web.json_response({"error": "payload too large"}, status=413)
        if name in self.refusing:
            return web.json_response({"error": "bad request"}, status=400)
        if name in self.busy_once:
            self.busy_once.discard(name)
            return web.Response(status=429, headers={"Retry-After": "1"})
        self.received.append((name, body, CIMultiDict(request.headers)))
        return web.Response(status=201, headers={"Location": f"/message/{len(self.received)}"})

    def _check(self, request: web.Request) -> str | None:
        if request.headers.get("Content-Encoding") != "aes128gcm":
            return "content must be aes128gcm"
        if not request.headers.get("TTL", "").isdigit():
            return "a TTL header is required"
        header = request.headers.get("Authorization", "")
        if not header.startswith("vapid t="):
            return "vapid authorization required"
        token, _, key = header[len("vapid t="):].partition(",k=")
        try:
            head, claims, signature = token.split(".")
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(key))
            raw = _unb64(signature)
            public.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
                          f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
            body = json.loads(_unb64(claims))
        except Exception:  # noqa: BLE001  (any malformed or forged token is refused alike)
            return "vapid token does not verify"
        now = datetime.datetime.now(datetime.UTC).timestamp()
        if body.get("aud") != f"https://127.0.0.1:{self.port}" or not now < body.get("exp", 0) <= now + 86400:
            return "vapid claims wrong (aud or exp)"
        if not str(body.get("sub", "")).startswith(("mailto:", "https://")):
            return "vapid sub must be a contact"
        return None
