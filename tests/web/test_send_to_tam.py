"""Sending CSRs to the Technical Account Manager: preview, send via the outbox, resend."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from collections.abc import Callable

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates import services
from certificates.models import (
    AuditEvent,
    CompanyProfile,
    Environment,
    OutboundEmail,
    SigningRequest,
)
from certificates.services import Actor
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


def token() -> str:
    """A send form's one-time token, as the page renders one per load."""
    return str(uuid.uuid4())


@pytest.fixture
def sandbox_with_tam(sandbox: Environment) -> Environment:
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    CompanyProfile.objects.filter(pk=1).update(company_name="Acme SAS")
    return sandbox


@pytest.fixture
def requester(member_client: Callable[..., Client], sandbox_with_tam: Environment) -> Client:
    return member_client("requester", sandbox_with_tam)


def test_the_preview_shows_recipients_subject_body_and_csr_files(
    requester: Client, sandbox_with_tam: Environment
) -> None:
    """Before sending, the user sees exactly what the TAM will receive; no key is attached."""
    request = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    page = requester.get("/environments/sandbox/send/").content.decode()
    assert "tam@treezor.example" in page
    assert "Acme SAS: certificate signing request for Treezor Sandbox (mTLS)" in page
    assert "acme.sas_csr_mtls.pem" in page
    assert f"#{request.pk} mTLS" in page
    assert "PRIVATE KEY" not in page


def test_sending_emails_the_tam_through_the_outbox_and_marks_the_csrs_sent(
    requester: Client,
    sandbox_with_tam: Environment,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The email leaves after commit, with both CSRs attached; both requests become sent."""
    mtls = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    signature = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="signature", subject=ACME
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = requester.post(
            "/environments/sandbox/send/",
            {"requests": [mtls.pk, signature.pk], "send": "1", "token": token()},
        )
    assert response["Location"] == "/"
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["tam@treezor.example"]
    assert "Treezor Sandbox (mTLS, PCI DSS signature)" in message.subject
    assert sorted(name for name, _, _ in message.attachments) == [
        "acme.sas_csr_mtls.pem",
        "acme.sas_csr_signature.pem",
    ]
    assert isinstance(message, EmailMultiAlternatives)
    assert message.alternatives[0][1] == "text/html"
    assert message.extra_headers["Message-ID"] == OutboundEmail.objects.get().message_id
    assert "PRIVATE KEY" not in message.message().as_string()
    for request in (mtls, signature):
        request.refresh_from_db()
        assert request.status == SigningRequest.Status.SENT
        assert request.sent_at is not None
    email = OutboundEmail.objects.get()
    assert (email.status, email.attempts, email.kind) == ("sent", 1, "tam_csr")
    assert AuditEvent.objects.filter(action="request.sent_to_tam").count() == 2


def test_the_same_form_submitted_twice_sends_one_email(
    requester: Client,
    sandbox_with_tam: Environment,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Issue 13, point 1: a double click (the same form, its one-time token, twice) emails the
    TAM once; the second submission gets the first one's answer, not an error."""
    request = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    form = {"requests": [request.pk], "send": "1", "token": token()}
    answers = []
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            answers.append(requester.post("/environments/sandbox/send/", form, follow=True))
    assert len(mail.outbox) == 1
    assert OutboundEmail.objects.count() == 1
    for answer in answers:
        assert answer.redirect_chain == [("/", 302)]
        assert "The CSRs are marked as sent. Queued for tam@treezor.example" in (
            answer.content.decode()
        )
    assert AuditEvent.objects.filter(action="request.sent_to_tam").count() == 1
    assert not AuditEvent.objects.filter(action="request.resent_to_tam").exists()


def test_a_sent_csr_is_not_sent_again_by_a_new_send_form(
    requester: Client,
    sandbox_with_tam: Environment,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Another send form (another tab, a reload) cannot send a sent CSR again: it is listed as
    already sent, with its email's state and a "Resend to the TAM" link, not tickable; a forged
    POST of it is refused by name and sends nothing."""
    request = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    with django_capture_on_commit_callbacks(execute=True):
        requester.post(
            "/environments/sandbox/send/", {"requests": [request.pk], "send": "1", "token": token()}
        )
    page = requester.get("/environments/sandbox/send/").content.decode()
    assert f'value="{request.pk}"' not in page
    assert "Already sent" in page
    assert "Sent to the TAM just now" in page  # not "0 minutes ago" (issue 16)
    assert f'href="/requests/{request.pk}/resend/"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = requester.post(
            "/environments/sandbox/send/",
            {"requests": [request.pk], "send": "1", "token": token()},
        )
    assert f"Request #{request.pk} was sent to the TAM already on" in response.content.decode()
    assert "Resend to the TAM" in response.content.decode()
    assert len(mail.outbox) == 1
    assert OutboundEmail.objects.count() == 1
    # The request page's link for a sent CSR is the resend page, and ?request= leads there too.
    assert requester.get(f"/environments/sandbox/send/?request={request.pk}")["Location"] == (
        f"/requests/{request.pk}/resend/"
    )


def test_a_resend_is_explicit_says_the_tam_has_it_and_is_recorded(
    requester: Client,
    sandbox_with_tam: Environment,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The resend page says the TAM already has it (when, to whom); confirming emails it again
    once (the same form twice still once), keeps the first date and records a resend."""
    request = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    with django_capture_on_commit_callbacks(execute=True):
        requester.post(
            "/environments/sandbox/send/", {"requests": [request.pk], "send": "1", "token": token()}
        )
    request.refresh_from_db()
    first_sent = request.sent_at
    assert first_sent is not None
    detail = requester.get(f"/requests/{request.pk}/").content.decode()
    assert f'href="/requests/{request.pk}/resend/"' in detail
    page = requester.get(f"/requests/{request.pk}/resend/").content.decode()
    assert "The TAM already has this CSR" in page
    assert "tam@treezor.example" in page
    assert f"{timezone.localtime(first_sent):%Y-%m-%d %H:%M}" in page
    form = {"token": re.findall(r'name="token" value="([0-9a-f-]+)"', page)[0]}
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = requester.post(f"/requests/{request.pk}/resend/", form)
        assert response["Location"] == f"/requests/{request.pk}/"
    request.refresh_from_db()
    assert request.sent_at == first_sent
    assert len(mail.outbox) == 2
    (resent,) = AuditEvent.objects.filter(action="request.resent_to_tam")
    assert resent.details["first_sent_at"] == first_sent.isoformat()


def test_a_ready_csr_has_no_resend_page(requester: Client, sandbox_with_tam: Environment) -> None:
    """Resending is for a CSR that was sent: a ready one goes back to its page, saying so."""
    request = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    response = requester.post(f"/requests/{request.pk}/resend/", {"token": token()}, follow=True)
    assert "was never sent to the TAM" in response.content.decode()
    assert not OutboundEmail.objects.exists()


def test_a_send_without_its_one_time_token_sends_nothing(
    requester: Client, sandbox_with_tam: Environment
) -> None:
    """An old page (no token) is asked to check and send again; nothing is queued."""
    request = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    response = requester.post(
        "/environments/sandbox/send/", {"requests": [request.pk], "send": "1"}
    )
    assert "This form is out of date" in response.content.decode()
    assert 'name="token" value="' in response.content.decode()
    assert not OutboundEmail.objects.exists()


def test_without_a_tam_address_the_page_says_so_and_nothing_is_sent(
    member_client: Callable[..., Client], sandbox: Environment
) -> None:
    """An environment with no TAM address explains that and sends nothing."""
    request = services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)
    client = member_client("requester", sandbox)
    page = client.get("/environments/sandbox/send/").content.decode()
    assert "has no TAM address yet" in page
    response = client.post(
        "/environments/sandbox/send/",
        {"requests": [request.pk], "send": "1", "token": token()},
        follow=True,
    )
    assert "no Technical Account Manager address" in response.content.decode()
    assert not OutboundEmail.objects.exists()
    request.refresh_from_db()
    assert request.status == "ready"


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("custodian", 200)])
def test_only_requesters_and_custodians_send(
    member_client: Callable[..., Client], sandbox_with_tam: Environment, role: str, status: int
) -> None:
    """A viewer may not open the send page; a custodian may."""
    assert member_client(role, sandbox_with_tam).get("/environments/sandbox/send/").status_code == (
        status
    )


def test_a_production_member_cannot_send_sandbox_csrs(
    member_client: Callable[..., Client], sandbox_with_tam: Environment, production: Environment
) -> None:
    """Another environment's page is 404 for a non-member."""
    client = member_client("custodian", production)
    assert client.get("/environments/sandbox/send/").status_code == 404


def test_requests_of_another_environment_cannot_be_smuggled_in(
    requester: Client, sandbox_with_tam: Environment, production: Environment
) -> None:
    """Posting a Production request id to Sandbox's send page sends nothing of it."""
    other = services.request_create(actor=CLI, environment=production, purpose="mtls", subject=ACME)
    response = requester.post(
        "/environments/sandbox/send/",
        {"requests": [other.pk], "send": "1", "token": token()},
        follow=True,
    )
    assert "Choose at least one CSR" in response.content.decode()
    assert not OutboundEmail.objects.exists()


def ticked(page: str) -> set[int]:
    """The request ids whose checkbox the page ticks."""
    return {
        int(pk)
        for pk in re.findall(r'name="requests" value="(\d+)" id="request-\d+" checked', page)
    }


def test_every_ready_csr_is_ticked_but_only_the_newest_of_a_purpose(
    requester: Client, sandbox_with_tam: Environment
) -> None:
    """Two ready mTLS CSRs and a signature one: the newer mTLS and the signature are ticked,
    the older mTLS is offered with a link to cancel it; the preview has two distinct files."""
    older = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    newer = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    signature = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="signature", subject=ACME
    )
    page = requester.get("/environments/sandbox/send/").content.decode()
    assert ticked(page) == {newer.pk, signature.pk}
    assert f"/requests/{older.pk}/cancel/" in page
    assert "acme.sas_csr_mtls.pem" in page
    assert "acme.sas_csr_signature.pem" in page


def test_ticking_two_csrs_of_one_purpose_is_refused(
    requester: Client,
    sandbox_with_tam: Environment,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A submission (or a forged POST) with two mTLS CSRs sends nothing and says which."""
    first = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    second = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    expected = (
        f"Requests #{first.pk} and #{second.pk} are both mTLS CSRs: send one, cancel the other."
    )
    with django_capture_on_commit_callbacks(execute=True):
        for action in ("preview", "send"):
            response = requester.post(
                "/environments/sandbox/send/",
                {"requests": [first.pk, second.pk], action: "1", "token": token()},
            )
            assert response.status_code == 200
            assert expected in response.content.decode()
    assert not OutboundEmail.objects.exists()
    assert len(mail.outbox) == 0
    assert set(SigningRequest.objects.values_list("status", flat=True)) == {"ready"}


def test_the_page_warns_when_a_required_set_is_missing(
    member_client: Callable[..., Client], production: Environment
) -> None:
    """Production with PCI DSS and only an mTLS CSR: "Production also needs the PCI DSS
    signature CSR"; gone once the signature CSR exists and is ticked."""
    production.tam_emails = ["tam@treezor.example"]
    production.signature_required = True
    production.save()
    services.request_create(actor=CLI, environment=production, purpose="mtls", subject=ACME)
    client = member_client("requester", production)
    page = client.get("/environments/production/send/").content.decode()
    assert "Production also needs the PCI DSS signature CSR" in page
    services.request_create(actor=CLI, environment=production, purpose="signature", subject=ACME)
    page = client.get("/environments/production/send/").content.decode()
    assert "also needs" not in page


def test_a_cancelled_csr_is_not_offered_and_cannot_be_smuggled_in(
    requester: Client, sandbox_with_tam: Environment
) -> None:
    """The withdrawn CSR is not on the page; posting its id sends nothing."""
    request = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    services.request_cancel(actor=CLI, signing_request=request, reason="typo")
    page = requester.get("/environments/sandbox/send/").content.decode()
    assert f'value="{request.pk}"' not in page
    response = requester.post(
        "/environments/sandbox/send/",
        {"requests": [request.pk], "send": "1", "token": token()},
        follow=True,
    )
    assert "Choose at least one CSR" in response.content.decode()
    assert not OutboundEmail.objects.exists()


def test_the_zip_never_holds_two_files_of_one_name(
    requester: Client, sandbox_with_tam: Environment
) -> None:
    """Two ready mTLS CSRs: the zip has one acme.sas_csr_mtls.pem, the newest CSR."""
    services.request_create(actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME)
    newer = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    response = requester.get("/environments/sandbox/csrs.zip")
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["acme.sas_csr_mtls.pem"]
        assert archive.read("acme.sas_csr_mtls.pem").decode() == newer.csr_pem
