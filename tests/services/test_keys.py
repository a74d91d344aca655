"""key_export: the only way a private key leaves certdesk, for custodians, always audited."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from certificates import crypto, services
from certificates.models import AuditEvent, CompanyProfile, Environment, SigningRequest
from certificates.services import Actor, ServiceError
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


@pytest.fixture
def request_mtls(sandbox: Environment) -> SigningRequest:
    CompanyProfile.objects.filter(pk=1).update(company_name="Acme SAS")
    return services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)


def test_custodian_downloads_the_pkcs1_key_under_treezor_name_and_it_is_audited(
    request_mtls: SigningRequest,
    make_member: Callable[[str, Environment], User],
    sandbox: Environment,
    tmp_path: Path,
) -> None:
    """The key comes as PKCS#1 PEM named like Treezor's files; openssl checks it; audited."""
    custodian = make_member("custodian", sandbox)
    export = services.key_export(
        actor=Actor(user=custodian, ip="198.51.100.4"), signing_request=request_mtls
    )
    assert export.filename == "acme.sas_privatekey_mtls.pem"
    assert export.content.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert b"PRIVATE KEY" not in repr(export).encode()
    path = tmp_path / export.filename
    path.write_bytes(export.content)
    check = subprocess.run(["openssl", "rsa", "-check", "-noout", "-in", path], capture_output=True)
    assert check.returncode == 0
    assert b"RSA key ok" in check.stdout
    event = AuditEvent.objects.get(action="key.exported")
    assert (event.actor, event.ip, event.details["format"]) == (custodian, "198.51.100.4", "pem")


@pytest.mark.parametrize("role", ["viewer", "requester"])
def test_only_custodians_download_keys(
    request_mtls: SigningRequest,
    make_member: Callable[[str, Environment], User],
    sandbox: Environment,
    role: str,
) -> None:
    """Viewers and requesters are refused, and no export is recorded."""
    with pytest.raises(PermissionDenied):
        services.key_export(
            actor=Actor(user=make_member(role, sandbox)), signing_request=request_mtls
        )
    assert not AuditEvent.objects.filter(action="key.exported").exists()


def test_a_production_custodian_gets_nothing_of_sandbox(
    request_mtls: SigningRequest,
    make_member: Callable[[str, Environment], User],
    production: Environment,
) -> None:
    """Memberships are per environment: custody of Production gives no Sandbox key."""
    with pytest.raises(PermissionDenied):
        services.key_export(
            actor=Actor(user=make_member("custodian", production)), signing_request=request_mtls
        )


def test_pkcs12_bundle_holds_key_and_certificate_behind_the_passphrase(
    request_mtls: SigningRequest, issue: Callable[..., bytes], tmp_path: Path
) -> None:
    """A PKCS#12 needs the certificate and a passphrase; openssl opens it with that passphrase."""
    with pytest.raises(ServiceError, match="upload the certificate"):
        services.key_export(
            actor=CLI, signing_request=request_mtls, key_format="pkcs12", passphrase="long enough"
        )
    services.certificate_upload(actor=CLI, data=issue(request_mtls))
    with pytest.raises(ServiceError, match="passphrase of at least"):
        services.key_export(
            actor=CLI, signing_request=request_mtls, key_format="pkcs12", passphrase="short"
        )
    export = services.key_export(
        actor=CLI, signing_request=request_mtls, key_format="pkcs12", passphrase="long enough pass"
    )
    assert export.filename == "acme.sas_mtls.p12" or export.filename.endswith(".p12")
    path = tmp_path / "bundle.p12"
    path.write_bytes(export.content)
    info = subprocess.run(
        ["openssl", "pkcs12", "-in", path, "-nokeys", "-passin", "pass:long enough pass"],
        capture_output=True,
    )
    assert info.returncode == 0, info.stderr
    assert b"CN = acme.com" in info.stdout or b"CN=acme.com" in info.stdout
    wrong = subprocess.run(
        ["openssl", "pkcs12", "-in", path, "-nokeys", "-passin", "pass:wrong passphrase"],
        capture_output=True,
    )
    assert wrong.returncode != 0


@pytest.mark.parametrize(
    ("passphrase", "why"),
    [
        ("aaaaaaaa", "Repeats"),
        (" " * 8, "Repeats"),
        ("long enough", "common words"),
        ("Acme SAS sandbox", "common words"),
    ],
)
def test_weak_passphrases_are_refused_with_the_reason_and_nothing_is_recorded(
    request_mtls: SigningRequest, issue: Callable[..., bytes], passphrase: str, why: str
) -> None:
    """Eight characters are not enough: zxcvbn's estimate refuses repeats, common words and
    the company and environment names, says why, and no export is recorded."""
    services.certificate_upload(actor=CLI, data=issue(request_mtls))
    with pytest.raises(ServiceError, match="too easy to guess") as refused:
        services.key_export(
            actor=CLI, signing_request=request_mtls, key_format="pkcs12", passphrase=passphrase
        )
    assert why in refused.value.message
    assert refused.value.field == "passphrase"
    assert not AuditEvent.objects.filter(action="key.exported").exists()


def test_the_generated_passphrase_is_strong_new_each_time_and_opens_the_bundle(
    request_mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """The passphrase the form offers passes the strength rule, differs on every call, and
    opens the bundle it protected."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    from certificates.services.keys import generated_passphrase, passphrase_problem

    offered = {generated_passphrase() for _ in range(20)}
    assert len(offered) == 20
    assert all(passphrase_problem(p) is None for p in offered)
    services.certificate_upload(actor=CLI, data=issue(request_mtls))
    passphrase = offered.pop()
    export = services.key_export(
        actor=CLI, signing_request=request_mtls, key_format="pkcs12", passphrase=passphrase
    )
    assert pkcs12.load_pkcs12(export.content, passphrase.encode()).key is not None


def test_imported_compromised_and_destroyed_keys_are_not_exported(
    request_mtls: SigningRequest, sandbox: Environment
) -> None:
    """No private half, a compromised key, a destroyed key: each refused with its reason."""
    imported = services.request_import(
        actor=CLI,
        environment=sandbox,
        purpose="signature",
        csr_data=crypto.csr_to_pem(crypto.build_csr(crypto.generate_private_key(), ACME)),
    )
    with pytest.raises(ServiceError, match="certdesk never had its private key"):
        services.key_export(actor=CLI, signing_request=imported)

    key = request_mtls.key
    key.compromised_at = timezone.now()
    key.save()
    with pytest.raises(ServiceError, match="reported compromised"):
        services.key_export(actor=CLI, signing_request=request_mtls)
    key.encrypted_private_key, key.destroyed_at = None, timezone.now()
    key.save()
    with pytest.raises(ServiceError, match="was destroyed"):
        services.key_export(actor=CLI, signing_request=request_mtls)
    assert not AuditEvent.objects.filter(action="key.exported").exists()
