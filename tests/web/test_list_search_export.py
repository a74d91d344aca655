"""The certificate list's search box, its hidden superseded and revoked rows, and the CSV
exports of the certificate list and the audit log (issue 16)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certificates import crypto
from certificates.csv_format import BOM
from certificates.models import (
    AuditEvent,
    Certificate,
    Environment,
    Membership,
    Revocation,
)
from tests.support.factories import certificates_bulk

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def install(
    environment: Environment, count: int = 1, *, common_name: str = "acme.com", **kwargs: Any
) -> list[Certificate]:
    """``count`` certificates installed in order: the last in service, the others superseded."""
    now = timezone.now()
    return certificates_bulk(
        environment,
        count,
        common_name=common_name,
        not_before=now - 30 * DAY,
        not_after=lambda index: now + 200 * DAY + index * DAY,
        **kwargs,
    )


def listed(client: Client, query: str = "") -> list[int]:
    response = client.get(f"/certificates/?{query}")
    assert response.status_code == 200
    return [row.certificate.pk for row in response.context["rows"]]


def member(role: str, environment: Environment) -> Client:
    user = User.objects.create_user(f"{role}-{User.objects.count()}")
    Membership.objects.create(user=user, environment=environment, role=role)
    client = Client()
    client.force_login(user)
    return client


def read_csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="certdesk-')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text.removeprefix(BOM))))


# --- search --------------------------------------------------------------------------------


@pytest.fixture
def three(sandbox: Environment, production: Environment) -> dict[str, Certificate]:
    (gateway,) = install(sandbox, common_name="gateway.acme.com")
    (payments,) = install(sandbox, common_name="payments.acme.com", purpose="signature")
    (other,) = install(production, common_name="other.example.org")
    Certificate.objects.filter(pk=gateway.pk).update(serial="A1B2C3D4E5F6")
    Certificate.objects.filter(pk=payments.pk).update(serial="9F00AA")
    gateway.refresh_from_db()
    payments.refresh_from_db()
    return {"gateway": gateway, "payments": payments, "other": other}


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("gateway", ["gateway"]),
        ("ACME.COM", ["gateway", "payments"]),
        ("  payments.acme  ", ["payments"]),
        # Serials: with or without colons, any case, OpenSSL's leading zero, or a part.
        ("A1B2C3D4E5F6", ["gateway"]),
        ("a1:b2:c3:d4:e5:f6", ["gateway"]),
        ("A1 B2 C3", ["gateway"]),
        ("00:9f:00:aa", ["payments"]),
        ("9f:00:aa", ["payments"]),
        ("nothing.here", []),
    ],
)
def test_one_box_searches_common_names_and_serials(
    admin_client: Client, three: dict[str, Certificate], query: str, found: list[str]
) -> None:
    expected = {three[name].pk for name in found}
    assert set(listed(admin_client, f"q={query}")) == expected


def test_the_search_finds_a_fingerprint_as_openssl_prints_it(
    admin_client: Client, three: dict[str, Certificate]
) -> None:
    """``openssl x509 -fingerprint -sha256`` prints AB:CD:..., the page the same; hex works."""
    other = three["other"]
    printed = crypto.format_fingerprint(other.fingerprint)
    assert listed(admin_client, f"q={printed}") == [other.pk]
    assert listed(admin_client, f"q={other.fingerprint[:16].upper()}") == [other.pk]


def test_the_search_keeps_to_what_the_user_may_see_and_combines_with_filters(
    three: dict[str, Certificate], sandbox: Environment
) -> None:
    viewer = member("viewer", sandbox)
    assert listed(viewer, "q=other.example.org") == []
    assert listed(viewer, "q=acme&purpose=signature") == [three["payments"].pk]
    page = viewer.get("/certificates/?q=nothing").content.decode()
    assert "No certificate matches these filters." in page


def test_a_search_too_long_is_explained_and_ignored(
    admin_client: Client, three: dict[str, Certificate]
) -> None:
    response = admin_client.get("/certificates/?q=" + "x" * 300)
    assert "Ensure this value has at most 200 characters" in response.content.decode()
    assert len(response.context["rows"]) == 3


# --- superseded and revoked, hidden by default ---------------------------------------------


@pytest.fixture
def history(sandbox: Environment) -> dict[str, Certificate]:
    """Three Sandbox mTLS certificates one after the other (two superseded), one of them
    revoked, and a revoked signature certificate still in service."""
    first, second, current = install(sandbox, 3)
    (revoked,) = install(sandbox, purpose="signature")
    now = timezone.now()
    Revocation.objects.create(certificate=revoked, reason="key_compromise", confirmed_at=now)
    Revocation.objects.create(certificate=second, reason="superseded", confirmed_at=now)
    return {"first": first, "second": second, "current": current, "revoked": revoked}


def test_superseded_and_revoked_certificates_are_hidden_until_asked_for(
    admin_client: Client, history: dict[str, Certificate]
) -> None:
    """By default the list shows what is in use; one link shows the rest, and hides it again."""
    response = admin_client.get("/certificates/")
    assert listed(admin_client) == [history["current"].pk]
    page = response.content.decode()
    assert "3 superseded or revoked certificates not shown." in page
    assert '<a href="?show=all">Show them</a>' in page
    assert set(listed(admin_client, "show=all")) == {c.pk for c in history.values()}
    shown = admin_client.get("/certificates/?show=all").content.decode()
    assert '<a href="?">Hide superseded and revoked certificates</a>' in shown
    assert "not shown." not in shown


def test_asking_for_a_hidden_status_shows_it(
    admin_client: Client, history: dict[str, Certificate]
) -> None:
    assert listed(admin_client, "status=superseded") == [history["first"].pk]
    assert set(listed(admin_client, "status=revoked")) == {
        history["second"].pk,
        history["revoked"].pk,
    }


def test_the_show_link_keeps_the_filters_and_starts_at_page_one(
    admin_client: Client, history: dict[str, Certificate]
) -> None:
    page = admin_client.get("/certificates/?purpose=mtls").content.decode()
    assert "2 superseded or revoked certificates not shown." in page
    assert 'href="?purpose=mtls&amp;show=all">Show them</a>' in page


def test_a_bad_show_value_is_explained_and_ignored(
    admin_client: Client, history: dict[str, Certificate]
) -> None:
    response = admin_client.get("/certificates/?show=everything")
    assert "certdesk knows no view “everything”" in response.content.decode()
    assert listed(admin_client, "show=everything") == [history["current"].pk]


def test_nothing_in_use_says_so(admin_client: Client, sandbox: Environment) -> None:
    (only,) = install(sandbox)
    Revocation.objects.create(certificate=only, reason="superseded", confirmed_at=timezone.now())
    page = admin_client.get("/certificates/").content.decode()
    assert "No certificate in use." in page
    assert "1 superseded or revoked certificate not shown." in page


# --- CSV: certificates -----------------------------------------------------------------------


def test_the_certificate_list_exports_as_csv_with_its_filters(
    admin_client: Client, three: dict[str, Certificate], history: dict[str, Certificate]
) -> None:
    """The page's rows (search, filters, hidden ones), every useful column, no PEM."""
    # The history's certificates replaced gateway: the default export leaves it out.
    rows = read_csv(admin_client.get("/certificates/export.csv?q=acme&purpose=mtls"))
    assert [row["Certificate"] for row in rows] == [str(history["current"].pk)]
    gateway = three["gateway"]
    (row,) = read_csv(admin_client.get("/certificates/export.csv?q=gateway&show=all"))
    assert row["Environment"] == "Sandbox"
    assert row["Purpose"] == "mTLS"
    assert row["Serial"] == "A1B2C3D4E5F6"
    assert row["SHA-256 fingerprint"] == crypto.format_fingerprint(gateway.fingerprint)
    assert row["Status"] == "superseded"
    assert row["In service"] == "no"
    assert row["Certificate"] == str(gateway.pk)
    assert row["Days left"] == "199"
    everything = read_csv(admin_client.get("/certificates/export.csv?show=all"))
    assert len(everything) == 7


def test_the_certificate_export_keeps_to_the_users_environments(
    three: dict[str, Certificate], production: Environment
) -> None:
    rows = read_csv(member("viewer", production).get("/certificates/export.csv"))
    assert [row["Common Name"] for row in rows] == ["other.example.org"]
    nobody = Client()
    nobody.force_login(User.objects.create_user("nobody"))
    assert read_csv(nobody.get("/certificates/export.csv")) == []


def test_a_formula_in_a_common_name_is_exported_as_text(
    admin_client: Client, sandbox: Environment
) -> None:
    install(sandbox, common_name='=HYPERLINK("http://evil.example")')
    (row,) = read_csv(admin_client.get("/certificates/export.csv"))
    assert row["Common Name"] == '\'=HYPERLINK("http://evil.example")'


def test_the_certificate_export_is_recorded(
    admin_client: Client, admin_user: User, three: dict[str, Certificate]
) -> None:
    read_csv(admin_client.get("/certificates/export.csv?environment=sandbox&q=acme"))
    event = AuditEvent.objects.get(action="certificate.list_exported")
    assert event.actor == admin_user
    assert event.details == {
        "format": "csv",
        "filters": {"environment": "sandbox", "q": "acme"},
        "rows": 2,
    }


def test_a_large_export_reads_as_many_queries_as_a_small_one(
    admin_client: Client, sandbox: Environment
) -> None:
    """Rows are read in chunks from one query, never one query per row."""

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            read_csv(admin_client.get("/certificates/export.csv?show=all"))
        return len(queries)

    install(sandbox, 5)
    admin_client.get("/")  # the session's first request records it
    few = count()
    install(sandbox, 1200)
    assert count() == few


# --- CSV: the audit log ---------------------------------------------------------------------


def make_events(environment: Environment | None, count: int = 1, **fields: Any) -> None:
    fields = {"actor_label": "alice", "action": "request.created", **fields}
    AuditEvent.objects.bulk_create(
        AuditEvent(environment=environment, **fields) for _ in range(count)
    )


def test_the_audit_log_exports_as_csv_with_its_filters(
    admin_client: Client, sandbox: Environment, production: Environment
) -> None:
    make_events(
        sandbox,
        action="key.exported",
        target_label="key 1",
        ip="192.0.2.1",
        details={"format": "pem"},
    )
    make_events(production, action="request.created", actor_label="bob")
    rows = read_csv(admin_client.get("/audit/export.csv?environment=sandbox"))
    (row,) = [row for row in rows if row["Action code"] == "key.exported"]
    assert row["Action"] == "Private key downloaded"
    assert row["Person"] == "alice"
    assert row["Environment"] == "Sandbox"
    assert row["IP"] == "192.0.2.1"
    assert row["Details"] == "format: pem"
    assert {row["Environment"] for row in rows} == {"Sandbox"}
    bob = read_csv(admin_client.get("/audit/export.csv?actor=bob"))
    assert [row["Person"] for row in bob] == ["bob"]


def test_custodians_export_their_environments_events_only(
    sandbox: Environment, production: Environment
) -> None:
    make_events(sandbox, target_label="sandbox thing")
    make_events(production, target_label="production thing")
    make_events(None, action="settings.company_updated")
    rows = read_csv(member("custodian", sandbox).get("/audit/export.csv"))
    assert [row["Target"] for row in rows] == ["sandbox thing"]


@pytest.mark.parametrize("role", ["viewer", "requester"])
def test_the_audit_export_is_closed_to_those_who_may_not_read_the_log(
    sandbox: Environment, role: str
) -> None:
    assert member(role, sandbox).get("/audit/export.csv").status_code == 403
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_the_audit_export_is_itself_recorded_and_guards_formulas(
    admin_client: Client, admin_user: User, sandbox: Environment
) -> None:
    make_events(sandbox, 3, actor_label="=cmd|' /C calc'!A0", target_label="@SUM(1)")
    rows = read_csv(admin_client.get("/audit/export.csv?date_from=2000-01-01"))
    event = AuditEvent.objects.get(action="audit.exported")
    assert event.actor == admin_user
    assert event.details == {
        "format": "csv",
        "filters": {"date_from": "2000-01-01"},
        "rows": 3,
    }
    # The file holds the events up to the export (not the export's own event).
    assert len(rows) == 3
    assert {row["Person"] for row in rows} == {"'=cmd|' /C calc'!A0"}
    assert {row["Target"] for row in rows} == {"'@SUM(1)"}


def test_a_bad_filter_in_an_export_is_ignored_not_a_500(
    admin_client: Client, sandbox: Environment
) -> None:
    make_events(sandbox, 2)
    rows = read_csv(admin_client.get("/audit/export.csv?date_from=2025-13-45&action=zzz"))
    assert len(rows) == 2
