"""Navigation that fits the role (issue 15): the top bar offers only what the person may open,
marks the page shown, and a certificate page tells who can hand out a key one may not take."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from certificates import services
from certificates.models import Certificate, Environment, Membership
from certificates.services import Actor
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()

EVERYONE = ["Dashboard", "Certificates", "Requests", "Calendar"]
REQUESTER = ["Dashboard", "New request", "Upload certificate", "Certificates", "Requests"]
ADMINISTRATOR = [
    *REQUESTER,
    "Audit log",
    "Outbox",
    "Settings",
    "Calendar",
    "Django admin",
]


def top_bar(page: str) -> list[tuple[str, str, bool]]:
    """(label, URL, marked current) of each link of the main navigation, in order."""
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S)
    assert nav is not None
    return [
        (label, url, bool(current))
        for url, current, label in re.findall(
            r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav.group(1)
        )
    ]


def labels(client: Client, url: str = "/") -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    return [label for label, _, _ in top_bar(response.content.decode())]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("viewer", EVERYONE),
        ("requester", [*REQUESTER, "Calendar"]),
        ("custodian", [*REQUESTER, "Audit log", "Calendar"]),
    ],
)
def test_members_see_the_links_of_their_role_and_each_one_opens(
    member_client: Callable[..., Client],
    sandbox: Environment,
    role: str,
    expected: list[str],
) -> None:
    """A viewer is no longer offered "New request" or "Upload certificate" (bounced when
    clicked); requesters get both, custodians the audit log too; no member sees Outbox,
    Settings or the Django admin. Every link shown opens for that person."""
    client = member_client(role, sandbox)
    assert labels(client) == expected
    for label, url, _ in top_bar(client.get("/").content.decode()):
        assert client.get(url).status_code == 200, label


def test_administrators_see_every_link_and_the_django_admin(admin_client: Client) -> None:
    """Administrators get Outbox, Settings, the audit log and a link to the Django admin, and
    each link opens."""
    assert labels(admin_client) == ADMINISTRATOR
    links = top_bar(admin_client.get("/").content.decode())
    assert ("Django admin", "/admin/", False) in links
    for label, url, _ in links:
        assert admin_client.get(url).status_code == 200, label


def test_a_member_of_one_environment_requests_by_that_role_alone(
    make_member: Callable[[str, Environment], User],
    sandbox: Environment,
    production: Environment,
) -> None:
    """A viewer of Production who requests in Sandbox may request somewhere: the links show."""
    user = make_member("requester", sandbox)
    Membership.objects.create(user=user, environment=production, role="viewer")
    client = Client()
    client.force_login(user)
    assert labels(client) == [*REQUESTER, "Calendar"]


@pytest.mark.parametrize(
    ("url", "current"), [("/", "Dashboard"), ("/certificates/", "Certificates")]
)
def test_the_page_shown_is_marked_current(
    member_client: Callable[..., Client], sandbox: Environment, url: str, current: str
) -> None:
    """The top bar marks the page shown with aria-current="page", and that link alone."""
    page = member_client("viewer", sandbox).get(url).content.decode()
    assert [label for label, _, marked in top_bar(page) if marked] == [current]


# --- who can hand out the key ----------------------------------------------------------------


@pytest.fixture
def certificate(production: Environment, issue: Callable[..., bytes]) -> Certificate:
    """A Production certificate whose private key certdesk holds."""
    request = services.request_create(
        actor=CLI, environment=production, purpose="mtls", subject=ACME
    )
    return services.certificate_upload(actor=CLI, data=issue(request)).certificate


def custodian(name: str, environment: Environment, *, active: bool = True) -> User:
    user = User.objects.create_user(name, is_active=active)
    Membership.objects.create(user=user, environment=environment, role="custodian")
    return user


def how_to_use(client: Client, certificate: Certificate) -> str:
    page = client.get(f"/certificates/{certificate.pk}/").content.decode()
    panel = re.search(r'<section class="panel" aria-labelledby="howto">(.*?)</section>', page, re.S)
    assert panel is not None
    return panel.group(1)


def test_a_requester_is_told_which_custodians_to_ask_for_the_key(
    member_client: Callable[..., Client],
    production: Environment,
    sandbox: Environment,
    certificate: Certificate,
) -> None:
    """The environment's active custodians, by name: not a deactivated one, not another
    environment's."""
    custodian("bob", production)
    custodian("alice", production)
    custodian("carol", production, active=False)
    custodian("dave", sandbox)
    panel = how_to_use(member_client("requester", production), certificate)
    assert "Ask one of Production's custodians (alice, bob) for the key." in panel


def test_without_custodians_the_administrators_are_named(
    member_client: Callable[..., Client],
    admin_user: User,
    production: Environment,
    certificate: Certificate,
) -> None:
    """An environment without a custodian: ask an administrator (they may take every key)."""
    panel = how_to_use(member_client("viewer", production), certificate)
    assert "Production has no custodian. Ask one of certdesk's administrators (admin)" in panel


def test_a_custodian_reads_no_hint(
    member_client: Callable[..., Client], production: Environment, certificate: Certificate
) -> None:
    """Who may download the key is not told to ask someone for it."""
    custodian("alice", production)
    panel = how_to_use(member_client("custodian", production), certificate)
    assert "for the key" not in panel
    assert "custodian" not in panel
