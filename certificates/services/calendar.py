"""Calendar feed URLs: created, or replaced (which revokes the old one at once)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from certificates.models import CalendarFeed
from certificates.selectors.calendar import token_sha256
from certificates.services.audit import Actor, audit_record

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def calendar_feed_replace(*, actor: Actor, user: AbstractBaseUser) -> str:
    """Give ``user`` a new feed token and return it, in clear, this once.

    Only its SHA-256 is stored, so certdesk cannot show the URL again: the user copies it now,
    and replaces it if it is lost or leaked. The previous token stops working with this commit.
    """
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        _, created = CalendarFeed.objects.update_or_create(
            user=user,
            defaults={"token_sha256": token_sha256(token), "created_at": timezone.now()},
        )
        audit_record(
            actor=actor,
            action="calendar.feed_created" if created else "calendar.feed_replaced",
            target=user,
        )
    return token
