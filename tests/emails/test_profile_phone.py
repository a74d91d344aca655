"""The phone on the Profile page (issue 16): it signs the emails the person sends to the TAM.
Loosely checked: digits, spaces and + - ( ) . only, 32 characters at most; audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AuditEvent, Profile
from certificates.services import Actor, ServiceError
from certificates.services.profile import profile_update

pytestmark = pytest.mark.django_db

FORM = {"first_name": "Ada", "last_name": "Lovelace", "receives_reminders": "on"}


def test_the_profile_page_has_a_phone_field_and_saves_it(
    admin_client: Client, admin_user: User
) -> None:
    page = admin_client.get("/profile/").content.decode()
    assert 'name="phone"' in page
    assert 'type="tel"' in page
    assert "Signs the emails you send to Treezor" in page
    response = admin_client.post("/profile/", {**FORM, "phone": "  +33 (0)1  23.45-67-89 "})
    assert response.status_code == 302
    assert Profile.objects.get(user=admin_user).phone == "+33 (0)1 23.45-67-89"
    event = AuditEvent.objects.get(action="account.profile_changed")
    assert event.details["changed"]["phone"] == "+33 (0)1 23.45-67-89"
    assert 'value="+33 (0)1 23.45-67-89"' in admin_client.get("/profile/").content.decode()


@pytest.mark.parametrize(
    ("phone", "says"),
    [
        ("+33 1 23 45 67 89 ext. 12", "Only digits, spaces and + - ( ) ."),
        ("call me", "Only digits, spaces and + - ( ) ."),
        ("+33\x1b[31m1", "Only digits, spaces and + - ( ) ."),
        ("(-)", "needs digits"),
        ("1" * 33, "at most 32 characters"),
    ],
    ids=["letters", "words", "escape", "no-digit", "too-long"],
)
def test_a_phone_that_is_not_one_is_refused_next_to_its_field(
    admin_client: Client, admin_user: User, phone: str, says: str
) -> None:
    response = admin_client.post("/profile/", {**FORM, "phone": phone})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_phone_error"' in page
    assert says.lower() in page.lower()
    assert not Profile.objects.filter(user=admin_user).exclude(phone="").exists()
    assert not AuditEvent.objects.filter(action="account.profile_changed").exists()


def test_the_service_keeps_the_phone_when_none_is_given(admin_user: User) -> None:
    """Callers that do not show the phone (None) leave it as it was; the rule is the
    service's, whoever calls it."""
    actor = Actor.cli(admin_user)
    profile_update(
        actor=actor,
        user=admin_user,
        first_name="",
        last_name="",
        receives_reminders=True,
        phone="+44 20 7946 0958",
    )
    profile_update(
        actor=actor, user=admin_user, first_name="A", last_name="", receives_reminders=True
    )
    assert Profile.objects.get(user=admin_user).phone == "+44 20 7946 0958"
    with pytest.raises(ServiceError) as refused:
        profile_update(
            actor=actor,
            user=admin_user,
            first_name="",
            last_name="",
            receives_reminders=True,
            phone="0800-FLOWERS",
        )
    assert refused.value.field == "phone"
