"""revoke_certificate and confirm_revocation: the browser's revocation, from the command line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from django.utils import timezone

from certificates.models import (
    AuditEvent,
    Certificate,
    CompanyProfile,
    Environment,
    Key,
    OutboundEmail,
    Revocation,
)
from certificates.selectors import status_of
from tests.support.commands import assert_one_line_refusal, install, make_request, run
from tests.support.testca import LocalCA

pytestmark = pytest.mark.django_db

TAM = ["tam@treezor.example", "support@treezor.example"]
# The clock for tests that compare dates: mid-morning, so "today" is 2026-03-10 near UTC too.
MORNING = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


@pytest.fixture
def sandbox_tam(sandbox: Environment) -> Environment:
    sandbox.tam_emails = TAM
    sandbox.save()
    CompanyProfile.objects.filter(pk=1).update(company_name="Acme SAS")
    return sandbox


@pytest.fixture
def custodian(make_member: Callable[[str, Environment], User], sandbox: Environment) -> User:
    return make_member("custodian", sandbox)


@pytest.fixture
def certificate(ca: LocalCA, sandbox: Environment) -> Certificate:
    return install(ca, make_request())


def changes() -> tuple[int, int, int, int]:
    """What a refused command must leave as it was."""
    return (
        Revocation.objects.count(),
        OutboundEmail.objects.count(),
        AuditEvent.objects.count(),
        Key.objects.filter(compromised_at__isnull=False).count(),
    )


def email_as_sent() -> dict[str, Any]:
    """The one outbox row, as the TAM will read it (who queued it aside)."""
    email = OutboundEmail.objects.get()
    return {
        "kind": email.kind,
        "environment": email.environment_id,
        "to": email.to,
        "subject": email.subject,
        "body_text": email.body_text,
        "body_html": email.body_html,
        "attachments": email.attachments,
    }


class _RolledBack(Exception):
    pass


def browser_email(user: User, url: str, data: dict[str, str]) -> dict[str, Any]:
    """The email the browser's POST queues, undone afterwards so the command can do it too."""
    client = Client()
    client.force_login(user)
    try:
        with transaction.atomic():
            response = client.post(url, data)
            assert response.status_code == 302, response.content.decode()
            sent = email_as_sent()
            raise _RolledBack
    except _RolledBack:
        pass
    assert not Revocation.objects.exists()
    return sent


# --- revoke_certificate ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "page", "form"),
    [
        ("compromised", "compromised", {"suspected_since": "2026-03-10"}),
        ("no-longer-needed", "revoke", {"reason": "cessation_of_operation"}),
    ],
)
def test_the_tam_gets_the_same_email_as_from_the_browser(
    sandbox_tam: Environment,
    custodian: User,
    certificate: Certificate,
    reason: str,
    page: str,
    form: dict[str, str],
) -> None:
    """The TAM's email (recipients, subject, text and HTML bodies) is the one the certificate
    page's button queues for the same certificate, reason and note; stdout says who is
    emailed."""
    note = "Laptop stolen on the train"
    with time_machine.travel(MORNING, tick=False):
        from_browser = browser_email(
            custodian, f"/certificates/{certificate.pk}/{page}/", {**form, "note": note}
        )
        output = run(
            "revoke_certificate",
            str(certificate.pk),
            f"--reason={reason}",
            f"--note={note}",
            f"--user={custodian.username}",
        )

    assert email_as_sent() == from_browser
    assert note in from_browser["body_text"]
    assert f"The TAM ({', '.join(TAM)}) is being emailed" in output.stdout
    assert f"certificate #{certificate.pk} (Sandbox mTLS, serial {certificate.serial})" in (
        output.stdout
    )
    assert output.stderr == ""
    revocation = Revocation.objects.get()
    assert revocation.requested_by == custodian
    assert revocation.tam_notified_at is not None
    event = AuditEvent.objects.get(action="certificate.revocation_requested")
    assert (event.actor, event.details["email"]) == (custodian, OutboundEmail.objects.get().pk)


def test_compromised_marks_the_key_suspected_since_today(
    sandbox_tam: Environment, certificate: Certificate
) -> None:
    """--reason compromised reports a compromise as of today's local date: the key is marked
    compromised, the email is the urgent one, and stdout says to start a replacement."""
    with time_machine.travel(MORNING, tick=False):
        output = run("revoke_certificate", str(certificate.pk), "--reason=compromised")

    revocation = Revocation.objects.get()
    assert (revocation.reason, revocation.suspected_since) == (
        Revocation.Reason.KEY_COMPROMISE,
        date(2026, 3, 10),
    )
    assert Key.objects.get(signing_request__certificates=certificate).compromised_at is not None
    assert OutboundEmail.objects.get().subject.startswith("URGENT: key compromise")
    assert "key compromise" in output.stdout
    assert "compromised since 2026-03-10: start a replacement request" in output.stdout
    assert "an urgent revocation request" in output.stdout
    assert status_of(Certificate.objects.get(pk=certificate.pk)) == "revocation requested"


def test_no_longer_needed_says_superseded_for_a_replaced_certificate(
    ca: LocalCA, sandbox_tam: Environment, certificate: Certificate
) -> None:
    """A certificate already replaced is revoked as "superseded"; the one in service as
    "cessation of operation" (the browser's two no-longer-needed reasons that fit)."""
    newer = install(ca, make_request())

    run("revoke_certificate", str(certificate.pk), "--reason=no-longer-needed")
    run("revoke_certificate", str(newer.pk), "--reason=no-longer-needed")

    reasons = dict(Revocation.objects.values_list("certificate_id", "reason"))
    assert reasons == {
        certificate.pk: Revocation.Reason.SUPERSEDED,
        newer.pk: Revocation.Reason.CESSATION_OF_OPERATION,
    }
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.TAM_REVOCATION).count() == 2


def test_without_a_tam_address_the_user_is_told_to_contact_treezor(
    sandbox: Environment, certificate: Certificate
) -> None:
    """An environment with no TAM address: the revocation is recorded, no email is queued, and
    a warning on stderr says to contact Treezor now."""
    output = run("revoke_certificate", str(certificate.pk), "--reason=compromised")

    assert Revocation.objects.get().tam_notified_at is None
    assert not OutboundEmail.objects.exists()
    assert output.stderr.strip() == (
        "warning: Sandbox has no TAM address, so no email was sent: contact Treezor yourself "
        "now to revoke the certificate."
    )
    assert "being emailed" not in output.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["9999", "--reason=compromised"], "There is no certificate #9999."),
        (["latest", "--reason=compromised"], "'latest' is not a certificate id"),
        (["{pk}", "--reason=expired"], "Unknown reason 'expired'. Choose one of: compromised, "),
        (["{pk}", "--reason=compromised", "--note=" + "x" * 2001], "keep it to 2000"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    sandbox_tam: Environment, certificate: Certificate, arguments: list[str], message: str
) -> None:
    """Unknown ids, an unknown reason and an over-long note: one line, nothing recorded, no
    email, the key not marked."""
    before = changes()
    with pytest.raises(CommandError) as refused:
        run("revoke_certificate", *(a.format(pk=certificate.pk) for a in arguments))
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert changes() == before


def test_a_second_revocation_is_refused(sandbox_tam: Environment, certificate: Certificate) -> None:
    """Asking twice sends the TAM no second email: the refusal says when it was asked."""
    run("revoke_certificate", str(certificate.pk), "--reason=no-longer-needed")
    before = changes()
    with pytest.raises(CommandError, match="was requested already on"):
        run("revoke_certificate", str(certificate.pk), "--reason=compromised")
    assert changes() == before


# --- confirm_revocation ---------------------------------------------------------------------


def test_confirm_revocation_records_today_by_default(
    sandbox_tam: Environment, custodian: User, certificate: Certificate
) -> None:
    """Treezor's confirmation makes the certificate "revoked", audited under the user's name;
    stdout says so and that the private key can now be destroyed."""
    with time_machine.travel(MORNING, tick=False):
        run("revoke_certificate", str(certificate.pk), "--reason=no-longer-needed")
        output = run("confirm_revocation", str(certificate.pk), f"--user={custodian.username}")

    assert status_of(Certificate.objects.get(pk=certificate.pk)) == "revoked"
    event = AuditEvent.objects.get(action="certificate.revoked")
    assert (event.actor, event.details["confirmed_on"]) == (custodian, "2026-03-10")
    assert output.stdout.splitlines()[0] == (
        f"Recorded: Treezor revoked certificate #{certificate.pk} (Sandbox mTLS, serial "
        f"{certificate.serial}) on 2026-03-10."
    )
    assert "destroy it" in output.stdout


def test_confirm_revocation_takes_the_date_treezor_confirmed(
    sandbox_tam: Environment, certificate: Certificate
) -> None:
    """--date records the day Treezor answered, not the day it was typed in."""
    with time_machine.travel(MORNING, tick=False):
        run("revoke_certificate", str(certificate.pk), "--reason=no-longer-needed")
    with time_machine.travel(MORNING + timedelta(days=3), tick=False):
        run("confirm_revocation", str(certificate.pk), "--date=2026-03-11")

    revocation = Revocation.objects.get()
    assert revocation.confirmed_at is not None
    assert timezone.localdate(revocation.confirmed_at) == date(2026, 3, 11)


@pytest.mark.parametrize(
    ("date_argument", "message"),
    [
        ("11/03/2026", "--date '11/03/2026' is not a date: give it as YYYY-MM-DD"),
        ("2026-02-30", "--date '2026-02-30' is not a date"),
        ("20260311", "--date '20260311' is not a date"),
        ("2026-03-11", "The confirmation date cannot be in the future."),
        ("2026-03-01", "Treezor cannot have confirmed before the revocation was requested"),
    ],
)
def test_a_bad_or_impossible_date_is_refused(
    sandbox_tam: Environment, certificate: Certificate, date_argument: str, message: str
) -> None:
    """A date not written YYYY-MM-DD, in the future, or before the request: one line, the
    certificate stays "revocation requested"."""
    with time_machine.travel(MORNING, tick=False):
        run("revoke_certificate", str(certificate.pk), "--reason=no-longer-needed")
        before = changes()
        with pytest.raises(CommandError) as refused:
            run("confirm_revocation", str(certificate.pk), f"--date={date_argument}")
    assert message in str(refused.value)
    assert changes() == before
    assert Revocation.objects.get().confirmed_at is None


def test_confirm_needs_a_revocation_and_only_once(
    sandbox_tam: Environment, certificate: Certificate
) -> None:
    """No revocation asked for: refused, saying what to do first. Confirmed already: refused
    with the date it was confirmed; nothing recorded twice."""
    before = changes()
    with pytest.raises(CommandError, match="No revocation was requested for certificate #"):
        run("confirm_revocation", str(certificate.pk))
    assert changes() == before

    with time_machine.travel(MORNING, tick=False):
        run("revoke_certificate", str(certificate.pk), "--reason=no-longer-needed")
        run("confirm_revocation", str(certificate.pk))
        before = changes()
        with pytest.raises(CommandError) as refused:
            run("confirm_revocation", str(certificate.pk), "--date=2026-03-10")
    assert str(refused.value) == (
        f"The revocation of certificate #{certificate.pk} was confirmed already, on 2026-03-10."
    )
    assert changes() == before
    with pytest.raises(CommandError, match="There is no certificate #9999"):
        run("confirm_revocation", "9999")


def test_revocation_commands_refuse_as_manage_py(manage: Callable[..., Any]) -> None:
    """Run as `manage.py`: an unknown certificate, an unknown reason and a bad date each exit
    non-zero with one line on stderr and no traceback."""
    unknown, bad_reason, bad_date = manage(
        ["revoke_certificate", "9999", "--reason=compromised"],
        ["revoke_certificate", "9999", "--reason=lost"],
        ["confirm_revocation", "1", "--date=tomorrow"],
    )
    assert_one_line_refusal(unknown, "There is no certificate #9999.")
    assert_one_line_refusal(bad_reason, "Unknown reason 'lost'")
    assert_one_line_refusal(bad_date, "--date 'tomorrow' is not a date: give it as YYYY-MM-DD")
