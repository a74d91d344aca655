"""A certdesk with something on every page, and the pages of the journey each role can open:
what the layout and accessibility browser tests visit (tests/e2e/test_layout.py, test_a11y.py).

``build_site`` fills the database the way people would have (through the services): the company
profile, Sandbox and Production with their TAM, team addresses and Treezor CA, a person of each
role, a CSR sent to the TAM, a certificate in service with a long subject, a revocation waiting
for Treezor, a draft request, a pending invitation and an email in the outbox.
``pages_for(role, site)`` names what that role opens; the wizard's steps keep their state in
the session, so ``wizard_steps`` walks them in the browser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from certificates import crypto, services
from certificates.models import Certificate, Environment, Membership, Role, SigningRequest
from certificates.services.revocations import revocation_request
from tests.support.accounts import log_in_as
from tests.support.commands import chain_pem, sign
from tests.support.environments import migrated_environment, trusting
from tests.support.invitations import invite
from tests.support.testca import LocalCA

PASSWORD = "a long tour passphrase 2026"
# The roles a page may be opened as; "anonymous" is nobody logged in.
ROLES = ("admin", "custodian", "requester", "viewer", "anonymous")
WIDTHS = {"phone": 390, "desktop": 1280}
HEIGHT = {"phone": 844, "desktop": 900}

# A subject with accents and a long Common Name: what must wrap rather than widen the page.
LONG_SUBJECT = crypto.Subject(
    country="FR",
    state="Île-de-France",
    locality="Paris",
    organization="Acme Paiements et Services Financiers SAS",
    organizational_unit="Plateforme de paiement",
    common_name="payments-gateway-eu-west-1.production.acme-fintech.example.com",
    email="platform-security-team@acme-fintech.example.com",
)


@dataclass(frozen=True)
class Site:
    sandbox: Environment
    production: Environment
    certificate: Certificate  # in service in Sandbox, with a long subject
    revoked: Certificate  # superseded, revocation requested (waiting for Treezor)
    sent: SigningRequest  # emailed to the Sandbox TAM
    draft: SigningRequest  # ready, in Production, not sent
    invitation_token: str
    users: dict[str, User]


def _person(username: str, *, superuser: bool = False) -> User:
    make = User.objects.create_superuser if superuser else User.objects.create_user
    user = make(username, f"{username}@acme-fintech.example", PASSWORD)
    user.first_name, user.last_name = username.capitalize(), "Martin"
    user.save(update_fields=["first_name", "last_name"])
    return user


def build_site(ca: LocalCA) -> Site:
    """Everything the tour's pages show, made through the services as people would."""
    cli = services.Actor.cli()
    services.company_profile_update(
        actor=cli, company_name="Acme Fintech", country="FR", organization="Acme"
    )
    # Sandbox was created first, as the data migration does.
    sandbox = trusting(migrated_environment("Sandbox"), ca)
    production = trusting(migrated_environment("Production"), ca)
    for environment in (sandbox, production):
        environment.tam_emails = ["tam@treezor.example"]
        environment.team_emails = ["certificates-team@acme-fintech.example"]
        environment.save(update_fields=["tam_emails", "team_emails"])

    users = {
        "admin": _person("admin", superuser=True),
        "custodian": _person("custodian"),
        "requester": _person("requester"),
        "viewer": _person("viewer"),
    }
    # Someone with an authenticator app: logging in asks for the code (the second-factor page).
    TOTP.activate(_person("totp"), "JBSWY3DPEHPK3PXP")
    for role in (Role.CUSTODIAN, Role.REQUESTER, Role.VIEWER):
        for environment in (sandbox, production):
            Membership.objects.create(user=users[role], environment=environment, role=role)

    def request(environment: Environment, purpose: str, subject: crypto.Subject) -> SigningRequest:
        return services.request_create(
            actor=cli, environment=environment, purpose=purpose, subject=subject
        )

    def install(signing_request: SigningRequest) -> Certificate:
        leaf = sign(ca, signing_request)
        return services.certificate_upload(
            actor=cli, data=chain_pem(ca, leaf), replace=True
        ).certificate

    old = install(request(sandbox, "mtls", LONG_SUBJECT))
    certificate = install(request(sandbox, "mtls", LONG_SUBJECT))
    old.refresh_from_db()
    revocation_request(actor=cli, certificate=old, reason="superseded")
    install(request(sandbox, "signature", LONG_SUBJECT))

    sent = request(sandbox, "signature", LONG_SUBJECT)
    services.tam_send(actor=cli, environment=sandbox, signing_requests=[sent])
    draft = request(production, "mtls", LONG_SUBJECT)
    _, token = invite("newcomer@acme-fintech.example", [(sandbox, Role.REQUESTER)])
    for item in (certificate, old, sent, draft):
        item.refresh_from_db()
    return Site(
        sandbox=sandbox,
        production=production,
        certificate=certificate,
        revoked=old,
        sent=sent,
        draft=draft,
        invitation_token=token,
        users=users,
    )


@dataclass(frozen=True)
class Tour:
    """One page of the tour: ``name`` (also the screenshot's file name) and its path."""

    name: str
    path: str


ADMIN_ONLY = "admin"
KEEPERS = ("admin", "custodian")  # custody: keys, revocation, compromise, the audit log
MAKERS = ("admin", "custodian", "requester")  # requests, uploads, sending to the TAM
EVERYONE = ("admin", "custodian", "requester", "viewer")


def pages_for(role: str, site: Site) -> list[Tour]:
    """The pages ``role`` opens in the journey (GET pages; the wizard's later steps are walked
    by ``wizard_steps``)."""
    cert = site.certificate.pk
    sandbox = site.sandbox.slug
    production = site.production.slug
    every: list[tuple[str, str, tuple[str, ...]]] = [
        ("dashboard", "/", EVERYONE),
        ("certificate", f"/certificates/{cert}/", EVERYONE),
        ("certificate-revocation-requested", f"/certificates/{site.revoked.pk}/", EVERYONE),
        ("request-sent", f"/requests/{site.sent.pk}/", EVERYONE),
        ("request-draft", f"/requests/{site.draft.pk}/", EVERYONE),
        ("certificates", "/certificates/", EVERYONE),
        ("requests", "/requests/", EVERYONE),
        ("calendar", "/calendar/", EVERYONE),
        ("profile", "/profile/", EVERYONE),
        ("profile-password", "/accounts/password/change/", EVERYONE),
        ("profile-email", "/accounts/email/", EVERYONE),
        ("profile-second-factor", "/accounts/2fa/", EVERYONE),
        ("profile-sessions", "/accounts/sessions/", EVERYONE),
        ("profile-api-tokens", "/profile/tokens/", EVERYONE),
        ("second-factor-required", "/accounts/second-factor/", EVERYONE),
        ("totp-activate", "/accounts/2fa/totp/activate/", EVERYONE),
        ("passkey-add", "/accounts/2fa/webauthn/add/", EVERYONE),
        ("confirm-it-is-you", "/accounts/reauthenticate/", EVERYONE),
        ("wizard-start", "/requests/new/", MAKERS),
        ("upload", "/certificates/upload/", MAKERS),
        ("send-to-tam", f"/environments/{production}/send/", MAKERS),
        ("request-resend", f"/requests/{site.sent.pk}/resend/", MAKERS),
        ("request-cancel", f"/requests/{site.draft.pk}/cancel/", MAKERS),
        ("outbox", "/outbox/", (ADMIN_ONLY,)),
        ("audit-log", "/audit/", KEEPERS),
        ("revoke", f"/certificates/{cert}/revoke/", KEEPERS),
        ("compromise", f"/certificates/{cert}/compromised/", KEEPERS),
        ("destroy-key", f"/certificates/{site.revoked.pk}/destroy-key/", KEEPERS),
        ("settings", "/settings/", (ADMIN_ONLY,)),
        ("settings-company", "/settings/company/", (ADMIN_ONLY,)),
        ("settings-environment-add", "/settings/environments/add/", (ADMIN_ONLY,)),
        ("settings-environment-edit", f"/settings/environments/{sandbox}/edit/", (ADMIN_ONLY,)),
        ("settings-members", f"/settings/environments/{sandbox}/members/", (ADMIN_ONLY,)),
        ("people", "/settings/people/", (ADMIN_ONLY,)),
        ("invite", "/settings/people/invite/", (ADMIN_ONLY,)),
        ("login-locks", "/settings/people/locked/", (ADMIN_ONLY,)),
        ("api-tokens", "/settings/people/tokens/", (ADMIN_ONLY,)),
        ("login", "/login/", ("anonymous",)),
        ("password-reset", "/accounts/password/reset/", ("anonymous",)),
        ("invitation", f"/invitations/{site.invitation_token}/", ("anonymous",)),
    ]
    return [Tour(name, path) for name, path, roles in every if role in roles]


def log_in(page: Page, url: str, role: str) -> None:
    if role == "anonymous":
        return
    log_in_as(page, url, role, PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def wizard_steps(page: Page, url: str) -> Iterator[str]:
    """Walk the wizard (Sandbox, mTLS, generate here, Acme's subject) and yield each step's
    name once its page is shown: start, key source, subject, review."""
    page.goto(url + "/requests/new/")
    yield "wizard-start"
    page.get_by_label("Sandbox").check()
    page.get_by_label("mTLS: client authentication").check()
    page.get_by_role("button", name="Next: key source").click()
    expect(page.get_by_role("group", name="Where does the private key come from?")).to_be_visible()
    yield "wizard-key-source"
    page.get_by_role("radio", name="Generate the key here (recommended)").check()
    page.get_by_role("button", name="Next", exact=True).click()
    expect(page.get_by_label("Common Name")).to_be_visible()
    yield "wizard-subject"
    page.get_by_label("Country").select_option("FR")
    for label, value in (
        ("State / Province", "Brittany"),
        ("Locality", "Rennes"),
        ("Organization Name", "Acme"),
        ("Organizational Unit", "IT"),
        ("Common Name", "wizard.acme-fintech.example.com"),
        ("Email", "it@acme-fintech.example"),
    ):
        page.get_by_label(label).fill(value)
    page.get_by_role("button", name="Next: review").click()
    expect(page.get_by_role("button", name="Create the key and CSR")).to_be_visible()
    yield "wizard-review"


def calendar_steps(page: Page, url: str) -> Iterator[str]:
    """Create the feed URL (shown once, with its copy button), then the page that offers to
    replace it."""
    page.goto(url + "/calendar/")
    # The first time, "Create my feed URL"; at the second width, "Replace the URL".
    page.locator("form button[name=action]").click()
    expect(page.locator("#feed-url")).to_be_visible()
    yield "calendar-feed-url"
    page.goto(url + "/calendar/")
    expect(page.get_by_role("button", name="Replace the URL")).to_be_visible()
    yield "calendar-replace"


def revoke_refused(page: Page, url: str, site: Site) -> Iterator[str]:
    """The revoke form sent without a reason: the field's error beside it."""
    page.goto(f"{url}/certificates/{site.certificate.pk}/revoke/")
    page.get_by_role("button", name="Ask Treezor to revoke it").click()
    expect(page.locator(".has-error")).not_to_have_count(0)
    yield "revoke-refused"


def menu_open(page: Page, url: str) -> Iterator[str]:
    """The dashboard with the menu unfolded (a phone's "Menu"; on a wide screen it is open)."""
    page.goto(url + "/")
    summary = page.locator("details.menu > summary")
    if summary.is_visible():
        summary.click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    yield "menu-open"


def second_factor_login(page: Page, url: str) -> Iterator[str]:
    """Log in as someone with an authenticator app: the page that asks for the code."""
    log_in_as(page, url, "totp", PASSWORD)
    expect(page).to_have_url(url + "/accounts/2fa/authenticate/")
    yield "login-second-factor"


def visit_all(
    page: Page, url: str, role: str, site: Site, check: Callable[[str], None]
) -> list[str]:
    """Open every page of ``role``'s tour and call ``check(name)`` on each; the names seen."""
    seen = []
    for tour in pages_for(role, site):
        response = page.goto(url + tour.path)
        assert response is not None
        assert response.status == 200, (tour, response.status)
        check(tour.name)
        seen.append(tour.name)
    walks: list[Iterator[str]] = []
    if role in MAKERS:
        walks.append(wizard_steps(page, url))
    if role in KEEPERS:
        walks.append(revoke_refused(page, url, site))
    if role != "anonymous":
        walks.append(menu_open(page, url))
        walks.append(calendar_steps(page, url))
    else:
        walks.append(second_factor_login(page, url))
    for walk in walks:
        for name in walk:
            if name not in seen:
                check(name)
                seen.append(name)
    return seen
