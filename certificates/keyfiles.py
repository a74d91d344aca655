"""Where the two secrets come from: the variables, or on a laptop a key file made at first use.

``CERTDESK_ENCRYPTION_KEYS`` (private keys at rest, certificates/vault.py) and
``CERTDESK_AUDIT_KEY`` (the audit chain's HMAC, certificates/auditchain.py) are read from the
environment. With a variable unset outside production, the settings only name a file under var/
(``CERTDESK_ENCRYPTION_KEY_FILE``, ``CERTDESK_AUDIT_KEY_FILE``); the first process that needs the
key creates it there, 0600, exactly once even when the web, worker and beat processes start
together (config/environment.py). Importing the settings writes nothing. Production has no key
file: it refuses to start without the variables.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from certificates import auditchain
from config.environment import development_audit_key, development_encryption_key


def encryption_keys() -> tuple[str, ...]:
    """The configured encryption keys, the first one encrypting; on a laptop, the key file's."""
    configured = tuple(settings.CERTDESK_ENCRYPTION_KEYS)
    path = settings.CERTDESK_ENCRYPTION_KEY_FILE
    if configured or path is None:
        return configured
    return (_key_file(str(path), development_encryption_key),)


def audit_key() -> bytes:
    """The HMAC key of the audit chain: CERTDESK_AUDIT_KEY, or on a laptop its key file's."""
    text = settings.CERTDESK_AUDIT_KEY
    path = settings.CERTDESK_AUDIT_KEY_FILE
    if not text and path is not None:
        text = _key_file(str(path), development_audit_key)
    return auditchain.decode_key(text)


@lru_cache(maxsize=8)
def _key_file(path: str, make: Callable[[Path], str]) -> str:
    # Read (or made) once per process and path: a key file is never rewritten.
    return make(Path(path))
