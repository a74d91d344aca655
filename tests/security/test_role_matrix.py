"""Every page of certdesk against every kind of visitor: the role matrix.

The URL patterns come from the resolver itself, so a new page without a line in ``MATRIX``
fails ``test_every_url_pattern_has_an_expectation``: nobody can add a page and forget who may
open it. The Django admin counts as one page, ``admin/``, superusers only.

Who visits, in order (``ROLES``): anonymous; a user without any membership; a Sandbox viewer,
requester and custodian; a Production custodian, who must get nothing of Sandbox; an
administrator (superuser). Expected answers follow ``certificates/views/access.py``: the login
page for anonymous visitors, 404 for an object of an environment the visitor cannot see, 403
for a role too low, and the page (or its normal redirect or download) when allowed. Nothing is
ever a 500.

Each visitor's last password entry is six minutes old, so that key downloads (and allauth's own
sensitive pages) ask for it again (sudo mode, ``/accounts/reauthenticate/``).
``Client.force_login`` records the login time just as a real login does (the ``user_logged_in``
receiver of receivers.py), so the stamp is moved back explicitly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from certificates import crypto, services
from certificates.models import Environment, Membership, Role
from certificates.services import Actor
from certificates.services.api_tokens import api_token_create
from certificates.services.calendar import calendar_feed_replace
from certificates.services.notifications import notification_channel_create
from certificates.views.access import LAST_AUTH_SESSION_KEY
from certificates.views.wizard import SESSION_KEY as WIZARD_SESSION_KEY
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

ROLES = (
    "anonymous",
    "non_member",
    "viewer",
    "requester",
    "custodian",
    "production_custodian",
    "admin",
)
# Visitors who may see nothing of Sandbox: no 200 they get may carry a Sandbox detail.
OUTSIDERS = ("non_member", "production_custodian")

# Expected answers: a status, or "302 <Location>" (a trailing * matches any rest). {request},
# {ready}, {certificate} are filled in with the objects' ids.
LOGIN = "302 /login/?next=*"
REAUTH = "302 /accounts/reauthenticate/?next=*"
ADMIN_LOGIN = "302 /admin/login/?next=/admin/"
WIZARD_START = "302 /requests/new/"
BACK_TO_REQUEST = "302 /requests/{ready}/"
BACK_TO_CERTIFICATE = "302 /certificates/{certificate}/"


def everyone(answer: str) -> tuple[str, ...]:
    return (answer,) * len(ROLES)


def logged_in(answer: str) -> tuple[str, ...]:
    return (LOGIN,) + (answer,) * (len(ROLES) - 1)


# A page of one Sandbox object: viewers and up see it, outsiders get 404.
SANDBOX_VIEW = (LOGIN, "404", "200", "200", "200", "404", "200")
# A page that needs the requester role in Sandbox.
SANDBOX_REQUEST = (LOGIN, "404", "403", "200", "200", "404", "200")
# A page that needs the custodian role in Sandbox.
SANDBOX_CUSTODY = (LOGIN, "404", "403", "403", "200", "404", "200")
# A private-key download: custodians are asked for their password again first.
SANDBOX_KEY = (LOGIN, "404", "403", "403", REAUTH, "404", REAUTH)
# Administrators' pages.
ADMINISTRATORS = (LOGIN, "403", "403", "403", "403", "403", "200")
# A wizard step with Sandbox mTLS in the session: requesters carry on, the others start again.
WIZARD_STEP = (LOGIN, WIZARD_START, WIZARD_START, "200", "200", WIZARD_START, "200")


@dataclass(frozen=True)
class Case:
    method: str  # GET for pages, POST (empty data) for POST-only actions
    url: str  # formatted with the World's ids
    answers: tuple[str, ...]  # one per ROLES
    wizard: bool = False  # put a Sandbox mTLS request-in-progress in the session first
    data: dict[str, str] = field(default_factory=dict)


MATRIX: dict[str, Case] = {
    "": Case("GET", "/", logged_in("200")),
    # Gone once a user exists; open to anyone, so 404 for all.
    "setup/": Case("GET", "/setup/", everyone("404")),
    "healthz": Case("GET", "/healthz", everyone("200")),
    # Prometheus (issue 18): no login, its own token or allow-list; neither set here, so it does
    # not exist for anyone (tests/metrics/test_access.py).
    "metrics": Case("GET", "/metrics", everyone("404")),
    # Someone logged in already is sent on to the dashboard.
    "login/": Case("GET", "/login/", ("200",) + ("302 /",) * 6),
    # A GET asks "Log out?" (allauth); the POST logs out (tests/web/test_first_run.py).
    "logout/": Case("GET", "/logout/", ("302 /login/",) + ("200",) * 6),
    "requests/new/": Case(
        "GET",
        "/requests/new/",
        # No environment to request in: back to the dashboard with a message. The Production
        # custodian gets the wizard, for Production only (checked by the leak test).
        (LOGIN, "302 /", "302 /", "200", "200", "200", "200"),
    ),
    "requests/new/key/": Case("GET", "/requests/new/key/", WIZARD_STEP, wizard=True),
    "requests/new/subject/": Case("GET", "/requests/new/subject/", WIZARD_STEP, wizard=True),
    "requests/new/review/": Case("GET", "/requests/new/review/", WIZARD_STEP, wizard=True),
    "requests/<int:pk>/": Case("GET", "/requests/{request}/", SANDBOX_VIEW),
    "requests/<int:pk>/csr/": Case("GET", "/requests/{request}/csr/", SANDBOX_VIEW),
    "requests/<int:pk>/key/": Case("POST", "/requests/{ready}/key/", SANDBOX_KEY),
    "requests/<int:pk>/sent-by-hand/": Case(
        "POST",
        "/requests/{ready}/sent-by-hand/",
        # No date: the request's page again, with the error as a message.
        (LOGIN, "404", "403", BACK_TO_REQUEST, BACK_TO_REQUEST, "404", BACK_TO_REQUEST),
    ),
    # The explicit resend of a sent CSR (issue 13); a ready one is sent back to its page.
    "requests/<int:pk>/resend/": Case(
        "GET",
        "/requests/{ready}/resend/",
        (LOGIN, "404", "403", BACK_TO_REQUEST, BACK_TO_REQUEST, "404", BACK_TO_REQUEST),
    ),
    # The confirmation page, with its reason field; cancelling is the POST (tested elsewhere).
    "requests/<int:pk>/cancel/": Case("GET", "/requests/{ready}/cancel/", SANDBOX_REQUEST),
    "certificates/": Case("GET", "/certificates/", logged_in("200")),
    "requests/": Case("GET", "/requests/", logged_in("200")),
    # Administrators, and custodians for their own environments.
    "audit/": Case("GET", "/audit/", (LOGIN, "403", "403", "403", "200", "200", "200")),
    # The CSV exports (issue 16): the same readers and limits as their pages.
    "certificates/export.csv": Case("GET", "/certificates/export.csv", logged_in("200")),
    "audit/export.csv": Case(
        "GET", "/audit/export.csv", (LOGIN, "403", "403", "403", "200", "200", "200")
    ),
    "environments/<slug:slug>/send/": Case("GET", "/environments/sandbox/send/", SANDBOX_REQUEST),
    "environments/<slug:slug>/csrs.zip": Case(
        "GET", "/environments/sandbox/csrs.zip", SANDBOX_VIEW
    ),
    # For one Sandbox request: a viewer may upload nowhere (404, as the page says).
    "certificates/upload/": Case(
        "GET",
        "/certificates/upload/?request={ready}",
        (LOGIN, "404", "404", "200", "200", "404", "200"),
    ),
    "certificates/<int:pk>/": Case("GET", "/certificates/{certificate}/", SANDBOX_VIEW),
    "certificates/<int:pk>/pem/": Case("GET", "/certificates/{certificate}/pem/", SANDBOX_VIEW),
    "certificates/<int:pk>/chain/": Case("GET", "/certificates/{certificate}/chain/", SANDBOX_VIEW),
    "certificates/<int:pk>/key/": Case("POST", "/certificates/{certificate}/key/", SANDBOX_KEY),
    "certificates/<int:pk>/compromised/": Case(
        "GET", "/certificates/{certificate}/compromised/", SANDBOX_CUSTODY
    ),
    "certificates/<int:pk>/revoke/": Case(
        "GET", "/certificates/{certificate}/revoke/", SANDBOX_CUSTODY
    ),
    "certificates/<int:pk>/revocation-confirmed/": Case(
        "POST",
        "/certificates/{certificate}/revocation-confirmed/",
        # Nothing was asked of Treezor yet: the certificate's page, with the error.
        (LOGIN, "404", "403", "403", BACK_TO_CERTIFICATE, "404", BACK_TO_CERTIFICATE),
    ),
    "certificates/<int:pk>/destroy-key/": Case(
        "GET", "/certificates/{certificate}/destroy-key/", SANDBOX_CUSTODY
    ),
    "settings/": Case("GET", "/settings/", ADMINISTRATORS),
    "settings/company/": Case("GET", "/settings/company/", ADMINISTRATORS),
    "settings/environments/add/": Case("GET", "/settings/environments/add/", ADMINISTRATORS),
    "settings/environments/<slug:slug>/edit/": Case(
        "GET", "/settings/environments/sandbox/edit/", ADMINISTRATORS
    ),
    "settings/environments/<slug:slug>/members/": Case(
        "GET", "/settings/environments/sandbox/members/", ADMINISTRATORS
    ),
    # Without confirm=yes, the confirmation page.
    "settings/environments/<slug:slug>/members/<int:pk>/remove/": Case(
        "POST", "/settings/environments/sandbox/members/{membership}/remove/", ADMINISTRATORS
    ),
    # Chat and webhook channels (issue 18); the POST actions go back to the list with a message.
    "settings/environments/<slug:slug>/notifications/": Case(
        "GET", "/settings/environments/sandbox/notifications/", ADMINISTRATORS
    ),
    "settings/environments/<slug:slug>/notifications/<int:pk>/": Case(
        "GET", "/settings/environments/sandbox/notifications/{channel}/", ADMINISTRATORS
    ),
    "settings/environments/<slug:slug>/notifications/<int:pk>/deactivate/": Case(
        "POST",
        "/settings/environments/sandbox/notifications/{channel}/deactivate/",
        (*ADMINISTRATORS[:-1], "302 /settings/environments/sandbox/notifications/"),
    ),
    "settings/environments/<slug:slug>/notifications/<int:pk>/reactivate/": Case(
        "POST",
        "/settings/environments/sandbox/notifications/{channel}/reactivate/",
        (*ADMINISTRATORS[:-1], "302 /settings/environments/sandbox/notifications/"),
    ),
    "settings/environments/<slug:slug>/notifications/<int:pk>/test/": Case(
        "POST",
        "/settings/environments/sandbox/notifications/{channel}/test/",
        (*ADMINISTRATORS[:-1], "302 /settings/environments/sandbox/notifications/"),
    ),
    "settings/people/invite/": Case("GET", "/settings/people/invite/", ADMINISTRATORS),
    # Locked-out logins, each with an Unlock button (a POST: tests/security/test_lockout.py).
    "settings/people/locked/": Case("GET", "/settings/people/locked/", ADMINISTRATORS),
    "settings/people/": Case("GET", "/settings/people/", ADMINISTRATORS),
    # Without confirm=yes, the confirmation page.
    "settings/people/<int:pk>/deactivate/": Case(
        "POST", "/settings/people/{person}/deactivate/", ADMINISTRATORS
    ),
    # The viewer is active: the people page, with a message saying so.
    "settings/people/<int:pk>/reactivate/": Case(
        "POST",
        "/settings/people/{person}/reactivate/",
        (*ADMINISTRATORS[:-1], "302 /settings/people/"),
    ),
    # Without confirm=yes, the confirmation page.
    "settings/people/<int:pk>/second-factor/reset/": Case(
        "POST", "/settings/people/{person}/second-factor/reset/", ADMINISTRATORS
    ),
    # Back to the people page, with a message (sent, or why not).
    "settings/people/<int:pk>/invitation/resend/": Case(
        "POST",
        "/settings/people/{person}/invitation/resend/",
        (*ADMINISTRATORS[:-1], "302 /settings/people/"),
    ),
    # No login: the token is the credential; an unknown one is a 404 page that explains
    # (tests/accounts/ open a real one).
    "invitations/<slug:token>/": Case("GET", "/invitations/not-a-token/", everyone("404")),
    "outbox/": Case("GET", "/outbox/", ADMINISTRATORS),
    "calendar/": Case("GET", "/calendar/", logged_in("200")),
    # No login: the token is the credential (a bad one is 404: see below).
    "calendar/<slug:token>.ics": Case("GET", "/calendar/{token}.ics", everyone("200")),
    # --- accounts (django-allauth, issue 15) ---
    "profile/": Case("GET", "/profile/", logged_in("200")),
    "accounts/second-factor/": Case("GET", "/accounts/second-factor/", logged_in("200")),
    # Shadowed by certdesk's own (SHADOWED): the old address leads to /login/.
    "accounts/login/": Case(
        "GET", "/accounts/login/", ("302 /login/?next=*",) + ("302 /login/",) * 6
    ),
    "accounts/reauthenticate/": Case("GET", "/accounts/reauthenticate/", logged_in("200")),
    "accounts/logout/": Case("GET", "/accounts/logout/", ("302 /login/",) + ("200",) * 6),
    "accounts/inactive/": Case("GET", "/accounts/inactive/", everyone("200")),
    # Nobody signs up: the page says so (people are invited); someone logged in goes home.
    "accounts/signup/": Case("GET", "/accounts/signup/", ("200",) + ("302 /",) * 6),
    # Sign-in codes are off: refused.
    "accounts/reauthenticate/code/": Case(
        "GET", "/accounts/reauthenticate/code/", logged_in("403")
    ),
    "accounts/reauthenticate/code/confirm/": Case(
        "GET", "/accounts/reauthenticate/code/confirm/", logged_in("403")
    ),
    "accounts/login/code/confirm/": Case(
        "GET", "/accounts/login/code/confirm/", ("302 /accounts/login/",) + ("302 /",) * 6
    ),
    "accounts/email/": Case("GET", "/accounts/email/", logged_in("200")),
    # A confirmation link works without a login (the key is the credential).
    "accounts/confirm-email/": Case("GET", "/accounts/confirm-email/", everyone("200")),
    "accounts/^confirm-email/(?P<key>[-:\\w]+)/$": Case(
        "GET", "/accounts/confirm-email/not-a-key/", everyone("200")
    ),
    "accounts/password/change/": Case("GET", "/accounts/password/change/", logged_in("200")),
    # Everyone here has a password: set is change.
    "accounts/password/set/": Case(
        "GET", "/accounts/password/set/", logged_in("302 /accounts/password/change/")
    ),
    "accounts/password/reset/": Case("GET", "/accounts/password/reset/", everyone("200")),
    "accounts/password/reset/done/": Case("GET", "/accounts/password/reset/done/", everyone("200")),
    "accounts/password/reset/key/done/": Case(
        "GET", "/accounts/password/reset/key/done/", everyone("200")
    ),
    # A bad reset link: the page says it is invalid.
    "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$": Case(
        "GET", "/accounts/password/reset/key/1-not-a-key/", everyone("200")
    ),
    "accounts/2fa/": Case("GET", "/accounts/2fa/", logged_in("200")),
    # No login in progress: back to the start.
    "accounts/2fa/authenticate/": Case(
        "GET", "/accounts/2fa/authenticate/", ("302 /accounts/login/",) + ("302 /",) * 6
    ),
    # Nobody in the matrix has a second factor: the password instead.
    "accounts/2fa/reauthenticate/": Case(
        "GET", "/accounts/2fa/reauthenticate/", logged_in("302 /accounts/reauthenticate/")
    ),
    "accounts/2fa/webauthn/reauthenticate/": Case(
        "GET", "/accounts/2fa/webauthn/reauthenticate/", logged_in("302 /accounts/reauthenticate/")
    ),
    # Adding or changing a factor: sudo mode (the password was typed six minutes ago).
    "accounts/2fa/totp/activate/": Case("GET", "/accounts/2fa/totp/activate/", logged_in(REAUTH)),
    "accounts/2fa/webauthn/add/": Case("GET", "/accounts/2fa/webauthn/add/", logged_in(REAUTH)),
    "accounts/2fa/recovery-codes/generate/": Case(
        "GET", "/accounts/2fa/recovery-codes/generate/", logged_in(REAUTH)
    ),
    "accounts/2fa/webauthn/keys/<int:pk>/remove/": Case(
        "GET", "/accounts/2fa/webauthn/keys/1/remove/", logged_in(REAUTH)
    ),
    "accounts/2fa/webauthn/keys/<int:pk>/edit/": Case(
        "GET", "/accounts/2fa/webauthn/keys/1/edit/", logged_in(REAUTH)
    ),
    # Nothing to deactivate or show without a factor.
    "accounts/2fa/totp/deactivate/": Case(
        "GET", "/accounts/2fa/totp/deactivate/", logged_in("404")
    ),
    "accounts/2fa/recovery-codes/": Case("GET", "/accounts/2fa/recovery-codes/", logged_in("404")),
    "accounts/2fa/recovery-codes/download/": Case(
        "GET", "/accounts/2fa/recovery-codes/download/", logged_in("404")
    ),
    "accounts/2fa/webauthn/": Case("GET", "/accounts/2fa/webauthn/", logged_in("200")),
    "accounts/sessions/": Case("GET", "/accounts/sessions/", logged_in("200")),
    # Single sign-on (not configured in the matrix: no provider, 404).
    "accounts/oidc/^(?P<provider_id>[^/]+)/login/": Case(
        "GET", "/accounts/oidc/sso/login/", everyone("404")
    ),
    "accounts/oidc/^(?P<provider_id>[^/]+)/login/callback/": Case(
        "GET", "/accounts/oidc/sso/login/callback/", everyone("404")
    ),
    "accounts/3rdparty/": Case("GET", "/accounts/3rdparty/", logged_in("200")),
    "accounts/3rdparty/login/cancelled/": Case(
        "GET", "/accounts/3rdparty/login/cancelled/", everyone("200")
    ),
    # Only shown in place by the failing callback; opened directly it refuses.
    "accounts/3rdparty/login/error/": Case(
        "GET", "/accounts/3rdparty/login/error/", logged_in("401")
    ),
    # No SSO sign-up in progress: back to the login.
    "accounts/3rdparty/signup/": Case(
        "GET", "/accounts/3rdparty/signup/", everyone("302 /accounts/login/")
    ),
    # allauth's old addresses, moved to 3rdparty/ for good.
    "accounts/social/login/cancelled/": Case(
        "GET",
        "/accounts/social/login/cancelled/",
        logged_in("301 /accounts/3rdparty/login/cancelled/"),
    ),
    "accounts/social/login/error/": Case(
        "GET", "/accounts/social/login/error/", logged_in("301 /accounts/3rdparty/login/error/")
    ),
    "accounts/social/signup/": Case(
        "GET", "/accounts/social/signup/", logged_in("301 /accounts/3rdparty/signup/")
    ),
    "accounts/social/connections/": Case(
        "GET", "/accounts/social/connections/", logged_in("301 /accounts/3rdparty/")
    ),
    # The Django admin: one page stands for all of it.
    "admin/": Case("GET", "/admin/", (ADMIN_LOGIN,) * 6 + ("200",)),
    # --- API tokens and the REST API (issue 17) ---
    "profile/tokens/": Case("GET", "/profile/tokens/", logged_in("200")),
    # The viewer's token: its owner revokes it; anyone else's revocation of it is 404 here.
    "profile/tokens/<int:pk>/revoke/": Case(
        "POST",
        "/profile/tokens/{api_token}/revoke/",
        (LOGIN, "404", "302 /profile/tokens/", "404", "404", "404", "404"),
    ),
    "settings/people/tokens/": Case("GET", "/settings/people/tokens/", ADMINISTRATORS),
    "settings/people/tokens/<int:pk>/revoke/": Case(
        "POST",
        "/settings/people/tokens/{api_token}/revoke/",
        (*ADMINISTRATORS[:-1], "302 /settings/people/tokens/"),
    ),
    # The schema and its reference page are public; the API root is nothing.
    "api/v1/schema": Case("GET", "/api/v1/schema", everyone("200")),
    "api/v1/docs": Case("GET", "/api/v1/docs", everyone("200")),
    "api/v1/": Case("GET", "/api/v1/", everyone("404")),
    # A session cookie never opens the API: only a token does (tests/api/ for tokens).
    "api/v1/environments": Case("GET", "/api/v1/environments", everyone("401")),
    "api/v1/certificates": Case("GET", "/api/v1/certificates", everyone("401")),
    "api/v1/certificates/<certificate_id>": Case(
        "GET", "/api/v1/certificates/{certificate}", everyone("401")
    ),
    "api/v1/certificates/<certificate_id>/compromise": Case(
        "POST", "/api/v1/certificates/{certificate}/compromise", everyone("401")
    ),
    "api/v1/certificates/<certificate_id>/revocation/confirm": Case(
        "POST", "/api/v1/certificates/{certificate}/revocation/confirm", everyone("401")
    ),
    "api/v1/certificates/<certificate_id>/key": Case(
        "POST", "/api/v1/certificates/{certificate}/key", everyone("401")
    ),
    "api/v1/requests": Case("GET", "/api/v1/requests", everyone("401")),
    "api/v1/requests/<request_id>": Case("GET", "/api/v1/requests/{request}", everyone("401")),
    "api/v1/requests/<request_id>/cancel": Case(
        "POST", "/api/v1/requests/{ready}/cancel", everyone("401")
    ),
    "api/v1/requests/<request_id>/key": Case(
        "POST", "/api/v1/requests/{ready}/key", everyone("401")
    ),
    "api/v1/environments/<slug>/send": Case(
        "POST", "/api/v1/environments/sandbox/send", everyone("401")
    ),
}


# allauth's routes that certdesk answers with its own view, listed first in certificates/urls.py:
# the login (a redirect to /login/) and the password check of sudo mode.
SHADOWED = ["accounts/login/", "accounts/reauthenticate/"]


def url_patterns(
    patterns: list[URLPattern | URLResolver] | None = None, prefix: str = ""
) -> Iterator[str]:
    """Every route of the project, nested includes walked; the admin counts as ``admin/``."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route == "admin/":
                yield route
            else:
                yield from url_patterns(entry.url_patterns, route)
        else:
            yield route


def test_every_url_pattern_has_an_expectation() -> None:
    """A page without a line in MATRIX (or a line for a page that is gone) fails here."""
    routes = list(url_patterns())
    shadowed = [route for route in routes if route in SHADOWED]
    assert sorted(shadowed) == sorted(SHADOWED * 2), "certdesk no longer shadows these"
    routes = [route for route in routes if route not in SHADOWED] + list(SHADOWED)
    assert len(routes) == len(set(routes)), "two patterns share a route"
    assert sorted(set(routes) - set(MATRIX)) == [], "pages with no expectation in MATRIX"
    assert sorted(set(MATRIX) - set(routes)) == [], "MATRIX lines for pages that are gone"


# --- the world the matrix visits ------------------------------------------------------------

SANDBOX_COMMON_NAME = "sandbox-only.example.com"
PASSWORD = "everyone's long password"


@dataclass
class World:
    users: dict[str, User | None]
    ids: dict[str, Any]
    # Text that only a visitor who may see Sandbox may ever be shown.
    sandbox_secrets: list[str]


@pytest.fixture(scope="module")
def key_pair_pool() -> list[rsa.RSAPrivateKey]:
    """Two RSA keys made once for the module: each test's database starts empty."""
    return [crypto.generate_private_key() for _ in range(2)]


@pytest.fixture
def world(
    monkeypatch: pytest.MonkeyPatch,
    key_pair_pool: list[rsa.RSAPrivateKey],
    sandbox: Environment,
    production: Environment,
    admin_user: User,
    issue: Callable[..., bytes],
) -> World:
    """Sandbox: a request with its certificate uploaded and a ready one (so the CSR archive
    downloads); the six kinds of users; a calendar feed (the viewer's)."""
    pool = iter(key_pair_pool)
    monkeypatch.setattr(crypto, "generate_private_key", lambda: next(pool))
    subject = replace(ACME, common_name=SANDBOX_COMMON_NAME)
    fulfilled = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=subject
    )
    certificate = services.certificate_upload(actor=Actor.cli(), data=issue(fulfilled)).certificate
    ready = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=subject
    )

    def member(name: str, role: str, environment: Environment) -> User:
        user = User.objects.create_user(name, f"{name}@example.com", password=PASSWORD)
        Membership.objects.create(user=user, environment=environment, role=role)
        return user

    users: dict[str, User | None] = {
        "anonymous": None,
        "non_member": User.objects.create_user("outsider", password=PASSWORD),
        "viewer": member("viewer", Role.VIEWER, sandbox),
        "requester": member("requester", Role.REQUESTER, sandbox),
        "custodian": member("custodian", Role.CUSTODIAN, sandbox),
        "production_custodian": member("prodcustodian", Role.CUSTODIAN, production),
        "admin": admin_user,
    }
    viewer = users["viewer"]
    assert viewer is not None
    return World(
        users=users,
        ids={
            "request": fulfilled.pk,
            "ready": ready.pk,
            "certificate": certificate.pk,
            "membership": Membership.objects.get(user=viewer).pk,
            "person": viewer.pk,
            "token": calendar_feed_replace(actor=Actor.cli(), user=viewer),
            "api_token": api_token_create(
                actor=Actor.cli(),
                user=viewer,
                name="matrix",
                environments=[sandbox],
                scopes=["read"],
                expires_on=timezone.localdate() + timedelta(days=30),
            ).token.pk,
            "channel": notification_channel_create(
                actor=Actor.cli(),
                environment=sandbox,
                kind="webhook",
                name="matrix",
                url="https://hooks.example.com/certdesk",
                events=["certificate_installed"],
            ).channel.pk,
        },
        sandbox_secrets=[SANDBOX_COMMON_NAME, certificate.serial, certificate.fingerprint],
    )


def client_of(world: World, role: str, *, wizard: bool = False) -> Client:
    """A client for ``role`` whose password was last typed six minutes ago."""
    client = Client(raise_request_exception=False)  # a crash is a 500 in the table, not a stop
    user = world.users[role]
    if user is not None:
        client.force_login(user)
        session = client.session
        session[LAST_AUTH_SESSION_KEY] = timezone.now().timestamp() - 6 * 60
        if wizard:
            session[WIZARD_SESSION_KEY] = {
                "token": str(uuid.uuid4()),
                "renews": None,
                "environment": "sandbox",
                "purpose": "mtls",
                "key_source": "generate",
                "csr_pem": None,
                "subject": ACME.as_dict(),
            }
        session.save()
    return client


def answer_of(response: Any) -> str:
    if response.status_code in (301, 302, 303, 307, 308):
        return f"{response.status_code} {response['Location']}"
    return str(response.status_code)


def matches(expected: str, actual: str) -> bool:
    if expected.endswith("*"):
        return actual.startswith(expected[:-1])
    return actual == expected


def visit(world: World, case: Case, role: str) -> Any:
    client = client_of(world, role, wizard=case.wizard)
    url = case.url.format(**world.ids)
    if case.method == "POST":
        return client.post(url, case.data)
    return client.get(url)


@pytest.mark.parametrize("route", list(MATRIX), ids=lambda route: route or "dashboard")
def test_role_matrix(world: World, route: str) -> None:
    """Each visitor gets exactly the expected answer; outsiders' pages show nothing of Sandbox.
    All mismatches of a page are reported together, as a table."""
    case = MATRIX[route]
    assert len(case.answers) == len(ROLES), route
    wrong = []
    for role, expected in zip(ROLES, case.answers, strict=True):
        expected = expected.format(**world.ids)
        response = visit(world, case, role)
        actual = answer_of(response)
        if not matches(expected, actual):
            wrong.append(f"{role}: expected {expected}, got {actual}")
        elif (
            role in OUTSIDERS
            and response.status_code == 200
            and route != "calendar/<slug:token>.ics"
        ):
            # (The feed is its owner's, the viewer's; whoever holds the token reads it.)
            body = b"".join(response) if response.streaming else response.content
            leaked = [secret for secret in world.sandbox_secrets if secret.encode() in body]
            if leaked:
                wrong.append(f"{role}: a 200 that shows Sandbox's {leaked}")
    assert wrong == [], f"{case.method} {case.url.format(**world.ids)}:\n" + "\n".join(wrong)


# --- the special cases around the matrix ----------------------------------------------------

POST_ONLY = [route for route, case in MATRIX.items() if case.method == "POST"]


@pytest.mark.parametrize("route", POST_ONLY)
def test_post_only_actions_refuse_a_get(world: World, route: str) -> None:
    """A GET on an action is 405 (or the login page, or 403 for administrators' actions),
    never the action and never a 500."""
    case = MATRIX[route]
    for role in ROLES:
        response = client_of(world, role).get(case.url.format(**world.ids))
        answer = answer_of(response)
        assert answer == "405" or matches(LOGIN, answer) or answer == "403", (role, answer)


@pytest.mark.parametrize("role", ["custodian", "admin"])
@pytest.mark.parametrize("url", ["/requests/{ready}/key/", "/certificates/{certificate}/key/"])
def test_a_fresh_password_gives_the_key_to_custodians_only(
    world: World, role: str, url: str
) -> None:
    """Having typed the password within five minutes, a custodian (or an administrator) gets
    the key file, never cached; a viewer or requester still gets 403."""
    for who, status in ((role, 200), ("viewer", 403), ("requester", 403)):
        client = client_of(world, who)
        session = client.session
        session[LAST_AUTH_SESSION_KEY] = timezone.now().timestamp()
        session.save()
        response = client.post(url.format(**world.ids))
        assert response.status_code == status, who
        if status == 200:
            assert "no-store" in response["Cache-Control"]
            assert response.content.startswith(b"-----BEGIN RSA PRIVATE KEY-----")


@pytest.mark.parametrize("token", ["not-a-token", "x" * 43, "-_-"])
def test_a_wrong_calendar_token_is_404(world: World, token: str) -> None:
    """An unknown token shows nothing, logged in or not."""
    for role in ("anonymous", "admin"):
        assert client_of(world, role).get(f"/calendar/{token}.ics").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/requests/new/?renews=abc",
        "/requests/new/?renews=%C2%B2",
        "/requests/new/?renews=99999999999999999999999999",
        "/certificates/upload/?request=%C2%B2",
        "/certificates/upload/?request=99999999999999999999999999",
        "/certificates/?page=abc",
        "/certificates/?page=-3",
        "/requests/?page=99999999999999999999",
        "/audit/?page=%C2%B2&action=%00",
        "/outbox/?page=0&status=nope&kind=%FF",
        "/environments/sandbox/send/?request=abc",
        "/requests/99999999999999999999999999/",
        "/certificates/99999999999999999999999999/",
    ],
)
def test_odd_query_values_are_never_a_500(world: World, url: str) -> None:
    """Ids and page numbers that are not numbers, or too large for the database, or Unicode
    digits that int() refuses ("²"): the page, a redirect or a 404, never a server error."""
    response = client_of(world, "admin").get(url)
    assert response.status_code in (200, 302, 404), response.status_code


def test_a_member_id_that_is_no_number_is_404(world: World) -> None:
    """The members page's role change with a membership id like "²" is 404, not a 500."""
    client = client_of(world, "admin")
    session = client.session
    session[LAST_AUTH_SESSION_KEY] = timezone.now().timestamp()  # past sudo mode's question
    session.save()
    for value in ("²", "abc", "99999999999999999999999999"):
        response = client.post("/settings/environments/sandbox/members/", {"membership": value})
        assert response.status_code == 404, value
