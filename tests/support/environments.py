"""Environments as the data migration and an administrator's setup leave them."""

from __future__ import annotations

from certificates.models import Environment
from tests.support.testca import LocalCA


def migrated_environment(name: str) -> Environment:
    """An environment of the data migration. get_or_create, because a transactional test
    (browser, threads) empties every table when it ends, migration rows included."""
    return Environment.objects.get_or_create(slug=name.lower(), defaults={"name": name})[0]


def trusting(environment: Environment, ca: LocalCA) -> Environment:
    """``environment`` with the local CA as its Treezor CA, as an administrator sets it up
    (rule 5: certificates are installed only if they chain to it)."""
    if not environment.ca_bundle:
        environment.ca_bundle = ca.bundle_pem().decode("ascii")
        environment.save(update_fields=["ca_bundle"])
    return environment
