"""What the send page offers and the CSR zip holds: every ready CSR, one per purpose, and the
sets the environment still lacks (selectors.requests)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from certificates import selectors, services
from certificates.models import Environment, SigningRequest
from certificates.services import Actor
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def make(environment: Environment, purpose: str, minutes: int = 0) -> SigningRequest:
    with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
        return services.request_create(
            actor=CLI, environment=environment, purpose=purpose, subject=ACME
        )


def test_only_the_newest_ready_csr_of_a_purpose_is_ticked(sandbox: Environment) -> None:
    """Two ready mTLS CSRs and one signature CSR: the newer mTLS and the signature are ticked;
    the older mTLS is offered but left out, as shadowed."""
    older = make(sandbox, "mtls", 0)
    newer = make(sandbox, "mtls", 5)
    signature = make(sandbox, "signature", 1)
    plan = selectors.tam_send_plan(sandbox)
    assert {r.pk for r in plan.sendable} == {older.pk, newer.pk, signature.pk}
    assert sorted(r.pk for r in plan.preselected) == sorted([newer.pk, signature.pk])
    assert [r.pk for r in plan.shadowed] == [older.pk]


def test_cancelled_and_sent_csrs_are_not_ticked(sandbox: Environment) -> None:
    """A cancelled CSR is not offered at all; a sent one is offered (resend) but not ticked."""
    cancelled = make(sandbox, "mtls", 0)
    services.request_cancel(actor=CLI, signing_request=cancelled, reason="typo")
    sent = make(sandbox, "signature", 1)
    services.request_mark_sent(actor=CLI, signing_request=sent, sent_on=T0.date())
    plan = selectors.tam_send_plan(sandbox)
    assert [r.pk for r in plan.sendable] == [sent.pk]
    assert plan.preselected == []


def test_a_required_signature_set_left_out_is_reported(production: Environment) -> None:
    """Production with PCI DSS: sending mTLS alone lacks the signature CSR; the message points
    at the ready one to tick, or says to make it."""
    production.signature_required = True
    production.save()
    mtls = make(production, "mtls")
    missing = selectors.missing_sets(production, [mtls], [mtls])
    assert [m.message(production) for m in missing] == [
        "Production also needs the PCI DSS signature CSR: make it, then send both."
    ]
    signature = make(production, "signature", 1)
    missing = selectors.missing_sets(production, [mtls], [mtls, signature])
    assert [m.message(production) for m in missing] == [
        f"Production also needs the PCI DSS signature CSR: tick request #{signature.pk} to send "
        "it too."
    ]
    assert selectors.missing_sets(production, [mtls, signature], [mtls, signature]) == []


def test_a_set_treezor_has_or_that_is_in_service_is_not_missing(
    production: Environment, issue: Callable[..., bytes]
) -> None:
    """Renewing mTLS alone is complete when the signature CSR was sent already, or when the
    signature certificate is in service; without signature_required nothing is asked."""
    assert selectors.missing_sets(production, [make(production, "mtls")], []) == []
    production.signature_required = True
    production.save()
    signature = make(production, "signature", 1)
    services.request_mark_sent(actor=CLI, signing_request=signature, sent_on=T0.date())
    signature.refresh_from_db()
    mtls = make(production, "mtls", 2)
    assert selectors.missing_sets(production, [mtls], [mtls, signature]) == []
    services.certificate_upload(actor=CLI, data=issue(signature))
    assert selectors.missing_sets(production, [mtls], [mtls]) == []


def test_the_csr_bundle_holds_one_csr_per_purpose(sandbox: Environment) -> None:
    """Two ready mTLS CSRs: the zip's bundle has only the newest, so no two files share a
    name; a cancelled newest one gives way to the one before it."""
    older = make(sandbox, "mtls", 0)
    newer = make(sandbox, "mtls", 5)
    assert [r.pk for r in selectors.csr_bundle(sandbox)] == [newer.pk]
    services.request_cancel(actor=CLI, signing_request=newer, reason="typo")
    assert [r.pk for r in selectors.csr_bundle(sandbox)] == [older.pk]


def test_open_requests_puts_the_renewal_of_a_certificate_first(
    sandbox: Environment, issue: Callable[..., bytes]
) -> None:
    """The wizard asks which request is already waiting: for a renewal, its own renewal comes
    before a newer plain request; fulfilled and cancelled ones are not waiting."""
    first = make(sandbox, "mtls", 0)
    certificate = services.certificate_upload(actor=CLI, data=issue(first)).certificate
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        renewal = services.request_create(
            actor=CLI, environment=sandbox, purpose="mtls", subject=ACME, renews=certificate
        )
    plain = make(sandbox, "mtls", 2)
    cancelled = make(sandbox, "mtls", 3)
    services.request_cancel(actor=CLI, signing_request=cancelled, reason="typo")
    found = selectors.open_requests(environment=sandbox, purpose="mtls")
    assert [r.pk for r in found] == [plain.pk, renewal.pk]
    found = selectors.open_requests(environment=sandbox, purpose="mtls", renews=certificate)
    assert [r.pk for r in found] == [renewal.pk, plain.pk]
