"""The first run: a fresh installation leads to the page that creates its first administrator,
for whoever holds the setup code the server printed in its log."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AuditEvent, SetupCode
from certificates.services import Actor, setup_code_issue

pytestmark = pytest.mark.django_db

ACCOUNT = {
    "username": "alice",
    "email": "alice@example.com",
    "password1": "a long passphrase 42",
    "password2": "a long passphrase 42",
}


@pytest.fixture
def good() -> dict[str, str]:
    """The first-run form filled in well, with the current setup code (issued as the command
    issues it: the test reads it from the service, as an operator reads the log)."""
    return {**ACCOUNT, "setup_code": setup_code_issue(actor=Actor.cli())}


@pytest.mark.parametrize("path", ["/", "/login/", "/admin/", "/no-such-page/"])
def test_every_page_leads_to_first_run_while_no_user_exists(client: Client, path: str) -> None:
    """Before anyone exists, whatever a visitor opens sends them to the first-run page."""
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/setup/"


def test_first_run_creates_a_superuser_and_logs_them_in(
    client: Client, good: dict[str, str]
) -> None:
    """Submitting the form creates one administrator and opens the dashboard for them."""
    response = client.post("/setup/", good, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert response.status_code == 200
    user = User.objects.get()
    assert (user.username, user.is_superuser, user.is_staff) == ("alice", True, True)
    assert user.check_password(good["password1"])
    assert response.context["user"] == user


def test_first_run_page_is_gone_once_a_user_exists(client: Client, good: dict[str, str]) -> None:
    """After the first administrator exists, /setup/ answers 404 to GET and POST alike."""
    client.post("/setup/", good)
    client.logout()
    assert client.get("/setup/").status_code == 404
    assert client.post("/setup/", {**good, "username": "mallory"}).status_code == 404
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
    client: Client, good: dict[str, str], change: dict[str, str], field: str, message: str
) -> None:
    """Each mistake is named next to its field, and no user is created."""
    response = client.post("/setup/", {**good, **change})
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
        "/login/", {"login": "admin", "password": "correct horse battery"}, follow=True
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
    assert set(response.context["form"].errors) >= {"setup_code", "username", "email", "password1"}
    assert not User.objects.exists()


def test_the_first_visit_prints_the_setup_code_in_the_server_log_once(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Opening the first-run page of a fresh installation writes one WARNING line with the setup
    code to the server's log; later visits do not issue another, and that code lets the
    operator in."""
    with caplog.at_level(logging.WARNING, logger="certdesk.setup"):
        page = client.get("/setup/")
        client.get("/setup/")
    assert page.status_code == 200
    assert b"Setup code" in page.content
    lines = [r.getMessage() for r in caplog.records if "first-run setup code" in r.getMessage()]
    assert len(lines) == 1
    code = lines[0].removeprefix("certdesk: first-run setup code: ")
    assert len(code.replace("-", "")) == 10
    response = client.post("/setup/", {**ACCOUNT, "setup_code": code})
    assert response.status_code == 302
    assert User.objects.get().is_superuser


@pytest.mark.parametrize(
    ("wrong", "said"),
    [
        ("", "required"),
        ("ABCDE-FGHJK", "not the current setup code"),
        ("x" * 64, "not the current setup code"),
    ],
)
def test_a_stranger_without_the_setup_code_cannot_claim_the_installation(
    client: Client, good: dict[str, str], wrong: str, said: str
) -> None:
    """Without the code from the server's log, the form says where to find it and nobody
    becomes administrator; the real code still works afterwards."""
    response = client.post("/setup/", {**good, "setup_code": wrong})
    assert response.status_code == 200
    problem = " ".join(response.context["form"].errors["setup_code"])
    assert said in problem
    assert not User.objects.exists()
    assert client.post("/setup/", good).status_code == 302


def test_the_setup_code_is_read_as_printed_whatever_the_case_and_spacing(
    client: Client, good: dict[str, str]
) -> None:
    """An operator who types the code in lower case, without its dash or with spaces around it
    is let in all the same."""
    typed = "  " + good["setup_code"].replace("-", "").lower() + " "
    assert client.post("/setup/", {**good, "setup_code": typed}).status_code == 302
    assert User.objects.filter(username="alice").exists()


def test_a_new_code_replaces_the_old_and_none_survives_the_first_administrator(
    client: Client, good: dict[str, str]
) -> None:
    """Issuing a new code (manage.py setup_code) stops the earlier one; once the first
    administrator exists no code is kept and no new one can be issued."""
    old = good["setup_code"]
    new = setup_code_issue(actor=Actor.cli())
    response = client.post("/setup/", {**good, "setup_code": old})
    assert "not the current setup code" in " ".join(response.context["form"].errors["setup_code"])
    assert client.post("/setup/", {**good, "setup_code": new}).status_code == 302
    assert not SetupCode.objects.exists()
    issued = AuditEvent.objects.filter(action="setup.code_issued")
    assert [event.details["replaced"] for event in issued.order_by("pk")] == [False, True]


def test_a_wrong_code_and_a_weak_password_are_named_at_once(
    client: Client, good: dict[str, str]
) -> None:
    """Both problems come back in one answer, each next to its field."""
    bad: dict[str, Any] = {**good, "setup_code": "WRONG-CODE2", "password1": "admin"}
    bad["password2"] = "admin"
    response = client.post("/setup/", bad)
    assert set(response.context["form"].errors) >= {"setup_code", "password1"}
    assert not User.objects.exists()
