"""Settings → an environment → Notifications (issue 18): administrators add, change,
deactivate, reactivate and test channels; addresses and secrets sealed, shown masked, the
webhook's secret shown once; every change audited without a secret."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.test import Client

from certificates import vault
from certificates.models import (
    AuditEvent,
    Environment,
    NotificationChannel,
    OutboundNotification,
    Role,
)
from certificates.services import Actor, ServiceError
from certificates.services.notifications import (
    CreatedChannel,
    notification_channel_create,
    notification_channel_deactivate,
    notification_channel_reactivate,
    notification_channel_test,
    notification_channel_update,
    notifications_queue,
)
from certificates.services.notifications.events import Event
from tests.notifications.conftest import SLACK_URL

pytestmark = pytest.mark.django_db

PAGE = "/settings/environments/sandbox/notifications/"
SECRET_PART = "xoxSecretToken123"
PEM_KEY_HEADER = "-----BEGIN RSA PRIVATE KEY-----"


def _audits(action: str) -> list[dict[str, Any]]:
    return [e.details for e in AuditEvent.objects.filter(action=action).order_by("id")]


def _everything_stored_and_audited() -> str:
    channels = list(NotificationChannel.objects.values())
    audits = list(AuditEvent.objects.values("details"))
    return json.dumps([channels, audits], default=str)


def test_an_address_and_secret_are_sealed_and_the_audit_shows_them_masked(
    sandbox: Environment, make_channel: Callable[..., CreatedChannel]
) -> None:
    slack = make_channel("slack", SLACK_URL, name="#certificates").channel
    hook = make_channel("webhook", "https://hooks.acme.example/certdesk/xyz", name="ops")
    assert hook.secret
    assert len(hook.secret) >= 40
    stored = _everything_stored_and_audited()
    for clear in (SECRET_PART, "/certdesk/xyz", hook.secret):
        assert clear not in stored
    slack.refresh_from_db()
    assert slack.target_sealed.startswith(vault.SEALED_TEXT_PREFIX)
    assert vault.unseal_text(slack.target_sealed, bound_to="channel:slack") == SLACK_URL
    assert slack.secret_sealed == ""
    sealed_secret = hook.channel.secret_sealed
    assert vault.unseal_text(sealed_secret, bound_to="channel:webhook") == hook.secret
    created = _audits("notification_channel.created")
    assert created[0]["address"] == "https://hooks.slack.com/…"
    assert created[1] == {
        "name": "ops",
        "kind": "webhook",
        "address": "https://hooks.acme.example/…",
        "events": [
            "owner_reminder",
            "compromise",
            "revocation_confirmed",
            "tam_email_failed",
            "certificate_installed",
        ],
        "signed": True,
    }


def test_a_sealed_address_is_bound_to_its_kind() -> None:
    sealed = vault.seal_text(SLACK_URL, bound_to="channel:slack")
    with pytest.raises(vault.VaultError):
        vault.unseal_text(sealed, bound_to="channel:webhook")


@pytest.mark.parametrize(
    ("fields", "problems"),
    [
        ({"name": ""}, {"name"}),
        ({"name": "a\nb"}, {"name"}),
        ({"url": "https://example.com/x"}, {"url"}),
        ({"kind": "email"}, {"kind"}),
        ({"events": ["test"]}, {"events"}),
        ({"name": "", "url": "nope", "events": ["nope"]}, {"name", "url", "events"}),
    ],
)
def test_refusals_name_every_field_at_once(
    sandbox: Environment, fields: dict[str, Any], problems: set[str]
) -> None:
    values = {"kind": "slack", "name": "#c", "url": SLACK_URL, "events": [], **fields}
    with pytest.raises(ServiceError) as refused:
        notification_channel_create(actor=Actor.cli(), environment=sandbox, **values)
    assert set(refused.value.errors) == problems
    assert not NotificationChannel.objects.exists()
    assert SECRET_PART not in refused.value.message


def test_a_private_key_pasted_as_the_address_is_refused_and_not_stored(
    sandbox: Environment,
) -> None:
    from certificates import crypto

    key = crypto.private_key_to_pem(crypto.generate_private_key()).decode()
    with pytest.raises(ServiceError) as refused:
        notification_channel_create(
            actor=Actor.cli(), environment=sandbox, kind="webhook", name="k", url=key, events=[]
        )
    assert refused.value.errors["url"].startswith("This is private-key material")
    assert PEM_KEY_HEADER not in refused.value.message
    assert not NotificationChannel.objects.exists()


def test_two_channels_of_one_environment_cannot_share_a_name(
    sandbox: Environment, production: Environment, make_channel: Callable[..., CreatedChannel]
) -> None:
    make_channel("slack", SLACK_URL, name="#certificates")
    make_channel("slack", SLACK_URL, name="#certificates", environment=production)
    with pytest.raises(ServiceError, match="already has a channel named"):
        make_channel("slack", SLACK_URL, name="#certificates")


def test_only_administrators_change_channels(
    sandbox: Environment, make_member: Callable[[str, Environment], User]
) -> None:
    custodian = make_member(Role.CUSTODIAN, sandbox)
    with pytest.raises(PermissionDenied):
        notification_channel_create(
            actor=Actor(user=custodian),
            environment=sandbox,
            kind="slack",
            name="#c",
            url=SLACK_URL,
            events=[],
        )


def test_change_events_name_and_address_audited_with_the_address_masked(
    sandbox: Environment, make_channel: Callable[..., CreatedChannel]
) -> None:
    channel = make_channel("slack", SLACK_URL, name="#certificates").channel
    new_url = "https://hooks.slack.com/services/T1/B1/xoxNewToken456"
    notification_channel_update(
        actor=Actor.cli(), channel=channel, name="#certs", events=["compromise"], url=new_url
    )
    channel.refresh_from_db()
    assert (channel.name, channel.events) == ("#certs", ["compromise"])
    assert vault.unseal_text(channel.target_sealed, bound_to="channel:slack") == new_url
    (changed,) = _audits("notification_channel.changed")
    assert changed["changes"]["name"] == {"from": "#certificates", "to": "#certs"}
    assert changed["changes"]["address"] == "https://hooks.slack.com/…"
    assert "xoxNewToken456" not in _everything_stored_and_audited()
    # Nothing changed: nothing recorded.
    notification_channel_update(
        actor=Actor.cli(), channel=channel, name="#certs", events=["compromise"]
    )
    assert len(_audits("notification_channel.changed")) == 1


def test_deactivating_drops_what_was_not_sent_and_keeps_the_past(
    sandbox: Environment, make_channel: Callable[..., CreatedChannel]
) -> None:
    channel = make_channel("webhook", "https://hooks.acme.example/x").channel
    rows = notifications_queue(
        [
            Event(environment=sandbox, event="compromise", key=f"c:{n}", title="t", text="x")
            for n in range(2)
        ]
    )
    OutboundNotification.objects.filter(pk=rows[0].pk).update(status="sent")
    assert notification_channel_deactivate(actor=Actor.cli(), channel=channel) == 1
    statuses = dict(OutboundNotification.objects.values_list("event_key", "status"))
    assert statuses == {"c:0": "sent", "c:1": "failed"}
    assert OutboundNotification.objects.get(event_key="c:1").last_error.startswith(
        "Not sent: the channel was deactivated"
    )
    (deactivated,) = _audits("notification_channel.deactivated")
    assert deactivated["unsent_dropped"] == 1
    # Deactivated: no new rows, no test, no second deactivation.
    assert (
        notifications_queue(
            [Event(environment=sandbox, event="compromise", key="c:9", title="t", text="x")]
        )
        == []
    )
    with pytest.raises(ServiceError, match="reactivate it first"):
        notification_channel_test(actor=Actor.cli(), channel=channel)
    with pytest.raises(ServiceError, match="deactivated already"):
        notification_channel_deactivate(actor=Actor.cli(), channel=channel)
    notification_channel_reactivate(actor=Actor.cli(), channel=channel)
    assert NotificationChannel.objects.get().active
    assert _audits("notification_channel.changed")[-1]["changes"] == {"active": True}


def test_a_channel_hears_only_the_events_it_chose_but_a_test_whatever_it_chose(
    sandbox: Environment, production: Environment, make_channel: Callable[..., CreatedChannel]
) -> None:
    quiet = make_channel("webhook", "https://hooks.acme.example/q", events=[]).channel
    compromises = make_channel(
        "webhook", "https://hooks.acme.example/c", events=["compromise"]
    ).channel
    make_channel("webhook", "https://hooks.acme.example/p", environment=production)
    rows = notifications_queue(
        [
            Event(environment=sandbox, event="compromise", key="c:1", title="t", text="x"),
            Event(
                environment=sandbox, event="certificate_installed", key="i:1", title="t", text="x"
            ),
        ]
    )
    assert [(r.channel_id, r.event_key) for r in rows] == [(compromises.pk, "c:1")]
    test = notification_channel_test(actor=Actor.cli(), channel=quiet)
    assert (test.channel_id, test.event) == (quiet.pk, "test")
    (tested,) = _audits("notification_channel.tested")
    assert tested["notification"] == test.pk


def test_rotating_the_encryption_key_reseals_the_channels(
    sandbox: Environment,
    make_channel: Callable[..., CreatedChannel],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import base64

    from certificates import keyfiles
    from certificates.services import encryption_keys_rotate

    hook = make_channel("webhook", "https://hooks.acme.example/x")
    old = keyfiles.encryption_keys()
    new = base64.urlsafe_b64encode(b"n" * 32).decode()
    monkeypatch.setattr(keyfiles, "encryption_keys", lambda: (new, *old))
    encryption_keys_rotate(actor=Actor.cli())
    channel = NotificationChannel.objects.get()
    assert vault.sealed_text_key_id(channel.target_sealed) == vault.current_key_id()
    assert vault.sealed_text_key_id(channel.secret_sealed) == vault.current_key_id()
    monkeypatch.setattr(keyfiles, "encryption_keys", lambda: (new,))  # the old key retired
    assert vault.unseal_text(channel.secret_sealed, bound_to="channel:webhook") == hook.secret
    assert _audits("encryption.rotated")[0]["notification_channels_resealed"] == 1


# --- the pages -------------------------------------------------------------------------------


def test_the_page_lists_channels_masked_and_adds_a_slack_channel(
    sandbox: Environment, admin_client: Client
) -> None:
    page = admin_client.get(PAGE)
    assert page.status_code == 200
    assert "No channel yet" in page.content.decode()
    answer = admin_client.post(
        PAGE,
        {
            "kind": "slack",
            "name": "#certificates",
            "url": SLACK_URL,
            "events": ["owner_reminder", "compromise"],
        },
        follow=True,
    )
    text = answer.content.decode()
    assert "Channel “#certificates” added to Sandbox" in text
    assert "https://hooks.slack.com/…" in text
    assert SECRET_PART not in text
    assert "Owner reminders, A compromised key reported" in text
    assert NotificationChannel.objects.get().events == ["owner_reminder", "compromise"]


def test_a_new_webhook_shows_its_secret_once_never_cached(
    sandbox: Environment, admin_client: Client
) -> None:
    answer = admin_client.post(
        PAGE,
        {"kind": "webhook", "name": "ops", "url": "https://hooks.acme.example/certdesk/xyz"},
    )
    assert answer.status_code == 200
    assert "no-store" in answer["Cache-Control"] or "no-cache" in answer["Cache-Control"]
    channel = NotificationChannel.objects.get()
    secret = vault.unseal_text(channel.secret_sealed, bound_to="channel:webhook")
    assert secret in answer.content.decode()
    assert "X-Certdesk-Signature" in answer.content.decode()
    again = admin_client.get(PAGE).content.decode()
    assert secret not in again
    assert "/certdesk/xyz" not in again
    assert secret not in json.dumps(dict(admin_client.session))


def test_a_wrong_address_is_shown_next_to_its_field_not_a_500(
    sandbox: Environment, admin_client: Client
) -> None:
    answer = admin_client.post(
        PAGE, {"kind": "teams", "name": "Teams", "url": SLACK_URL, "events": ["compromise"]}
    )
    assert answer.status_code == 200
    text = answer.content.decode()
    assert "This is not a Microsoft Teams workflow address" in text
    assert 'aria-invalid="true"' in text
    assert not NotificationChannel.objects.exists()


def test_edit_deactivate_reactivate_and_test_from_the_pages(
    sandbox: Environment, admin_client: Client, make_channel: Callable[..., CreatedChannel]
) -> None:
    channel = make_channel("slack", SLACK_URL, name="#certificates").channel
    edit = f"{PAGE}{channel.pk}/"
    page = admin_client.get(edit).content.decode()
    assert "https://hooks.slack.com/…" in page
    assert SECRET_PART not in page
    answer = admin_client.post(edit, {"name": "#certs", "events": ["compromise"], "url": ""})
    assert answer.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.events) == ("#certs", ["compromise"])
    assert vault.unseal_text(channel.target_sealed, bound_to="channel:slack") == SLACK_URL

    answer = admin_client.post(f"{edit}test/", follow=True)
    assert "Test message to “#certs” queued" in answer.content.decode()
    assert OutboundNotification.objects.get().event == "test"

    answer = admin_client.post(f"{edit}deactivate/", follow=True)
    text = answer.content.decode()
    assert "deactivated: it hears of nothing more" in text
    assert "Reactivate" in text
    answer = admin_client.post(f"{edit}deactivate/", follow=True)
    assert "deactivated already" in answer.content.decode()
    answer = admin_client.post(f"{edit}reactivate/", follow=True)
    assert "is active again" in answer.content.decode()


def test_a_channel_of_another_environment_is_404_under_this_one(
    sandbox: Environment,
    production: Environment,
    admin_client: Client,
    make_channel: Callable[..., CreatedChannel],
) -> None:
    channel = make_channel("slack", SLACK_URL, environment=production).channel
    assert admin_client.get(f"{PAGE}{channel.pk}/").status_code == 404
    assert admin_client.post(f"{PAGE}{channel.pk}/deactivate/").status_code == 404
    assert NotificationChannel.objects.get().active


def test_the_environment_page_and_the_settings_overview_link_to_the_notifications(
    sandbox: Environment, admin_client: Client
) -> None:
    for url in ("/settings/", "/settings/environments/sandbox/edit/"):
        assert f'href="{PAGE}"' in admin_client.get(url).content.decode(), url
