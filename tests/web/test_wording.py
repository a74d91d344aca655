"""Issue 16, "Text as people write it": the wording glitches seen in the first-time journey.

- "Sent to the TAM, sent to the TAM 0 minutes ago": the request page says it once;
- "0 minutes ago": "just now";
- "I sent it myself" recorded as noon: the day is recorded as a day (``sent_on``) and the pages
  say "Sent by hand on 2030-03-12", with no hour;
- "(optional)" on a checkbox and on the TAM address the page says is needed;
- the certificate page: human dates with relative time beside the OpenSSL form, and the Common
  Name in the page's title.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django import forms
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates import services
from certificates.models import AuditEvent, Certificate, Environment, OutboundEmail, SigningRequest
from certificates.services.outbox import outbound_email_deliver
from certificates.services.tam import already_sent_message
from certificates.templatetags.certdesk_text import marked_optional, relative_time
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = services.Actor.cli()


@pytest.fixture
def tam_sandbox(sandbox: Environment) -> Environment:
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    return sandbox


@pytest.fixture
def mtls(tam_sandbox: Environment) -> SigningRequest:
    return services.request_create(actor=CLI, environment=tam_sandbox, purpose="mtls", subject=ACME)


def _flat(html: str) -> str:
    """Runs of ASCII white space as one space (the no-break spaces of "3\xa0days" kept)."""
    return re.sub(r"[ \t\r\n]+", " ", html)


def _status_line(client: Client, request: SigningRequest) -> str:
    page = client.get(f"/requests/{request.pk}/").content.decode()
    start = page.index('class="status')
    return _flat(page[start : page.index("</p>", start)])


def _in_flight(client: Client) -> str:
    page = client.get("/").content.decode()
    start = page.index('class="in-flight"')
    return _flat(page[start : page.index("</p>", start)])


# --- "Sent to the TAM", once, "just now" --------------------------------------------------------


def test_a_sent_csr_says_sent_once_and_just_now(
    mtls: SigningRequest,
    make_member: Callable[[str, Environment], User],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Sent through certdesk and delivered: "Sent to the TAM just now", said once; five
    minutes later, "Sent to the TAM 5 minutes ago"."""
    client = Client()
    client.force_login(make_member("requester", mtls.environment))
    with django_capture_on_commit_callbacks(execute=False):
        client.post(
            "/environments/sandbox/send/",
            {"requests": [mtls.pk], "send": "1", "token": str(uuid.uuid4())},
        )
    assert outbound_email_deliver(email_id=OutboundEmail.objects.get().pk) == "sent"
    for text in (_status_line(client, mtls), _in_flight(client)):
        assert "Sent to the TAM just now" in text
        assert "minutes ago" not in text
        assert text.lower().count("sent to the tam") == 1
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=5, seconds=3)):
        assert "Sent to the TAM 5\xa0minutes ago" in _status_line(client, mtls)


def test_a_fulfilled_request_says_when_it_was_sent_once(
    mtls: SigningRequest, member_client: Callable[..., Client], issue: Callable[..., bytes]
) -> None:
    """After the certificate: "Certificate received · sent to the TAM by hand on <day>"."""
    services.request_mark_sent(actor=CLI, signing_request=mtls, sent_on=date.today())
    services.certificate_upload(actor=CLI, data=issue(mtls))
    line = _status_line(member_client("viewer", mtls.environment), mtls)
    assert f"Certificate received · sent to the TAM by hand on {date.today():%Y-%m-%d}" in line
    assert line.lower().count("sent to the tam") == 1


def test_relative_time_in_words() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    words = {
        now: "just now",
        now - timedelta(seconds=59): "just now",
        now + timedelta(seconds=30): "just now",
        now - timedelta(minutes=5): "5\xa0minutes ago",
        now - timedelta(days=2, hours=3): "2\xa0days ago",
        datetime(2027, 3, 1, 12, 0, tzinfo=UTC): "in 3\xa0months",
        now + timedelta(days=1): "in 1\xa0day",
    }
    assert {moment: relative_time(moment, now) for moment in words} == words


# --- "I sent it myself": a day, not noon ---------------------------------------------------------


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_sent_by_hand_records_the_day_and_shows_no_hour(
    mtls: SigningRequest, member_client: Callable[..., Client], settings: object, zone: str
) -> None:
    """The day typed is kept as a day (UTC+14 or UTC-11 alike), the pages say "Sent by hand on
    <day>" and no invented 12:00; sent_at still orders the lists."""
    settings.TIME_ZONE = zone  # type: ignore[attr-defined]
    client = member_client("requester", mtls.environment)
    with time_machine.travel(datetime.now(UTC), tick=False):
        SigningRequest.objects.filter(pk=mtls.pk).update(
            created_at=timezone.now() - timedelta(days=5)
        )
        day = timezone.localdate() - timedelta(days=2)
        response = client.post(f"/requests/{mtls.pk}/sent-by-hand/", {"sent_on": day.isoformat()})
        assert response.status_code == 302
        mtls.refresh_from_db()
        assert (mtls.status, mtls.sent_on) == ("sent", day)
        assert mtls.sent_at is not None
        assert timezone.localdate(mtls.sent_at) == day
        event = AuditEvent.objects.get(action="request.marked_sent")
        assert event.details["sent_on"] == day.isoformat()
        for text in (_status_line(client, mtls), _in_flight(client)):
            assert f"Sent by hand on {day:%Y-%m-%d}" in text
            assert "12:00" not in text
            assert "ago" not in text


def test_sent_on_wins_over_sent_at_on_the_pages(
    mtls: SigningRequest, member_client: Callable[..., Client]
) -> None:
    """The page reads the recorded day, not sent_at's (which only orders)."""
    services.request_mark_sent(actor=CLI, signing_request=mtls, sent_on=date.today())
    SigningRequest.objects.filter(pk=mtls.pk).update(sent_on=date(2030, 3, 12))
    assert "Sent by hand on 2030-03-12" in _status_line(
        member_client("viewer", mtls.environment), mtls
    )


# --- "(optional)" --------------------------------------------------------------------------------


def _label(page: str, field_id: str) -> str:
    found = re.search(rf'<label for="{field_id}">(.*?)</label>', page, re.DOTALL)
    assert found is not None, field_id
    return found.group(1)


def test_no_optional_on_checkboxes_nor_on_the_tam_address(admin_client: Client) -> None:
    """Settings → environment: "TAM addresses" and the checkboxes carry no "(optional)"; a
    field one may really leave out (API host) still does. Profile: the reminders checkbox."""
    page = admin_client.get("/settings/environments/sandbox/edit/").content.decode()
    assert "(optional)" not in _label(page, "id_tam_emails")
    assert "(optional)" not in _label(page, "id_signature_required")
    assert "(optional)" in _label(page, "id_api_host")
    profile = admin_client.get("/profile/").content.decode()
    assert "(optional)" not in _label(profile, "id_receives_reminders")


def test_marked_optional_rules() -> None:
    class Form(forms.Form):
        expected_fields = ("needed",)
        required = forms.CharField()
        optional = forms.CharField(required=False)
        needed = forms.CharField(required=False)
        tick = forms.BooleanField(required=False)
        ticks = forms.MultipleChoiceField(
            required=False, choices=[("a", "A")], widget=forms.CheckboxSelectMultiple
        )

    form = Form()
    assert {name: marked_optional(form[name]) for name in form.fields} == {
        "required": False,
        "optional": True,
        "needed": False,
        "tick": False,
        "ticks": False,
    }
    assert marked_optional("not a field") is False


# --- the certificate page ------------------------------------------------------------------------

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_certificate_page_has_human_dates_beside_openssls_and_the_cn_in_its_title(
    mtls: SigningRequest, member_client: Callable[..., Client], issue: Callable[..., bytes]
) -> None:
    """ "1 March 2027 (in 3 months)" beside "notAfter=Mar  1 12:00:00 2027 GMT", "29 November
    2026 (2 days ago)" beside notBefore; <title> starts with the Common Name."""
    with time_machine.travel(NOW, tick=False):
        certificate = services.certificate_upload(
            actor=CLI, data=issue(mtls, not_before=NOW - timedelta(days=2), days=92)
        ).certificate
        page = member_client("viewer", mtls.environment).get(f"/certificates/{certificate.pk}/")
    text = page.content.decode()
    flat = _flat(text)
    assert '<time datetime="2027-03-01T12:00:00+00:00">1 March 2027</time>' in flat
    assert '<span class="relative">(in 3\xa0months)</span>' in flat
    assert "notAfter=Mar  1 12:00:00 2027 GMT" in text  # two spaces, as OpenSSL pads the day
    assert '<time datetime="2026-11-29T12:00:00+00:00">29 November 2026</time>' in flat
    assert '<span class="relative">(2\xa0days ago)</span>' in flat
    assert "notBefore=Nov 29 12:00:00 2026 GMT" in text
    title = re.search(r"<title>(.*?)</title>", text, re.DOTALL)
    assert title is not None
    assert title.group(1).startswith("acme.com · Sandbox mTLS certificate")
    assert Certificate.objects.get().serial in title.group(1)


def test_the_send_form_refusal_of_a_request_sent_by_hand_gives_the_day_only(
    member_client: Callable[..., Client], mtls: SigningRequest
) -> None:
    """Sending again a request marked "I sent it myself" is refused with the day the person
    gave, not an invented hour."""
    services.request_mark_sent(actor=CLI, signing_request=mtls, sent_on=date.today())
    mtls.refresh_from_db()
    message = already_sent_message(mtls)
    assert message.startswith(
        f"Request #{mtls.pk} was sent to the TAM already on {date.today():%Y-%m-%d}."
    )
    assert "12:00" not in message
