"""A tiny OpenID Connect provider for tests: authorization code flow with PKCE, RS256-signed
ID tokens, userinfo and JWKS, served over real HTTP on a port of the identity range."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "cherish-test"
CLIENT_SECRET = "s3cret-for-tests"
PORTS = range(8250, 8300)  # the identity helper's range


class TinyProvider:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(4)
        # Who signs in at the provider (tests change it).
        self.person: dict[str, Any] = {
            "sub": "alice-at-idp",
            "email": "alice@example.com",
            "email_verified": True,
            "name": "Alice A.",
        }
        self.pending: dict[str, dict[str, Any]] = {}  # txn -> authorize request
        self.codes: dict[str, dict[str, Any]] = {}  # code -> authorize request
        self.tokens: dict[str, dict[str, Any]] = {}  # access token -> claims
        self.token_requests = 0

    def settings(self) -> dict[str, Any]:
        return {
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.url}/authorize",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.url}/token",
            "OIDC_OP_USER_ENDPOINT": f"{self.url}/userinfo",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.url}/jwks",
            "OIDC_RP_SIGN_ALGO": "RS256",
        }

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, use="sig", alg="RS256")
        return {"keys": [jwk]}

    def id_token(self, request: dict[str, Any]) -> str:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": request.get("nonce"),
            **self.person,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def _handler(provider: TinyProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: str, content_type: str, **headers: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(data)

        def _json(self, status: int, payload: Any) -> None:
            self._send(status, json.dumps(payload), "application/json")

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/authorize":
                if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
                    self._send(400, "bad client or response type", "text/plain")
                    return
                txn = secrets.token_urlsafe(8)
                provider.pending[txn] = query
                who = html.escape(provider.person["email"])
                self._send(
                    200,
                    "<!doctype html><title>Example ID</title><h1>Example ID</h1>"
                    f"<p>Cherish asks who you are.</p>"
                    f'<a id="approve" href="/approve?txn={txn}">Continue as {who}</a>',
                    "text/html; charset=utf-8",
                )
            elif url.path == "/approve":
                request = provider.pending.pop(query.get("txn", ""), None)
                if request is None:
                    self._send(400, "unknown transaction", "text/plain")
                    return
                code = secrets.token_urlsafe(16)
                provider.codes[code] = request
                target = (
                    request["redirect_uri"]
                    + "?"
                    + urlencode({"code": code, "state": request["state"]})
                )
                self._send(302, "", "text/plain", Location=target)
            elif url.path == "/jwks":
                self._json(200, provider.jwks())
            elif url.path == "/userinfo":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                claims = provider.tokens.get(token)
                if claims is None:
                    self._json(401, {"error": "invalid_token"})
                else:
                    self._json(200, claims)
            else:
                self._send(404, "not found", "text/plain")

        def do_POST(self) -> None:
            if urlparse(self.path).path != "/token":
                self._send(404, "not found", "text/plain")
                return
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            provider.token_requests += 1
            request = provider.codes.pop(form.get("code", ""), None)
            if (
                request is None
                or form.get("client_id") != CLIENT_ID
                or form.get("client_secret") != CLIENT_SECRET
                or form.get("redirect_uri") != request["redirect_uri"]
                or not _pkce_ok(request, form.get("code_verifier", ""))
            ):
                self._json(400, {"error": "invalid_grant"})
                return
            access = secrets.token_urlsafe(16)
            provider.tokens[access] = dict(provider.person)
            self._json(
                200,
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": provider.id_token(request),
                },
            )

    return Handler


def _pkce_ok(request: dict[str, Any], verifier: str) -> bool:
    challenge = request.get("code_challenge")
    if not challenge:
        return True
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge


def _serve_on_a_free_port() -> tuple[TinyProvider, ThreadingHTTPServer]:
    # Bind the server itself, port after port: a probe then a bind raced with the other
    # database's test run taking the same port in between (EADDRINUSE in CI).
    provider = TinyProvider(PORTS[0])
    for port in PORTS:
        provider.url = f"http://127.0.0.1:{port}"
        try:
            return provider, ThreadingHTTPServer(("127.0.0.1", port), _handler(provider))
        except OSError:
            continue
    raise RuntimeError("no free port in the identity range")


@contextmanager
def running_provider() -> Iterator[TinyProvider]:
    provider, server = _serve_on_a_free_port()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def configure(settings: Any, idp: TinyProvider) -> None:
    """Point Cherish (through pytest-django's ``settings``) at the provider."""
    for name, value in idp.settings().items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "cherish.staff.oidc.StaffOIDCBackend",
    ]
    settings.CHERISH_OIDC_PROVIDER_NAME = "Example ID"
