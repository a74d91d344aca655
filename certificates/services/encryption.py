"""Re-encryption of every stored private key under the first configured key (rotation)."""

from __future__ import annotations

from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from certificates import vault
from certificates.models import Key
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError


@sensitive_variables("plaintext")
def encryption_keys_rotate(*, actor: Actor, batch_size: int = 200) -> int:
    """Re-encrypt, in batches, every key not yet under the first key; returns how many.

    Each batch is its own transaction, with its rows locked, so a rotation interrupted halfway
    leaves every key readable (by the old or the new key) and can simply be run again.
    """
    if batch_size < 1:
        raise ServiceError("The batch size must be at least 1.")
    current = vault.current_key_id()
    rotated = 0
    while True:
        with transaction.atomic():
            batch = list(
                Key.objects.select_for_update()
                .filter(encrypted_private_key__isnull=False)
                .exclude(encryption_key_id=current)
                .order_by("pk")[:batch_size]
            )
            for key in batch:
                assert key.encrypted_private_key is not None
                plaintext = vault.decrypt(key.encrypted_private_key, bound_to=key.fingerprint)
                key.encrypted_private_key, key.encryption_key_id = vault.encrypt(
                    plaintext, bound_to=key.fingerprint
                )
            Key.objects.bulk_update(batch, ["encrypted_private_key", "encryption_key_id"])
        rotated += len(batch)
        if len(batch) < batch_size:
            break
    audit_record(
        actor=actor,
        action="encryption.rotated",
        details={"keys_reencrypted": rotated, "encryption_key_id": current},
    )
    return rotated
