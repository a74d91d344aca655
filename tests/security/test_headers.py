"""Response headers: the Content-Security-Policy and its no-inline rule for templates, the
browser protections on every page, and HTTPS-only cookies, HSTS and the redirect in production."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.support.manage import BASE_DIR, PRODUCTION, run_manage

CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


@pytest.mark.django_db
def test_a_page_carries_the_policy_and_the_browser_protections(
    client: Client, admin_user: User
) -> None:
    """The login page: CSP without inline script or style, no framing, no sniffing, no
    referrer to other sites, its own browsing context group."""
    response = client.get("/login/")
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == CSP
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


INLINE = {
    # A JSON data block (type="application/json", as json_script writes and allauth's WebAuthn
    # pages carry their options in) is never run, so the policy does not apply to it.
    "a <script> with a body": re.compile(
        r"<script\b(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.IGNORECASE
    ),
    "a <style> element": re.compile(r"<style\b", re.IGNORECASE),
    "a style= attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "an on*= event handler": re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def page_templates() -> list[Path]:
    # Emails are read in mail clients, not under this policy (and use inline styles there).
    return sorted(
        path
        for path in (BASE_DIR / "templates").rglob("*.html")
        if "emails" not in path.relative_to(BASE_DIR / "templates").parts
    )


@pytest.mark.parametrize(
    "template", page_templates(), ids=lambda p: str(p.relative_to(BASE_DIR / "templates"))
)
def test_no_template_needs_inline_script_or_style(template: Path) -> None:
    """The policy forbids inline script and style, so no page may rely on them: scripts and
    styles live in static/ files."""
    source = template.read_text()
    found = [what for what, pattern in INLINE.items() if pattern.search(source)]
    assert found == []


# --- production ------------------------------------------------------------------------------

PROBE = """
import json
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client, override_settings

call_command("migrate", verbosity=0)
User.objects.create_user("alice", password="alice's long password")
client = Client(HTTP_HOST="certdesk.example.com")
# Plain storage only because collectstatic has not run here; headers and cookies do not care.
with override_settings(
    STORAGES={**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
):
    plain = client.get("/login/")
    page = client.get("/login/", secure=True)
    login = client.post(
        "/login/", {"login": "alice", "password": "alice's long password"}, secure=True
    )
print(json.dumps({
    "redirect": [plain.status_code, plain.get("Location")],
    "page": page.status_code,
    "hsts": page.get("Strict-Transport-Security"),
    "csp": page.get("Content-Security-Policy"),
    "login": login.status_code,
    "cookies": {
        name: {"secure": bool(m["secure"]), "httponly": bool(m["httponly"])}
        for name, m in client.cookies.items()
    },
    "hash": make_password("a long passphrase 42").split("$")[0],
    "axes": settings.AXES_ENABLED,
}))
"""


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One production process (DJANGO_ENV=production, nothing else set but the secrets) that
    logs a user in over https and reports what it sent."""
    result = run_manage(
        tmp_path_factory.mktemp("production"), "shell", "-v", "0", "-c", PROBE, **PRODUCTION
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["page"] == 200
    assert report["login"] == 302
    return report


@pytest.mark.slow
def test_production_redirects_http_to_https(production: dict[str, Any]) -> None:
    """A plain-http request is sent to the same page over https."""
    assert production["redirect"] == [301, "https://certdesk.example.com/login/"]


@pytest.mark.slow
def test_production_sends_hsts_and_the_policy(production: dict[str, Any]) -> None:
    """HSTS for a year, subdomains included, preload asked; the same CSP as everywhere."""
    assert production["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert directives(production["csp"]) == CSP


@pytest.mark.slow
def test_production_cookies_are_https_only(production: dict[str, Any]) -> None:
    """The session and CSRF cookies never travel over plain http; the session's is also out of
    reach of scripts."""
    cookies = production["cookies"]
    assert cookies["sessionid"] == {"secure": True, "httponly": True}
    assert cookies["csrftoken"]["secure"] is True


@pytest.mark.slow
def test_production_hashes_passwords_with_argon2_and_throttles_logins(
    production: dict[str, Any],
) -> None:
    """New password hashes are Argon2; django-axes is on."""
    assert production["hash"] == "argon2"
    assert production["axes"] is True
