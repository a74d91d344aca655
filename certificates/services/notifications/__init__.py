"""Chat and webhook notifications (issue 18): channels per environment beside email (Slack,
Microsoft Teams, a signed webhook), each choosing its events, delivered through the outbox's
discipline.

- ``channels``: administrators add, change, deactivate and test a channel; its address and
  signing secret are sealed by the vault, never stored, shown, logged or audited in clear.
- ``events``: the events (owner reminders, a compromise report, a revocation confirmed, a TAM
  email that finally failed, a certificate installed, a test) queue one row per listening
  channel in the transaction that made them, at most once per (channel, event key) by a
  database constraint; text carrying key material is refused there (the outgoing guard).
- ``delivery``: a worker claims a row once, sends it (``certificates.notify``), retried with
  the emails' backoff and bound; beat's requeue pass takes over rows no worker is sending.
"""

from certificates.services.notifications.channels import (
    CreatedChannel,
    notification_channel_create,
    notification_channel_deactivate,
    notification_channel_reactivate,
    notification_channel_test,
    notification_channel_update,
    notification_channels_reseal,
)
from certificates.services.notifications.delivery import (
    NotificationsRequeued,
    outbound_notification_claim,
    outbound_notification_deliver,
    outbound_notification_publish,
    outbound_notifications_requeue,
)
from certificates.services.notifications.events import (
    Event,
    notifications_queue,
    notify_certificate_installed,
    notify_compromise,
    notify_owner_reminders,
    notify_revocation_confirmed,
    notify_tam_email_failed,
)

__all__ = [
    "CreatedChannel",
    "Event",
    "NotificationsRequeued",
    "notification_channel_create",
    "notification_channel_deactivate",
    "notification_channel_reactivate",
    "notification_channel_test",
    "notification_channel_update",
    "notification_channels_reseal",
    "notifications_queue",
    "notify_certificate_installed",
    "notify_compromise",
    "notify_owner_reminders",
    "notify_revocation_confirmed",
    "notify_tam_email_failed",
    "outbound_notification_claim",
    "outbound_notification_deliver",
    "outbound_notification_publish",
    "outbound_notifications_requeue",
]
