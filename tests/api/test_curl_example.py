"""The documented curl example (docs/api-example.sh), run as written against a live server:
it fetches the certificate in service and its key, and the two then authenticate to an mTLS
server the way Treezor's API checks them.

A page of the documentation that shows the example marks it with ``<!-- api-example.sh -->``
right before its fenced block: that block must be the file, line for line.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from pytest_django.live_server_helper import LiveServer

from certificates import crypto, services
from certificates.models import Environment, Membership, Role
from certificates.services import Actor
from tests.support.api import Person
from tests.support.mtls_server import mtls_server
from tests.support.subjects import ACME
from tests.support.testca import LocalCA

DOCS = Path(settings.BASE_DIR) / "docs"
EXAMPLE = DOCS / "api-example.sh"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_documented_example_fetches_what_a_deployment_needs(
    live_server: LiveServer,
    production: Environment,
    local_ca: LocalCA,
    issue: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    request = services.request_create(
        actor=Actor.cli(),
        environment=production,
        purpose="mtls",
        subject=replace(ACME, common_name="payments.acme.example"),
    )
    services.certificate_upload(actor=Actor.cli(), data=issue(request) + local_ca.bundle_pem())
    deployer = User.objects.create_user("deployer")
    Membership.objects.create(user=deployer, environment=production, role=Role.CUSTODIAN)
    token = Person(deployer).token("read", "custody", environments=[production], name="deploy")

    result = subprocess.run(
        ["bash", str(EXAMPLE)],
        cwd=tmp_path,
        env={
            "PATH": os.environ["PATH"],
            "CERTDESK_URL": live_server.url,
            "CERTDESK_TOKEN": token,
            "ENVIRONMENT": "production",
            "PURPOSE": "mtls",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    certificate, key = tmp_path / "client.pem", tmp_path / "client.key"
    assert certificate.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert key.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert key.stat().st_mode & 0o777 == 0o600
    loaded = crypto.load_private_key(key.read_bytes())
    leaf = crypto.parse_certificates(certificate.read_bytes())[0]
    assert crypto.public_key_fingerprint(loaded.public_key()) == crypto.public_key_fingerprint(
        leaf.public_key()
    )
    with mtls_server(local_ca) as (url, server_ca):
        files = ["--cert", str(certificate), "--key", str(key), "--cacert", str(server_ca)]
        hello = subprocess.run(
            ["curl", "-fsS", *files, url],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert hello.stdout == "hello payments.acme.example\n", hello.stderr


def test_a_page_showing_the_example_shows_it_as_written() -> None:
    example = EXAMPLE.read_text()
    for page in DOCS.rglob("*.md"):
        text = page.read_text()
        for shown in re.findall(r"<!-- api-example\.sh -->\s*```[a-z]*\n(.*?)```", text, re.S):
            assert shown == example, f"{page} shows another version of docs/api-example.sh"
