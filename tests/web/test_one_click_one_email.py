"""Issue 13, point 1: one click, one email, on PostgreSQL with real parallel submissions.

Twenty POSTs of one "Send to the TAM" form (a double click, a retry storm) or of twenty forms
(twenty tabs) at the same moment email the TAM exactly once; the same holds for "Report a
compromised key", whose parallel reports used to end in 500s on the revocation's unique
constraint. Each thread has its own test client and database connection; a barrier releases
them together. Nothing here sleeps.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test import Client

from certificates import services
from certificates.models import (
    AuditEvent,
    Certificate,
    Environment,
    OutboundEmail,
    Revocation,
    SigningRequest,
)
from certificates.services import Actor
from tests.support.subjects import ACME

CLI = Actor.cli()
PARALLEL = 20


@pytest.fixture
def sandbox_with_tam(sandbox: Environment) -> Environment:
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    return sandbox


def in_parallel(
    user: User, post: Callable[[Client, int], tuple[str, str]]
) -> list[tuple[str, str]]:
    """Run ``post`` in PARALLEL threads at once, each with its own logged-in client; returns
    each answer as (status line, page text). A thread that raises fails the test."""
    barrier = threading.Barrier(PARALLEL)
    answers: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def one(index: int) -> None:
        try:
            client = Client(raise_request_exception=False)
            client.force_login(user)
            barrier.wait(timeout=30)
            answers.append(post(client, index))
        except BaseException as error:  # reported below, with the thread's answer missing
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a submission never returned"
    assert errors == []
    assert len(answers) == PARALLEL
    return answers


def answer(response: object) -> tuple[str, str]:
    status = getattr(response, "status_code", 0)
    location = response["Location"] if status == 302 else ""  # type: ignore[index]
    return f"{status} {location}".strip(), response.content.decode()  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_form", [True, False], ids=["one form", "twenty forms"])
def test_twenty_parallel_sends_email_the_tam_once(
    postgres: None,
    sandbox_with_tam: Environment,
    make_member: Callable[[str, Environment], User],
    same_form: bool,
) -> None:
    """One form posted twenty times at once: one email, and every submission gets the first
    one's answer (the dashboard). Twenty forms at once: one email; the others are told the CSR
    was sent already and how to resend. Never a 500, never a second email."""
    request = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    user = make_member("requester", sandbox_with_tam)
    token = str(uuid.uuid4())

    def post(client: Client, index: int) -> tuple[str, str]:
        form = {
            "requests": [request.pk],
            "send": "1",
            "token": token if same_form else str(uuid.uuid4()),
        }
        return answer(client.post("/environments/sandbox/send/", form))

    answers = in_parallel(user, post)
    assert len(mail.outbox) == 1
    assert OutboundEmail.objects.count() == 1
    assert AuditEvent.objects.filter(action="request.sent_to_tam").count() == 1
    statuses = sorted(status for status, _ in answers)
    if same_form:
        assert statuses == ["302 /"] * PARALLEL
    else:
        assert statuses == ["200"] * (PARALLEL - 1) + ["302 /"]
        refused = [page for status, page in answers if status == "200"]
        assert all(f"Request #{request.pk} was sent to the TAM already" in p for p in refused)
    assert SigningRequest.objects.get(pk=request.pk).status == "sent"


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("same_form", [True, False], ids=["one form", "twenty forms"])
def test_twenty_parallel_compromise_reports_email_the_tam_once(
    postgres: None,
    sandbox_with_tam: Environment,
    make_member: Callable[[str, Environment], User],
    issue: Callable[..., bytes],
    same_form: bool,
) -> None:
    """Twenty reports of one compromised key at once: one revocation, one urgent email, no
    500. The same form's repeats get the first report's answer; other forms "already
    reported", on the certificate's page."""
    request = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    certificate: Certificate = services.certificate_upload(
        actor=CLI, data=issue(request)
    ).certificate
    user = make_member("custodian", sandbox_with_tam)
    token = str(uuid.uuid4())
    page = f"/certificates/{certificate.pk}/"

    def post(client: Client, index: int) -> tuple[str, str]:
        form = {
            "suspected_since": "2020-01-01",
            "note": "laptop stolen",
            "token": token if same_form else str(uuid.uuid4()),
        }
        response = client.post(f"/certificates/{certificate.pk}/compromised/", form)
        status, _ = answer(response)
        # The message is on the page the redirect leads to.
        return status, client.get(page).content.decode() if status.startswith("302") else ""

    answers = in_parallel(user, post)
    assert [status for status, _ in answers] == [f"302 {page}"] * PARALLEL
    assert Revocation.objects.filter(certificate=certificate).count() == 1
    (email,) = OutboundEmail.objects.all()
    assert email.kind == "tam_revocation"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("URGENT: key compromise")
    assert AuditEvent.objects.filter(action="key.compromised").count() == 1
    already = [text for _, text in answers if "already reported compromised" in text]
    assert len(already) == (0 if same_form else PARALLEL - 1)


@pytest.mark.django_db
def test_the_same_compromise_form_twice_reports_once(
    sandbox_with_tam: Environment,
    member_client: Callable[..., Client],
    issue: Callable[..., bytes],
) -> None:
    """Sequentially (a reload that re-posts): the second submission of the form is the first
    report again, one email; a second, new form says "already reported" and sends nothing."""
    request = services.request_create(
        actor=CLI, environment=sandbox_with_tam, purpose="mtls", subject=ACME
    )
    certificate = services.certificate_upload(actor=CLI, data=issue(request)).certificate
    client = member_client("custodian", sandbox_with_tam)
    form_page = client.get(f"/certificates/{certificate.pk}/compromised/").content.decode()
    (token,) = re.findall(r'name="token" value="([0-9a-f-]+)"', form_page)
    form = {"suspected_since": "2020-01-01", "note": "", "token": token}
    for _ in range(2):
        response = client.post(f"/certificates/{certificate.pk}/compromised/", form, follow=True)
        assert "urgent revocation request to the TAM" in response.content.decode()
    assert OutboundEmail.objects.count() == 1
    form["token"] = str(uuid.uuid4())
    response = client.post(f"/certificates/{certificate.pk}/compromised/", form, follow=True)
    assert "This key was already reported compromised on" in response.content.decode()
    assert "Nothing more was sent" in response.content.decode()
    assert OutboundEmail.objects.count() == 1
    assert Revocation.objects.count() == 1
