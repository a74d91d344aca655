"""The first run: a fresh installation leads to the page that creates its first administrator."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

GOOD = {
    "username": "alice",
    "email": "alice@example.com",
    "password1": "a long passphrase 42",
    "password2": "a long passphrase 42",
}


@pytest.mark.parametrize("path", ["/", "/login/", "/admin/", "/no-such-page/"])
def test_every_page_leads_to_first_run_while_no_user_exists(client: Client, path: str) -> None:
    """Before anyone exists, whatever a visitor opens sends them to the first-run page."""
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/setup/"


def test_first_run_creates_a_superuser_and_logs_them_in(client: Client) -> None:
    """Submitting the form creates one administrator and opens the dashboard for them."""
    response = client.post("/setup/", GOOD, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert response.status_code == 200
    user = User.objects.get()
    assert (user.username, user.is_superuser, user.is_staff) == ("alice", True, True)
    assert user.check_password(GOOD["password1"])
    assert response.context["user"] == user


def test_first_run_page_is_gone_once_a_user_exists(client: Client) -> None:
    """After the first administrator exists, /setup/ answers 404 to GET and POST alike."""
    client.post("/setup/", GOOD)
    client.logout()
    assert client.get("/setup/").status_code == 404
    assert client.post("/setup/", {**GOOD, "username": "mallory"}).status_code == 404
    assert list(User.objects.values_list("username", flat=True)) == ["alice"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"password2": "something else 42"}, "password2", "The two passwords differ"),
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address"),
        ({"username": ""}, "username", "This field is required"),
    ],
)
def test_first_run_refuses_bad_input_with_a_message_and_creates_nothing(
    client: Client, change: dict[str, str], field: str, message: str
) -> None:
    """Each mistake is named next to its field, and no user is created."""
    response = client.post("/setup/", {**GOOD, **change})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not User.objects.exists()


def test_after_setup_login_is_required_everywhere_but_login_and_healthz(
    client: Client, admin_user: User
) -> None:
    """Anonymous visitors are sent to the login page; login and /healthz stay open."""
    assert client.get("/")["Location"] == "/login/?next=/"
    assert client.get("/login/").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_login_then_logout(client: Client, admin_user: User) -> None:
    """A user logs in with their password, sees the dashboard, and logs out with a POST."""
    response = client.post(
        "/login/", {"username": "admin", "password": "correct horse battery"}, follow=True
    )
    assert response.status_code == 200
    assert b"Dashboard" in response.content
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_admin_site_is_for_superusers_only(client: Client, admin_user: User) -> None:
    """A staff member without superuser rights cannot open the admin."""
    User.objects.create_user("staff", password="another long pass", is_staff=True)
    client.login(username="staff", password="another long pass")
    assert client.get("/admin/").status_code == 302
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200


def test_an_empty_submission_shows_what_is_missing(client: Client) -> None:
    """Submitting the form with nothing filled in names each required field."""
    response = client.post("/setup/", {})
    assert response.status_code == 200
    assert set(response.context["form"].errors) >= {"username", "email", "password1"}
    assert not User.objects.exists()
