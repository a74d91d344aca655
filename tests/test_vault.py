"""Encryption at rest: AES-256-GCM bound to its row, key ids, and rotation that retires keys."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from certificates import crypto, services, vault
from certificates.models import Environment, Key
from certificates.services import Actor
from config.environment import new_encryption_key
from tests.support.subjects import ACME

CLI = Actor.cli()


def test_a_blob_decrypts_only_for_its_own_row(settings: Any) -> None:
    """The same plaintext encrypts differently each time; another row's binding fails."""
    first, key_id = vault.encrypt(b"secret", bound_to="row-a")
    second, _ = vault.encrypt(b"secret", bound_to="row-a")
    assert first != second
    assert b"secret" not in first
    assert key_id == vault.current_key_id()
    assert vault.decrypt(first, bound_to="row-a") == b"secret"
    with pytest.raises(vault.VaultError, match="belongs to another row"):
        vault.decrypt(first, bound_to="row-b")


def test_a_tampered_blob_raises_and_never_returns_the_stored_bytes() -> None:
    """Flip one bit of the ciphertext: decryption raises; nothing of the blob is returned."""
    blob, _ = vault.encrypt(b"secret", bound_to="row")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(vault.VaultError, match="altered"):
        vault.decrypt(tampered, bound_to="row")
    with pytest.raises(vault.VaultError, match="not in certdesk's encrypted format"):
        vault.decrypt(b"-----BEGIN RSA PRIVATE KEY-----", bound_to="row")


def test_a_blob_under_a_removed_key_names_the_missing_key_id(settings: Any) -> None:
    """Once its key is gone from the settings, the blob says which key id it needs."""
    blob, key_id = vault.encrypt(b"secret", bound_to="row")
    settings.CERTDESK_ENCRYPTION_KEYS = [new_encryption_key()]
    with pytest.raises(vault.VaultError, match=f"key id {key_id}"):
        vault.decrypt(blob, bound_to="row")


@pytest.mark.parametrize(
    ("configured", "message"),
    [
        (["not base64 at all!"], "key 1 is not base64"),
        (["c2hvcnQ="], "key 1 is 5 bytes; AES-256 needs 32"),
        ([], "CERTDESK_ENCRYPTION_KEYS is empty"),
    ],
)
def test_bad_key_configuration_is_explained(
    settings: Any, configured: list[str], message: str
) -> None:
    """A wrong key in the settings is named by position, never printed."""
    settings.CERTDESK_ENCRYPTION_KEYS = configured
    settings.CERTDESK_ENCRYPTION_KEY_FILE = None  # as in production: no laptop key file
    with pytest.raises(vault.VaultError, match=message):
        vault.encrypt(b"x", bound_to="row")


@pytest.mark.django_db
def test_a_ciphertext_moved_to_another_key_row_does_not_decrypt(sandbox: Environment) -> None:
    """Copying one row's encrypted key over another's, in the database, yields an error."""
    a = services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)
    b = services.request_create(actor=CLI, environment=sandbox, purpose="signature", subject=ACME)
    Key.objects.filter(pk=b.key.pk).update(encrypted_private_key=a.key.encrypted_private_key)
    with pytest.raises(vault.VaultError):
        services.key_export(actor=CLI, signing_request=type(b).objects.get(pk=b.pk))


@pytest.mark.django_db
def test_rotation_reencrypts_every_key_so_the_old_key_can_be_dropped(
    sandbox: Environment, settings: Any
) -> None:
    """With [new, old] configured, rotation moves every key to the new one; then [new] suffices."""
    old = settings.CERTDESK_ENCRYPTION_KEYS[0]
    requests = [
        services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)
        for _ in range(3)
    ]
    new = new_encryption_key()
    settings.CERTDESK_ENCRYPTION_KEYS = [new, old]
    assert services.encryption_keys_rotate(actor=CLI, batch_size=2) == 3
    assert set(Key.objects.values_list("encryption_key_id", flat=True)) == {vault.current_key_id()}
    assert services.encryption_keys_rotate(actor=CLI) == 0

    settings.CERTDESK_ENCRYPTION_KEYS = [new]
    for request in requests:
        request.refresh_from_db()
        pem = services.key_export(actor=CLI, signing_request=request).content
        assert crypto.public_key_fingerprint(crypto.load_private_key(pem).public_key()) == (
            request.key.fingerprint
        )


@pytest.mark.django_db
def test_no_private_key_is_stored_in_clear_anywhere_in_the_database(
    sandbox: Environment, issue: Any
) -> None:
    """A dump of every table holds no PEM private-key block and none of the keys' bytes."""
    requests = [
        services.request_create(actor=CLI, environment=sandbox, purpose=purpose, subject=ACME)
        for purpose in ("mtls", "signature")
    ]
    services.certificate_upload(actor=CLI, data=issue(requests[0]))
    services.key_export(actor=CLI, signing_request=requests[0])  # also writes an audit event

    secrets: list[bytes] = []
    for request in requests:
        pem = services.key_export(actor=CLI, signing_request=request).content
        numbers = crypto.load_private_key(pem).private_numbers()
        private_exponent = numbers.d.to_bytes(256, "big")
        secrets += [pem, private_exponent, private_exponent.hex().encode()]
        secrets += [line for line in pem.splitlines() if len(line) == 64]  # base64 body lines

    dump = bytearray()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    dump += (
                        bytes(value)
                        if isinstance(value, bytes | memoryview)
                        else (str(value).encode())
                    )
    assert len(dump) > 5_000, "the dump is too small to prove anything"
    assert b"PRIVATE KEY" not in dump
    for secret in secrets:
        assert secret[:32] not in dump


def test_the_first_encryption_on_a_laptop_creates_the_key_file_once(
    settings: Any, tmp_path: Path
) -> None:
    """With CERTDESK_ENCRYPTION_KEYS unset outside production, the key file does not exist until
    a private key is first encrypted; it is then made 0600, and every later encryption (and
    decryption) uses that same key instead of making another."""
    path = tmp_path / "var" / "encryption.key"
    settings.CERTDESK_ENCRYPTION_KEYS = []
    settings.CERTDESK_ENCRYPTION_KEY_FILE = path
    assert not path.exists()
    blob, key_id = vault.encrypt(b"private half", bound_to="row")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = path.read_text()
    again, again_id = vault.encrypt(b"another", bound_to="other")
    assert (path.read_text(), again_id) == (written, key_id)
    assert vault.decrypt(blob, bound_to="row") == b"private half"
    assert vault.decrypt(again, bound_to="other") == b"another"
