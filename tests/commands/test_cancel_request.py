"""cancel_request: the browser's cancellation from the command line, refusals in one line."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.core.management.base import CommandError

from certificates import services
from certificates.models import AuditEvent, Environment, SigningRequest
from tests.support.commands import Finished, assert_one_line_refusal, make_request, run, upload
from tests.support.testca import LocalCA

pytestmark = pytest.mark.django_db


def test_cancel_request_cancels_with_the_reason_and_destroys_the_key() -> None:
    """One line on stdout; the request is cancelled with the reason given, the key destroyed,
    and the audit log says it came from the command line."""
    request = make_request()
    output = run("cancel_request", str(request.pk), "--reason=Typo in the CN")
    assert output.stdout.strip() == (
        f"Request #{request.pk} (Sandbox mTLS) is cancelled; its private key was destroyed."
    )
    request.refresh_from_db()
    assert (request.status, request.cancel_reason) == ("cancelled", "Typo in the CN")
    assert request.key.encrypted_private_key is None
    event = AuditEvent.objects.get(action="request.cancelled")
    assert event.actor_label == "cli"


def test_without_reason_the_operator_is_named_and_a_sent_csr_is_flagged() -> None:
    """The default reason names who ran it; for a CSR Treezor has, the TAM is to be told."""
    request = make_request()
    services.request_mark_sent(
        actor=services.Actor.cli(), signing_request=request, sent_on=date.today()
    )
    output = run("cancel_request", f"#{request.pk}")
    assert "tell the TAM to ignore it" in output.stdout
    request.refresh_from_db()
    assert request.cancel_reason == "Cancelled from the command line by the server operator"


def test_with_user_a_requester_cancels_and_a_viewer_is_refused(
    make_member: Callable[[str, Environment], User],
) -> None:
    """--user acts with that user's role: a viewer is refused, a requester is recorded."""
    sandbox = Environment.objects.get(slug="sandbox")
    request = make_request()
    viewer = make_member("viewer", sandbox)
    with pytest.raises(CommandError, match=f"{viewer.username} may not cancel requests in Sandbox"):
        run("cancel_request", str(request.pk), f"--user={viewer.username}")
    request.refresh_from_db()
    assert request.status == "ready"
    requester = make_member("requester", sandbox)
    run("cancel_request", str(request.pk), f"--user={requester.username}")
    request.refresh_from_db()
    assert request.cancelled_by == requester
    assert request.cancel_reason == f"Cancelled from the command line by {requester.username}"


def test_unknown_cancelled_fulfilled_and_bad_reasons_change_nothing(ca: LocalCA) -> None:
    """Each refusal is one line, and nothing is written."""
    fulfilled = make_request()
    certificate = upload(ca, fulfilled)
    cancelled = make_request(purpose="signature")
    run("cancel_request", str(cancelled.pk), "--reason=first")
    waiting = make_request(environment="production")
    events = AuditEvent.objects.count()
    for args, expected in (
        (["999"], "There is no signing request #999."),
        (["abc"], "'abc' is not a signing request id"),
        ([str(fulfilled.pk)], f"already has certificate #{certificate.pk}: revoke it instead"),
        ([str(cancelled.pk), "--reason="], f"Request #{cancelled.pk} was cancelled on"),
        ([str(waiting.pk), "--reason=  "], f"Say why request #{waiting.pk} is cancelled"),
        ([str(waiting.pk), "--reason=a\x1b[2Jb"], "control characters"),
    ):
        with pytest.raises(CommandError, match=re.escape(expected)) as refused:
            run("cancel_request", *args)
        assert "\n" not in str(refused.value)
    assert AuditEvent.objects.count() == events
    statuses = dict(SigningRequest.objects.values_list("pk", "status"))
    assert statuses == {fulfilled.pk: "fulfilled", cancelled.pk: "cancelled", waiting.pk: "ready"}


def test_as_manage_py_a_refusal_is_one_line_on_stderr(
    manage: Callable[..., list[Finished]],
) -> None:
    """Run as ``manage.py``, an unknown id exits non-zero with one line and no traceback."""
    (unknown,) = manage(["cancel_request", "424242"])
    assert_one_line_refusal(unknown, "There is no signing request #424242.")
