"""After a compromise report, the certificate page is an incident view: what was done, what is
left, and the next action as the main button at the top (issue 16)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates import services
from certificates.models import Certificate, Environment, OutboundEmail, Revocation
from certificates.selectors.incident import Incident
from certificates.services import Actor
from certificates.services.keys import key_destroy
from certificates.services.revocations import (
    revocation_confirm,
    revocation_report_compromise,
    revocation_request,
)
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


@pytest.fixture
def sandbox_tam(sandbox: Environment) -> Environment:
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    return sandbox


@pytest.fixture
def certificate(sandbox_tam: Environment, issue: Callable[..., bytes]) -> Certificate:
    request = services.request_create(
        actor=CLI, environment=sandbox_tam, purpose="mtls", subject=ACME
    )
    return services.certificate_upload(actor=CLI, data=issue(request)).certificate


@pytest.fixture
def custodian(member_client: Callable[..., Client], sandbox_tam: Environment) -> Client:
    return member_client("custodian", sandbox_tam)


def report(
    certificate: Certificate, capture: DjangoCaptureOnCommitCallbacks, *, send: bool = True
) -> None:
    with capture(execute=send):
        revocation_report_compromise(
            actor=CLI, certificate=certificate, suspected_since=date.today(), note="laptop stolen"
        )


def incident(client: Client, certificate: Certificate) -> Incident:
    response = client.get(f"/certificates/{certificate.pk}/")
    assert response.status_code == 200
    found = response.context["incident"]
    assert isinstance(found, Incident)
    return found


def steps(found: Incident) -> dict[str, str]:
    return {step.key: step.state for step in found.steps}


def page_of(client: Client, certificate: Certificate) -> str:
    return str(client.get(f"/certificates/{certificate.pk}/").content.decode())


def test_a_certificate_in_service_has_no_incident_and_shows_how_to_use(
    custodian: Client, certificate: Certificate
) -> None:
    response = custodian.get(f"/certificates/{certificate.pk}/")
    assert response.context["incident"] is None
    assert 'aria-labelledby="howto"' in response.content.decode()


def test_after_the_report_the_page_says_what_was_done_and_what_is_left(
    custodian: Client,
    certificate: Certificate,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The TAM was emailed (and the email left); nothing else is done; the main button at the
    top starts the replacement; "How to use" is gone."""
    report(certificate, django_capture_on_commit_callbacks)
    found = incident(custodian, certificate)
    assert steps(found) == {
        "tam": "done",
        "requested": "todo",
        "installed": "todo",
        "destroyed": "todo",
    }
    (tam,) = [step for step in found.steps if step.key == "tam"]
    assert "tam@treezor.example" in tam.detail
    assert "Sent: the mail server accepted it." in tam.detail
    assert found.next_action is not None
    assert found.next_action.label == "Start a replacement request"
    assert found.next_action.url == f"/requests/new/?renews={certificate.pk}"
    page = page_of(custodian, certificate)
    assert 'aria-labelledby="howto"' not in page
    # The main button comes first, before the certificate's facts.
    button = page.index(f'<a class="button" href="/requests/new/?renews={certificate.pk}">')
    assert button < page.index('<dl class="facts">')
    assert "Compromised key: what is left to do" in page


def test_an_email_not_yet_sent_or_failed_says_so(
    custodian: Client,
    certificate: Certificate,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The TAM step reads the email's real state: queued (in progress), then failed."""
    report(certificate, django_capture_on_commit_callbacks, send=False)
    assert steps(incident(custodian, certificate))["tam"] == "pending"
    OutboundEmail.objects.filter(kind=OutboundEmail.Kind.TAM_REVOCATION).update(
        status=OutboundEmail.Status.FAILED, attempts=99, last_error="SMTP 550"
    )
    found = incident(custodian, certificate)
    assert steps(found)["tam"] == "failed"
    assert "gave up" in found.steps[0].detail


def test_without_a_tam_address_the_step_says_to_call_treezor(
    custodian: Client,
    certificate: Certificate,
    sandbox_tam: Environment,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    sandbox_tam.tam_emails = []
    sandbox_tam.save()
    certificate = Certificate.objects.get(pk=certificate.pk)
    report(certificate, django_capture_on_commit_callbacks)
    found = incident(custodian, certificate)
    assert steps(found)["tam"] == "failed"
    assert "Contact Treezor yourself" in found.steps[0].detail


def test_the_next_action_follows_the_replacement_to_the_destroyed_key(
    custodian: Client,
    certificate: Certificate,
    sandbox_tam: Environment,
    issue: Callable[..., bytes],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Request, send, upload, destroy: each done step moves the main button to the next."""
    report(certificate, django_capture_on_commit_callbacks)
    replacement = services.request_create(
        actor=CLI, environment=sandbox_tam, purpose="mtls", subject=ACME, renews=certificate
    )
    found = incident(custodian, certificate)
    assert steps(found)["requested"] == "done"
    assert found.next_action is not None
    assert (found.next_action.label, found.next_action.url) == (
        "Send the replacement CSR to the TAM",
        "/environments/sandbox/send/",
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.tam_send(actor=CLI, environment=sandbox_tam, signing_requests=[replacement])
    found = incident(custodian, certificate)
    assert found.next_action is not None
    assert (found.next_action.label, found.next_action.url) == (
        "Upload the replacement certificate",
        f"/certificates/upload/?request={replacement.pk}",
    )

    new = services.certificate_upload(actor=CLI, data=issue(replacement)).certificate
    found = incident(custodian, certificate)
    assert steps(found)["installed"] == "done"
    assert found.next_action is not None
    assert found.next_action.label == "Destroy the old private key"
    assert found.next_action.danger
    page = page_of(custodian, certificate)
    assert f'href="/certificates/{new.pk}/">Certificate #{new.pk}</a>' in page

    certificate.signing_request.key.refresh_from_db()
    key_destroy(actor=CLI, key=certificate.signing_request.key)
    found = incident(custodian, certificate)
    assert found.closed
    assert found.next_action is None
    assert "Compromise handled" in page_of(custodian, certificate)


def test_a_revoked_replacement_is_found_without_renews(
    custodian: Client,
    certificate: Certificate,
    sandbox_tam: Environment,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Once Treezor revoked it, a new request for the same environment and purpose made after
    the report is its replacement, even if it does not name it."""
    report(certificate, django_capture_on_commit_callbacks)
    revocation = Revocation.objects.get(certificate=certificate)
    revocation_confirm(actor=CLI, revocation=revocation, confirmed_on=date.today())
    services.request_create(actor=CLI, environment=sandbox_tam, purpose="mtls", subject=ACME)
    assert steps(incident(custodian, certificate))["requested"] == "done"


def test_a_viewer_is_told_who_takes_the_next_step(
    member_client: Callable[..., Client],
    certificate: Certificate,
    sandbox_tam: Environment,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """No button for someone who may not take it: who does, in words."""
    report(certificate, django_capture_on_commit_callbacks)
    viewer = member_client("viewer", sandbox_tam)
    found = incident(viewer, certificate)
    assert found.next_action is not None
    assert not found.next_action.allowed
    page = page_of(viewer, certificate)
    assert f'href="/requests/new/?renews={certificate.pk}"' not in page
    assert re.search(r"Next: <strong>Start a replacement request</strong>, which a requester", page)


def test_a_revoked_certificate_hides_how_to_use_without_an_incident(
    custodian: Client,
    certificate: Certificate,
    make_member: Callable[..., User],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Revocation (no longer needed) is no compromise: no incident, but no "How to use"."""
    with django_capture_on_commit_callbacks(execute=True):
        revocation = revocation_request(actor=CLI, certificate=certificate, reason="superseded")
    response = custodian.get(f"/certificates/{certificate.pk}/")
    assert response.context["incident"] is None
    assert 'aria-labelledby="howto"' not in response.content.decode()
    revocation_confirm(actor=CLI, revocation=revocation, confirmed_on=date.today())
    assert 'aria-labelledby="howto"' not in page_of(custodian, certificate)
