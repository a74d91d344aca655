"""calendar_feed_replace called directly: a secret URL token shown once, stored only as its
SHA-256, and replacing it revokes the old one at once; both audited."""

from __future__ import annotations

import hashlib

import pytest

from certificates.models import AuditEvent, CalendarFeed, Environment
from certificates.selectors.calendar import calendar_feed_owner
from certificates.services import Actor
from certificates.services.calendar import calendar_feed_replace
from tests.support.factories import member

pytestmark = pytest.mark.django_db


def test_a_new_feed_token_opens_the_feed_and_only_its_digest_is_stored(
    sandbox: Environment,
) -> None:
    """The token returned opens this user's feed; the database holds its SHA-256, not it."""
    user = member("viewer", sandbox)
    token = calendar_feed_replace(actor=Actor.cli(user), user=user)

    assert calendar_feed_owner(token=token) == user
    feed = CalendarFeed.objects.get(user=user)
    assert feed.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in feed.token_sha256
    event = AuditEvent.objects.get(action="calendar.feed_created")
    assert token not in str(event.details)


def test_replacing_the_token_revokes_the_old_one_at_once(sandbox: Environment) -> None:
    """After a replacement the old URL opens nothing and the new one opens the feed."""
    user = member("viewer", sandbox)
    old = calendar_feed_replace(actor=Actor.cli(user), user=user)
    new = calendar_feed_replace(actor=Actor.cli(user), user=user)

    assert new != old
    assert calendar_feed_owner(token=old) is None
    assert calendar_feed_owner(token=new) == user
    assert CalendarFeed.objects.filter(user=user).count() == 1
    assert AuditEvent.objects.filter(action="calendar.feed_replaced").count() == 1


def test_a_deactivated_users_feed_opens_nothing(sandbox: Environment) -> None:
    """The token of a user who has left stops working without being replaced."""
    user = member("viewer", sandbox)
    token = calendar_feed_replace(actor=Actor.cli(user), user=user)
    user.is_active = False
    user.save()
    assert calendar_feed_owner(token=token) is None
