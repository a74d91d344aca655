"""The request wizard, step by step, as a requester walks through it in the browser."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from certificates import crypto, services
from certificates.models import AuditEvent, CompanyProfile, Environment, Key, SigningRequest
from certificates.services import Actor
from tests.support.subjects import ACME, acme_form

pytestmark = pytest.mark.django_db

SUBJECT = acme_form()


@pytest.fixture
def requester(member_client: Callable[..., Client], sandbox: Environment) -> Client:
    return member_client("requester", sandbox)


def token_of(page: bytes) -> str:
    """The review form's one-time token, as the browser would submit it."""
    found = re.search(rb'name="token" value="([0-9a-f-]+)"', page)
    assert found is not None, "the review page has no token"
    return found.group(1).decode()


def walk_to_subject(client: Client, purpose: str = "mtls", *, another: bool = False) -> None:
    """To the subject step; ``another`` answers "start another anyway" for a waiting request."""
    client.get("/requests/new/")
    data = {"environment": "sandbox", "purpose": purpose}
    if another:
        data["another"] = f"sandbox/{purpose}"
    response = client.post("/requests/new/", data)
    assert response["Location"] == "/requests/new/key/"
    response = client.post("/requests/new/key/", {"key_source": "generate"})
    assert response["Location"] == "/requests/new/subject/"


def test_the_whole_wizard_creates_one_key_and_csr(requester: Client) -> None:
    """Environment, key source, subject, review, create: a ready request with its CSR."""
    walk_to_subject(requester)
    response = requester.post("/requests/new/subject/", SUBJECT)
    assert response["Location"] == "/requests/new/review/"
    review = requester.get("/requests/new/review/")
    assert review.status_code == 200
    assert (
        "C = FR, ST = Brittany, L = Rennes, O = Acme, OU = IT, CN = acme.com, "
        "emailAddress = it@acme.com" in review.content.decode()
    )
    token = token_of(review.content)
    created = requester.post("/requests/new/review/", {"token": token})
    request = SigningRequest.objects.get()
    assert created["Location"] == f"/requests/{request.pk}/"
    assert (request.environment.slug, request.purpose, request.status) == (
        "sandbox",
        "mtls",
        "ready",
    )
    assert crypto.Subject.from_x509_name(crypto.parse_csr(request.csr_pem.encode()).subject) == (
        crypto.Subject(**SUBJECT)
    )


def test_a_double_submitted_review_creates_one_request_and_one_key(requester: Client) -> None:
    """The same review form posted twice (a double click) gives one request and one key."""
    walk_to_subject(requester)
    requester.post("/requests/new/subject/", SUBJECT)
    review = requester.get("/requests/new/review/")
    token = token_of(review.content)
    first = requester.post("/requests/new/review/", {"token": token})
    second = requester.post("/requests/new/review/", {"token": token})
    assert first["Location"] == second["Location"]
    assert SigningRequest.objects.count() == Key.objects.count() == 1


def test_the_subject_form_uses_treezor_labels_and_help(requester: Client) -> None:
    """Each row of Treezor's table is a field with its exact label and explanation."""
    walk_to_subject(requester)
    page = requester.get("/requests/new/subject/").content.decode()
    for label in (
        "Country",
        "State / Province",
        "Locality",
        "Organization Name",
        "Organizational Unit",
        "Common Name",
        "Email",
    ):
        assert f">{label}" in page
    assert "The state or province where the organization is located (e.g., Brittany, IdF)." in page
    assert '<option value="FR">France (FR)</option>' in page


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"country": "XX"}, "country", "'XX' is not an ISO 3166-1 country code"),
        ({"country": ""}, "country", "Country is required"),
        ({"common_name": "https://acme.com/"}, "common_name", "use 'acme.com' instead"),
        ({"common_name": "acme.com:443"}, "common_name", "acme.com"),
        ({"common_name": "a" * 65 + ".com"}, "common_name", "the limit is 64"),
        ({"email": "not-an-email"}, "email", "Email"),
        ({"state": ""}, "state", "State / Province is required"),
        ({"organization": "O" * 65}, "organization", "the limit is 64"),
    ],
)
def test_each_subject_mistake_is_named_next_to_its_field(
    requester: Client, change: dict[str, str], field: str, message: str
) -> None:
    """A wrong field is re-shown with its message, marked invalid; nothing is created."""
    walk_to_subject(requester)
    response = requester.post("/requests/new/subject/", {**SUBJECT, **change})
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors[field])
    assert message in errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not SigningRequest.objects.exists()


def test_a_url_as_common_name_is_fixed_in_one_click(requester: Client) -> None:
    """The refusal offers the host name as a button; pressing it moves on to the review."""
    walk_to_subject(requester)
    response = requester.post(
        "/requests/new/subject/", {**SUBJECT, "common_name": "https://acme.com/"}
    )
    assert b'name="use_common_name" value="acme.com"' in response.content
    fixed = requester.post(
        "/requests/new/subject/",
        {**SUBJECT, "common_name": "https://acme.com/", "use_common_name": "acme.com"},
    )
    assert fixed["Location"] == "/requests/new/review/"
    assert requester.session["certdesk_wizard"]["subject"]["common_name"] == "acme.com"


def test_the_subject_is_prefilled_from_the_company_profile_then_the_last_request(
    requester: Client, sandbox: Environment
) -> None:
    """First from the company profile; once a request exists, from the last one of its kind."""
    CompanyProfile.objects.filter(pk=1).update(
        country="DE",
        state="Berlin",
        locality="Berlin",
        organization="Acme GmbH",
        common_name="acme.de",
        email="it@acme.de",
    )
    walk_to_subject(requester)
    assert requester.get("/requests/new/subject/").context["form"].initial["country"] == "DE"
    services.request_create(actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME)
    walk_to_subject(requester, another=True)
    initial = requester.get("/requests/new/subject/").context["form"].initial
    assert (initial["country"], initial["common_name"]) == ("FR", "acme.com")


def test_bring_your_own_csr_shows_the_openssl_commands_and_imports(
    requester: Client, tmp_path: Path
) -> None:
    """The upload step shows genrsa -traditional with Treezor's names; the CSR is kept."""
    CompanyProfile.objects.filter(pk=1).update(company_name="Acme SAS")
    requester.get("/requests/new/")
    requester.post("/requests/new/", {"environment": "sandbox", "purpose": "signature"})
    page = requester.get("/requests/new/key/").content.decode()
    # As it reads (and is copied): -traditional is in a no-wrap span of its own (issue 16).
    text = re.sub(r"<[^>]+>", "", page)
    assert "openssl genrsa -traditional -out acme.sas_privatekey_signature.pem 2048" in text
    assert '<span class="nowrap">-traditional</span>' in page
    assert "-out acme.sas_csr_signature.pem" in page

    key = tmp_path / "k.pem"
    subprocess.run(
        ["openssl", "genrsa", "-traditional", "-out", key, "2048"], check=True, capture_output=True
    )
    csr = subprocess.run(
        [
            "openssl",
            "req",
            "-new",
            "-key",
            key,
            "-outform",
            "DER",
            "-subj",
            "/C=FR/ST=Brittany/L=Rennes/O=Acme/CN=acme.com/emailAddress=it@acme.com",
        ],
        check=True,
        capture_output=True,
    ).stdout
    upload = tmp_path / "acme.der"
    upload.write_bytes(csr)
    with upload.open("rb") as handle:
        response = requester.post(
            "/requests/new/key/", {"key_source": "upload", "csr_file": handle}
        )
    assert response["Location"] == "/requests/new/review/"
    review = requester.get("/requests/new/review/")
    token = token_of(review.content)
    requester.post("/requests/new/review/", {"token": token})
    request = SigningRequest.objects.get()
    assert (request.purpose, request.key.source, request.key.encrypted_private_key) == (
        "signature",
        "imported",
        None,
    )


@pytest.mark.parametrize(
    ("post", "message"),
    [
        ({"key_source": "upload"}, "Choose your CSR file, or paste the CSR"),
        ({"key_source": "upload", "csr_text": "hello"}, "not a certificate signing request"),
        (
            {
                "key_source": "upload",
                "csr_text": "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----",
            },
            "private key",
        ),
    ],
)
def test_a_bad_upload_is_refused_with_its_reason(
    requester: Client, post: dict[str, str], message: str
) -> None:
    """No file, garbage, or a private key pasted: each refused with a message, nothing kept."""
    requester.get("/requests/new/")
    requester.post("/requests/new/", {"environment": "sandbox", "purpose": "mtls"})
    response = requester.post("/requests/new/key/", post)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["csr_file"])
    assert "csr_pem" not in (requester.session.get("certdesk_wizard") or {}) or not (
        requester.session["certdesk_wizard"].get("csr_pem")
    )
    assert not AuditEvent.objects.exists()


def test_an_oversized_upload_is_refused_before_parsing(requester: Client, settings: object) -> None:
    """A file above the upload limit is refused by its size alone."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.CERTDESK_UPLOAD_MAX_BYTES = 1000  # type: ignore[attr-defined]
    requester.get("/requests/new/")
    requester.post("/requests/new/", {"environment": "sandbox", "purpose": "mtls"})
    big = SimpleUploadedFile("big.pem", b"x" * 2000)
    response = requester.post("/requests/new/key/", {"key_source": "upload", "csr_file": big})
    assert "the limit is 1,000" in " ".join(response.context["form"].errors["csr_file"])


def test_environment_choices_are_those_the_user_may_request_in(
    member_client: Callable[..., Client], sandbox: Environment, production: Environment
) -> None:
    """A Sandbox requester sees Sandbox only; posting Production is refused."""
    client = member_client("requester", sandbox)
    page = client.get("/requests/new/")
    assert [c[0] for c in page.context["form"].fields["environment"].choices] == ["sandbox"]
    response = client.post("/requests/new/", {"environment": "production", "purpose": "mtls"})
    assert response.status_code == 200
    assert "environment" in response.context["form"].errors


@pytest.mark.parametrize("role", ["viewer", None])
def test_viewers_and_non_members_cannot_start_a_request(
    member_client: Callable[..., Client], sandbox: Environment, role: str | None, client: Client
) -> None:
    """Without a requester role anywhere, the wizard sends the user back with an explanation."""
    from django.contrib.auth.models import User

    if role:
        client = member_client(role, sandbox)
    else:
        client.force_login(User.objects.create_user("nobody"))
    response = client.get("/requests/new/", follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "You are not a requester" in response.content.decode()


def test_anonymous_users_are_sent_to_login(client: Client, admin_user: object) -> None:
    """Every wizard step needs a login."""
    for path in (
        "/requests/new/",
        "/requests/new/key/",
        "/requests/new/subject/",
        "/requests/new/review/",
    ):
        assert client.get(path)["Location"].startswith("/login/")


def test_the_wizard_says_when_a_request_is_already_waiting(
    requester: Client, sandbox: Environment
) -> None:
    """Sandbox mTLS with a ready CSR: the first step names it, links to it, and goes on only
    on "start another anyway" for that very pair."""
    waiting = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    requester.get("/requests/new/")
    response = requester.post("/requests/new/", {"environment": "sandbox", "purpose": "mtls"})
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        f"Sandbox mTLS already has request #{waiting.pk}, CSR ready since "
        f"{waiting.created_at:%Y-%m-%d}" in " ".join(page.split())
    )
    assert f'href="/requests/{waiting.pk}/"' in page
    assert 'name="another" value="sandbox/mtls"' in page
    # Acknowledging another pair does not skip this one's question.
    response = requester.post(
        "/requests/new/",
        {"environment": "sandbox", "purpose": "mtls", "another": "sandbox/signature"},
    )
    assert response.status_code == 200
    response = requester.post(
        "/requests/new/", {"environment": "sandbox", "purpose": "mtls", "another": "sandbox/mtls"}
    )
    assert response["Location"] == "/requests/new/key/"


def test_other_purposes_and_finished_requests_do_not_stop_the_wizard(
    requester: Client, sandbox: Environment
) -> None:
    """A ready mTLS CSR does not concern the signature set; a cancelled one waits no more."""
    waiting = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    requester.get("/requests/new/")
    response = requester.post("/requests/new/", {"environment": "sandbox", "purpose": "signature"})
    assert response["Location"] == "/requests/new/key/"
    services.request_cancel(actor=Actor.cli(), signing_request=waiting, reason="typo")
    requester.get("/requests/new/")
    response = requester.post("/requests/new/", {"environment": "sandbox", "purpose": "mtls"})
    assert response["Location"] == "/requests/new/key/"


def test_a_renewal_sees_the_renewal_already_waiting(
    requester: Client, sandbox: Environment, issue: Callable[..., bytes]
) -> None:
    """Renew on a certificate whose renewal was sent already: the first page says so at once,
    with the date it was sent and a link to it."""
    first = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    certificate = services.certificate_upload(actor=Actor.cli(), data=issue(first)).certificate
    renewal = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME, renews=certificate
    )
    services.request_mark_sent(
        actor=Actor.cli(), signing_request=renewal, sent_on=timezone.localdate()
    )
    page = requester.get(f"/requests/new/?renews={certificate.pk}").content.decode()
    text = " ".join(page.split())
    assert "This certificate already has a renewal request" in text
    assert (
        f"Sandbox mTLS already has request #{renewal.pk}, sent to the TAM on "
        f"{timezone.localdate():%Y-%m-%d}" in text
    )
    assert f'href="/requests/{renewal.pk}/"' in page
