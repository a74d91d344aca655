"""Settings list the environments as people expect them (issue 16): in the order they were
created, Sandbox (the data migration's first) then Production, and by name, never by slug."""

from __future__ import annotations

from django.test import Client

from certificates.models import Environment
from tests.support.environments import migrated_environment


def _environments() -> None:
    # As the data migration creates them: Sandbox first. By name, Production would come first.
    migrated_environment("Sandbox")
    migrated_environment("Production")
    Environment.objects.create(name="Acceptance", slug="acceptance-eu")


def test_settings_show_the_environments_in_creation_order_without_slugs(
    admin_client: Client,
) -> None:
    _environments()
    page = admin_client.get("/settings/").content.decode()
    positions = [page.index(f">{name}</h3>") for name in ("Sandbox", "Production", "Acceptance")]
    assert positions == sorted(positions)
    for slug in ("(sandbox)", "(production)", "(acceptance-eu)"):
        assert slug not in page


def test_an_environment_page_does_not_show_its_slug(admin_client: Client) -> None:
    _environments()
    page = admin_client.get("/settings/environments/acceptance-eu/edit/").content.decode()
    assert "<h1>Acceptance</h1>" in page
    assert "(acceptance-eu)" not in page


def test_the_invitation_asks_the_roles_in_creation_order(admin_client: Client) -> None:
    _environments()
    page = admin_client.get("/settings/people/invite/").content.decode()
    positions = [page.index(f"Role in {name}") for name in ("Sandbox", "Production", "Acceptance")]
    assert positions == sorted(positions)
