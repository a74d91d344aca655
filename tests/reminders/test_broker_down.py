"""The broker down when an email is stored (issue 13, points 2, 3 and 5): the email is stored
once, stays queued with a note a user can read, and leaves within minutes of the broker's return;
nobody is told to "try again" (which emailed the TAM twice).

Each test runs a Redis of its own on a spare port (tests/reminders/brokers.py), kills it by its
process id, and starts it again on the same port: never the machine's shared Redis.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from certificates import services
from certificates.models import CompanyProfile, Environment, OutboundEmail, SigningRequest
from certificates.services import Actor
from certificates.services.outbox import (
    WAITING_FOR_BROKER,
    outbound_email_publish,
    outbound_email_requeue_unsent,
)
from tests.support.brokers import RedisServer, celery_broker, redis_server
from tests.support.reminders import DAY, add_owners, make_certificate
from tests.support.subjects import ACME

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The queue certdesk's tasks go to (Celery's default), a Redis list on the broker.
QUEUE = "celery"


@pytest.fixture
def broker() -> Iterator[RedisServer]:
    """certdesk's Celery app publishing to a Redis of the test's own, up at first."""
    with redis_server() as server, celery_broker(server.url):
        yield server


def _published_email_ids(server: RedisServer) -> list[int]:
    """The outbox ids of the send tasks waiting in the broker's queue, oldest first."""
    ids = []
    for raw in reversed(server.client().lrange(QUEUE, 0, -1)):
        message = json.loads(raw)
        assert message["headers"]["task"] == "certificates.tasks.send_outbound_email"
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        ids.append(int(args[0]))
    return ids


def _form_fields(page: str) -> dict[str, str]:
    """The hidden fields of the page's form (a one-time token, if the form carries one)."""
    fields = {}
    for tag in re.findall(r"<input[^>]*type=\"hidden\"[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and name.group(1) != "csrfmiddlewaretoken":
            fields[name.group(1)] = value.group(1) if value else ""
    return fields


@pytest.mark.parametrize("fault", ["killed", "frozen"])
def test_send_to_the_tam_with_the_broker_down_stores_the_email_once_and_says_it_waits(
    fault: str,
    broker: RedisServer,
    sandbox: Environment,
    member_client: Callable[..., Client],
) -> None:
    """Redis killed (connections refused) or frozen (SIGSTOP: nothing answers), then "Send to
    the TAM": no error page (it was a 500 after the commit, whose retry emailed the TAM twice);
    one email, queued, never attempted, and the request page says it waits for the queue and
    leaves when it is back. Redis back: beat's requeue pass hands it to the broker once, not
    again on its next run."""
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    CompanyProfile.objects.filter(pk=1).update(company_name="Acme SAS")
    request = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    requester = member_client("requester", sandbox)
    form = _form_fields(
        requester.get(f"/environments/sandbox/send/?request={request.pk}").content.decode()
    )

    if fault == "killed":
        broker.kill()
    else:
        broker.freeze()
    response = requester.post(
        "/environments/sandbox/send/", {**form, "requests": [request.pk], "send": "1"}
    )

    assert response.status_code == 302
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("the task queue cannot be reached right now" in m for m in said), said
    assert not any("Queued for" in m for m in said), said
    email = OutboundEmail.objects.get()
    assert (email.kind, email.status, email.attempts) == ("tam_csr", "queued", 0)
    assert email.last_error.startswith(WAITING_FOR_BROKER)
    assert "leaves as soon as the queue is back" in email.last_error
    request.refresh_from_db()
    assert request.status == SigningRequest.Status.SENT
    page = requester.get(f"/requests/{request.pk}/").content.decode()
    assert "Waiting for the task queue" in page
    assert "leaves as soon as the queue is back" in page

    if fault == "killed":
        broker.start()
    else:
        broker.thaw()
    later = timezone.now() + timedelta(seconds=61)
    assert outbound_email_requeue_unsent(now=later).published == [email.pk]
    assert _published_email_ids(broker) == [email.pk]
    email.refresh_from_db()
    assert (email.status, email.last_error) == ("queued", "")  # the worker takes it from here
    assert outbound_email_requeue_unsent(now=later + timedelta(seconds=60)).published == []
    assert _published_email_ids(broker) == [email.pk]
    assert OutboundEmail.objects.count() == 1


def test_send_reminders_with_the_broker_down_exits_4_and_says_the_emails_wait(
    broker: RedisServer, sandbox: Environment
) -> None:
    """send_reminders said reminders "stay pending" and exited 0 while it had in fact stored
    the emails: now it lists them as queued, says on stderr that they are in the outbox and
    leave when the broker is back, and exits 4; a second run sends nothing more."""
    add_owners(sandbox)
    make_certificate(sandbox, not_after=timezone.now() + 5 * DAY)
    broker.kill()
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("send_reminders", stdout=out, stderr=err)

    assert exited.value.code == 4
    emails = list(OutboundEmail.objects.order_by("pk"))
    assert [e.kind for e in emails] == ["tam_renewal", "reminder"]
    assert {(e.status, e.attempts) for e in emails} == {("queued", 0)}
    assert "2 email(s) queued" in out.getvalue()
    ids = ", ".join(f"#{e.pk}" for e in emails)
    assert err.getvalue().strip() == (
        f"2 email(s) stored in the outbox ({ids}) but not sent: the broker (Redis) cannot be "
        "reached. They leave by themselves within about 2 minute(s) of its return; do not run "
        "this command again for them."
    )
    assert "stay pending" not in err.getvalue()

    again = io.StringIO()
    call_command("send_reminders", stdout=again, stderr=io.StringIO())
    assert "0 email(s) queued" in again.getvalue()
    assert OutboundEmail.objects.count() == 2


def test_the_urgent_revocation_request_is_handed_over_first_when_the_broker_returns(
    broker: RedisServer, sandbox: Environment
) -> None:
    """Emails stored while Redis was down, the urgent revocation request last: once Redis is
    back, one requeue pass hands them all to the broker, the revocation request first."""
    broker.kill()
    for kind in ("reminder", "tam_csr", "tam_revocation"):
        OutboundEmail.objects.create(kind=kind, to=["x@example.com"], subject=kind, body_text=".")
    published_at_commit = [
        outbound_email_publish(email_id=e.pk) for e in OutboundEmail.objects.order_by("pk")
    ]
    assert published_at_commit == [False, False, False]

    broker.start()
    later = timezone.now() + timedelta(seconds=61)
    report = outbound_email_requeue_unsent(now=later)
    kinds = dict(OutboundEmail.objects.values_list("pk", "kind"))
    assert [kinds[pk] for pk in _published_email_ids(broker)] == [
        "tam_revocation",
        "reminder",
        "tam_csr",
    ]
    assert report.waiting == []
