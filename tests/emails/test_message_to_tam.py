"""The send preview's optional "Message to your TAM" (issue 16): plain text, first in the email,
shown in the preview; too long or with control characters it is refused next to the field, and
private-key material in it is the outgoing guard's refusal, recorded, never shown back."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from certificates import services
from certificates.models import AuditEvent, Environment, OutboundEmail, SigningRequest
from certificates.services import Actor, ServiceError
from certificates.services.outbox import KeyMaterialRefused
from certificates.services.tam import TAM_MESSAGE_MAX_LENGTH
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

MESSAGE = "Hello Camille,\nthis CSR replaces the one of Monday (wrong OU).\n<b>Thanks</b>"


@pytest.fixture
def ready(production: Environment) -> SigningRequest:
    return services.request_create(
        actor=Actor.cli(), environment=production, purpose="mtls", subject=ACME
    )


@pytest.fixture
def client_of_alice(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_the_message_comes_first_in_the_email_text_and_html(
    production: Environment, alice: User, ready: SigningRequest, delivered: Callable[..., Any]
) -> None:
    """Above the standard text, as typed (line breaks kept); escaped in the HTML part."""
    email = delivered(
        services.tam_send,
        actor=Actor.cli(alice),
        environment=production,
        signing_requests=[ready],
        message=f"  {MESSAGE}\r\n",
    )
    assert email.body_text.startswith(f"Hello,\n\n{MESSAGE}\n\nAcme SAS asks Treezor to sign")
    assert "<p>Hello Camille,<br>this CSR replaces the one of Monday (wrong OU).<br>" in (
        email.body_html
    )
    assert "&lt;b&gt;Thanks&lt;/b&gt;" in email.body_html
    assert "<b>Thanks</b>" not in email.body_html
    assert mail.outbox[0].body.startswith(f"Hello,\n\n{MESSAGE}\n\n")


def test_without_a_message_the_email_is_the_standard_one(
    production: Environment, alice: User, ready: SigningRequest
) -> None:
    email = services.tam_send(
        actor=Actor.cli(alice), environment=production, signing_requests=[ready]
    )
    assert email.body_text.startswith("Hello,\n\nAcme SAS asks Treezor to sign")


@pytest.mark.parametrize(
    ("message", "says"),
    [
        ("x" * (TAM_MESSAGE_MAX_LENGTH + 1), "keep it under 2,000"),
        ("a bell \x07 rings", "control characters"),
        ("hidden \u202e text", "control characters"),
    ],
    ids=["too-long", "control-character", "bidi-override"],
)
def test_a_message_too_long_or_with_control_characters_is_refused_on_its_field(
    production: Environment, alice: User, ready: SigningRequest, message: str, says: str
) -> None:
    with pytest.raises(ServiceError) as refused:
        services.tam_send(
            actor=Actor.cli(alice),
            environment=production,
            signing_requests=[ready],
            message=message,
        )
    assert refused.value.field == "message"
    assert says in refused.value.message
    assert not OutboundEmail.objects.exists()
    ready.refresh_from_db()
    assert ready.status == SigningRequest.Status.READY


def test_a_private_key_in_the_message_is_refused_recorded_and_nothing_sent(
    production: Environment, alice: User, ready: SigningRequest, rsa_key_pem: str
) -> None:
    """The outgoing guard's refusal, on the message field; recorded (without the key), the
    request still ready, no email stored."""
    with pytest.raises(KeyMaterialRefused) as refused:
        services.tam_send(
            actor=Actor.cli(alice),
            environment=production,
            signing_requests=[ready],
            message=f"the key, in case:\n{rsa_key_pem}",
        )
    assert refused.value.field == "message"
    assert not OutboundEmail.objects.exists()
    ready.refresh_from_db()
    assert ready.status == SigningRequest.Status.READY
    event = AuditEvent.objects.filter(action="email.refused").get()
    assert "PRIVATE KEY" not in str(event.details)


def test_the_preview_shows_the_message_and_the_send_button_sends_it(
    client_of_alice: Client, ready: SigningRequest
) -> None:
    """ "Update the preview" puts the message in the previewed body; sending sends that body,
    with Cc and Reply-To shown before."""
    page = client_of_alice.post(
        "/environments/production/send/",
        {"requests": [ready.pk], "message": MESSAGE, "preview": ""},
    ).content.decode()
    assert 'name="message"' in page
    assert "Message to your TAM" in page
    assert "Hello Camille,\nthis CSR replaces the one of Monday (wrong OU).\n&lt;b&gt;" in page
    assert "<dt>Cc</dt><dd>pki-team@acme.example, ops@acme.example</dd>" in page
    assert (
        "<dt>Reply-To</dt><dd>alice@acme.example, pki-team@acme.example, ops@acme.example</dd>"
    ) in page
    assert "Alice Martin, Acme SAS" in page
    response = client_of_alice.post(
        "/environments/production/send/",
        {"requests": [ready.pk], "message": MESSAGE, "send": "", "token": str(uuid.uuid4())},
    )
    assert response.status_code == 302
    assert OutboundEmail.objects.get().body_text.startswith(f"Hello,\n\n{MESSAGE}\n\n")


def test_a_refused_message_shows_next_to_its_field_and_nothing_is_sent(
    client_of_alice: Client, ready: SigningRequest
) -> None:
    response = client_of_alice.post(
        "/environments/production/send/",
        {
            "requests": [ready.pk],
            "message": "ring \x07",
            "send": "",
            "token": str(uuid.uuid4()),
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_message_error"' in page
    assert "The message contains control characters" in page
    assert 'aria-invalid="true"' in page
    assert not OutboundEmail.objects.exists()


def test_a_key_pasted_in_the_message_is_never_shown_back(
    client_of_alice: Client, ready: SigningRequest, rsa_key_pem: str
) -> None:
    """Preview or send: the refusal next to the field, the textarea empty, the preview
    without it, nothing sent."""
    for button in ("preview", "send"):
        page = client_of_alice.post(
            "/environments/production/send/",
            {
                "requests": [ready.pk],
                "message": f"here:\n{rsa_key_pem}",
                button: "",
                "token": str(uuid.uuid4()),
            },
        ).content.decode()
        assert "PRIVATE KEY" not in page
        assert "carries private-key material" in page
        assert 'id="id_message_error"' in page
    assert not OutboundEmail.objects.exists()


def test_the_resend_page_takes_a_message_too(
    client_of_alice: Client, production: Environment, alice: User, ready: SigningRequest
) -> None:
    services.tam_send(actor=Actor.cli(alice), environment=production, signing_requests=[ready])
    url = f"/requests/{ready.pk}/resend/"
    page = client_of_alice.post(url, {"message": "As asked on the phone.", "preview": ""})
    assert "As asked on the phone." in page.content.decode()
    assert OutboundEmail.objects.count() == 1
    response = client_of_alice.post(
        url, {"message": "As asked on the phone.", "token": str(uuid.uuid4())}
    )
    assert response.status_code == 302
    resent = OutboundEmail.objects.order_by("pk").last()
    assert resent is not None
    assert resent.body_text.startswith("Hello,\n\nAs asked on the phone.\n\n")
