"""The notification channel forms of Settings → an environment → Notifications
(views/notifications.py). What an address of each kind is, and which events exist, is the
service's rule (services.notifications)."""

from __future__ import annotations

from django import forms

from certificates.forms.base import AccessibleForm
from certificates.models import NotificationChannel

Event = NotificationChannel.Event

EVENT_CHOICES = [(value, label) for value, label in Event.choices if value != Event.TEST]
KIND_CHOICES = [
    (NotificationChannel.Kind.SLACK, "Slack (an incoming webhook)"),
    (NotificationChannel.Kind.TEAMS, "Microsoft Teams (a Workflows webhook)"),
    (NotificationChannel.Kind.WEBHOOK, "Webhook: signed JSON to your own service"),
]
URL_HELP = (
    "Slack: https://hooks.slack.com/services/…, from the “Incoming Webhooks” app of the "
    "channel. Teams: the address of the workflow “Post to a channel when a webhook request is "
    "received”. Webhook: your service's https:// address; certdesk signs each request with a "
    "secret it shows once. The address is stored encrypted and never shown again whole."
)


def _address_field(*, required: bool, help_text: str) -> forms.CharField:
    return forms.CharField(
        label="Address",
        max_length=2000,
        required=required,
        help_text=help_text,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"}
        ),
    )


def _events_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label="Events to send",
        choices=EVENT_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Each channel chooses its own; a channel with none stays silent but can "
        "still get a test message.",
    )


class ChannelAddForm(AccessibleForm):
    kind = forms.ChoiceField(label="Kind", choices=KIND_CHOICES, widget=forms.RadioSelect)
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="How certdesk names it, here and in the audit log, such as “#certificates”.",
    )
    url = _address_field(required=True, help_text=URL_HELP)
    events = _events_field()

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault(
            "initial",
            {"kind": NotificationChannel.Kind.SLACK, "events": [v for v, _ in EVENT_CHOICES]},
        )
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


class ChannelEditForm(AccessibleForm):
    name = forms.CharField(label="Name", max_length=100)
    events = _events_field()
    url = _address_field(
        required=False,
        help_text="Leave it empty to keep the current address; paste a new one to replace it "
        "(a leaked Slack or Teams address is replaced there, then here).",
    )
