"""The audit log in words, linked to what it is about, filtered by person, action and days;
the outbox linked to what each email was about (issue 16)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from certificates import services
from certificates.models import (
    AuditEvent,
    Certificate,
    Environment,
    Membership,
    OutboundEmail,
    SigningRequest,
)
from certificates.services import Actor
from tests.support.factories import KeyFactory, SigningRequestFactory
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db


def make_events(environment: Environment | None, count: int = 1, **fields: Any) -> None:
    fields = {"actor_label": "alice", "action": "request.created", **fields}
    AuditEvent.objects.bulk_create(
        AuditEvent(environment=environment, **fields) for _ in range(count)
    )


def rows_of(response: Any) -> list[Any]:
    assert response.status_code == 200
    return list(response.context["rows"])


def actions(client: Client, query: str) -> set[str]:
    return {row.event.action for row in rows_of(client.get(f"/audit/?{query}"))}


def custodian_of(environment: Environment) -> Client:
    user = User.objects.create_user(f"keeper-{User.objects.count()}")
    Membership.objects.create(user=user, environment=environment, role="custodian")
    client = Client()
    client.force_login(user)
    return client


# --- words and links -----------------------------------------------------------------------


def test_actions_read_in_words_with_their_code_beside(
    admin_client: Client, sandbox: Environment
) -> None:
    make_events(sandbox, action="key.exported")
    make_events(sandbox, action="account.second_factor_added")
    page = admin_client.get("/audit/").content.decode()
    assert 'Private key downloaded <code class="action-code">key.exported</code>' in page
    assert "Second factor added" in page
    # The action filter's suggestions carry the words too.
    assert '<option value="key.exported">Private key downloaded</option>' in page


def test_targets_link_to_the_request_certificate_and_person_concerned(
    admin_client: Client,
    sandbox: Environment,
    issue: Callable[..., bytes],
) -> None:
    """A request's, a certificate's and a key's events link to their pages; a person's to
    People (for administrators)."""
    cli = Actor.cli()
    request = services.request_create(actor=cli, environment=sandbox, purpose="mtls", subject=ACME)
    certificate = services.certificate_upload(actor=cli, data=issue(request)).certificate
    person = User.objects.create_user("bob")
    services.audit.audit_record(actor=cli, action="settings.user_deactivated", target=person)
    services.audit.audit_record(
        actor=cli, action="key.exported", target=request.key, environment=sandbox
    )
    rows = {row.event.action: row.target for row in rows_of(admin_client.get("/audit/"))}
    assert rows["request.created"].url == f"/requests/{request.pk}/"
    assert rows["request.created"].text == f"Request #{request.pk}"
    assert rows["certificate.uploaded"].url == f"/certificates/{certificate.pk}/"
    assert rows["key.exported"].url == f"/requests/{request.pk}/"
    assert rows["settings.user_deactivated"].url == "/settings/people/"
    page = admin_client.get("/audit/").content.decode()
    assert f'<a href="/certificates/{certificate.pk}/">Certificate #{certificate.pk}</a>' in page


def test_custodians_get_no_link_to_the_administrators_pages(sandbox: Environment) -> None:
    person = User.objects.create_user("carol")
    AuditEvent.objects.create(
        actor_label="admin",
        action="settings.membership_set",
        target_type="user",
        target_id=str(person.pk),
        target_label="carol",
        environment=sandbox,
    )
    (row,) = rows_of(custodian_of(sandbox).get("/audit/"))
    assert row.target is None
    assert "/settings/people/" not in custodian_of(sandbox).get("/audit/").content.decode()


def test_the_page_reads_as_many_queries_for_many_key_events(
    admin_client: Client, sandbox: Environment
) -> None:
    """Links to the requests of keys cost one query for the page, not one per row."""

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get("/audit/").status_code == 200
        return len(queries)

    def key_events(number: int) -> None:
        for request in SigningRequestFactory.create_batch(number, environment=sandbox):
            make_events(
                sandbox, action="key.exported", target_type="key", target_id=str(request.key_id)
            )

    key_events(3)
    admin_client.get("/")  # the session's first request records it
    few = count()
    key_events(40)
    assert count() == few


# --- filters -------------------------------------------------------------------------------


def test_the_person_filter_finds_a_person_under_any_name_they_had(
    admin_client: Client, sandbox: Environment
) -> None:
    """By account: their events recorded under an older user name too; by label: cli, system."""
    alice = User.objects.create_user("alice")
    make_events(sandbox, action="request.created", actor=alice, actor_label="alice.old")
    make_events(sandbox, action="request.cancelled", actor_label="system")
    make_events(sandbox, action="key.exported", actor_label="bob")
    assert actions(admin_client, "actor=Alice") == {"request.created"}
    assert actions(admin_client, "actor=system") == {"request.cancelled"}


def test_an_unknown_person_is_explained_and_ignored(
    admin_client: Client, sandbox: Environment
) -> None:
    make_events(sandbox, action="key.exported")
    make_events(sandbox, action="request.created", actor_label="bob")
    response = admin_client.get("/audit/?actor=mallory")
    assert "Nobody called “mallory” appears in this log; this filter was ignored." in (
        response.content.decode()
    )
    assert len(rows_of(response)) == 2


def test_a_custodian_cannot_find_a_label_only_other_environments_carry(
    sandbox: Environment, production: Environment
) -> None:
    make_events(production, actor_label="production-bot")
    response = custodian_of(sandbox).get("/audit/?actor=production-bot")
    assert "Nobody called “production-bot”" in response.content.decode()


def test_the_action_filter_takes_the_code_the_words_or_a_family(
    admin_client: Client, sandbox: Environment
) -> None:
    make_events(sandbox, action="key.exported")
    make_events(sandbox, action="key.destroyed")
    make_events(sandbox, action="request.created")
    assert actions(admin_client, "action=key.exported") == {"key.exported"}
    assert actions(admin_client, "action=private+key+downloaded") == {"key.exported"}
    assert actions(admin_client, "action=key.") == {"key.exported", "key.destroyed"}


def test_an_unknown_action_is_explained_and_ignored(
    admin_client: Client, sandbox: Environment
) -> None:
    make_events(sandbox, action="key.exported")
    make_events(sandbox, action="request.created")
    response = admin_client.get("/audit/?action=coffee.made")
    assert "No event in this log has an action “coffee.made”; this filter was ignored." in (
        response.content.decode()
    )
    assert len(rows_of(response)) == 2


def test_the_person_filter_suggests_names_to_administrators_only(
    admin_client: Client, sandbox: Environment
) -> None:
    User.objects.create_user("dora")
    page = admin_client.get("/audit/").content.decode()
    assert '<option value="dora"></option>' in page
    assert (
        '<option value="dora"></option>'
        not in custodian_of(sandbox).get("/audit/").content.decode()
    )


def test_an_actor_links_to_their_events(admin_client: Client, sandbox: Environment) -> None:
    make_events(sandbox, actor_label="erin")
    page = admin_client.get("/audit/?environment=sandbox").content.decode()
    assert '<a href="?environment=sandbox&amp;actor=erin"' in page


def test_filters_combine_by_person_action_and_days(
    admin_client: Client, sandbox: Environment
) -> None:
    make_events(sandbox, action="key.exported", actor_label="bob")
    make_events(sandbox, action="request.created", actor_label="bob")
    make_events(sandbox, action="key.exported", actor_label="alice")
    assert actions(admin_client, "actor=bob&action=key.&date_from=2000-01-01") == {"key.exported"}
    assert len(rows_of(admin_client.get("/audit/?actor=bob&action=key."))) == 1


# --- the outbox -----------------------------------------------------------------------------


def test_outbox_rows_link_to_what_they_were_about(
    admin_client: Client, sandbox: Environment
) -> None:
    request = SigningRequestFactory.create(environment=sandbox, key=KeyFactory.create())
    certificate = Certificate.objects.create(
        signing_request=request,
        environment=sandbox,
        purpose="mtls",
        pem="x",
        serial="01",
        subject="CN=acme.com",
        issuer="CN=CA",
        not_before="2026-01-01T00:00:00Z",
        not_after="2027-01-01T00:00:00Z",
        fingerprint="f" * 64,
    )
    common = {"to": ["tam@treezor.example"], "body_text": "b"}
    OutboundEmail.objects.create(kind="tam_csr", subject="csr", signing_request=request, **common)
    OutboundEmail.objects.create(
        kind="tam_revocation", subject="revoke", certificate=certificate, **common
    )
    OutboundEmail.objects.create(kind="audit_checkpoint", subject="checkpoint", **common)
    page = admin_client.get("/outbox/").content.decode()
    assert f'<a href="/requests/{request.pk}/">Request #{request.pk}</a>' in page
    assert f'<a href="/certificates/{certificate.pk}/">Certificate #{certificate.pk}</a>' in page
    assert page.count('<span class="visually-hidden">nothing in particular</span>') == 1
    assert SigningRequest.objects.count() == 1
