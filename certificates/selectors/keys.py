"""What may be done with a request's private key: the one answer of the pages and the services."""

from __future__ import annotations

from certificates.models import Key, Revocation


def key_available(key: Key) -> bool:
    """certdesk holds the key and it may be taken: not destroyed, not reported compromised."""
    return key.has_private_key and key.compromised_at is None


def key_destroyable(key: Key) -> bool:
    """The key's material may be erased: certdesk holds it, and it was reported compromised or
    a certificate of its request was revoked (a key in use would leave its certificate without
    one)."""
    if not key.has_private_key:
        return False
    return (
        key.compromised_at is not None
        or Revocation.objects.filter(certificate__signing_request__key=key).exists()
    )
