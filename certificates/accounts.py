"""Users are deactivated, never deleted.

Every audit event names who acted (``AuditEvent.actor`` and ``actor_label``); deleting a user
would set the foreign key of their events to NULL, and their keys, requests and calendar feed
would lose their owner. Deactivation (Settings -> People, ``user_deactivate``) closes the account
instead and is audited. The receiver below refuses a deletion from anywhere Django deletes
through the ORM: the admin, a queryset, a cascade, a shell. (A database writer with raw SQL is
what the audit chain's hashes are for.) Connected by ``CertificatesConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models.signals import pre_delete


class UserDeletionRefused(PermissionDenied):
    """A deletion of a user: refused, deactivate instead."""


def refuse_user_deletion(sender: Any, instance: Any, **kwargs: Any) -> None:
    raise UserDeletionRefused(
        f"{instance.get_username()} cannot be deleted: users are deactivated, never deleted, "
        "so that their audit events keep who acted. Deactivate the account in Settings -> People."
    )


pre_delete.connect(
    refuse_user_deletion, sender=settings.AUTH_USER_MODEL, dispatch_uid="certdesk-no-user-delete"
)
