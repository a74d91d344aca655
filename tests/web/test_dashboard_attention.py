"""The dashboard's first-run checklist and its "Needs attention" summary (issue 16)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates import services
from certificates.models import (
    CompanyProfile,
    Environment,
    OutboundEmail,
    Revocation,
    SigningRequest,
)
from certificates.selectors.checklist import first_run_checklist
from certificates.services import Actor
from tests.support.factories import CertificateFactory, SigningRequestFactory, certificates_bulk
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def checklist_of(response: Any) -> dict[str, bool]:
    checklist = response.context["checklist"]
    assert checklist is not None
    return {item.key: item.done for item in checklist.items}


def attention_of(response: Any) -> dict[str, tuple[int, str]]:
    return {item.key: (item.count, item.url) for item in response.context["attention"]}


# --- the checklist ---------------------------------------------------------------------------


def test_a_new_certdesk_shows_five_steps_to_do_each_with_its_link(admin_client: Client) -> None:
    """Fresh install: nothing is done; each step links to where it is done."""
    response = admin_client.get("/")
    assert checklist_of(response) == {
        "company": False,
        "tam": False,
        "ca": False,
        "people": False,
        "request": False,
    }
    page = response.content.decode()
    assert "Getting started" in page
    assert "0 of 5 done" in page
    for href in (
        "/settings/company/",
        "/settings/environments/sandbox/edit/#id_tam_emails",
        "/settings/environments/sandbox/edit/#id_ca_bundle_file",
        "/settings/people/invite/",
        "/requests/new/",
    ):
        assert f'href="{href}"' in page, href
    # Nothing waits yet: no "Needs attention" before the checklist is done.
    assert "Needs attention" not in page


def test_each_step_is_ticked_when_done(
    admin_client: Client, sandbox: Environment, production: Environment
) -> None:
    """Company name, a TAM address, a CA (the fixtures trust the local CA), someone invited,
    a first request: each ticks its step; the links go to what is still missing."""
    assert checklist_of(admin_client.get("/"))["ca"] is True  # sandbox and production trust one
    CompanyProfile.objects.update_or_create(pk=1, defaults={"company_name": "Acme SAS"})
    assert checklist_of(admin_client.get("/"))["company"] is True

    production.tam_emails = ["tam@treezor.example"]
    production.save()
    response = admin_client.get("/")
    assert checklist_of(response)["tam"] is True
    (tam,) = [item for item in response.context["checklist"].items if item.key == "tam"]
    assert tam.help == "Set for Production."

    User.objects.create_user("alice")
    assert checklist_of(admin_client.get("/"))["people"] is True
    services.request_create(actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME)
    response = admin_client.get("/")
    assert response.context["checklist"].done
    page = response.content.decode()
    assert "Getting started" not in page
    assert "Needs attention" in page


def test_the_default_company_name_is_not_a_company_name(admin_client: Client) -> None:
    """ "company" is what certdesk starts with: the step is still to do."""
    CompanyProfile.objects.update_or_create(pk=1, defaults={"company_name": "company"})
    assert checklist_of(admin_client.get("/"))["company"] is False


def test_the_checklist_reads_four_queries_whatever_the_data(
    sandbox: Environment, production: Environment
) -> None:
    """Few queries, and no more with many users and requests."""
    with CaptureQueriesContext(connection) as few:
        first_run_checklist()
    for index in range(30):
        User.objects.create_user(f"user{index}")
    SigningRequestFactory.create_batch(20, environment=sandbox)
    with CaptureQueriesContext(connection) as many:
        first_run_checklist()
    assert len(few) == len(many) == 4


def test_members_see_no_checklist(
    member_client: Callable[..., Client], sandbox: Environment
) -> None:
    """The checklist is the administrators' (they alone can do its steps)."""
    response = member_client("custodian", sandbox).get("/")
    assert response.context["checklist"] is None
    assert "Getting started" not in response.content.decode()


# --- needs attention -------------------------------------------------------------------------


@pytest.fixture
def set_up(sandbox: Environment, production: Environment, admin_user: User) -> None:
    """The checklist done, so the summary shows."""
    CompanyProfile.objects.update_or_create(pk=1, defaults={"company_name": "Acme SAS"})
    for environment in (sandbox, production):
        environment.tam_emails = ["tam@treezor.example"]
        environment.save()
    User.objects.create_user("alice")


@pytest.fixture
def waiting(sandbox: Environment, production: Environment) -> None:
    """Sandbox: two renewals due (mTLS and signature), one ready request, one revocation
    waiting for Treezor; Production: one renewal due; two failed emails and a refused one."""
    now = timezone.now()
    # Replaced since, but still waiting for Treezor's confirmation: it counts.
    waiting = CertificateFactory.create(
        signing_request__environment=sandbox, signing_request__purpose="signature"
    )
    Revocation.objects.create(certificate=waiting, reason=Revocation.Reason.SUPERSEDED)
    for environment, purpose in ((sandbox, "mtls"), (sandbox, "signature"), (production, "mtls")):
        certificates_bulk(
            environment,
            1,
            purpose=purpose,
            not_before=now - 300 * DAY,
            not_after=lambda index: now + 10 * DAY,
        )
    SigningRequestFactory.create(environment=sandbox, status=SigningRequest.Status.READY)
    SigningRequestFactory.create(
        environment=production, status=SigningRequest.Status.SENT, sent_at=now
    )
    for status in ("failed", "failed", "refused", "sent"):
        OutboundEmail.objects.create(
            kind=OutboundEmail.Kind.TAM_CSR,
            to=["tam@treezor.example"],
            subject="s",
            body_text="b",
            status=status,
        )


def test_needs_attention_counts_link_to_the_lists_that_show_those_rows(
    admin_client: Client, set_up: None, waiting: None
) -> None:
    """Each count is what its filtered list shows: renewals due, CSRs not sent, revocations
    waiting for Treezor, failed emails (and refused ones, for administrators)."""
    response = admin_client.get("/")
    attention = attention_of(response)
    assert attention == {
        "renewals": (3, "/certificates/?status=renewal+due"),
        "not_sent": (1, "/requests/?status=ready"),
        "revocations": (1, "/certificates/?status=revocation+requested"),
        "emails": (2, "/outbox/?status=failed"),
        "refused": (1, "/outbox/?status=refused"),
    }
    for count, url in attention.values():
        assert admin_client.get(url).context["page"].paginator.count == count, url
    page = response.content.decode()
    assert 'href="/certificates/?status=renewal+due"><span class="attention-count">3</span>' in page


def test_members_count_only_their_environments_and_their_own_failed_emails(
    member_client: Callable[..., Client],
    make_member: Callable[..., User],
    set_up: None,
    waiting: None,
    production: Environment,
) -> None:
    """A Production requester: Production's one renewal; failed emails are their own, shown on
    the dashboard (the outbox is the administrators')."""
    user = make_member("requester", production)
    OutboundEmail.objects.create(
        kind=OutboundEmail.Kind.TAM_CSR,
        to=["tam@treezor.example"],
        subject="mine",
        body_text="b",
        status="failed",
        created_by=user,
    )
    client = Client()
    client.force_login(user)
    response = client.get("/")
    assert response.context["checklist"] is None
    assert attention_of(response) == {
        "renewals": (1, "/certificates/?status=renewal+due"),
        "not_sent": (0, "/requests/?status=ready"),
        "revocations": (0, "/certificates/?status=revocation+requested"),
        "emails": (1, "#failed-emails-heading"),
    }
    page = response.content.decode()
    assert 'id="failed-emails-heading"' in page
    # A zero is said, not linked.
    assert '<span class="attention-count">0</span> CSRs not sent' in page


def test_nothing_to_show_for_someone_without_an_environment(client: Client) -> None:
    client.force_login(User.objects.create_user("nobody"))
    response = client.get("/")
    assert response.context["attention"] == []
    assert "Needs attention" not in response.content.decode()


def test_the_dashboard_query_count_stays_constant_with_the_summary(
    admin_client: Client, set_up: None, sandbox: Environment, production: Environment
) -> None:
    """Ten or a hundred rows behind the counts: the same number of queries."""

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get("/").status_code == 200
        return len(queries)

    now = timezone.now()
    count()  # the session's first request records it
    few = count()
    certificates_bulk(
        sandbox, 100, not_before=now - 300 * DAY, not_after=lambda index: now + 10 * DAY
    )
    SigningRequestFactory.create_batch(30, environment=production, status="ready")
    for _ in range(20):
        OutboundEmail.objects.create(
            kind="tam_csr", to=["t@x"], subject="s", body_text="b", status="failed"
        )
    assert count() == few
