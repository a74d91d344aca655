"""A person's own settings: their name, their phone and whether they receive expiry reminders.
Audited."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.db import transaction

from certificates.models import Profile
from certificates.services.admin_checks import CONTROL_CHARACTERS
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError

NAME_MAX = 150
PHONE_MAX = 32
# Loose on purpose: people write numbers their own way. Digits, spaces and + - ( ) . only, at
# least one digit; nothing that could be anything but a number in an email signature.
PHONE_CHARACTERS = re.compile(r"[0-9 +\-().]*")


def profile_of(user: User) -> Profile:
    """The person's profile row, created with the defaults the first time it is asked for."""
    profile, _created = Profile.objects.get_or_create(user=user)
    return profile


def phone_problem(phone: str) -> str | None:
    """None for an acceptable phone number (or none at all), else what is wrong with it."""
    if len(phone) > PHONE_MAX:
        return f"At most {PHONE_MAX} characters."
    if not PHONE_CHARACTERS.fullmatch(phone):
        return "Only digits, spaces and + - ( ) . please, for example +33 1 23 45 67 89."
    if phone and not any(char.isdigit() for char in phone):
        return "A phone number needs digits, for example +33 1 23 45 67 89."
    return None


def profile_update(
    *,
    actor: Actor,
    user: User,
    first_name: str,
    last_name: str,
    receives_reminders: bool,
    phone: str | None = None,
) -> Profile:
    """Change the name, the phone (None: unchanged) and the reminder choice of ``user`` (the
    actor themselves). The name and phone sign the emails they send to the TAM."""
    if actor.user is None or actor.user.pk != user.pk:
        raise ServiceError("You can only change your own profile.")
    first_name, last_name = first_name.strip(), last_name.strip()
    problems: dict[str, str] = {}
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if len(value) > NAME_MAX:
            problems[field] = f"At most {NAME_MAX} characters."
        elif CONTROL_CHARACTERS.search(value):
            problems[field] = "A name cannot hold control characters."
    if phone is not None:
        phone = " ".join(phone.split())
        if (problem := phone_problem(phone)) is not None:
            problems["phone"] = problem
    if problems:
        raise ServiceError.of(problems)
    with transaction.atomic():
        profile = Profile.objects.select_for_update().get_or_create(user=user)[0]
        before = {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "phone": profile.phone,
            "receives_reminders": profile.receives_reminders,
        }
        after = {
            "first_name": first_name,
            "last_name": last_name,
            "phone": profile.phone if phone is None else phone,
            "receives_reminders": receives_reminders,
        }
        changed = {key: after[key] for key in after if after[key] != before[key]}
        if not changed:
            return profile
        user.first_name, user.last_name = first_name, last_name
        user.save(update_fields=["first_name", "last_name"])
        profile.receives_reminders = receives_reminders
        if phone is not None:
            profile.phone = phone
        profile.save(update_fields=["receives_reminders", "phone"])
        audit_record(
            actor=actor, action="account.profile_changed", target=user, details={"changed": changed}
        )
    return profile
