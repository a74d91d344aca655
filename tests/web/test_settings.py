"""The administrators' settings pages: company profile, environments, members and people."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from certificates import crypto, services
from certificates.models import AuditEvent, CompanyProfile, Environment, Membership
from certificates.services.audit import Actor
from certificates.services.calendar import calendar_feed_replace
from certificates.services.errors import ServiceError
from tests.support.environments import migrated_environment
from tests.support.settings_pages import environment_data
from tests.support.subjects import ACME, acme_form
from tests.support.testca import LocalCA

pytestmark = pytest.mark.django_db

PROFILE = {"company_name": "Acme SAS", **acme_form()}

NEW_ENVIRONMENT = {
    "name": "Staging",
    "slug": "",
    "tam_emails": "tam@treezor.com\nsecond@treezor.com",
    "team_emails": "team@acme.com, ops@acme.com",
    "api_host": "staging.treezor.co",
    "signature_required": "on",
    "ca_bundle_text": "",
}


def private_key_pem() -> bytes:
    return crypto.private_key_to_pem(crypto.generate_private_key())


@pytest.fixture
def sandbox(db: None) -> Environment:
    """Sandbox as the first migration leaves it: no Treezor CA yet (these tests set one)."""
    return migrated_environment("Sandbox")


@pytest.fixture
def production(db: None) -> Environment:
    return migrated_environment("Production")


@pytest.fixture
def bundle_pem(local_ca: LocalCA) -> bytes:
    return local_ca.bundle_pem()


@pytest.fixture
def custodian_client(
    sandbox: Environment, make_member: Callable[[str, Environment], User]
) -> Client:
    client = Client()
    client.force_login(make_member("custodian", sandbox))
    return client


@pytest.fixture
def member(sandbox: Environment) -> Membership:
    user = User.objects.create_user("carol", "carol@acme.com", "a long passphrase 42")
    return Membership.objects.create(user=user, environment=sandbox, role="viewer")


def field_errors(response: object, field: str, form: str = "form") -> list[str]:
    return list(response.context[form].errors.get(field, []))  # type: ignore[attr-defined]


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


# --- Access ----------------------------------------------------------------------------------

PAGES = [
    ("GET", "settings_home", {}),
    ("GET", "settings_company", {}),
    ("GET", "settings_environment_add", {}),
    ("GET", "settings_environment_edit", {"slug": "sandbox"}),
    ("GET", "settings_members", {"slug": "sandbox"}),
    ("GET", "settings_invite", {}),
    ("POST", "settings_member_remove", {"slug": "sandbox", "pk": 0}),
]


@pytest.mark.parametrize(("method", "name", "kwargs"), PAGES)
def test_administrator_opens_every_settings_page(
    admin_client: Client,
    sandbox: Environment,
    member: Membership,
    method: str,
    name: str,
    kwargs: dict[str, object],
) -> None:
    """An administrator can open each settings page."""
    if name == "settings_member_remove":
        kwargs = {**kwargs, "pk": member.pk}
    url = reverse(name, kwargs=kwargs)
    response = admin_client.post(url) if method == "POST" else admin_client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize(("method", "name", "kwargs"), PAGES)
def test_a_custodian_gets_403_on_every_settings_page(
    custodian_client: Client, member: Membership, method: str, name: str, kwargs: dict[str, object]
) -> None:
    """Even a custodian of Sandbox is refused the settings pages, and nothing changes."""
    if name == "settings_member_remove":
        kwargs = {**kwargs, "pk": member.pk}
    url = reverse(name, kwargs=kwargs)
    assert custodian_client.post(url, {"confirm": "yes"}).status_code == 403
    if method == "GET":
        assert custodian_client.get(url).status_code == 403
    assert Membership.objects.filter(pk=member.pk).exists()


@pytest.mark.parametrize(("method", "name", "kwargs"), PAGES)
def test_anonymous_visitors_are_sent_to_login(
    client: Client,
    admin_user: User,
    sandbox: Environment,
    method: str,
    name: str,
    kwargs: dict[str, object],
) -> None:
    """Someone not logged in is sent to the login page, then back to the page they wanted."""
    url = reverse(name, kwargs=kwargs)
    response = client.post(url) if method == "POST" else client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_member_remove_refuses_get(admin_client: Client, member: Membership) -> None:
    """Removing a member cannot be triggered by following a link."""
    url = reverse("settings_member_remove", kwargs={"slug": "sandbox", "pk": member.pk})
    assert admin_client.get(url).status_code == 405
    assert Membership.objects.filter(pk=member.pk).exists()


# --- Settings home ---------------------------------------------------------------------------


def test_home_shows_each_environment_and_the_missing_tam_warning(
    admin_client: Client, sandbox: Environment, production: Environment, bundle_pem: bytes
) -> None:
    """The overview lists TAM addresses, warns where there is none, and shows the CA bundle."""
    Environment.objects.filter(pk=sandbox.pk).update(
        tam_emails=["tam@treezor.com"], ca_bundle=bundle_pem.decode(), signature_required=True
    )
    Environment.objects.filter(pk=production.pk).update(tam_emails=[])
    page = admin_client.get(reverse("settings_home")).content.decode()
    assert "tam@treezor.com" in page
    assert page.count("No TAM address: CSRs cannot be emailed") == 1
    assert "required (PCI DSS)" in page
    root = x509.load_pem_x509_certificate(bundle_pem)
    assert crypto.describe_name(root.subject) in page
    assert crypto.openssl_date(root.not_valid_after_utc) in page
    for name in ("settings_company", "settings_environment_add", "settings_invite"):
        assert reverse(name) in page
    assert reverse("settings_environment_edit", kwargs={"slug": "production"}) in page
    assert reverse("settings_members", kwargs={"slug": "sandbox"}) in page


def test_settings_pages_have_no_inline_script_or_style(
    admin_client: Client, sandbox: Environment, member: Membership
) -> None:
    """The pages work under a strict Content-Security-Policy: no inline script, no style=."""
    for name, kwargs in [
        ("settings_home", {}),
        ("settings_company", {}),
        ("settings_environment_add", {}),
        ("settings_environment_edit", {"slug": "sandbox"}),
        ("settings_members", {"slug": "sandbox"}),
        ("settings_invite", {}),
        ("settings_people", {}),
    ]:
        page = admin_client.get(reverse(name, kwargs=kwargs)).content.decode()
        assert "<script" not in page
        assert "style=" not in page


# --- Company profile -------------------------------------------------------------------------


def test_company_profile_saves_and_shows_the_file_name(admin_client: Client) -> None:
    """Saving the profile stores it, says so, and shows the file name Treezor will get."""
    response = admin_client.post(reverse("settings_company"), PROFILE, follow=True)
    assert response.redirect_chain[-1][0] == reverse("settings_company")
    profile = CompanyProfile.objects.get()
    assert (profile.company_name, profile.country, profile.common_name) == (
        "Acme SAS",
        "FR",
        "acme.com",
    )
    page = response.content.decode()
    assert "acme.sas_csr_mtls.pem" in page
    assert "Company profile saved" in page
    [event] = events("settings.company_updated")
    assert event.details["changed"]["company_name"] == ["company", "Acme SAS"]


def test_company_profile_country_is_a_select_of_real_countries(admin_client: Client) -> None:
    """Country is chosen from the ISO list, shown as 'France (FR)'."""
    page = admin_client.get(reverse("settings_company")).content.decode()
    assert '<select name="country"' in page
    assert '<option value="FR">France (FR)</option>' in page
    assert '<option value="GB">United Kingdom (GB)</option>' in page


def test_company_profile_allows_blank_defaults(admin_client: Client) -> None:
    """Every default subject field may be left blank."""
    data = {"company_name": "Acme"} | {field: "" for field in PROFILE if field != "company_name"}
    response = admin_client.post(reverse("settings_company"), data)
    assert response.status_code == 302
    assert CompanyProfile.objects.get().country == ""


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"country": "UK"}, "country", "'UK' is not an ISO 3166-1 country code. Use GB"),
        ({"country": "FRA"}, "country", "'FRA' is three letters"),
        (
            {"common_name": "https://acme.com/"},
            "common_name",
            "use 'acme.com' instead of 'https://acme.com/'",
        ),
        ({"organization": "x" * 65}, "organization", "Ensure this value has at most 64"),
        ({"email": "it at acme"}, "email", "Email must be an address"),
        ({"company_name": "!!!"}, "company_name", "nothing usable in a file name"),
    ],
)
def test_company_profile_refuses_bad_values_next_to_the_field(
    admin_client: Client, change: dict[str, str], field: str, message: str
) -> None:
    """A wrong value is explained next to its field and nothing is saved."""
    response = admin_client.post(reverse("settings_company"), PROFILE | change)
    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field))
    assert CompanyProfile.objects.get().company_name == "company"
    assert not events("settings.company_updated")


# --- Environments ----------------------------------------------------------------------------


def test_add_an_environment(admin_client: Client, bundle_pem: bytes) -> None:
    """A new environment gets a slug from its name, its addresses, bundle and an audit event."""
    upload = SimpleUploadedFile("treezor-ca.pem", bundle_pem, "application/x-pem-file")
    response = admin_client.post(
        reverse("settings_environment_add"), NEW_ENVIRONMENT | {"ca_bundle_file": upload}
    )
    assert response.status_code == 302
    environment = Environment.objects.get(name="Staging")
    assert response["Location"] == reverse("settings_environment_edit", kwargs={"slug": "staging"})
    assert environment.slug == "staging"
    assert environment.tam_emails == ["tam@treezor.com", "second@treezor.com"]
    assert environment.team_emails == ["team@acme.com", "ops@acme.com"]
    assert environment.api_host == "staging.treezor.co"
    assert environment.signature_required is True
    assert [c.subject for c in crypto.parse_ca_bundle(environment.ca_bundle.encode())] == [
        x509.load_pem_x509_certificate(bundle_pem).subject
    ]
    [event] = events("settings.environment_created")
    assert event.environment == environment
    assert event.details["slug"] == "staging"
    assert "BEGIN" not in str(event.details)


def test_add_an_environment_with_a_typed_slug_slugifies_it(admin_client: Client) -> None:
    """A slug typed with spaces and capitals is made URL-safe."""
    admin_client.post(reverse("settings_environment_add"), NEW_ENVIRONMENT | {"slug": "Pre Prod"})
    assert Environment.objects.get(name="Staging").slug == "pre-prod"


def test_duplicate_slug_is_refused(admin_client: Client, sandbox: Environment) -> None:
    """A slug another environment uses is refused next to the slug field."""
    response = admin_client.post(
        reverse("settings_environment_add"), NEW_ENVIRONMENT | {"slug": "sandbox"}
    )
    assert response.status_code == 200
    assert field_errors(response, "slug") == [
        "The slug 'sandbox' is taken by another environment; choose another."
    ]
    assert not Environment.objects.filter(name="Staging").exists()


def test_duplicate_name_is_refused(admin_client: Client, sandbox: Environment) -> None:
    """Two environments cannot share a name, whatever the case."""
    response = admin_client.post(
        reverse("settings_environment_add"), NEW_ENVIRONMENT | {"name": "SANDBOX", "slug": "x"}
    )
    assert "already called 'SANDBOX'" in field_errors(response, "name")[0]


def test_edit_an_environment(admin_client: Client, sandbox: Environment, bundle_pem: bytes) -> None:
    """Saving the environment page changes the row and records what changed."""
    response = admin_client.post(
        reverse("settings_environment_edit", kwargs={"slug": "sandbox"}),
        environment_data(
            sandbox,
            tam_emails="tam@treezor.com",
            api_host="Sandbox.Treezor.co",
            ca_bundle_text=bundle_pem.decode(),
            signature_required="on",
        ),
        follow=True,
    )
    assert "Environment Sandbox saved." in response.content.decode()
    sandbox.refresh_from_db()
    assert sandbox.tam_emails == ["tam@treezor.com"]
    assert sandbox.api_host == "sandbox.treezor.co"
    assert sandbox.signature_required is True
    assert sandbox.ca_bundle
    [event] = events("settings.environment_updated")
    assert event.details["changed"]["tam_emails"] == [[], ["tam@treezor.com"]]
    assert event.details["changed"]["ca_bundle"][0]["subject"].startswith("CN=")
    assert "BEGIN" not in str(event.details)


def test_edit_keeps_the_bundle_unless_asked(
    admin_client: Client, sandbox: Environment, bundle_pem: bytes
) -> None:
    """Saving without a new bundle keeps the stored one; the remove box removes it."""
    Environment.objects.filter(pk=sandbox.pk).update(ca_bundle=bundle_pem.decode())
    sandbox.refresh_from_db()
    url = reverse("settings_environment_edit", kwargs={"slug": "sandbox"})
    admin_client.post(url, environment_data(sandbox, name="Sandbox"))
    sandbox.refresh_from_db()
    assert sandbox.ca_bundle
    admin_client.post(url, environment_data(sandbox, remove_ca_bundle="on"))
    sandbox.refresh_from_db()
    assert sandbox.ca_bundle == ""
    assert events("settings.environment_updated")[0].details["changed"]["ca_bundle"] == "removed"


def test_environment_page_warns_when_there_is_no_tam_address(
    admin_client: Client, sandbox: Environment
) -> None:
    """An environment without a TAM address says that CSRs cannot be emailed."""
    page = admin_client.get(reverse("settings_environment_edit", kwargs={"slug": "sandbox"}))
    assert "No TAM address: CSRs cannot be emailed" in page.content.decode()
    Environment.objects.filter(pk=sandbox.pk).update(tam_emails=["tam@treezor.com"])
    page = admin_client.get(reverse("settings_environment_edit", kwargs={"slug": "sandbox"}))
    assert "No TAM address" not in page.content.decode()


def test_signature_set_has_its_explanation(admin_client: Client, sandbox: Environment) -> None:
    """The signature checkbox explains what the second set is for."""
    page = admin_client.get(reverse("settings_environment_edit", kwargs={"slug": "sandbox"}))
    assert "PCI DSS services need a second, signature certificate with its own key" in (
        page.content.decode()
    )


def test_prepare_renewals_is_shown_changed_and_audited(
    admin_client: Client, sandbox: Environment
) -> None:
    """The environment page offers Automatic / On / Off, shows the stored choice, saves each
    (None, True, False) and records what changed; a forged value is refused, nothing saved."""
    url = reverse("settings_environment_edit", kwargs={"slug": "sandbox"})
    page = admin_client.get(url).content.decode()
    assert "Prepare renewals automatically" in page
    assert (
        '<option value="" selected>Automatic (on unless the key was brought by the user)</option>'
        in page
    )
    assert '<option value="on">On</option>' in page
    assert '<option value="off">Off</option>' in page

    for choice, stored in (("off", False), ("on", True), ("", None)):
        before = sandbox.prepare_renewals
        response = admin_client.post(url, environment_data(sandbox, prepare_renewals=choice))
        assert response.status_code == 302
        sandbox.refresh_from_db()
        assert sandbox.prepare_renewals is stored
        changed = events("settings.environment_updated")[0].details["changed"]
        assert changed["prepare_renewals"] == [before, stored]
        page = admin_client.get(url).content.decode()
        assert f'<option value="{choice}" selected>' in page

    response = admin_client.post(url, environment_data(sandbox, prepare_renewals="maybe"))
    assert response.status_code == 200
    assert "Select a valid choice" in field_errors(response, "prepare_renewals")[0]
    sandbox.refresh_from_db()
    assert sandbox.prepare_renewals is None


def test_a_new_environment_keeps_the_prepare_renewals_choice(admin_client: Client) -> None:
    """Adding an environment with "Off" stores False and says so in its audit event."""
    admin_client.post(
        reverse("settings_environment_add"), NEW_ENVIRONMENT | {"prepare_renewals": "off"}
    )
    environment = Environment.objects.get(slug="staging")
    assert environment.prepare_renewals is False
    [event] = events("settings.environment_created")
    assert event.details["prepare_renewals"] is False


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"tam_emails": "tam@treezor.com\nbob@"},
            "tam_emails",
            "'bob@' is not an email address",
        ),
        ({"team_emails": "ok@acme.com, nope"}, "team_emails", "'nope' is not an email address"),
        (
            {"api_host": "https://sandbox.treezor.co/v1"},
            "api_host",
            "use 'sandbox.treezor.co' instead of 'https://sandbox.treezor.co/v1'",
        ),
        ({"api_host": "not a host"}, "api_host", "API host must be a host name"),
        (
            {"ca_bundle_text": "hello, I am not a certificate"},
            "ca_bundle_text",
            "A CA bundle is one or more PEM certificates",
        ),
    ],
)
def test_environment_refuses_bad_values_next_to_the_field(
    admin_client: Client, sandbox: Environment, change: dict[str, str], field: str, message: str
) -> None:
    """A wrong value is explained next to its field and the environment is unchanged."""
    before = Environment.objects.values().get(pk=sandbox.pk)
    response = admin_client.post(
        reverse("settings_environment_edit", kwargs={"slug": "sandbox"}),
        environment_data(sandbox, **change),
    )
    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field)), response.context[
        "form"
    ].errors
    assert Environment.objects.values().get(pk=sandbox.pk) == before
    assert not events("settings.environment_updated")


def test_ca_bundle_with_a_private_key_is_refused_and_not_echoed(
    admin_client: Client, sandbox: Environment, bundle_pem: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """A pasted bundle holding a private key is refused, stored nowhere and not shown back."""
    key = private_key_pem()
    body = key.decode().splitlines()[1]
    caplog.set_level(logging.DEBUG)
    response = admin_client.post(
        reverse("settings_environment_edit", kwargs={"slug": "sandbox"}),
        environment_data(sandbox, ca_bundle_text=(bundle_pem + key).decode()),
    )
    assert response.status_code == 200
    [error] = field_errors(response, "ca_bundle_text")
    assert "Private keys are never uploaded" in error
    page = response.content.decode()
    assert body not in page
    assert "PRIVATE KEY-----" not in page
    assert body not in caplog.text
    sandbox.refresh_from_db()
    assert sandbox.ca_bundle == ""
    assert body not in str(list(AuditEvent.objects.values()))


def test_ca_bundle_file_with_a_private_key_is_refused(
    admin_client: Client, sandbox: Environment
) -> None:
    """An uploaded key file in place of the bundle is refused and nothing is stored."""
    upload = SimpleUploadedFile("key.pem", private_key_pem())
    response = admin_client.post(
        reverse("settings_environment_edit", kwargs={"slug": "sandbox"}),
        environment_data(sandbox) | {"ca_bundle_file": upload},
    )
    assert "Private keys are never uploaded" in field_errors(response, "ca_bundle_file")[0]
    sandbox.refresh_from_db()
    assert sandbox.ca_bundle == ""


def test_a_leaf_certificate_is_not_a_ca_bundle(
    admin_client: Client, sandbox: Environment, local_ca: LocalCA
) -> None:
    """A certificate that is not a CA (no CA:TRUE) is refused as a bundle."""
    key = crypto.generate_private_key()
    csr = crypto.build_csr(
        key,
        ACME,
    )
    leaf = local_ca.sign(csr).public_bytes(serialization.Encoding.PEM)
    response = admin_client.post(
        reverse("settings_environment_edit", kwargs={"slug": "sandbox"}),
        environment_data(sandbox, ca_bundle_text=leaf.decode()),
    )
    assert "is not a CA certificate" in field_errors(response, "ca_bundle_text")[0]
    sandbox.refresh_from_db()
    assert sandbox.ca_bundle == ""


def test_too_large_ca_bundle_upload_is_refused(admin_client: Client, sandbox: Environment) -> None:
    """A file over the upload limit (1 MB by default) is refused with its size, unread."""
    upload = SimpleUploadedFile("huge.pem", b"-" * (1024 * 1024 + 1))
    response = admin_client.post(
        reverse("settings_environment_edit", kwargs={"slug": "sandbox"}),
        environment_data(sandbox) | {"ca_bundle_file": upload},
    )
    [error] = field_errors(response, "ca_bundle_file")
    assert "the limit is 1,000,000" in error
    sandbox.refresh_from_db()
    assert sandbox.ca_bundle == ""


def test_bundle_file_and_text_together_are_refused(
    admin_client: Client, sandbox: Environment, bundle_pem: bytes
) -> None:
    """Giving a file and pasted text at once asks to choose one."""
    upload = SimpleUploadedFile("ca.pem", bundle_pem)
    response = admin_client.post(
        reverse("settings_environment_edit", kwargs={"slug": "sandbox"}),
        environment_data(sandbox, ca_bundle_text=bundle_pem.decode()) | {"ca_bundle_file": upload},
    )
    assert "not both" in field_errors(response, "ca_bundle_text")[0]


# --- Members ---------------------------------------------------------------------------------


def test_add_a_member_change_the_role_then_remove(
    admin_client: Client, sandbox: Environment
) -> None:
    """An administrator adds a person by address, makes them custodian, then removes them."""
    dave = User.objects.create_user("dave", "dave@acme.com")
    url = reverse("settings_members", kwargs={"slug": "sandbox"})

    response = admin_client.post(
        url, {"add-user": "DAVE@acme.com", "add-role": "viewer"}, follow=True
    )
    assert "dave is now viewer in Sandbox." in response.content.decode()
    membership = Membership.objects.get(user=dave, environment=sandbox)
    assert membership.role == "viewer"

    response = admin_client.post(
        url, {"membership": membership.pk, f"m{membership.pk}-role": "custodian"}, follow=True
    )
    assert "dave is now custodian in Sandbox." in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == "custodian"

    remove = reverse("settings_member_remove", kwargs={"slug": "sandbox", "pk": membership.pk})
    confirmation = admin_client.post(remove)
    assert "Remove dave from Sandbox?" in confirmation.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()
    response = admin_client.post(remove, {"confirm": "yes"}, follow=True)
    assert "dave no longer has a role in Sandbox." in response.content.decode()
    assert not Membership.objects.filter(user=dave).exists()

    set_events = events("settings.membership_set")
    assert [(e.details["role"], e.details["previous_role"]) for e in reversed(set_events)] == [
        ("viewer", None),
        ("custodian", "viewer"),
    ]
    [removed] = events("settings.membership_removed")
    assert removed.details == {"username": "dave", "role": "custodian"}
    assert removed.environment == sandbox


def test_members_page_lists_roles_and_administrators(
    admin_client: Client, member: Membership
) -> None:
    """Members show with their role; administrators as having every role; roles are explained."""
    page = admin_client.get(reverse("settings_members", kwargs={"slug": "sandbox"}))
    text = page.content.decode()
    assert "carol" in text
    assert "admin" in text
    assert "administrator (every role)" in text
    assert "sees certificates and downloads CSRs and certificates" in text
    assert "also downloads private keys" in text
    assert f'for="id_m{member.pk}-role"' in text


def test_adding_an_unknown_person_is_refused(admin_client: Client, sandbox: Environment) -> None:
    """A username nobody has is named in the error, and nothing is added."""
    response = admin_client.post(
        reverse("settings_members", kwargs={"slug": "sandbox"}),
        {"add-user": "nobody", "add-role": "viewer"},
    )
    assert (
        "No one is called or has the address 'nobody'"
        in field_errors(response, "user", "add_form")[0]
    )
    assert not Membership.objects.exists()


def test_adding_an_administrator_as_member_is_refused(
    admin_client: Client, sandbox: Environment
) -> None:
    """An administrator already has every role; adding them says so."""
    response = admin_client.post(
        reverse("settings_members", kwargs={"slug": "sandbox"}),
        {"add-user": "admin", "add-role": "viewer"},
    )
    assert "has every role" in field_errors(response, "user", "add_form")[0]
    assert not Membership.objects.exists()


def test_membership_of_another_environment_cannot_be_removed_through_this_one(
    admin_client: Client, member: Membership, production: Environment
) -> None:
    """A membership is only reachable under its own environment's address."""
    url = reverse("settings_member_remove", kwargs={"slug": "production", "pk": member.pk})
    assert admin_client.post(url, {"confirm": "yes"}).status_code == 404
    assert Membership.objects.filter(pk=member.pk).exists()


# --- People ----------------------------------------------------------------------------------


# Inviting people (which replaced adding them with a typed password): tests/accounts/.


# --- The services behind the pages -----------------------------------------------------------


def test_settings_services_refuse_a_non_administrator(
    sandbox: Environment, make_member: Callable[[str, Environment], User]
) -> None:
    """A custodian cannot change settings by calling a service directly either."""
    custodian = make_member("custodian", sandbox)
    with pytest.raises(PermissionDenied):
        services.membership_set(
            actor=Actor(user=custodian), environment=sandbox, user=custodian, role="custodian"
        )
    assert Membership.objects.get(user=custodian).role == "custodian"
    assert not events("settings.membership_set")


def test_the_command_line_may_create_an_environment(bundle_pem: bytes) -> None:
    """An actor without a user (the CLI) may add an environment; the bundle is stored as PEM."""
    environment = services.environment_create(
        actor=Actor.cli(),
        name="Staging",
        tam_emails=["tam@treezor.com"],
        team_emails=[],
        ca_bundle=b"Treezor root\n" + bundle_pem,
    )
    assert environment.ca_bundle == bundle_pem.decode()
    assert events("settings.environment_created")[0].actor_label == "cli"


def test_environment_service_refuses_a_private_key_without_quoting_it() -> None:
    """The service refuses a bundle with a key in it, and its message does not hold the key."""
    key = private_key_pem()
    with pytest.raises(ServiceError) as refused:
        services.environment_create(
            actor=Actor.cli(), name="Staging", tam_emails=[], team_emails=[], ca_bundle=key
        )
    assert refused.value.field == "ca_bundle"
    assert key.decode().splitlines()[1] not in refused.value.message
    assert not Environment.objects.filter(name="Staging").exists()


def test_settings_home_reads_as_many_queries_for_many_environments(
    admin_client: Client, sandbox: Environment
) -> None:
    """Member counts come with the environments: adding environments adds no query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(reverse("settings_home")).status_code == 200
        return len(queries)

    count()  # a session's first request records it for the Profile's session list
    few = count()
    for n in range(3):
        Environment.objects.create(name=f"Staging {n}", slug=f"staging-{n}")
    assert count() == few


# --- People: deactivate and reactivate, never delete (issue 12, point 3) ----------------------


def test_the_people_page_lists_every_account_with_its_roles(
    admin_client: Client, sandbox: Environment
) -> None:
    """Active and deactivated people, their roles, and the button that fits each."""
    alice = User.objects.create_user("alice", "alice@acme.com")
    Membership.objects.create(user=alice, environment=sandbox, role="custodian")
    User.objects.create_user("carol", "carol@acme.com", is_active=False)
    page = admin_client.get(reverse("settings_people"))
    assert page.status_code == 200
    text = " ".join(page.content.decode().split())
    assert "Custodian in Sandbox" in text
    assert "Deactivate alice" in text
    assert "deactivated</strong>" in text
    assert "Reactivate carol" in text
    assert "Deactivate admin" not in text  # not yourself
    assert reverse("settings_people") in admin_client.get(reverse("settings_home")).content.decode()


def test_deactivating_a_person_closes_their_account_and_is_audited(
    admin_client: Client, sandbox: Environment
) -> None:
    """The first POST asks; the confirmed one deactivates: alice's open session stops working,
    she cannot log in, her calendar feed is gone, her role is kept, and the audit log says who
    did it."""
    alice = User.objects.create_user("alice", "alice@acme.com", "alice's long password")
    Membership.objects.create(user=alice, environment=sandbox, role="custodian")
    alice_client = Client()
    alice_client.force_login(alice)
    assert alice_client.get("/").status_code == 200
    feed = f"/calendar/{calendar_feed_replace(actor=Actor.cli(), user=alice)}.ics"
    assert Client().get(feed).status_code == 200
    url = reverse("settings_user_deactivate", args=[alice.pk])

    confirm = admin_client.post(url)
    assert confirm.status_code == 200
    assert "Deactivate alice?" in confirm.content.decode()
    alice.refresh_from_db()
    assert alice.is_active

    done = admin_client.post(url, {"confirm": "yes"}, follow=True)
    assert "alice is deactivated" in done.content.decode()
    assert not User.objects.get(pk=alice.pk).is_active
    assert Membership.objects.filter(user=alice, role="custodian").exists()
    assert alice_client.get("/").status_code == 302  # to the login page
    assert not Client().login(username="alice", password="alice's long password")
    assert Client().get(feed).status_code == 404
    event = AuditEvent.objects.get(action="settings.user_deactivated")
    assert (event.actor_label, event.target_id) == ("admin", str(alice.pk))
    assert event.details["roles"] == {"sandbox": "custodian"}


def test_reactivating_a_person_restores_their_roles_and_is_audited(
    admin_client: Client, sandbox: Environment
) -> None:
    """A reactivated account logs in again with the roles it had; the audit log records it."""
    alice = User.objects.create_user("alice", "alice@acme.com", "alice's long password")
    Membership.objects.create(user=alice, environment=sandbox, role="viewer")
    services.user_deactivate(actor=Actor.cli(), user=alice)
    response = admin_client.post(reverse("settings_user_reactivate", args=[alice.pk]), follow=True)
    assert "alice is active again" in response.content.decode()
    alice.refresh_from_db()
    assert alice.is_active
    assert Client().login(username="alice", password="alice's long password")
    assert AuditEvent.objects.filter(
        action="settings.user_reactivated", actor_label="admin", target_id=str(alice.pk)
    ).exists()


def test_deactivation_refuses_yourself_the_last_administrator_and_twice(
    admin_client: Client, admin_user: User
) -> None:
    """An administrator cannot lock themselves out, the last administrator stays, and a second
    deactivation says it is done already; each refusal changes nothing and records nothing."""
    refused = admin_client.post(
        reverse("settings_user_deactivate", args=[admin_user.pk]), {"confirm": "yes"}, follow=True
    )
    assert "You cannot deactivate your own account" in refused.content.decode()
    with pytest.raises(ServiceError, match="last active administrator"):
        services.user_deactivate(actor=Actor.cli(), user=admin_user)
    admin_user.refresh_from_db()
    assert admin_user.is_active
    carol = User.objects.create_user("carol", is_active=False)
    again = admin_client.post(
        reverse("settings_user_deactivate", args=[carol.pk]), {"confirm": "yes"}, follow=True
    )
    assert "carol is deactivated already" in again.content.decode()
    with pytest.raises(ServiceError, match="active already"):
        services.user_reactivate(actor=Actor.cli(), user=admin_user)
    assert not AuditEvent.objects.filter(action__startswith="settings.user_").exists()


def test_only_administrators_deactivate(make_member: Callable[[str, Environment], User]) -> None:
    """The services refuse a non-administrator, even one holding every role."""
    sandbox = migrated_environment("Sandbox")
    custodian = make_member("custodian", sandbox)
    alice = User.objects.create_user("alice")
    with pytest.raises(PermissionDenied):
        services.user_deactivate(actor=Actor(user=custodian), user=alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    with pytest.raises(PermissionDenied):
        services.user_reactivate(actor=Actor(user=custodian), user=alice)
    assert not AuditEvent.objects.filter(action__startswith="settings.user_").exists()


def test_people_actions_on_an_unknown_account_are_404(admin_client: Client) -> None:
    """A missing account is a plain 404, never a 500."""
    for name in ("settings_user_deactivate", "settings_user_reactivate"):
        assert (
            admin_client.post(reverse(name, args=[999999]), {"confirm": "yes"}).status_code == 404
        )
