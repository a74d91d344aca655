"""request_create and request_import: a new key per CSR, kept encrypted, audited (rules 1-3)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from certificates import crypto, services, vault
from certificates.models import AuditEvent, Environment, Key, SigningRequest
from certificates.services import Actor, ServiceError
from tests.support.environments import migrated_environment
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


def openssl_csr(tmp_path: Path, *, bits: int = 2048, name: str = "k") -> bytes:
    """A CSR made with the seed's own commands (plus -traditional for a PKCS#1 key)."""
    key, csr = tmp_path / f"{name}.pem", tmp_path / f"{name}.csr"
    subprocess.run(
        ["openssl", "genrsa", "-traditional", "-out", key, str(bits)],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            "openssl",
            "req",
            "-new",
            "-key",
            key,
            "-out",
            csr,
            "-subj",
            "/C=FR/ST=Brittany/L=Rennes/O=Acme/CN=acme.com/emailAddress=it@acme.com",
        ],
        check=True,
        capture_output=True,
    )
    return csr.read_bytes()


def test_request_create_keeps_the_key_encrypted_as_pkcs1_and_the_csr_ready(
    sandbox: Environment,
) -> None:
    """The new request is ready with a CSR for its key; the key decrypts to PKCS#1 RSA 2048."""
    request = services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)
    assert request.status == SigningRequest.Status.READY
    csr = crypto.parse_csr(request.csr_pem.encode())
    assert crypto.Subject.from_x509_name(csr.subject) == ACME
    key = request.key
    assert key.source == Key.Source.GENERATED
    assert key.encrypted_private_key is not None
    assert b"PRIVATE KEY" not in bytes(key.encrypted_private_key)
    pem = vault.decrypt(key.encrypted_private_key, bound_to=key.fingerprint)
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    private_key = crypto.load_private_key(pem)
    assert private_key.key_size == 2048
    assert crypto.public_key_fingerprint(private_key.public_key()) == key.fingerprint
    assert crypto.public_key_fingerprint(csr.public_key()) == key.fingerprint


def test_request_create_records_an_audit_event_without_key_material(
    sandbox: Environment, admin_user: User
) -> None:
    """The audit event names actor, action, environment and fingerprint, never the key."""
    request = services.request_create(
        actor=Actor(user=admin_user, ip="192.0.2.7"),
        environment=sandbox,
        purpose="signature",
        subject=ACME,
    )
    event = AuditEvent.objects.get(action="request.created")
    assert (event.actor, event.actor_label, event.ip) == (admin_user, "admin", "192.0.2.7")
    assert event.environment == sandbox
    assert event.target_id == str(request.pk)
    assert event.details["key_fingerprint"] == request.key.fingerprint
    assert "PRIVATE" not in str(event.details)


def test_each_request_gets_its_own_key_across_purposes_and_environments(
    sandbox: Environment, production: Environment
) -> None:
    """mTLS and signature, Sandbox and Production: four requests, four different keys."""
    requests = [
        services.request_create(actor=CLI, environment=env, purpose=purpose, subject=ACME)
        for env in (sandbox, production)
        for purpose in ("mtls", "signature")
    ]
    assert len({r.key.fingerprint for r in requests}) == 4


def test_a_viewer_cannot_create_a_request(
    sandbox: Environment, make_member: Callable[[str, Environment], User]
) -> None:
    """Only requesters and custodians create requests; nothing is stored for a viewer."""
    viewer = make_member("viewer", sandbox)
    with pytest.raises(PermissionDenied):
        services.request_create(
            actor=Actor(user=viewer), environment=sandbox, purpose="mtls", subject=ACME
        )
    assert not Key.objects.exists()


def test_a_renewal_must_keep_environment_and_purpose(
    sandbox: Environment, production: Environment, issue: Callable[..., bytes]
) -> None:
    """A renewal of a Sandbox mTLS certificate cannot be filed under Production."""
    first = services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)
    certificate = services.certificate_upload(actor=CLI, data=issue(first)).certificate
    with pytest.raises(ServiceError, match="same environment and purpose"):
        services.request_create(
            actor=CLI, environment=production, purpose="mtls", subject=ACME, renews=certificate
        )
    renewal = services.request_create(
        actor=CLI, environment=sandbox, purpose="mtls", subject=ACME, renews=certificate
    )
    assert renewal.renews == certificate
    assert renewal.key.fingerprint != first.key.fingerprint


def test_request_import_keeps_only_the_public_key(sandbox: Environment, tmp_path: Path) -> None:
    """A CSR from the seed's openssl commands imports; certdesk never holds its private key."""
    request = services.request_import(
        actor=CLI, environment=sandbox, purpose="mtls", csr_data=openssl_csr(tmp_path)
    )
    assert request.status == SigningRequest.Status.READY
    assert (request.common_name, request.country, request.organizational_unit) == (
        "acme.com",
        "FR",
        "",
    )
    assert request.key.source == Key.Source.IMPORTED
    assert request.key.encrypted_private_key is None
    assert AuditEvent.objects.filter(action="request.imported").count() == 1


def test_a_key_seen_before_is_refused_on_import(
    sandbox: Environment, production: Environment, tmp_path: Path
) -> None:
    """Importing the same CSR again, even for another environment, is refused and names the
    request that used the key first."""
    data = openssl_csr(tmp_path)
    first = services.request_import(actor=CLI, environment=sandbox, purpose="mtls", csr_data=data)
    with pytest.raises(ServiceError, match=rf"used before \(request #{first.pk}, Sandbox mTLS\)"):
        services.request_import(
            actor=CLI, environment=production, purpose="signature", csr_data=data
        )
    assert SigningRequest.objects.count() == 1


def test_a_csr_made_with_a_key_certdesk_generated_is_refused(sandbox: Environment) -> None:
    """Rule 2 holds for keys certdesk made too: a new CSR for one of them does not import."""
    generated = services.request_create(
        actor=CLI, environment=sandbox, purpose="mtls", subject=ACME
    )
    assert generated.key.encrypted_private_key is not None
    pem = vault.decrypt(generated.key.encrypted_private_key, bound_to=generated.key.fingerprint)
    other_csr = crypto.build_csr(crypto.load_private_key(pem), ACME)
    with pytest.raises(ServiceError, match="Treezor requires a different RSA key for each CSR"):
        services.request_import(
            actor=CLI,
            environment=sandbox,
            purpose="signature",
            csr_data=crypto.csr_to_pem(other_csr),
        )
    assert SigningRequest.objects.count() == 1


def test_an_imported_csr_with_a_url_as_common_name_is_refused(
    sandbox: Environment, tmp_path: Path
) -> None:
    """OpenSSL accepts CN=https://acme.com/ silently; certdesk refuses it and suggests acme.com."""
    key = tmp_path / "k.pem"
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
    csr = subprocess.run(
        [
            "openssl",
            "req",
            "-new",
            "-key",
            key,
            "-subj",
            "/C=FR/ST=Brittany/L=Rennes/O=Acme/CN=https:\\/\\/acme.com\\//emailAddress=it@acme.com",
        ],
        check=True,
        capture_output=True,
    ).stdout
    with pytest.raises(ServiceError, match=r"Common Name.*acme\.com"):
        services.request_import(actor=CLI, environment=sandbox, purpose="mtls", csr_data=csr)
    assert not Key.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x01garbage", "not a certificate signing request"),
        (b"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n", "private"),
    ],
)
def test_request_import_refuses_bad_input_and_stores_nothing(
    sandbox: Environment, data: bytes, message: str
) -> None:
    """Garbage and private keys get their own message; no row is written."""
    with pytest.raises(ServiceError, match=message):
        services.request_import(actor=CLI, environment=sandbox, purpose="mtls", csr_data=data)
    assert not Key.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_imports_of_one_csr_store_one_request(
    postgres: None, tmp_path: Path
) -> None:
    """Two imports of the same CSR at the same moment: the database lets exactly one through."""
    data = openssl_csr(tmp_path)
    sandbox = migrated_environment("Sandbox")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        from django.db import connection

        barrier.wait()
        try:
            services.request_import(actor=CLI, environment=sandbox, purpose="mtls", csr_data=data)
            outcomes.append("stored")
        except ServiceError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[1] == "stored"
    assert "used before" in sorted(outcomes)[0]
    assert SigningRequest.objects.count() == 1
