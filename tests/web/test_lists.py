"""The list pages: all certificates, all requests and the audit log, by role, filter and page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from certificates import crypto
from certificates.models import (
    AuditEvent,
    Certificate,
    Environment,
    Membership,
    Revocation,
    SigningRequest,
)
from tests.support.factories import certificates_bulk, requests_bulk

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


# --- fast fixtures: bulk-created rows, no cryptography --------------------------------------


def make_requests(
    environment: Environment,
    count: int,
    *,
    purpose: str = "mtls",
    status: str = "fulfilled",
    common_name: str = "acme.com",
) -> list[SigningRequest]:
    return requests_bulk(
        environment, count, purpose=purpose, status=status, common_name=common_name
    )


def make_certificates(
    environment: Environment,
    count: int = 1,
    *,
    purpose: str = "mtls",
    expires_in: timedelta = 200 * DAY,
    step: timedelta = timedelta(0),
    common_name: str = "acme.com",
) -> list[Certificate]:
    """``count`` certificates, each for its own request; the first expires in ``expires_in``,
    the next ones ``step`` later each. Installed in that order: the last one is in service for
    (environment, purpose), the others (and any earlier one) are superseded."""
    now = timezone.now()
    return certificates_bulk(
        environment,
        count,
        purpose=purpose,
        common_name=common_name,
        not_before=now - 30 * DAY,
        not_after=lambda index: now + expires_in + index * step,
    )


def make_events(environment: Environment | None, count: int = 1, **fields: Any) -> None:
    fields = {"actor_label": "alice", "action": "request.created", **fields}
    AuditEvent.objects.bulk_create(
        AuditEvent(environment=environment, **fields) for _ in range(count)
    )


def text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def certificate_pks(response: Any) -> list[int]:
    return [row.certificate.pk for row in response.context["rows"]]


def request_pks(response: Any) -> list[int]:
    return [signing_request.pk for signing_request in response.context["page"]]


def event_actions(response: Any) -> list[str]:
    return [row.event.action for row in response.context["rows"]]


@pytest.fixture
def client_of(make_member: Callable[[str, Environment], User]) -> Callable[..., Client]:
    """A logged-in client of a user holding the given roles: client_of(sandbox="custodian")."""

    def login(**roles: str) -> Client:
        user = User.objects.create_user(f"user-{User.objects.count()}")
        for slug, role in roles.items():
            Membership.objects.create(
                user=user, environment=Environment.objects.get(slug=slug), role=role
            )
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def both(sandbox: Environment, production: Environment) -> None:
    """One certificate, one request and one event in each environment, and an event of none."""
    make_certificates(sandbox, common_name="sandbox.acme.com")
    make_certificates(production, common_name="production.acme.com")
    make_events(sandbox, action="request.created", target_label="sandbox request")
    make_events(production, action="request.created", target_label="production request")
    make_events(None, action="settings.company_updated", target_label="company")


# --- who sees what -------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/certificates/", "/requests/", "/audit/"])
def test_anonymous_visitors_are_sent_to_the_login_page(
    client: Client, admin_user: User, url: str
) -> None:
    """Logged out, every list page asks to log in first and comes back after."""
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


@pytest.mark.parametrize("url", ["/certificates/", "/requests/"])
def test_a_user_without_a_role_sees_an_empty_list(
    client_of: Callable[..., Client], both: None, url: str
) -> None:
    """No role anywhere: the page says whom to ask, and shows nobody else's rows."""
    page = text(client_of().get(url))
    assert "Ask a certdesk administrator" in page
    assert "acme.com" not in page


@pytest.mark.parametrize("role", ["viewer", "requester", "custodian"])
def test_members_see_the_certificates_of_their_environments_only(
    client_of: Callable[..., Client], both: None, role: str
) -> None:
    """A Sandbox member lists Sandbox certificates, never Production's."""
    page = text(client_of(sandbox=role).get("/certificates/"))
    assert "sandbox.acme.com" in page
    assert "production.acme.com" not in page


@pytest.mark.parametrize("role", ["viewer", "requester", "custodian"])
def test_members_see_the_requests_of_their_environments_only(
    client_of: Callable[..., Client], both: None, role: str
) -> None:
    """A Production member lists Production requests, never Sandbox's."""
    page = text(client_of(production=role).get("/requests/"))
    assert "production.acme.com" in page
    assert "sandbox.acme.com" not in page


def test_administrators_see_every_certificate_and_request(admin_client: Client, both: None) -> None:
    """An administrator's lists hold both environments."""
    for url in ("/certificates/", "/requests/"):
        page = text(admin_client.get(url))
        assert "sandbox.acme.com" in page
        assert "production.acme.com" in page


@pytest.mark.parametrize("role", ["viewer", "requester"])
def test_viewers_and_requesters_may_not_read_the_audit_log(
    client_of: Callable[..., Client], both: None, role: str
) -> None:
    """The audit log is closed to viewers and requesters: 403 with a reason."""
    response = client_of(sandbox=role).get("/audit/")
    assert response.status_code == 403


def test_a_user_without_a_role_may_not_read_the_audit_log(
    client_of: Callable[..., Client], both: None
) -> None:
    """No role at all: 403 too."""
    assert client_of().get("/audit/").status_code == 403


def test_custodians_read_the_events_of_their_environments_only(
    client_of: Callable[..., Client], both: None
) -> None:
    """A Sandbox custodian (and Production viewer) reads Sandbox events: not Production's, not
    the events of no environment (settings)."""
    response = client_of(sandbox="custodian", production="viewer").get("/audit/")
    page = text(response)
    assert "sandbox request" in page
    assert "production request" not in page
    assert "settings.company_updated" not in page
    # The environment filter and the action suggestions offer only what they may read.
    assert [slug for slug, _ in response.context["form"].fields["environment"].choices] == [
        "",
        "sandbox",
    ]
    assert response.context["actions"] == ["request.created"]


def test_administrators_read_every_event(admin_client: Client, both: None) -> None:
    """An administrator reads the events of every environment and of none."""
    page = text(admin_client.get("/audit/"))
    for label in ("sandbox request", "production request", "settings.company_updated"):
        assert label in page


# --- what the rows show --------------------------------------------------------------------


def test_a_certificate_row_shows_dates_as_openssl_prints_them_and_links_to_its_page(
    admin_client: Client, sandbox: Environment
) -> None:
    """Environment, purpose, name, serial, notAfter like `openssl x509 -enddate`, days left,
    status, and a link to the certificate's page."""
    (certificate,) = make_certificates(
        sandbox, purpose="signature", expires_in=10 * DAY + timedelta(hours=1)
    )
    page = text(admin_client.get("/certificates/"))
    assert crypto.openssl_date(certificate.not_after) in page
    assert certificate.serial in page
    assert "PCI DSS signature" in page
    assert f'href="{reverse("certificate_detail", args=[certificate.pk])}"' in page
    assert 'class="status-badge status-renewal-due">Renewal due<' in page
    assert '<td data-label="Days left" class="number">10</td>' in page


@pytest.mark.parametrize(
    ("setup", "status", "css"),
    [
        ("valid", "Valid", "status-valid"),
        ("expired", "Expired", "status-expired"),
        ("not yet", "Not yet valid", "status-not-yet-valid"),
        ("revoked", "Revoked", "status-revoked"),
        ("requested", "Revocation requested", "status-revocation-requested"),
        ("superseded", "Superseded", "status-superseded"),
    ],
)
def test_each_status_has_its_own_colour_class(
    admin_client: Client, sandbox: Environment, setup: str, status: str, css: str
) -> None:
    """Every status reads in words and carries a class that colours it."""
    expires_in = -DAY if setup == "expired" else 200 * DAY
    (certificate,) = make_certificates(sandbox, expires_in=expires_in)
    if setup == "not yet":
        Certificate.objects.filter(pk=certificate.pk).update(not_before=timezone.now() + DAY)
    if setup in ("revoked", "requested"):
        Revocation.objects.create(
            certificate=certificate,
            reason="key_compromise",
            confirmed_at=timezone.now() if setup == "revoked" else None,
        )
    if setup == "superseded":
        make_certificates(sandbox, expires_in=300 * DAY)
    # Superseded and revoked certificates are listed when asked for (issue 16).
    page = text(admin_client.get("/certificates/?show=all"))
    assert f'class="status-badge {css}">{status}<' in page


def test_a_request_row_shows_its_state_and_links_to_its_page(
    admin_client: Client, sandbox: Environment
) -> None:
    """Environment, purpose, name, status in words, created and sent dates, a link."""
    (sent,) = make_requests(sandbox, 1, status="sent", purpose="signature")
    (draft,) = make_requests(sandbox, 1, status="ready", common_name="ready.acme.com")
    page = text(admin_client.get("/requests/"))
    assert f'href="{reverse("request_detail", args=[sent.pk])}"' in page
    assert f'href="{reverse("request_detail", args=[draft.pk])}"' in page
    assert "Sent to the TAM" in page
    assert "CSR ready" in page
    assert "not sent" in page
    assert "PCI DSS signature" in page
    assert sent.sent_at is not None
    assert timezone.localtime(sent.sent_at).strftime("%Y-%m-%d %H:%M") in page


def test_audit_details_read_as_key_value_pairs_and_are_escaped(
    admin_client: Client, sandbox: Environment
) -> None:
    """Details read "reason: key_compromise", nested keys dotted; markup is shown, not run."""
    make_events(
        sandbox,
        action="certificate.revoked",
        ip="192.0.2.7",
        details={
            "reason": "key_compromise",
            "note": "<script>alert(1)</script>",
            "chain": {"count": 2},
            "serials": ["01", "02"],
            "notified": True,
        },
    )
    page = text(admin_client.get("/audit/"))
    assert '<span class="detail-key">reason</span>: key_compromise' in page
    assert '<span class="detail-key">chain.count</span>: 2' in page
    assert '<span class="detail-key">serials</span>: 01, 02' in page
    assert '<span class="detail-key">notified</span>: yes' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page
    assert "{'" not in page
    assert "192.0.2.7" in page


# --- filters -------------------------------------------------------------------------------


def test_certificates_filter_by_environment_purpose_and_status(
    admin_client: Client, sandbox: Environment, production: Environment
) -> None:
    """Each filter narrows the list; together they combine."""
    sandbox_mtls = make_certificates(sandbox)
    sandbox_due = make_certificates(sandbox, purpose="signature", expires_in=5 * DAY)
    production_mtls = make_certificates(production)

    def pks(query: str) -> set[int]:
        return set(certificate_pks(admin_client.get(f"/certificates/?{query}")))

    assert pks("environment=production") == {c.pk for c in production_mtls}
    assert pks("purpose=signature") == {c.pk for c in sandbox_due}
    assert pks("status=renewal+due") == {c.pk for c in sandbox_due}
    assert pks("environment=sandbox&purpose=mtls&status=valid") == {c.pk for c in sandbox_mtls}
    assert pks("environment=production&status=renewal+due") == set()
    assert "No certificate matches these filters." in text(
        admin_client.get("/certificates/?environment=production&status=expired")
    )


def test_the_status_filter_offers_the_seven_statuses(admin_client: Client) -> None:
    """The status select lists every status a certificate can show."""
    choices = admin_client.get("/certificates/").context["form"].fields["status"].choices
    assert [value for value, _ in choices] == [
        "",
        "not yet valid",
        "valid",
        "renewal due",
        "expired",
        "revocation requested",
        "revoked",
        "superseded",
    ]


def test_requests_filter_by_environment_purpose_and_status(
    admin_client: Client, sandbox: Environment, production: Environment
) -> None:
    """Environment, purpose and status each narrow the requests."""
    ready = make_requests(sandbox, 2, status="ready")
    sent = make_requests(sandbox, 1, status="sent", purpose="signature")
    cancelled = make_requests(production, 1, status="cancelled")

    def pks(query: str) -> set[int]:
        return set(request_pks(admin_client.get(f"/requests/?{query}")))

    assert pks("environment=production") == {r.pk for r in cancelled}
    assert pks("purpose=signature") == {r.pk for r in sent}
    assert pks("status=ready") == {r.pk for r in ready}
    assert pks("environment=sandbox&status=cancelled") == set()


def test_the_audit_log_filters_by_environment_actor_and_action(
    admin_client: Client, sandbox: Environment, production: Environment
) -> None:
    """Actor matches the label whatever its case; an action matches itself, or a family by its
    start ("request.")."""
    make_events(sandbox, actor_label="Alice", action="request.sent_to_tam")
    make_events(sandbox, actor_label="bob", action="request.sent")
    make_events(production, actor_label="cli", action="certificate.uploaded")

    def actions(query: str) -> set[str]:
        return set(event_actions(admin_client.get(f"/audit/?{query}")))

    assert actions("environment=production") == {"certificate.uploaded"}
    assert actions("actor=alice") == {"request.sent_to_tam"}
    assert actions("actor=ALICE") == {"request.sent_to_tam"}
    # A name nobody has is explained and ignored (issue 16), not an empty list.
    assert actions("actor=ali") == {"request.sent_to_tam", "request.sent", "certificate.uploaded"}
    assert actions("action=request.sent") == {"request.sent"}
    assert actions("action=request.") == {"request.sent", "request.sent_to_tam"}
    assert actions("action=request&actor=bob") == {"request.sent"}
    page = text(admin_client.get("/audit/"))
    assert '<datalist id="audit-actions">' in page
    assert '<option value="certificate.uploaded">Certificate uploaded</option>' in page


def test_the_audit_log_filters_by_day(admin_client: Client, sandbox: Environment) -> None:
    """From and To are whole days, both included."""
    for day in (1, 2, 3, 4):
        # Late in the evening of the site's time zone: the day is the site's, not UTC's.
        late = timezone.make_aware(datetime(2025, 3, day, 23, 30))
        with time_machine.travel(late, tick=False):
            make_events(sandbox, action=f"day.{day}")

    def actions(query: str) -> list[str]:
        return event_actions(admin_client.get(f"/audit/?{query}"))

    assert actions("date_from=2025-03-02&date_to=2025-03-03") == ["day.3", "day.2"]
    assert actions("date_from=2025-03-04") == ["day.4"]
    assert actions("date_to=2025-03-01") == ["day.1"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/certificates/?status=broken", "certdesk knows no status “broken”"),
        ("/certificates/?environment=nowhere", "certdesk knows no environment “nowhere”"),
        ("/certificates/?purpose=tls", "certdesk knows no purpose “tls”"),
        ("/requests/?status=lost", "certdesk knows no request status “lost”"),
        ("/requests/?environment=nowhere", "certdesk knows no environment “nowhere”"),
        ("/audit/?environment=nowhere", "certdesk knows no environment “nowhere”"),
        ("/audit/?date_from=2025-13-45", "Enter the date as YYYY-MM-DD"),
        ("/audit/?date_to=yesterday", "Enter the date as YYYY-MM-DD"),
        ("/audit/?date_to=9999-12-31", "That date is too far ahead"),
        ("/audit/?date_from=0001-01-01", "No event is that old"),
        ("/audit/?date_from=2025-03-05&date_to=2025-03-01", "“To” is before “From”"),
        ("/audit/?actor=" + "x" * 200, "Ensure this value has at most 150 characters"),
    ],
)
def test_a_bad_filter_is_explained_and_ignored(
    admin_client: Client, both: None, url: str, message: str
) -> None:
    """An unknown or malformed value says what was wrong and lists as if it were not set."""
    response = admin_client.get(url)
    page = text(response)
    assert message in page
    assert response.context["page"].paginator.count >= 2


def test_an_environment_the_user_may_not_view_is_ignored_not_shown(
    client_of: Callable[..., Client], both: None
) -> None:
    """A Sandbox viewer asking for Production gets Sandbox's rows and an explanation."""
    for url in ("/certificates/?environment=production", "/requests/?environment=production"):
        page = text(client_of(sandbox="viewer").get(url))
        assert "certdesk knows no environment “production”" in page
        assert "sandbox.acme.com" in page
        assert "production.acme.com" not in page
    page = text(client_of(sandbox="custodian").get("/audit/?environment=production"))
    assert "sandbox request" in page
    assert "production request" not in page


# --- order and pages -----------------------------------------------------------------------


def test_certificates_are_sorted_by_expiry_then_by_id(
    admin_client: Client, sandbox: Environment, production: Environment
) -> None:
    """The certificate that expires first is on top, whatever its environment."""
    late = make_certificates(sandbox, expires_in=300 * DAY)
    early = make_certificates(production, expires_in=10 * DAY)
    expired = make_certificates(sandbox, expires_in=-5 * DAY)
    same_day = make_certificates(sandbox, 2, expires_in=100 * DAY)
    order = [*expired, *early, *same_day, *late]
    assert certificate_pks(admin_client.get("/certificates/?show=all")) == [c.pk for c in order]


def test_requests_and_events_are_newest_first(admin_client: Client, sandbox: Environment) -> None:
    """The request or event made last is on top."""
    created = []
    for day in (1, 3, 2):
        with time_machine.travel(datetime(2025, 3, day, tzinfo=UTC), tick=False):
            created += make_requests(sandbox, 1)
            make_events(sandbox, action=f"day.{day}")
    newest_first = [created[1].pk, created[2].pk, created[0].pk]
    assert request_pks(admin_client.get("/requests/")) == newest_first
    assert event_actions(admin_client.get("/audit/")) == ["day.3", "day.2", "day.1"]


def test_lists_show_fifty_rows_a_page_and_page_links_keep_the_filters(
    admin_client: Client, sandbox: Environment
) -> None:
    """120 certificates: pages of 50, 50 and 20; the links carry the filters along (and the
    choice to show superseded certificates)."""
    certificates = make_certificates(sandbox, 120, step=timedelta(hours=1))
    first = admin_client.get("/certificates/?purpose=mtls&show=all")
    assert certificate_pks(first) == [c.pk for c in certificates[:50]]
    page = text(first)
    assert '<nav class="pagination" aria-label="Pages">' in page
    assert 'href="?purpose=mtls&amp;show=all&amp;page=2"' in page
    assert 'href="?purpose=mtls&amp;show=all&amp;page=1" aria-current="page"' in page
    third = admin_client.get("/certificates/?purpose=mtls&show=all&page=3")
    assert certificate_pks(third) == [c.pk for c in certificates[100:]]
    assert 'href="?purpose=mtls&amp;show=all&amp;page=2" rel="prev"' in text(third)
    assert "page 3 of 3" in text(third)


@pytest.mark.parametrize(
    ("page", "shown", "message"),
    [
        ("abc", 1, "“abc” is not a page number; here is the first page."),
        ("99999", 3, "There is no page 99999; here is the last page, 3."),
        ("0", 1, "Pages start at 1; here is the first page."),
        ("-2", 1, "Pages start at 1; here is the first page."),
        ("9" * 5000, 1, "is not a page number"),
    ],
)
@pytest.mark.parametrize("url", ["/certificates/", "/requests/", "/audit/"])
def test_a_page_that_does_not_exist_shows_the_nearest_one_with_a_message(
    admin_client: Client, sandbox: Environment, url: str, page: str, shown: int, message: str
) -> None:
    """Out-of-range or non-numeric pages never fail: the first or last page and a note."""
    make_certificates(sandbox, 101)
    make_events(sandbox, 101)
    # 100 of the certificates are superseded: listed when asked for.
    show_all = {"show": "all"} if url == "/certificates/" else {}
    response = admin_client.get(url, {**show_all, "page": page})
    assert message in text(response)
    assert response.context["page"].number == shown


# --- queries -------------------------------------------------------------------------------


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


QUERY_COUNT_URLS = [
    "/certificates/",
    "/certificates/?environment=sandbox&purpose=mtls&status=superseded&page=2",
    "/requests/",
    "/requests/?environment=sandbox&purpose=mtls&status=fulfilled&page=2",
    "/audit/",
    "/audit/?environment=sandbox&actor=alice&action=request.&date_from=2000-01-01&page=2",
]


def test_lists_read_as_many_queries_for_ten_rows_as_for_a_thousand(
    admin_client: Client,
    client_of: Callable[..., Client],
    sandbox: Environment,
    production: Environment,
) -> None:
    """Ten certificates, requests and events or a thousand: the same number of queries, for an
    administrator and a custodian, filtered or not."""
    # One test for every page and role: a thousand rows written once, not once per case (on
    # PostgreSQL the rolled-back rows stay in the table until a vacuum and slow later tests).
    clients = {"admin": admin_client, "custodian": client_of(sandbox="custodian")}
    make_certificates(sandbox, 10, step=timedelta(hours=1))
    make_events(sandbox, 10)
    for c in clients.values():
        # A session's first request records it for the Profile's session list (one insert).
        c.get("/")
    few = {
        (role, url): count_queries(c, url)
        for role, c in clients.items()
        for url in QUERY_COUNT_URLS
    }
    make_certificates(sandbox, 990, step=timedelta(hours=1))
    make_certificates(production, 10)
    make_events(sandbox, 990)
    many = {
        (role, url): count_queries(c, url)
        for role, c in clients.items()
        for url in QUERY_COUNT_URLS
    }
    # Session and user, the user's environments, the row count, one page of rows, and the
    # distinct actions for the audit log: never one more per row.
    assert many == few
