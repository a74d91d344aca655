"""Making and revoking API tokens (services.api_tokens): what a token may be, what is stored of
it (its SHA-256, never the secret), and the audit events."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from certificates.models import ApiToken, AuditEvent, Environment
from certificates.services import Actor, ServiceError
from certificates.services.api_tokens import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db


def make(user: User, actor: Actor | None = None, **changes: Any) -> Any:
    arguments: dict[str, Any] = {
        "name": "deploy",
        "environments": list(Environment.objects.filter(slug="sandbox")),
        "scopes": ["read"],
        "expires_on": timezone.localdate() + timedelta(days=30),
        **changes,
    }
    return api_token_create(
        actor=actor or Actor.browser(user=user, ip="10.0.0.7"), user=user, **arguments
    )


def test_the_secret_is_returned_once_and_only_its_hash_is_kept(
    person: Any, sandbox: Environment
) -> None:
    alice = person("alice", ("custodian", sandbox)).user
    new = make(alice, scopes=["custody", "read"])
    assert new.secret.startswith("certdesk_")
    assert len(new.secret) >= 50
    assert new.secret not in repr(new)
    token = ApiToken.objects.get()
    assert token.token_sha256 == hashlib.sha256(new.secret.encode()).hexdigest()
    assert token.prefix == new.secret[:15]
    assert token.scopes == ["read", "custody"]  # in the order of the scopes
    assert list(token.environments.all()) == [sandbox]
    stored = json.dumps(list(ApiToken.objects.values()), default=str)
    assert new.secret not in stored
    event = AuditEvent.objects.get(action="api_token.created")
    assert new.secret not in json.dumps(event.details)
    assert event.details["scopes"] == ["read", "custody"]
    assert event.details["environments"] == ["sandbox"]
    assert (event.actor_label, event.ip) == ("alice", "10.0.0.7")


def test_every_problem_is_reported_at_once(person: Any, sandbox: Environment) -> None:
    alice = person("alice", ("viewer", sandbox)).user
    with pytest.raises(ServiceError) as refused:
        make(alice, name="  ", environments=[], scopes=[], expires_on=None)
    assert set(refused.value.errors) == {"name", "environments", "scopes", "expires_on"}
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"name": "a\tb"}, "name", "control characters"),
        ({"name": "x" * 101}, "name", "keep it under 100"),
        ({"scopes": ["admin"]}, "scopes", "Unknown scope admin"),
        ({"scopes": ["custody"]}, "scopes", "do not allow custody"),
        ({"scopes": ["request"]}, "scopes", "do not allow request"),
        ({"expires_on": "today"}, "expires_on", "after today"),
        ({"expires_on": "a year and a day"}, "expires_on", "a year at most"),
    ],
)
def test_what_a_token_may_not_be(
    person: Any, sandbox: Environment, changes: dict[str, Any], field: str, words: str
) -> None:
    alice = person("alice", ("viewer", sandbox)).user
    today = timezone.localdate()
    days = {"today": today, "a year and a day": today + timedelta(days=366)}
    if isinstance(changes.get("expires_on"), str):
        changes = {**changes, "expires_on": days[changes["expires_on"]]}
    with pytest.raises(ServiceError) as refused:
        make(alice, **changes)
    assert words in refused.value.errors[field]


def test_a_year_exactly_is_allowed(person: Any, sandbox: Environment) -> None:
    alice = person("alice", ("viewer", sandbox)).user
    new = make(alice, expires_on=timezone.localdate() + timedelta(days=365))
    assert new.token.expires_at > timezone.now() + timedelta(days=364)


def test_a_token_acts_only_where_its_owner_has_a_role(
    person: Any, sandbox: Environment, production: Environment
) -> None:
    alice = person("alice", ("viewer", sandbox)).user
    with pytest.raises(ServiceError) as refused:
        make(alice, environments=[sandbox, production])
    assert "no role in Production" in refused.value.errors["environments"]


def test_a_scope_needs_the_role_in_one_of_the_chosen_environments(
    person: Any, sandbox: Environment, production: Environment
) -> None:
    """Viewer in Sandbox, custodian in Production: custody is allowed for both together (it
    works only in Production at each call), not for Sandbox alone."""
    alice = person("alice", ("viewer", sandbox), ("custodian", production)).user
    make(alice, name="both", environments=[sandbox, production], scopes=["read", "custody"])
    with pytest.raises(ServiceError):
        make(alice, name="sandbox", environments=[sandbox], scopes=["custody"])


def test_names_are_unique_per_person(person: Any, sandbox: Environment) -> None:
    alice = person("alice", ("viewer", sandbox)).user
    bob = person("bob", ("viewer", sandbox)).user
    make(alice)
    make(bob)
    with pytest.raises(ServiceError) as refused:
        make(alice)
    assert "You have a token called “deploy” already" in refused.value.errors["name"]


def test_nobody_makes_a_token_for_someone_else_but_administrators(
    person: Any, sandbox: Environment, admin_user: User
) -> None:
    alice = person("alice", ("viewer", sandbox)).user
    bob = person("bob", ("viewer", sandbox)).user
    with pytest.raises(ServiceError, match="only make API tokens for yourself"):
        make(alice, actor=Actor.browser(user=bob, ip=None))
    make(alice, actor=Actor.cli(admin_user))
    make(alice, actor=Actor.cli(), name="by the operator")


def test_revoking_is_recorded_and_happens_once(
    person: Any, sandbox: Environment, admin_user: User
) -> None:
    alice = person("alice", ("viewer", sandbox)).user
    bob = person("bob", ("viewer", sandbox)).user
    token = make(alice).token
    with pytest.raises(ServiceError, match="only revoke your own"):
        api_token_revoke(actor=Actor.browser(user=bob, ip=None), token=token)
    api_token_revoke(actor=Actor.browser(user=admin_user, ip=None), token=token)
    assert token.revoked_at is not None
    with pytest.raises(ServiceError, match="revoked already"):
        api_token_revoke(actor=Actor.browser(user=alice, ip=None), token=token)
    event = AuditEvent.objects.get(action="api_token.revoked")
    assert event.details == {"name": "deploy", "owner": "alice", "prefix": token.prefix}
    assert event.actor_label == "admin"
