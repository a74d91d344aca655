"""Re-encryption of every stored private key (and second-factor secret) under the first
configured key (rotation)."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
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
    secrets_resealed = _second_factor_secrets_reseal(current)
    # Issue 18: the notification channels' sealed addresses and webhook secrets move too.
    from certificates.services.notifications import notification_channels_reseal

    channels_resealed = notification_channels_reseal(current)
    audit_record(
        actor=actor,
        action="encryption.rotated",
        details={
            "keys_reencrypted": rotated,
            "second_factors_reencrypted": secrets_resealed,
            "notification_channels_resealed": channels_resealed,
            "encryption_key_id": current,
        },
    )
    return rotated


# The secrets allauth keeps sealed (through certificates.adapters.MFAAdapter), per kind of
# second factor: a TOTP app's secret, the recovery codes' seed and any codes it migrated.
SEALED_FIELDS = {
    Authenticator.Type.TOTP: ("secret",),
    Authenticator.Type.RECOVERY_CODES: ("seed", "migrated_codes"),
}


def _reseal(value: object, current: str) -> tuple[object, bool]:
    """``value`` (sealed text, or a list of them) under the first key; and whether it moved."""
    if isinstance(value, list):
        moved = [_reseal(item, current) for item in value]
        return [item for item, _ in moved], any(changed for _, changed in moved)
    if not isinstance(value, str) or vault.sealed_text_key_id(value) in (None, current):
        return value, False
    plain = vault.unseal_text(value, bound_to=vault.TOTP_BOUND_TO)
    return vault.seal_text(plain, bound_to=vault.TOTP_BOUND_TO), True


def _second_factor_secrets_reseal(current: str) -> int:
    """The second factors' sealed secrets move to the first key too, so an old key can be
    removed without locking anyone out of their authenticator app or recovery codes; one
    transaction (a few rows per person at most). Returns how many authenticators changed."""
    count = 0
    with transaction.atomic():
        for authenticator in Authenticator.objects.select_for_update().filter(
            type__in=list(SEALED_FIELDS)
        ):
            changed = False
            for field in SEALED_FIELDS[authenticator.type]:
                if field in authenticator.data:
                    authenticator.data[field], moved = _reseal(authenticator.data[field], current)
                    changed = changed or moved
            if changed:
                authenticator.save(update_fields=["data"])
                count += 1
    return count
