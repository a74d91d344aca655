"""OpenID providers for the single sign-on tests.

- ``NodeProvider``: panva's oidc-provider (OpenID Certified), started from tests/oidc/ as a
  subprocess on a free port; people sign in on its development pages in Chromium.
- ``FakeIssuer``: a few lines of HTTP in a thread (discovery, JWKS, token, user information)
  that signs whatever ID token a test asks for, to prove certdesk refuses a wrong audience,
  issuer or nonce.

``sso_settings`` points certdesk (allauth reads these at run time) at either.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client

from tests.support.availability import missing_service

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

OIDC_DIR = Path(__file__).resolve().parents[1] / "oidc"
CALLBACK_PATH = "/accounts/oidc/sso/login/callback/"
CLIENT_ID = "certdesk-tests"
CLIENT_SECRET = "certdesk-tests-client-secret"
PROVIDER_NAME = "Test IdP"
ROLES_CLAIM = "certdesk_roles"
START_SECONDS = 30


def sso_settings(
    settings: Any,
    *,
    issuer: str,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    roles_claim: str = "",
    password_login: bool = True,
) -> None:
    """certdesk configured for ``issuer``, as config/settings.py would be from the variables
    (the SSO block reads them once at start-up; allauth reads these at every request)."""
    settings.CERTDESK_OIDC_ISSUER = issuer.rstrip("/")
    settings.CERTDESK_OIDC_CLIENT_ID = client_id
    settings.CERTDESK_OIDC_CLIENT_SECRET = client_secret
    settings.CERTDESK_OIDC_NAME = PROVIDER_NAME
    settings.CERTDESK_OIDC_ROLES_CLAIM = roles_claim
    settings.CERTDESK_PASSWORD_LOGIN = password_login
    # As config/settings.py allows the provider in the Content-Security-Policy's form-action.
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(issuer))
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = ["'self'", origin]
    settings.CONTENT_SECURITY_POLICY = policy
    settings.CERTDESK_OIDC_FORM_ACTION = [origin]
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": PROVIDER_NAME,
                    "client_id": client_id,
                    "secret": client_secret,
                    "settings": {
                        "server_url": issuer.rstrip("/"),
                        "token_auth_method": "client_secret_basic",
                    },
                }
            ],
        }
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- panva's oidc-provider, in node ------------------------------------------------------------


@dataclass
class NodeProvider:
    """A running tests/oidc/provider.mjs; ``accounts`` are the people who can sign in there."""

    issuer: str
    accounts_path: Path
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def set_accounts(self, accounts: dict[str, dict[str, Any]]) -> None:
        """Who may sign in and with which claims; read again at every sign-in."""
        self.accounts_path.write_text(json.dumps(accounts))

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for line in list(self.lines):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("event") == name:
                found.append(event)
        return found

    def authorization_requests(self) -> list[dict[str, str]]:
        """The query of each authorization request the provider received, oldest first."""
        return [event["query"] for event in self.events("authorization")]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _node_modules_ready() -> bool:
    return (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").exists()


def _install_node_modules() -> None:
    """`npm ci` from tests/oidc's package-lock.json, as .ci/run does, when it has not run."""
    npm = shutil.which("npm")
    if npm is None:
        missing_service("npm is missing: install Node.js 20 or later (with npm) for SSO tests")
        return
    result = subprocess.run(
        [npm, "ci", "--prefix", str(OIDC_DIR), "--no-audit", "--no-fund"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0 or not _node_modules_ready():
        pytest.fail(
            f"`npm ci --prefix tests/oidc` failed ({result.returncode}):\n{result.stderr}",
            pytrace=False,
        )


def start_node_provider(tmp_path: Path, *, redirect_uris: list[str]) -> NodeProvider:
    """Start tests/oidc/provider.mjs on a free port; return once it answers its discovery."""
    node = shutil.which("node")
    if node is None:
        missing_service("node is missing: install Node.js 20 or later for the SSO tests")
    assert node is not None
    if not _node_modules_ready():
        _install_node_modules()
    port = free_port()
    accounts_path = tmp_path / "oidc-accounts.json"
    accounts_path.write_text("{}")
    command = [
        node,
        str(OIDC_DIR / "provider.mjs"),
        "--port",
        str(port),
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--accounts",
        str(accounts_path),
        "--roles-claim",
        ROLES_CLAIM,
    ]
    for uri in redirect_uris:
        command += ["--redirect-uri", uri]
    process = subprocess.Popen(
        command,
        cwd=OIDC_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "NODE_ENV": "test"},
    )
    provider = NodeProvider(
        issuer=f"http://127.0.0.1:{port}", accounts_path=accounts_path, process=process
    )
    ready = threading.Event()

    def read_output() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            provider.lines.append(line)
            if '"event":"ready"' in line:
                ready.set()
        ready.set()  # the process ended: stop waiting

    threading.Thread(target=read_output, daemon=True).start()
    if not ready.wait(START_SECONDS) or process.poll() is not None:
        provider.stop()
        pytest.fail(
            "tests/oidc/provider.mjs did not start:\n" + "".join(provider.lines), pytrace=False
        )
    discovery = requests.get(provider.issuer + "/.well-known/openid-configuration", timeout=10)
    assert discovery.json()["issuer"] == provider.issuer
    return provider


@contextmanager
def running_node_provider(tmp_path: Path, live_server_url: str) -> Iterator[NodeProvider]:
    """panva's oidc-provider with certdesk's live server as its one client, stopped (by its
    pid) on the way out."""
    redirect_uris = {live_server_url + CALLBACK_PATH}
    # The browser may reach the live server by either name; allauth answers with the one used.
    for name, alias in (("localhost", "127.0.0.1"), ("127.0.0.1", "localhost")):
        if f"//{name}:" in live_server_url:
            redirect_uris.add(live_server_url.replace(f"//{name}:", f"//{alias}:") + CALLBACK_PATH)
    provider = start_node_provider(tmp_path, redirect_uris=sorted(redirect_uris))
    try:
        yield provider
    finally:
        provider.stop()


# --- A fake issuer, for ID tokens certdesk must refuse -----------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class FakeIssuer:
    """Discovery, JWKS, token and user-information endpoints on 127.0.0.1, in a thread.

    The token endpoint answers with an ID token made of ``id_token_claims`` (signed with this
    issuer's RSA key), after checking the client's secret and the PKCE verifier against
    ``expected_challenge``; ``userinfo`` is what the user-information endpoint answers.
    ``discovery_issuer`` is the issuer the discovery document names.
    """

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.discovery_issuer = self.url
        self.id_token_claims: dict[str, Any] = {}
        self.include_id_token = True
        self.userinfo: dict[str, Any] | None = None
        self.expected_challenge = ""
        self.token_requests: list[dict[str, list[str]]] = []
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeIssuer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def standard_claims(self, *, nonce: str, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": "subject-1",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "email": "dora@example.com",
            "email_verified": True,
        }
        claims.update(changes)
        return claims

    def signed_id_token(self) -> str:
        return jwt.encode(
            self.id_token_claims, self.key, algorithm="RS256", headers={"kid": "fake-key"}
        )

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": "fake-key", "alg": "RS256", "use": "sig"}]}

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.discovery_issuer,
            "authorization_endpoint": self.url + "/auth",
            "token_endpoint": self.url + "/token",
            "userinfo_endpoint": self.url + "/me",
            "jwks_uri": self.url + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def _token(self, form: dict[str, list[str]], authorization: str) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return 401, {"error": "invalid_client"}
        verifier = form.get("code_verifier", [""])[0]
        challenge = b64url(hashlib.sha256(verifier.encode("ascii")).digest())
        if not verifier or challenge != self.expected_challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE check failed"}
        answer: dict[str, Any] = {"access_token": "fake-access-token", "token_type": "Bearer"}
        if self.include_id_token:
            answer["id_token"] = self.signed_id_token()
        return 200, answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self._answer(200, issuer.discovery())
                elif self.path == "/jwks":
                    self._answer(200, issuer.jwks())
                elif self.path == "/me":
                    if issuer.userinfo is None:
                        # What the ID token says of the person, as most providers answer.
                        token_only = {"iss", "aud", "iat", "exp", "nonce", "azp"}
                        claims = issuer.id_token_claims.items()
                        self._answer(200, {k: v for k, v in claims if k not in token_only})
                    else:
                        self._answer(200, issuer.userinfo)
                else:
                    self._answer(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                if self.path == "/token":
                    status, body = issuer._token(form, self.headers.get("Authorization", ""))
                    self._answer(status, body)
                else:
                    self._answer(404, {"error": "not_found"})

        return Handler


# --- Driving a sign-in with Django's test client ----------------------------------------------

LOGIN_PATH = "/accounts/oidc/sso/login/"


def start_login(client: Client) -> dict[str, str]:
    """Press "Sign in with ...": the authorization request's parameters certdesk sent."""
    response = client.post(LOGIN_PATH)
    assert response.status_code == 302, response.content.decode()[:2000]
    query = parse_qs(urlparse(response["Location"]).query)
    return {name: values[0] for name, values in query.items()}


def finish_login(
    client: Client, issuer: FakeIssuer, params: dict[str, str], **claims: Any
) -> _MonkeyPatchedWSGIResponse:
    """The provider's answer: back at certdesk's callback with a code for an ID token made of
    the standard claims (the right nonce, audience and issuer) changed by ``claims``."""
    issuer.expected_challenge = params["code_challenge"]
    issuer.id_token_claims = issuer.standard_claims(**{"nonce": params["nonce"], **claims})
    return client.get(CALLBACK_PATH, {"code": "authorization-code", "state": params["state"]})


def logged_in_user_id(client: Client) -> str | None:
    value = client.session.get("_auth_user_id")
    return str(value) if value is not None else None
