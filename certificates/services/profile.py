"""A person's own settings: their name and whether they receive expiry reminders. Audited."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from certificates.models import Profile
from certificates.services.admin_checks import CONTROL_CHARACTERS
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError

NAME_MAX = 150


def profile_of(user: User) -> Profile:
    """The person's profile row, created with the defaults the first time it is asked for."""
    profile, _created = Profile.objects.get_or_create(user=user)
    return profile


def profile_update(
    *, actor: Actor, user: User, first_name: str, last_name: str, receives_reminders: bool
) -> Profile:
    """Change the name and the reminder choice of ``user`` (the actor themselves)."""
    if actor.user is None or actor.user.pk != user.pk:
        raise ServiceError("You can only change your own profile.")
    first_name, last_name = first_name.strip(), last_name.strip()
    problems: dict[str, str] = {}
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if len(value) > NAME_MAX:
            problems[field] = f"At most {NAME_MAX} characters."
        elif CONTROL_CHARACTERS.search(value):
            problems[field] = "A name cannot hold control characters."
    if problems:
        raise ServiceError.of(problems)
    with transaction.atomic():
        profile = Profile.objects.select_for_update().get_or_create(user=user)[0]
        before = {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "receives_reminders": profile.receives_reminders,
        }
        after = {
            "first_name": first_name,
            "last_name": last_name,
            "receives_reminders": receives_reminders,
        }
        changed = {key: after[key] for key in after if after[key] != before[key]}
        if not changed:
            return profile
        user.first_name, user.last_name = first_name, last_name
        user.save(update_fields=["first_name", "last_name"])
        profile.receives_reminders = receives_reminders
        profile.save(update_fields=["receives_reminders"])
        audit_record(
            actor=actor, action="account.profile_changed", target=user, details={"changed": changed}
        )
    return profile
